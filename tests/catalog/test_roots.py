"""Location targets are followed only inside the catalog's roots or a listed root."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scorecard.catalog import BackstageSource, read_catalog, read_sources

OUTSIDE = "is outside the catalog's roots"
ALLOW = "an operator can allow it with repositories.local_roots"
SECRET = "s3cr3t-value-never-published"


def _location(path: Path, *targets: str) -> Path:
    lines = "".join(f"    - {target}\n" for target in targets)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\n"
        f"spec:\n  targets:\n{lines}"
    )
    return path


def _component(path: Path, name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"
        f"  description: {SECRET}\nspec:\n  owner: team-a\n"
    )
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the catalog's: one valid catalog file, and one that is not YAML."""
    folder = tmp_path / "outside"
    _component(folder / "stolen.yaml", "stolen")
    (folder / "shadow").write_text(f"root:{SECRET}:19000:0:99999:7:::\n[unclosed: {SECRET}\n")
    return folder


def _refs(listing) -> list[str]:  # type: ignore[no-untyped-def]
    return [entity.ref for entity in listing.entities]


@pytest.mark.parametrize(
    "target",
    ["/etc/shadow", "/etc/passwd", "{outside}/stolen.yaml", "../outside/shadow", "../outside/*"],
)
def test_a_target_outside_the_catalog_is_a_problem_and_is_not_read(
    tmp_path: Path, outside: Path, target: str
) -> None:
    target = target.format(outside=outside)
    catalog = _location(tmp_path / "catalog" / "all.yaml", target)

    listing = read_catalog([catalog])

    assert _refs(listing) == ["location:default/root"]
    [problem] = listing.problems
    assert problem.file == str(catalog) and problem.key == "spec.targets.0"
    assert OUTSIDE in problem.message and ALLOW in problem.message
    named = target if target.startswith("/") else str(tmp_path / target.removeprefix("../"))
    assert problem.message.startswith(named)
    assert SECRET not in str(problem) and "root:" not in str(problem)


def test_a_symlink_inside_the_catalog_leading_out_is_not_followed(
    tmp_path: Path, outside: Path
) -> None:
    catalog = tmp_path / "catalog"
    _component(catalog / "teams" / "a.yaml", "team-a-service")
    (catalog / "teams" / "b.yaml").symlink_to(outside / "stolen.yaml")
    (catalog / "elsewhere").symlink_to(outside)
    root = _location(catalog / "all.yaml", "./teams/*.yaml", "./elsewhere")

    listing = read_catalog([root])

    assert _refs(listing) == ["location:default/root", "component:default/team-a-service"]
    assert [(p.key, p.message.split(" is ")[0]) for p in listing.problems] == [
        ("spec.targets.0", str(catalog / "teams" / "b.yaml")),
        ("spec.targets.1", str(catalog / "elsewhere")),
    ]
    assert all(OUTSIDE in p.message for p in listing.problems)


def test_a_target_inside_a_listed_root_is_followed(tmp_path: Path, outside: Path) -> None:
    catalog = _location(tmp_path / "catalog" / "all.yaml", f"{outside}/stolen.yaml")

    listing = read_catalog([catalog], local_roots=[outside])

    assert _refs(listing) == ["location:default/root", "component:default/stolen"]
    assert listing.problems == []


def test_read_sources_passes_the_listed_roots(tmp_path: Path, outside: Path) -> None:
    catalog = _location(tmp_path / "catalog" / "all.yaml", "../outside/stolen.yaml")
    sources: list[str | Path | BackstageSource] = [catalog]

    assert len(read_sources(sources).problems) == 1
    assert "component:default/stolen" in _refs(read_sources(sources, local_roots=[outside]))


def test_a_target_elsewhere_in_the_catalog_repository_is_followed(tmp_path: Path) -> None:
    repo = tmp_path / "platform"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    _component(repo / "teams" / "payments" / "catalog-info.yaml", "payments")
    root = _location(repo / "catalog" / "all.yaml", "../teams/*/catalog-info.yaml")

    listing = read_catalog([root])

    assert _refs(listing) == ["location:default/root", "component:default/payments"]
    assert listing.problems == []


def test_a_catalog_folder_or_glob_is_a_root_for_the_targets_below_it(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    _component(catalog / "deep" / "svc.yaml", "deep")
    _location(catalog / "teams" / "all.yaml", "../deep/svc.yaml")

    by_folder = read_catalog([catalog])
    by_glob = read_catalog([str(catalog / "**" / "all.yaml")])
    by_file = read_catalog([catalog / "teams" / "all.yaml"])

    assert "component:default/deep" in _refs(by_folder) and by_folder.problems == []
    assert "component:default/deep" in _refs(by_glob) and by_glob.problems == []
    # Named as one file, the catalog's root is that file's folder: deep/ is outside it.
    assert "component:default/deep" not in _refs(by_file)
    assert OUTSIDE in by_file.problems[0].message


def test_a_catalog_file_linking_out_of_the_roots_is_not_read(tmp_path: Path, outside: Path) -> None:
    catalog = tmp_path / "catalog"
    _component(catalog / "teams" / "a.yaml", "team-a-service")
    (catalog / "teams" / "b.yaml").symlink_to(outside / "stolen.yaml")
    (catalog / "teams" / "node_modules").mkdir()  # a scan skips it: its links do not count
    (catalog / "teams" / "node_modules" / "x.yaml").symlink_to(outside / "stolen.yaml")
    _component(catalog / "others" / "c.yaml", "others-service")
    root = _location(catalog / "all.yaml", "./teams", "./others")

    listing = read_catalog([root])

    assert _refs(listing) == [
        "location:default/root",
        "component:default/team-a-service",
        "component:default/others-service",
    ]
    [problem] = listing.problems
    assert problem.file == str(catalog / "teams" / "b.yaml")
    assert "is a link to a file outside the catalog's roots" in problem.message
    assert SECRET not in str(problem)


@pytest.mark.parametrize("named", ["folder", "glob"])
def test_a_scanned_or_globbed_file_linking_out_is_not_read(
    tmp_path: Path, outside: Path, named: str
) -> None:
    """The operator's own catalog paths hold files every team writes: a link there to a
    file elsewhere on the server is reported and never opened."""
    catalog = tmp_path / "catalog"
    _component(catalog / "svc-a" / "catalog-info.yaml", "svc-a")
    (catalog / "svc-b").mkdir()
    (catalog / "svc-b" / "catalog-info.yaml").symlink_to(outside / "shadow")
    path = catalog if named == "folder" else catalog / "*" / "catalog-info.yaml"

    listing = read_catalog([path])

    assert _refs(listing) == ["component:default/svc-a"]
    [problem] = listing.problems
    assert problem.file == str(catalog / "svc-b" / "catalog-info.yaml")
    assert "is a link to a file outside the catalog's roots" in problem.message
    assert SECRET not in str(problem)
