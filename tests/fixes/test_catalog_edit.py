"""Editing one entity's document in a catalog-info.yaml: the changed lines change, and every
other byte of the file stays as the team wrote it."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from scorecard.catalog.safe_yaml import LIMITS, MAX_DEPTH, parse_documents
from scorecard.entity import lookup
from scorecard.fixes import catalog_edit
from scorecard.fixes.catalog_edit import CatalogEditError, edit_catalog_text
from scorecard.fixes.model import CatalogChange

REPO_ROOT = Path(__file__).resolve().parents[2]
# The shared example catalogs live beside the repository, where tests/conftest.py looks.
SHARED_CATALOGS = REPO_ROOT.parent / "shared" / "catalogs"
OWN_CATALOGS = REPO_ROOT / "tests" / "data" / "catalog" / "good"
SVC = ("Component", "default", "svc")
SOURCE = "catalog-info.yaml"


def edit(text: str, change: CatalogChange, entity: tuple[str, str, str] = SVC) -> str:
    return edit_catalog_text(text, entity, change, source=SOURCE)


def annotate(**annotations: str) -> CatalogChange:
    return CatalogChange(annotations=annotations)


def data(text: str, index: int = 0) -> dict:
    document = parse_documents(text.encode(), SOURCE)[index]
    assert document.problem is None, document.problem
    return document.data


def changed_old_lines(old: str, new: str) -> list[str]:
    """The lines of `old` that are not kept, byte for byte, in `new`."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    return [
        line
        for tag, i1, i2, _, _ in matcher.get_opcodes()
        if tag != "equal"
        for line in old_lines[i1:i2]
    ]


# --- layout kept --------------------------------------------------------------------------

COMMENTED = """\
# The payments service.   Owned by the data team.

apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc     # do not rename: dashboards use it
  title:   'Payments'
  description: >
    Takes payments,
    and refunds them.

  tags: [java,  payments]   # flow, with odd spacing
  links:
  - url: https://example.com/runbook
    title: "Runbook"
# a comment between keys, at column 0
spec:
  type: service
  lifecycle: experimental   # until the audit
  owner: group:default/data
"""


def test_an_annotation_is_added_and_comments_blank_lines_and_quoting_are_kept() -> None:
    new = edit(COMMENTED, annotate(**{"pagerduty.com/service-id": "PABC123"}))

    assert new == COMMENTED.replace(
        '    title: "Runbook"\n',
        '    title: "Runbook"\n  annotations:\n    pagerduty.com/service-id: PABC123\n',
    )
    assert data(new)["metadata"]["annotations"] == {"pagerduty.com/service-id": "PABC123"}


def test_an_existing_value_is_replaced_on_its_own_line_only() -> None:
    text = COMMENTED.replace(
        "  tags:", "  annotations:\n    a.io/x: 'old'   # set by hand\n    b.io/y: keep\n  tags:"
    )

    new = edit(text, annotate(**{"a.io/x": "new"}))

    assert new == text.replace("a.io/x: 'old'   # set", "a.io/x: new   # set")


def test_a_field_set_by_dot_path_replaces_the_value_and_keeps_its_comment() -> None:
    new = edit(COMMENTED, CatalogChange(fields={"spec.lifecycle": "production"}))

    assert changed_old_lines(COMMENTED, new) == ["  lifecycle: experimental   # until the audit\n"]
    assert "  lifecycle: production   # until the audit\n" in new


def test_a_change_already_made_returns_the_very_same_text() -> None:
    text = COMMENTED.replace("  tags:", '  annotations:\n    a.io/x: "v"\n  tags:')
    change = CatalogChange(
        annotations={"a.io/x": "v"},
        tags=("JAVA",),
        fields={"spec.type": "service", "metadata.annotations.a.io/x": "v"},
    )

    assert edit(text, change) is text


