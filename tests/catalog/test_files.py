from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from scorecard.catalog import CatalogListing, read_catalog
from scorecard.catalog.files import LIBYAML

DATA = Path(__file__).resolve().parents[1] / "data" / "catalog"
GOOD = DATA / "good"
BAD = DATA / "bad"
EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "catalogs" / "backstage-examples"

# Everything under good/, in reading order: the root Location's file, then its targets
# depth first (team.yaml, then services/*.yaml sorted).
GOOD_ENTITIES = [
    ("location:default/good-root", "catalog-info.yaml"),
    ("system:default/checkout", "catalog-info.yaml"),
    ("group:default/team-a", "team.yaml"),
    ("user:default/alice", "team.yaml"),
    ("user:default/bob", "team.yaml"),
    ("location:default/loop", "services/loop.yaml"),
    ("location:default/remote", "services/loop.yaml"),
    ("component:default/payments", "services/payments.yaml"),
    ("api:default/payments-api", "services/payments.yaml"),
]
REMOTE = "remote location targets are not read by the file source"
GOOD_PROBLEMS = [
    f"good/services/loop.yaml: spec.target: github.com/acme/elsewhere/catalog-info.yaml: {REMOTE}",
    "good/catalog-info.yaml: spec.targets.2: "
    f"https://github.com/acme/elsewhere/blob/main/catalog-info.yaml: {REMOTE}",
    f"good/catalog-info.yaml: spec.targets.3: no catalog files match {GOOD}/missing.yaml",
]


def entities(listing: CatalogListing) -> list[tuple[str, str | None]]:
    return [(entity.ref, entity.source) for entity in listing.entities]


def problems(listing: CatalogListing) -> list[str]:
    """Problems as text, with file names relative to the test data folder."""
    return [str(problem).removeprefix(f"{DATA}/") for problem in listing.problems]


def component(name: str) -> str:
    return f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"


def test_libyaml_flag_matches_pyyaml_build() -> None:
    assert LIBYAML is yaml.__with_libyaml__


@pytest.mark.parametrize(
    "paths",
    [
        pytest.param([GOOD], id="folder"),
        pytest.param([GOOD / "catalog-info.yaml"], id="root location file"),
        pytest.param([f"{GOOD}/catalog-*.yaml"], id="glob"),
        pytest.param([GOOD, GOOD / "catalog-info.yaml"], id="folder then file"),
        pytest.param([GOOD / "catalog-info.yaml", GOOD], id="file then folder"),
        pytest.param([str(GOOD), GOOD / "services" / ".." / "team.yaml"], id="another spelling"),
    ],
)
def test_every_route_to_a_catalog_reads_it_once(paths: list[str | Path]) -> None:
    listing = read_catalog(paths)

    assert entities(listing) == [(ref, str(GOOD / file)) for ref, file in GOOD_ENTITIES]
    assert problems(listing) == GOOD_PROBLEMS


def test_a_location_cycle_is_read_once() -> None:
    # ../catalog-info.yaml is outside services/; its root is listed, as the tests may run
    # outside a git checkout (inside one, the repository would hold it anyway).
    listing = read_catalog([GOOD / "services" / "loop.yaml"], local_roots=[GOOD])

    assert [ref for ref, _ in entities(listing)] == [
        "location:default/loop",
        "location:default/remote",
        "location:default/good-root",
        "system:default/checkout",
        "group:default/team-a",
        "user:default/alice",
        "user:default/bob",
        "component:default/payments",
        "api:default/payments-api",
    ]
    assert len(listing.problems) == len(GOOD_PROBLEMS)


def test_sources_keep_the_paths_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)

    listing = read_catalog(["good/catalog-info.yaml"])

    assert [source for _, source in entities(listing)] == [
        f"good/{file}" for _, file in GOOD_ENTITIES
    ]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(DATA / "missing.yaml", id="file"),
        pytest.param(DATA / "missing", id="folder"),
        pytest.param(f"{DATA}/**/nothing-*.yaml", id="glob"),
    ],
)
def test_a_path_matching_nothing_is_a_problem(path: str | Path) -> None:
    listing = read_catalog([path])

    assert listing.entities == []
    assert [str(p) for p in listing.problems] == [f"{path}: no catalog files match {path}"]


def test_a_syntax_error_costs_only_its_document_and_names_the_line() -> None:
    listing = read_catalog([BAD / "syntax.yaml"])

    assert [ref for ref, _ in entities(listing)] == [
        "component:default/before-the-error",
        "component:default/after-the-error",
    ]
    [problem] = listing.problems
    assert (problem.file, problem.line, problem.column) == (str(BAD / "syntax.yaml"), 11, 15)
    assert problem.message.startswith("document 2 is invalid YAML (mapping values are not")
    assert problem.message.endswith("; it is skipped")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (1, " is not an entity: a list, not a mapping"),
        (2, " is not a valid entity: kind None is missing"),
        (3, " is not a valid entity: metadata.name 'has a space' is not a valid entity name"),
        (5, ": component:default/Valid-One is already defined in"),
    ],
)
def test_invalid_documents_are_reported_and_skipped(document: int, reason: str) -> None:
    listing = read_catalog([BAD / "invalid.yaml"])

    assert [ref for ref, _ in entities(listing)] == ["component:default/valid-one"]
    messages = [p.message for p in listing.problems if p.file == str(BAD / "invalid.yaml")]
    assert any(m.startswith(f"document {document}{reason}") for m in messages), messages


