"""Catalog files as an attacker or a careless team writes them: each bad document is a
problem with its file, line and reason, and everything else is still read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scorecard.catalog import CatalogListing, read_catalog
from scorecard.catalog.safe_yaml import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_EXPANDED,
    MAX_FILE_BYTES,
    MAX_INT_CHARS,
)

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "catalog" / "hostile"
BOMB = HOSTILE / "alias-bomb.yaml"
LONG_NAME = HOSTILE / "long-name.yaml"
PEAK_RSS_MB = 200


def component(name: str, extra: str = "") -> str:
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"
        f"spec:\n  type: service\n  owner: team-a\n{extra}"
    )


def refs(listing: CatalogListing) -> list[str]:
    return [entity.ref for entity in listing.entities]


def only_problem(listing: CatalogListing) -> tuple[str, int | None, str, str]:
    [problem] = listing.problems
    return problem.file, problem.line, problem.key, problem.message


def read_text(tmp_path: Path, text: str | bytes, name: str = "catalog-info.yaml") -> CatalogListing:
    file = tmp_path / name
    if isinstance(text, bytes):
        file.write_bytes(text)
    else:
        file.write_text(text)
    return read_catalog([tmp_path])


# Finding 1: an alias bomb


def test_the_alias_bomb_is_reported_with_its_line_and_the_next_document_is_read() -> None:
    listing = read_catalog([BOMB])

    assert refs(listing) == ["component:default/after-the-bomb"]
    file, line, key, message = only_problem(listing)
    assert (file, line, key) == (str(BOMB), 15, "spec.a5")
    assert message.startswith("document 1 is not read: with its aliases expanded it would be")
    assert f"over the limit of {MAX_EXPANDED:,}" in message


def test_the_alias_bomb_costs_little_memory() -> None:
    # A process of its own, so that its peak RSS is the reader's alone.
    script = (
        "import json, sys, time\n"
        "from scorecard.catalog import read_catalog\n"
        "start = time.perf_counter()\n"
        "listing = read_catalog([sys.argv[1]])\n"
        "seconds = time.perf_counter() - start\n"
        # VmHWM, not ru_maxrss: Linux carries the parent's peak across fork and exec,
        # and under pytest the parent is the whole suite.
        "peak = next(int(line.split()[1]) for line in open('/proc/self/status')\n"
        "    if line.startswith('VmHWM:')) / 1024\n"
        "print(json.dumps({'peak_mb': peak, 'seconds': seconds,\n"
        "    'problems': [str(p) for p in listing.problems]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(BOMB)], capture_output=True, text=True, check=True
    )
    out = json.loads(done.stdout)

    print(f"alias bomb: read in {out['seconds'] * 1000:.1f} ms, peak RSS {out['peak_mb']:.0f} MB")
    assert out["peak_mb"] < PEAK_RSS_MB
    assert [p.split(": ")[0] for p in out["problems"]] == [f"{BOMB}:15:7"]


def test_a_bomb_through_merge_keys_is_refused_and_a_plain_merge_is_read(tmp_path: Path) -> None:
    levels = ["  m0: &m0 {" + ", ".join(f"k{i}: lol" for i in range(9)) + "}"]
    for depth in range(1, 9):
        merged = ", ".join(f"*m{depth - 1}" for _ in range(1))
        fields = ", ".join(f"x{i}: *m{depth - 1}" for i in range(9))
        levels.append(f"  m{depth}: &m{depth} {{<<: [{merged}], {fields}}}")
    plain = "  base: &base {tier: gold}\n  service: {<<: *base, name: x}\n"
    listing = read_text(
        tmp_path,
        component("merge-bomb", "\n".join(levels) + "\n") + "---\n" + component("ok", plain),
    )

    assert refs(listing) == ["component:default/ok"]
    assert listing.entities[0].spec["service"] == {"tier": "gold", "name": "x"}
    assert "with its aliases expanded" in only_problem(listing)[3]


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    listing = read_text(
        tmp_path, component("loop", "  a: &a [1, *a]\n") + "---\n" + component("ok")
    )

    assert refs(listing) == ["component:default/ok"]
    _, line, key, message = only_problem(listing)
    assert (line, key) == (8, "spec.a")
    assert message == "document 1 is not read: an alias refers to a node that contains it"


# Finding 2: a number too long to print


@pytest.mark.parametrize(
    ("extra", "name", "line", "key"),
    [
        pytest.param("", "1" * 5000, 4, "metadata.name", id="metadata.name"),
        pytest.param(f"  replicas: {'9' * 5000}\n", "deep", 8, "spec.replicas", id="in spec"),
        pytest.param(f"  ? {'7' * 5000}\n  : key\n", "key", 8, "spec", id="a key"),
        pytest.param(f"  mask: 0x{'f' * 4000}\n", "hex", 8, "spec.mask", id="hexadecimal"),
    ],
)
def test_an_integer_too_long_to_print_is_refused(
    tmp_path: Path, extra: str, name: str, line: int, key: str
) -> None:
    listing = read_text(tmp_path, component(name, extra) + "---\n" + component("ok"))

    assert refs(listing) == ["component:default/ok"]
    _, found_line, found_key, message = only_problem(listing)
    assert (found_line, found_key) == (line, key)
    assert f"characters is longer than the limit of {MAX_INT_CHARS:,}" in message


def test_the_long_name_of_the_issue_is_reported_and_the_file_still_read() -> None:
    listing = read_catalog([LONG_NAME])

    assert refs(listing) == ["component:default/after-the-number"]
    file, line, key, message = only_problem(listing)
    assert (file, line, key) == (str(LONG_NAME), 5, "metadata.name")
    assert message.startswith("document 1 is not read: an integer of 5,000 characters")


@pytest.mark.parametrize("value", [".inf", "-.Inf", ".nan", "1.0e+999"])
def test_a_number_json_cannot_hold_is_refused(tmp_path: Path, value: str) -> None:
    listing = read_text(tmp_path, component("x", f"  ratio: {value}\n") + "---\n" + component("ok"))

    assert refs(listing) == ["component:default/ok"]
    assert "is not a finite number" in only_problem(listing)[3]


# Finding 6: nothing vanishes without a word


@pytest.mark.parametrize(
    "tag",
    ['!Sub "x"', "!!python/object/apply:os.system ['true']", "!!python/name:os.system"],
)
def test_a_document_with_an_unknown_tag_costs_only_itself_in_a_folder(
    tmp_path: Path, tag: str
) -> None:
    text = component("tagged", f"  command: {tag}\n") + "---\n" + component("second")
    listing = read_text(tmp_path, text, name="service.yaml")

    assert refs(listing) == ["component:default/second"]
    _, line, _, message = only_problem(listing)
    assert line == 8
    assert message.startswith("document 1 cannot be read (could not determine a constructor")


@pytest.mark.parametrize(
    ("document", "found"),
    [("- a\n- b\n", "list"), ("just text\n", "string"), ("42\n", "number"), ("~\n", "null")],
)
def test_a_document_that_is_not_a_mapping_is_reported_in_a_folder(
    tmp_path: Path, document: str, found: str
) -> None:
    text = component("first") + "---\n" + document + "---\n" + component("third")
    listing = read_text(tmp_path, text, name="service.yaml")

    assert refs(listing) == ["component:default/first", "component:default/third"]
    assert only_problem(listing)[1:] == (
        9,
        "",
        f"document 2 is not an entity: a {found}, not a mapping",
    )


def test_empty_documents_are_nothing_to_read(tmp_path: Path) -> None:
    listing = read_text(
        tmp_path, "---\n" + component("a") + "---\n---\n" + component("b") + "---\n"
    )

    assert refs(listing) == ["component:default/a", "component:default/b"]
    assert listing.problems == []


@pytest.mark.parametrize("name", ["catalog-info.yaml", "catalog-info.yml"])
def test_an_empty_catalog_file_is_reported(tmp_path: Path, name: str) -> None:
    (tmp_path / "notes.yaml").write_text("")  # any other empty file in a folder is no catalog

    listing = read_text(tmp_path, "# nothing yet\n", name=name)

    assert only_problem(listing) == (
        str(tmp_path / name),
        None,
        "",
        "is empty: it holds no catalog documents",
    )


def test_an_empty_file_named_as_a_catalog_path_is_reported(tmp_path: Path) -> None:
    (tmp_path / "services.yaml").write_text("")

    listing = read_catalog([tmp_path / "services.yaml"])

    assert only_problem(listing)[3] == "is empty: it holds no catalog documents"


@pytest.mark.parametrize(
    ("extra", "line", "key", "repeated"),
    [
        ("  owner: team-b\n", 8, "spec.owner", "'owner' (first on line 7)"),
        ("  links:\n    - {url: a, title: b, url: c}\n", 9, "spec.links[0].url", "'url'"),
        ("  a: {b: {c: {d: 1, d: 2}}}\n", 8, "spec.a.b.c.d", "'d'"),
        ("  <<: {x: 1}\n  <<: {y: 1}\n", 9, "spec.<<", "'<<'"),
    ],
    ids=["top", "in a list", "deep", "merge key"],
)
def test_a_duplicate_key_refuses_the_document_naming_the_key(
    tmp_path: Path, extra: str, line: int, key: str, repeated: str
) -> None:
    listing = read_text(tmp_path, component("dup", extra) + "---\n" + component("ok"))

    assert refs(listing) == ["component:default/ok"]
    _, found_line, found_key, message = only_problem(listing)
    assert (found_line, found_key) == (line, key)
    assert message.startswith(f"document 1 is not read: duplicate key {repeated}")


def test_keys_of_different_types_are_not_duplicates(tmp_path: Path) -> None:
    listing = read_text(tmp_path, component("ok", "  1: number\n  '1': text\n"))

    assert refs(listing) == ["component:default/ok"]
    assert listing.problems == []


# Other hostile or careless input


def nested(depth: int) -> str:
    return "  deep: " + "[" * (depth - 1) + "x" + "]" * (depth - 1) + "\n"


def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path) -> None:
    # The root is level 0, spec 1 and `deep` 2: `nested(n)` reaches level n.
    fits = component("fits", nested(MAX_DEPTH - 1))
    listing = read_text(tmp_path, fits + "---\n" + component("deep", nested(MAX_DEPTH)))

    assert refs(listing) == ["component:default/fits"]
    _, line, _, message = only_problem(listing)
    assert line == 17
    assert message == f"document 2 is not read: nested more than {MAX_DEPTH} levels deep"


def test_nesting_deeper_than_libyaml_parses_is_reported(tmp_path: Path) -> None:
    listing = read_text(tmp_path, component("deep", nested(100_000)) + "---\n" + component("ok"))

    assert refs(listing) == ["component:default/ok"]
    assert "document 1 is invalid YAML" in only_problem(listing)[3]


def test_a_document_over_the_size_limit_is_not_parsed(tmp_path: Path) -> None:
    big = "  definition: " + "x" * MAX_DOCUMENT_BYTES + "\n"
    listing = read_text(
        tmp_path, component("a") + "---\n" + component("big", big) + "---\n" + component("c")
    )

    assert refs(listing) == ["component:default/a", "component:default/c"]
    _, line, _, message = only_problem(listing)
    assert line == 8
    assert message.startswith("document 2 is 1,048,")
    assert message.endswith(
        f"over the limit of {MAX_DOCUMENT_BYTES:,} bytes for one document; it is not read"
    )


def test_a_dense_document_under_the_size_limit_is_read_or_refused_cheaply(tmp_path: Path) -> None:
    # A flow list of one-letter items is the most nodes a document of this size can hold.
    items = (MAX_DOCUMENT_BYTES - 300) // 2
    listing = read_text(tmp_path, component("dense", "  x: [" + "a," * items + "a]\n"))

    assert refs(listing) == ["component:default/dense"]
    assert len(listing.entities[0].spec["x"]) == items + 1


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    file = tmp_path / "catalog-info.yaml"
    with file.open("w") as out:
        out.write(component("huge"))
        out.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk

    listing = read_catalog([tmp_path])

    assert only_problem(listing) == (
        str(file),
        None,
        "",
        f"is larger than the limit of {MAX_FILE_BYTES:,} bytes for a catalog file; it is not read",
    )


def test_a_large_file_that_is_no_catalog_is_passed_over_in_a_folder(tmp_path: Path) -> None:
    with (tmp_path / "openapi.yaml").open("w") as out:
        out.write("openapi: 3.0.0\ninfo: {title: big}\n")
        out.truncate(MAX_FILE_BYTES + 1)
    (tmp_path / "catalog-info.yaml").write_text(component("ok"))

    listing = read_catalog([tmp_path])

    assert refs(listing) == ["component:default/ok"]
    assert listing.problems == []


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", id="binary"),
        pytest.param(component("latin").encode() + b"  description: caf\xe9\n", id="latin-1"),
    ],
)
def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path, content: bytes) -> None:
    listing = read_text(tmp_path, content, name="service.yaml")

    assert listing.entities == []
    assert "is invalid YAML" in only_problem(listing)[3]


def test_a_huge_single_scalar_is_a_document_over_the_limit(tmp_path: Path) -> None:
    block = "  definition: |\n" + ("    " + "y" * 1000 + "\n") * 1100
    listing = read_text(tmp_path, component("api", block) + "---\n" + component("ok"))

    assert refs(listing) == ["component:default/ok"]
    assert "bytes for one document; it is not read" in only_problem(listing)[3]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("  since: 2024-02-30\n", "day is out of range for month"),
        ("  blob: !!binary a\n", "failed to decode base64 data"),
    ],
    ids=["date", "binary"],
)
def test_a_value_that_cannot_be_constructed_costs_only_its_document(
    tmp_path: Path, extra: str, reason: str
) -> None:
    listing = read_text(tmp_path, component("odd", extra) + "---\n" + component("ok"))

    assert refs(listing) == ["component:default/ok"]
    message = only_problem(listing)[3]
    assert message.startswith("document 1 cannot be read (") and reason in message


@pytest.mark.parametrize(
    ("key", "what"),
    [
        ("2024-01-01", "a date"),
        ("!!binary aGk=", "binary data"),
        ("? [a, b]\n  ", "a list or a mapping"),
    ],
)
def test_a_key_json_cannot_hold_is_refused(tmp_path: Path, key: str, what: str) -> None:
    listing = read_text(tmp_path, component("x", f"  {key}: v\n") + "---\n" + component("ok"))

    assert refs(listing) == ["component:default/ok"]
    assert (
        only_problem(listing)[3]
        == f"document 1 is not read: a key is {what}, which JSON cannot hold"
    )


def test_directives_are_honoured(tmp_path: Path) -> None:
    text = "%YAML 1.1\n---\n" + component("a") + "...\n%YAML 1.1\n---\n" + component("b")
    listing = read_text(tmp_path, text)

    assert refs(listing) == ["component:default/a", "component:default/b"]
    assert listing.problems == []


def test_a_symlink_loop_in_a_folder_ends(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "catalog-info.yaml").write_text(component("svc"))
    (tmp_path / "svc" / "again").symlink_to(tmp_path)
    (tmp_path / "svc" / "self").symlink_to(tmp_path / "svc")
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")

    listing = read_catalog([tmp_path])

    assert refs(listing) == ["component:default/svc"]
    assert only_problem(listing)[::3] == (
        str(tmp_path / "loop.yaml"),
        "cannot be read: Too many levels of symbolic links",
    )


def test_a_fifo_or_a_device_does_not_hang_the_reader(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")  # nobody ever writes to it
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    (tmp_path / "catalog-info.yaml").write_text(component("ok"))

    listing = read_catalog([tmp_path])

    assert refs(listing) == ["component:default/ok"]
    assert [(Path(p.file).name, p.message) for p in listing.problems] == [
        ("pipe.yaml", "is not a regular file but a FIFO; it is not read"),
        # A link out of the catalog is refused before anything else is looked at.
        (
            "zero.yaml",
            "is a link to a file outside the catalog's roots, so it is not read; "
            "an operator can allow its target's folder with repositories.local_roots",
        ),
    ]
    assert only_problem(read_catalog(["/dev/zero"]))[3] == (
        "is not a regular file but a device; it is not read"
    )


def test_a_fifo_named_as_a_catalog_path_does_not_hang_the_reader(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")

    listing = read_catalog([tmp_path / "pipe.yaml"])

    assert only_problem(listing)[3] == "is not a regular file but a FIFO; it is not read"


def test_an_unreadable_folder_is_reported(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        listing = read_catalog([tmp_path])
    finally:
        locked.chmod(0o755)

    assert only_problem(listing)[::3] == (str(locked), "cannot be read: Permission denied")


def test_a_glob_does_not_follow_symlink_loops(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "catalog-info.yaml").write_text(component("svc"))
    for name in ("a", "b"):  # two loops: Python's own `**` would walk 2**40 paths
        (tmp_path / "svc" / name).symlink_to(tmp_path / "svc")

    listing = read_catalog([f"{tmp_path}/**/*.yaml"])

    assert refs(listing) == ["component:default/svc"]
    assert listing.problems == []


def test_an_alias_cannot_hide_depth(tmp_path: Path) -> None:
    # Each anchor is 40 levels deep and holds the one before: 80, then 120 levels in all.
    def level(name: str, inner: str) -> str:
        return f"  {name}: &{name} " + "[" * 40 + inner + "]" * 40 + "\n"

    extra = level("a", "x") + level("b", "*a") + level("c", "*b")
    listing = read_text(tmp_path, component("deep", extra) + "---\n" + component("ok"))

    assert refs(listing) == ["component:default/ok"]
    assert f"nested more than {MAX_DEPTH} levels deep" in only_problem(listing)[3]


def test_keys_equal_once_read_are_duplicates(tmp_path: Path) -> None:
    listing = read_text(
        tmp_path, component("dup", "  1: one\n  01: again\n") + "---\n" + component("ok")
    )

    assert refs(listing) == ["component:default/ok"]
    assert only_problem(listing)[3].startswith("document 1 is not read: duplicate key '01'")


def test_a_broken_document_in_a_file_with_directives_costs_only_itself(tmp_path: Path) -> None:
    text = (
        "%YAML 1.1\n---\n" + component("a") + "...\n%YAML 1.1\n---\n{broken: [\n...\n"
        "%YAML 1.1\n---\n" + component("c")
    )
    listing = read_text(tmp_path, text)

    assert refs(listing) == ["component:default/a", "component:default/c"]
    assert only_problem(listing)[3].startswith("document 2 is invalid YAML")


def test_an_anchor_first_met_in_a_merge_is_read_wherever_its_alias_is(tmp_path: Path) -> None:
    extra = "  svc: {<<: &base {tier: gold}, name: x}\n  copy: *base\n  tags: !!set {a: null}\n"
    listing = read_text(tmp_path, component("merged", extra))

    spec = listing.entities[0].spec
    assert (spec["svc"], spec["copy"], spec["tags"]) == (
        {"tier": "gold", "name": "x"},
        {"tier": "gold"},
        {"a"},
    )
    assert listing.problems == []