def test_several_changes_to_a_mapping_that_is_missing_create_it_once() -> None:
    text = "kind: Component\nmetadata:\n    name: svc\nspec:\n    type: service\n"
    change = CatalogChange(
        annotations={"a.io/x": "1", "b.io/y": "2"},
        labels={"tier": "gold"},
        tags=("java", "Java", "web"),
        fields={"metadata.annotations.c.io/z": "3", "spec.system": "pay"},
    )

    new = edit(text, change, ("component", "default", "svc"))

    assert new == (
        "kind: Component\nmetadata:\n    name: svc\n"
        "    annotations:\n        a.io/x: '1'\n        b.io/y: '2'\n        c.io/z: '3'\n"
        "    labels:\n        tier: gold\n"
        "    tags:\n        - java\n        - web\n"
        "spec:\n    type: service\n    system: pay\n"
    )


def test_lists_flush_with_their_key_stay_so() -> None:
    text = "kind: Component\nmetadata:\n  name: svc\n  links:\n  - url: x\nspec: {}\n"

    new = edit(text, CatalogChange(tags=("java",)))

    assert new == text.replace("spec:", "  tags:\n  - java\nspec:")


# --- documents, line ends -------------------------------------------------------------------

MULTI = """\
%YAML 1.1
---
# first: a Component of the same name in another namespace
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc, namespace: other}
spec: {type: service}
...
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: svc
---   # the one to edit
apiVersion: backstage.io/v1alpha1
kind: component
metadata:
  name: svc
  namespace: default
spec:
  type: website

# trailing comment of the document
---
"""


def test_in_a_file_of_several_documents_only_the_entitys_document_changes() -> None:
    new = edit(MULTI, annotate(**{"a.io/x": "v"}))

    assert new == MULTI.replace(
        "  namespace: default\n", "  namespace: default\n  annotations:\n    a.io/x: v\n"
    )
    documents = parse_documents(new.encode(), SOURCE)
    assert [d.data for d in documents[:2]] == [
        d.data for d in parse_documents(MULTI.encode(), SOURCE)[:2]
    ]


def test_the_namespace_and_the_kind_pick_the_document() -> None:
    new = edit(MULTI, annotate(**{"a.io/x": "v"}), ("Component", "other", "svc"))

    assert new == MULTI.replace(
        "metadata: {name: svc, namespace: other}",
        "metadata: {name: svc, namespace: other, annotations: {a.io/x: v}}",
    )
    new = edit(MULTI, annotate(**{"a.io/x": "v"}), ("API", "default", "svc"))
    assert new == MULTI.replace(
        "  name: svc\n---   #", "  name: svc\n  annotations:\n    a.io/x: v\n---   #"
    )


def test_a_crlf_file_keeps_its_line_ends(tmp_path: Path) -> None:
    file = tmp_path / "catalog-info.yaml"
    original = (
        b"apiVersion: backstage.io/v1alpha1\r\nkind: Component\r\nmetadata:\r\n"
        b"  name: svc\r\n  tags:\r\n    - java\r\nspec:\r\n  type: service\r\n"
    )
    file.write_bytes(original)

    text = file.read_bytes().decode("utf-8")
    change = CatalogChange(annotations={"a.io/x": "v"}, tags=("web",), fields={"spec.owner": "t"})
    file.write_bytes(edit(text, change).encode("utf-8"))

    assert file.read_bytes() == original.replace(
        b"    - java\r\n", b"    - java\r\n    - web\r\n  annotations:\r\n    a.io/x: v\r\n"
    ).replace(b"  type: service\r\n", b"  type: service\r\n  owner: t\r\n")


def test_a_file_without_a_last_newline_stays_without_one(tmp_path: Path) -> None:
    file = tmp_path / "catalog-info.yaml"
    file.write_bytes(b"kind: Component\nmetadata:\n  name: svc\n  annotations:\n    a.io/x: v")

    edited = edit(file.read_bytes().decode(), annotate(**{"b.io/y": "w"}))

    assert (
        edited == "kind: Component\nmetadata:\n  name: svc\n  annotations:\n    a.io/x: v\n"
        "    b.io/y: w"
    )


def test_a_byte_order_mark_is_kept() -> None:
    text = "\ufeffkind: Component\nmetadata:\n  name: svc\n  title: x\n"

    assert edit(text, CatalogChange(fields={"metadata.title": "Svc"})) == text.replace(
        "title: x", "title: Svc"
    )