def test_a_duplicate_ref_keeps_the_first_and_names_both_files() -> None:
    listing = read_catalog([GOOD, BAD / "duplicate.yaml"])

    assert entities(listing) == [(ref, str(GOOD / file)) for ref, file in GOOD_ENTITIES]
    assert problems(listing) == [
        *GOOD_PROBLEMS,
        "bad/duplicate.yaml:2:1: document 1: component:default/payments is already defined in "
        f"{GOOD}/services/payments.yaml; skipped",
    ]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (GOOD / "openapi.yaml", "document 1 is not a valid entity: apiVersion is missing"),
        (f"{GOOD}/open*.yaml", "document 1 is not a valid entity: apiVersion is missing"),
        (BAD / "notes.yaml", "document 1 is not a valid entity: apiVersion is missing"),
        (
            GOOD / "docs" / "mkdocs.yml",
            "document 1 cannot be read (could not determine a constructor",
        ),
    ],
)
def test_a_named_file_that_is_not_a_catalog_is_reported(path: str | Path, reason: str) -> None:
    listing = read_catalog([path])

    assert listing.entities == []
    [problem] = listing.problems
    assert problem.message.startswith(reason)


@pytest.mark.parametrize("name", ["openapi.yaml", "docs/mkdocs.yml"])
def test_a_folder_scan_passes_over_files_that_are_not_catalogs(tmp_path: Path, name: str) -> None:
    shutil.copy(GOOD / name, tmp_path)
    (tmp_path / "catalog-info.yaml").write_text(component("svc"))

    listing = read_catalog([tmp_path])

    assert [ref for ref, _ in entities(listing)] == ["component:default/svc"]
    assert listing.problems == []


def test_a_folder_scan_reports_broken_yaml(tmp_path: Path) -> None:
    shutil.copy(BAD / "syntax.yaml", tmp_path)

    listing = read_catalog([tmp_path])

    assert [(p.file, p.line) for p in listing.problems] == [(str(tmp_path / "syntax.yaml"), 11)]


def test_a_folder_scan_skips_hidden_folders_and_node_modules(tmp_path: Path) -> None:
    for folder, name in [
        (".github", "in-github"),
        ("node_modules/pkg", "in-node-modules"),
        ("svc", "in-svc"),
        ("svc/.backstage", "in-hidden"),
    ]:
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "catalog-info.yaml").write_text(component(name))
    (tmp_path / "root.yml").write_text(component("at-root"))

    listing = read_catalog([tmp_path])

    assert [ref for ref, _ in entities(listing)] == [
        "component:default/at-root",
        "component:default/in-svc",
    ]


def test_a_location_follows_an_absolute_file_target(tmp_path: Path) -> None:
    location = tmp_path / "location.yaml"
    location.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: absolute\n"
        f"spec:\n  type: file\n  target: {GOOD / 'team.yaml'}\n"
    )

    # Outside the catalog's own folder: read because the operator lists its root.
    listing = read_catalog([location], local_roots=[GOOD])

    assert entities(listing) == [
        ("location:default/absolute", str(location)),
        ("group:default/team-a", str(GOOD / "team.yaml")),
        ("user:default/alice", str(GOOD / "team.yaml")),
        ("user:default/bob", str(GOOD / "team.yaml")),
    ]
    assert listing.problems == []


def test_locations_without_usable_targets_are_reported() -> None:
    listing = read_catalog([BAD / "locations.yaml"])

    assert [ref for ref, _ in entities(listing)] == [
        "location:default/no-targets",
        "location:default/odd-targets",
    ]
    assert problems(listing) == [
        "bad/locations.yaml: location:default/no-targets has no spec.target or spec.targets",
        "bad/locations.yaml: spec.targets.0: target 42 is not a path",
        # A Location target is named explicitly, so a non-entity file there is reported.
        "bad/notes.yaml:1:1: document 1 is not a valid entity: "
        "apiVersion is missing or not a string",
    ]


# The Backstage example catalog (packages/catalog-model/examples), copied with some older
# versions of its files, so a few entities are defined twice.


@pytest.fixture(scope="module")
def examples() -> Path:
    if not EXAMPLES.is_dir():
        pytest.skip(f"the Backstage example catalog is not at {EXAMPLES}")
    return EXAMPLES


@pytest.fixture(scope="module")
def whole_examples(examples: Path) -> CatalogListing:
    return read_catalog([examples])


