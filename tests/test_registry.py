"""Where checks come from: built-ins, installed plugins (entry points), check folders."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scorecard.problems import ConfigError
from scorecard.registry import CheckRegistry, build_registry

PLUGIN = '''
from scorecard import Result, check


@check(id="plugin_check", title="From a plugin", remediation="Nothing to do.")
def plugin_check(entity):
    """Always passes."""
    return Result.passed(f"{entity.ref} is fine.")
'''


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[Path]:
    """A real installed distribution declaring the `scorecard.checks` entry-point group."""
    site = tmp_path / "site"
    (site / "acme_checks").mkdir(parents=True)
    (site / "acme_checks" / "__init__.py").write_text(PLUGIN)
    dist = site / "acme_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[scorecard.checks]\nacme = acme_checks\n")
    sys.path.insert(0, str(site))
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("acme_checks", None)


def test_plugins_register_through_entry_points(installed_plugin: Path) -> None:
    registry = build_registry()
    assert "plugin_check" in registry
    assert registry.origin("plugin_check") == "entry point acme (acme_checks)"
    assert "has_owner" in registry


def test_builtins_only_when_plugins_are_off(installed_plugin: Path) -> None:
    assert "plugin_check" not in build_registry(plugins=False)


def test_a_folder_of_check_modules(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(PLUGIN.replace("plugin_check", "folder_check"))
    (tmp_path / "_helpers.py").write_text("raise RuntimeError('never imported')\n")
    registry = build_registry([tmp_path], plugins=False)
    assert registry.origin("folder_check") == str(tmp_path / "mine.py")


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("def broken(:\n", 1, "SyntaxError"),
        ("import os\nraise RuntimeError('no config')\n", 2, "RuntimeError('no config')"),
        (PLUGIN.replace("plugin_check", "has_owner"), None, "already defined by built-in"),
    ],
    ids=["syntax-error", "raises-on-import", "duplicate-id"],
)
def test_folder_problems_are_loud(
    tmp_path: Path, source: str, line: int | None, message: str
) -> None:
    (tmp_path / "bad.py").write_text(source)
    with pytest.raises(ConfigError) as caught:
        build_registry([tmp_path], plugins=False)
    (problem,) = caught.value.problems
    assert problem.file == str(tmp_path / "bad.py")
    assert problem.line == line
    assert message in problem.message


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="checks folder does not exist"):
        build_registry([tmp_path / "nope"], plugins=False)


def test_registries_are_independent_objects() -> None:
    first, second = build_registry(plugins=False), CheckRegistry()
    assert len(first) >= 18 and len(second) == 0