def test_a_block_scalar_is_neither_cut_nor_extended() -> None:
    text = (
        "kind: Component\nmetadata:\n  name: svc\n  description: |+\n    kept\n\n"
        "spec:\n  notes: |\n    first\n\n  # a comment\n"
    )

    new = edit(text, CatalogChange(fields={"metadata.title": "T", "spec.owner": "t"}))

    assert new == text.replace("    kept\n\n", "    kept\n\n  title: T\n").replace(
        "    first\n", "    first\n  owner: t\n"
    )
    assert data(new)["metadata"]["description"] == "kept\n\n"


# --- flow style ------------------------------------------------------------------------------


def test_a_flow_annotations_mapping_is_edited_in_flow_style() -> None:
    text = "kind: Component\nmetadata:\n  name: svc\n  annotations: {a.io/x: old, b.io/y: z}  # c\n"

    new = edit(text, annotate(**{"a.io/x": "new", "c.io/z": "@team"}))

    assert new == text.replace(
        "{a.io/x: old, b.io/y: z}", "{a.io/x: new, b.io/y: z, c.io/z: '@team'}"
    )


def test_an_empty_or_multi_line_flow_mapping_is_edited_in_place() -> None:
    text = (
        "kind: Component\nmetadata:\n  name: svc\n  annotations: {}\n"
        "  labels: {\n    a: b,   # trailing comma\n  }\n"
    )

    new = edit(text, CatalogChange(annotations={"x": "1"}, labels={"c": "d"}))

    assert new == text.replace("{}", "{x: '1'}").replace("a: b,", "a: b, c: d,")


def test_a_tag_is_appended_to_a_flow_list_and_to_a_block_list() -> None:
    flow = "kind: Component\nmetadata:\n  name: svc\n  tags: [Java, 'web']\n"
    block = "kind: Component\nmetadata:\n  name: svc\n  tags:\n    -   java  # first\nspec: {}\n"

    assert edit(flow, CatalogChange(tags=("JAVA", "go"))) == flow.replace("'web']", "'web', go]")
    assert edit(block, CatalogChange(tags=("go", "on"))) == block.replace(
        "# first\n", '# first\n    -   go\n    -   "on"\n'
    )


def test_an_empty_value_becomes_the_mapping_or_list_it_needs() -> None:
    text = (
        "kind: Component\nmetadata:\n  name: svc\n  annotations:\n"
        "    # github.com/project-slug: fill me in\n  tags: ~   # none yet\nspec:\n  type:\n"
    )

    new = edit(
        text,
        CatalogChange(annotations={"a.io/x": "v"}, tags=("java",), fields={"spec.type": "lib"}),
    )

    assert new == (
        "kind: Component\nmetadata:\n  name: svc\n  annotations:\n    a.io/x: v\n"
        "    # github.com/project-slug: fill me in\n  tags:   # none yet\n    - java\n"
        "spec:\n  type: lib\n"
    )


def test_a_document_written_as_json_is_edited_in_flow_style() -> None:
    text = '{"kind": "Component",\n "metadata": {"name": "svc"},\n "spec": {"type": "x"}}'

    new = edit(text, CatalogChange(annotations={"a": "b"}, fields={"spec.owner": "yes"}))

    assert new == text.replace('"svc"}', '"svc", annotations: {a: b}}').replace(
        '"x"}', '"x", owner: "yes"}'
    )


# --- dot paths ---------------------------------------------------------------------------------


def test_missing_mappings_on_a_dot_path_are_created_one_level_per_segment() -> None:
    text = "kind: Component\nmetadata:\n  name: svc\nspec:\n  type: service\n"

    new = edit(text, CatalogChange(fields={"spec.deploy.k8s.replicas": 3}))

    assert new == text + "  deploy:\n    k8s:\n      replicas: 3\n"
    assert lookup(data(new), "spec.deploy.k8s.replicas") == 3