def test_examples_folder_gives_every_valid_entity(whole_examples: CatalogListing) -> None:
    assert Counter(entity.kind for entity in whole_examples.entities) == {
        "Component": 24,
        "API": 20,
        "User": 17,
        "Location": 10,
        "Group": 9,
        "AiResource": 4,
        "Domain": 3,
        "System": 3,
        "Environment": 2,
        "Resource": 1,
    }
    refs = {entity.ref for entity in whole_examples.entities}
    assert {
        "component:default/artist-lookup",
        "component:alternative/different-namespace",
        "group:default/team-a",
        "user:default/guest",
        "user:development/guest",
        "api:default/petstore",
        "system:default/audio-playback",
        "domain:default/artists",
        "resource:default/artists-db",
        "location:default/example-all",
    } <= refs
    # 12 duplicates (below) and the invalid component; the OpenAPI files pass silently.
    assert len(whole_examples.problems) == 13
    assert not any(".oas.yaml" in str(problem) for problem in whole_examples.problems)


def test_examples_invalid_component_is_reported(
    examples: Path, whole_examples: CatalogListing
) -> None:
    [problem] = [p for p in whole_examples.problems if "is not a valid entity" in p.message]

    assert problem.file == str(examples / "components" / "invalid-component.yaml")
    assert "metadata.name 'invalid component'" in problem.message


@pytest.mark.parametrize(
    ("ref", "first", "duplicate"),
    [
        # components/ wins: all-components.yaml (read first, sorted) lists it.
        *[
            (f"component:default/{name}", f"components/{file}", file)
            for name, file in [
                ("artist-lookup", "artist-lookup-component.yaml"),
                ("petstore", "petstore-component.yaml"),
                ("playback-sdk", "playback-lib-component.yaml"),
                ("podcast-api", "podcast-api-component.yaml"),
                ("queue-proxy", "queue-proxy-component.yaml"),
                ("searcher", "searcher-component.yaml"),
                ("shuffle-api", "shuffle-api-component.yaml"),
            ]
        ],
        # The top-level copy wins: all-apis.yaml does not list these, and a folder's own
        # files are read before its subfolders.
        *[
            (f"api:default/{name}", file, f"apis/{file}")
            for name, file in [
                ("hello-world", "hello-world-api.yaml"),
                ("petstore", "petstore-api.yaml"),
                ("spotify", "spotify-api.yaml"),
                ("streetlights", "streetlights-api.yaml"),
                ("starwars-graphql", "swapi-graphql.yaml"),
            ]
        ],
    ],
)
def test_examples_duplicates_name_both_files(
    examples: Path, whole_examples: CatalogListing, ref: str, first: str, duplicate: str
) -> None:
    sources = {entity.ref: entity.source for entity in whole_examples.entities}
    assert sources[ref] == str(examples / first)
    assert any(
        p.file == str(examples / duplicate)
        and f"{ref} is already defined in {examples / first}" in p.message
        for p in whole_examples.problems
    )


@pytest.mark.parametrize(
    ("start", "kinds"),
    [
        (
            "all.yaml",
            {"Location": 6, "Component": 13, "API": 7, "Domain": 3, "System": 3, "Resource": 1},
        ),
        ("acme-corp.yaml", {"Location": 2, "Group": 9, "User": 17}),
    ],
)
def test_examples_location_chain_is_followed(
    examples: Path, start: str, kinds: dict[str, int]
) -> None:
    listing = read_catalog([examples / start])

    assert Counter(entity.kind for entity in listing.entities) == kinds
    assert listing.problems == []
    assert listing.entities[0].source == str(examples / start)


def test_examples_all_yaml_reads_targets_relative_to_each_location(examples: Path) -> None:
    sources = {e.ref: e.source for e in read_catalog([examples / "all.yaml"]).entities}

    assert sources["location:default/example-components"] == str(examples / "all-components.yaml")
    assert sources["component:default/artist-lookup"] == str(
        examples / "components" / "artist-lookup-component.yaml"
    )
    assert sources["system:default/podcast"] == str(examples / "systems" / "podcast-system.yaml")


def test_examples_openapi_file_named_explicitly_is_reported(examples: Path) -> None:
    listing = read_catalog([examples / "apis" / "petstore.oas.yaml"])

    assert listing.entities == []
    assert [p.message for p in listing.problems] == [
        "document 1 is not a valid entity: apiVersion is missing or not a string"
    ]


def test_documents_share_one_copy_of_each_key_and_short_value(tmp_path: Path) -> None:
    # A large catalog repeats the same keys and short values (kinds, lifecycles, owners)
    # in every document: one copy each keeps it a third smaller in memory.
    long_text = "x" * 100
    (tmp_path / "catalog-info.yaml").write_text(
        "".join(
            f"---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n"
            f"  name: svc-{i}\n  description: {long_text}\n"
            f"spec:\n  type: service\n  owner: team-a\n  lifecycle: production\n"
            for i in range(2)
        )
    )
    first, second = (entity.raw for entity in read_catalog([tmp_path]).entities)

    [spec_key_1] = [key for key in first if key == "spec"]
    [spec_key_2] = [key for key in second if key == "spec"]
    assert spec_key_1 is spec_key_2
    assert first["spec"]["lifecycle"] is second["spec"]["lifecycle"]
    assert first["spec"]["owner"] is second["spec"]["owner"]
    # Long text is rarely repeated: not worth looking up.
    assert first["metadata"]["description"] == second["metadata"]["description"]
    assert first["metadata"]["description"] is not second["metadata"]["description"]