@pytest.mark.parametrize(
    "text",
    [
        "kind: Component\nmetadata:\n  name: svc\n",
        "kind: Component\nmetadata:\n  name: svc\n  annotations:\n    other: x\n",
        "kind: Component\nmetadata:\n  name: svc\n  annotations:\n"
        "    backstage.io/kubernetes-id: old\n",
    ],
)
def test_an_annotation_path_is_read_back_by_lookup_as_one_key(text: str) -> None:
    path = "metadata.annotations.backstage.io/kubernetes-id"

    new = edit(text, CatalogChange(fields={path: "svc"}))

    assert lookup(data(new), path) == "svc"
    assert data(new)["metadata"]["annotations"]["backstage.io/kubernetes-id"] == "svc"


def test_a_key_with_dots_is_found_before_nested_keys() -> None:
    text = "kind: Component\nmetadata:\n  name: svc\nspec:\n  a.b: 1\n  a:\n    b: 2\n"

    new = edit(text, CatalogChange(fields={"spec.a.b": 5}))

    assert new == text.replace("a.b: 1", "a.b: 5")


def test_a_list_item_is_named_by_its_index() -> None:
    text = "kind: Component\nmetadata:\n  name: svc\nspec:\n  targets:\n    - a\n    - b\n"

    assert edit(text, CatalogChange(fields={"spec.targets.1": "c"})) == text.replace("- b", "- c")


# Text that YAML 1.1 or 1.2 would read as something else, or that needs escapes.
TRICKY = [
    *["yes", "No", "on", "off", "y", "123", "0o12", "0x1F", "1e3", "1_000", ".5", "null"],
    *["~", "true", "2024-01-01", "@team", "`cmd`", "#c", "*alias", "&anchor", "!tag", "%dir"],
    *["[a]", "{a}", "a,b", "?", "'", '"', "it's", "", " leading", "trailing ", "a: b", "x # y"],
    *["- item", "multi\nline", "tab\there", "bell\a", "ünïcödé", "line\u2028sep", "é" * 300],
]


@pytest.mark.parametrize("value", TRICKY)
def test_a_tricky_value_stays_the_same_text_for_yaml_1_1_and_1_2(value: str) -> None:
    text = "kind: Component\nmetadata:\n  name: svc\n  annotations:\n    a.io/old: x\n"
    change = CatalogChange(annotations={"a.io/new": value, "a.io/old": value}, labels={"l": value})

    new = edit(text, change)

    for read in (data(new), YAML(typ="safe", pure=True).load(new)):
        assert read["metadata"]["annotations"] == {"a.io/old": value, "a.io/new": value}
        assert read["metadata"]["labels"] == {"l": value}
    assert len(new.splitlines()) == len(text.splitlines()) + 3


def test_keys_that_need_quoting_are_quoted() -> None:
    text = "kind: Component\nmetadata:\n  name: svc\n"

    new = edit(text, CatalogChange(labels={"yes": "1", "a: b": "2", "#x": "3"}))

    assert data(new)["metadata"]["labels"] == {"yes": "1", "a: b": "2", "#x": "3"}


# --- refused -------------------------------------------------------------------------------------

HEAD = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n"


@pytest.mark.parametrize(
    ("extra", "change", "line", "words"),
    [
        ("  annotations:\n    - a\n", annotate(x="1"), 5, "metadata.annotations is a list, not"),
        ("  annotations: none\n", annotate(x="1"), 5, "is the text 'none', not a mapping"),
        ("  labels: [a]\n", CatalogChange(labels={"x": "1"}), 5, "metadata.labels is a list"),
        ("  tags: {a: b}\n", CatalogChange(tags=("a",)), 5, "metadata.tags is a mapping, not a"),
        ("  tags: java\n", CatalogChange(tags=("java",)), 5, "metadata.tags is the text 'java'"),
        (
            "spec:\n  type: service\n",
            CatalogChange(fields={"spec.type.name": "x"}),
            6,
            "spec.type is the text 'service', so the path cannot go through it",
        ),
        (
            "spec:\n  type: service\n",
            CatalogChange(fields={"spec": "x"}),
            5,
            "it is a mapping, and the change only replaces a single value",
        ),
        (
            "spec:\n  targets: [a]\n",
            CatalogChange(fields={"spec.targets.3": "x"}),
            6,
            "spec.targets has no item 3",
        ),
    ],
)
def test_a_value_in_the_way_is_refused_with_its_line(
    extra: str, change: CatalogChange, line: int, words: str
) -> None:
    with pytest.raises(CatalogEditError) as raised:
        edit(HEAD + extra, change)

    assert raised.value.line == line
    assert str(raised.value).startswith(f"{SOURCE}:{line}: ")
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("text", "change", "words"),
    [
        (
            "x-common: &common\n  a.io/x: shared\n" + HEAD + "  annotations: *common\n",
            annotate(**{"b.io/y": "v"}),
            "metadata.annotations is an alias (*common)",
        ),
        (
            HEAD + "  annotations: &common\n    a.io/x: shared\n  labels: *common\n",
            annotate(**{"b.io/y": "v"}),
            "metadata.annotations carries the anchor &common",
        ),
        (
            HEAD + "  owner: &o team-a\nspec:\n  owner: *o\n",
            CatalogChange(fields={"metadata.owner": "team-b"}),
            "metadata.owner carries the anchor &o",
        ),
        (
            "x: &base {a.io/x: v}\n" + HEAD + "  annotations:\n    <<: *base\n",
            annotate(**{"a.io/x": "w"}),
            "metadata.annotations takes keys from elsewhere with a merge key (<<)",
        ),
        (
            "x: &tags [a]\n" + HEAD + "  tags: *tags\n",
            CatalogChange(tags=("b",)),
            "metadata.tags is an alias (*tags)",
        ),
    ],
)
def test_a_shared_node_is_refused_rather_than_edited(
    text: str, change: CatalogChange, words: str
) -> None:
    with pytest.raises(CatalogEditError, match="change it by hand") as raised:
        edit(text, change)

    assert words in str(raised.value)


def test_a_document_that_is_not_there_is_named_in_the_message() -> None:
    with pytest.raises(CatalogEditError) as raised:
        edit(HEAD, annotate(x="1"), ("Component", "default", "other"))

    assert str(raised.value) == f"{SOURCE}: no document describes component:default/other"


def test_an_entity_described_twice_is_refused() -> None:
    with pytest.raises(CatalogEditError, match=r"described twice \(line 1 and line 6\)"):
        edit(HEAD + "---\n" + HEAD, annotate(x="1"))


def test_invalid_yaml_before_the_entity_is_refused_with_its_line() -> None:
    text = "kind: Location\nspec: [a, b\n---\n" + HEAD

    with pytest.raises(CatalogEditError) as raised:
        edit(text, annotate(x="1"))

    assert raised.value.line is not None and raised.value.line <= 3
    assert "invalid YAML" in str(raised.value)


def test_invalid_yaml_in_the_entitys_own_document_is_refused() -> None:
    with pytest.raises(CatalogEditError, match=r"invalid YAML") as raised:
        edit(HEAD + "spec: {type: [}\n", annotate(x="1"))

    assert raised.value.line == 5


def test_invalid_yaml_after_the_entity_leaves_its_document_editable() -> None:
    text = HEAD + "---\nkind: Location\nspec: [a, b\n"

    new = edit(text, annotate(x="1"))

    assert new == text.replace("name: svc\n", "name: svc\n  annotations:\n    x: '1'\n")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (
            "  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"  {b}: &{b} [*{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}]\n"
                for a, b in zip("abcdefg", "bcdefgh", strict=True)
            ),
            "with its aliases expanded",
        ),
        ("  deep: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", "nested more than"),
        ("  name: again\n", "duplicate key"),
    ],
)
def test_a_document_over_the_catalogs_limits_is_not_edited(extra: str, words: str) -> None:
    with pytest.raises(CatalogEditError, match=words) as raised:
        edit(HEAD + extra, annotate(x="1"))

    assert raised.value.line is not None


def test_a_file_over_the_size_limit_is_refused_unread() -> None:
    text = HEAD + "#" * LIMITS.file_bytes

    with pytest.raises(CatalogEditError, match="larger than the limit"):
        edit(text, annotate(x="1"))


def test_a_value_yaml_cannot_hold_the_same_way_is_refused() -> None:
    with pytest.raises(CatalogEditError, match="cannot be written as YAML"):
        edit(HEAD, CatalogChange(fields={"spec.ratio": float("nan")}))


def test_a_block_scalar_ending_the_file_without_a_line_break_is_not_extended() -> None:
    text = HEAD + "  description: |\n    Takes payments."

    with pytest.raises(CatalogEditError, match="End the file with a line break first") as raised:
        edit(text, annotate(x="1"))

    assert raised.value.line == 5
    assert edit(text + "\n", annotate(x="1")).endswith(
        "Takes payments.\n  annotations:\n    x: '1'\n"
    )


def test_text_that_is_not_unicode_is_refused() -> None:
    with pytest.raises(CatalogEditError, match="not valid Unicode") as raised:
        edit(HEAD + "  title: \udc80\n", annotate(x="1"))

    assert raised.value.line == 5


def test_a_later_value_for_the_same_key_wins() -> None:
    text = HEAD + "  annotations:\n    a: old\n"
    change = CatalogChange(
        annotations={"a": "one", "b": "one"},
        fields={"metadata.annotations.a": "two", "metadata.annotations.b": "two"},
    )

    assert edit(text, change) == text.replace("a: old\n", "a: two\n    b: two\n")


# --- the checks before returning --------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "line"),
    [("team-a", "team-b", 8), ("spec:\n", "spec: \n", 5)],
    ids=["far from the change", "next to the new lines"],
)
def test_an_edit_that_would_change_another_line_is_refused(
    monkeypatch: pytest.MonkeyPatch, before: str, after: str, line: int
) -> None:
    spliced = catalog_edit._spliced
    text = HEAD + "spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    # A splicing mistake that also changes a line the change is not about.
    monkeypatch.setattr(
        catalog_edit, "_spliced", lambda *args: spliced(*args).replace(before, after)
    )

    with pytest.raises(CatalogEditError, match="would also change this line") as raised:
        edit(text, annotate(x="1"))

    assert raised.value.line == line


def test_an_edit_that_would_not_read_back_as_expected_is_refused() -> None:
    # Written and read back by YAML, but longer than the catalog reader keeps an integer.
    with pytest.raises(CatalogEditError, match="would not read back as intended") as raised:
        edit(HEAD, CatalogChange(fields={"spec.replicas": 10**1200}))

    assert raised.value.line == 1


# --- real catalogs ----------------------------------------------------------------------------


def catalog_files() -> list[Path]:
    roots = [OWN_CATALOGS, SHARED_CATALOGS]
    return sorted(f for root in roots if root.is_dir() for f in root.rglob("*.y*ml"))


def test_every_entity_of_the_example_catalogs_takes_an_annotation() -> None:
    if not SHARED_CATALOGS.is_dir():
        pytest.skip(f"the shared example catalogs are not present at {SHARED_CATALOGS}")
    change = annotate(**{"scorecard.dev/edited": "yes"})
    edited = 0
    for file in catalog_files():
        text = file.read_bytes().decode("utf-8")
        before = parse_documents(text.encode(), str(file))
        for index, document in enumerate(before):
            raw = document.data
            if not (isinstance(raw, dict) and isinstance(raw.get("metadata"), dict)):
                continue
            metadata = raw["metadata"]
            entity = (raw["kind"], metadata.get("namespace", "default"), metadata["name"])

            new = edit_catalog_text(text, entity, change, source=file.name)

            # Only new lines; an old one changes only if it held flow-style annotations,
            # or ended the file without a line break and now has lines after it.
            last = text.splitlines(keepends=True)[-1]
            for line in changed_old_lines(text, new):
                assert "annotations: {" in line or line == last == last.rstrip("\r\n"), file
            after = parse_documents(new.encode(), str(file))
            assert after[index].data["metadata"]["annotations"]["scorecard.dev/edited"] == "yes"
            assert [d.data for i, d in enumerate(after) if i != index] == [
                d.data for i, d in enumerate(before) if i != index
            ], file
            read = list(YAML(typ="safe", pure=True).load_all(new))  # as YAML 1.2 reads it
            assert read[index]["metadata"]["annotations"]["scorecard.dev/edited"] == "yes"
            edited += 1
    assert edited > 50
