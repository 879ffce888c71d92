"""The built-in library as a whole: every module registered, every check documented and tested."""

import importlib.util
import string
from pathlib import Path
from types import ModuleType

import pytest

import checks
from checks import BUILTIN_MODULES
from scorecard.registry import build_registry
from scorecard.results import Outcome
from scorecard.sdk import Check

REGISTRY = build_registry(plugins=False)
# What pytest.param returns; its rows keep their values in `.values`.
PARAM_ROW = type(pytest.param())
BUILTIN_IDS = sorted(check.id for check in REGISTRY)


def test_every_module_file_is_listed() -> None:
    files = {path.stem for path in Path(checks.__file__).parent.glob("*.py")} - {"__init__"}
    assert files == {module.__name__.removeprefix("checks.") for module in BUILTIN_MODULES}


def test_every_module_defines_checks() -> None:
    for module in BUILTIN_MODULES:
        assert any(isinstance(value, Check) for value in vars(module).values()), module


def test_ids_are_unique_across_modules() -> None:
    ids = [
        value.id
        for module in BUILTIN_MODULES
        for value in vars(module).values()
        if isinstance(value, Check)
    ]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 18


@pytest.mark.parametrize("check_id", BUILTIN_IDS)
def test_check_is_documented(check_id: str) -> None:
    check = REGISTRY[check_id]
    assert check.meta.title.strip()
    assert check.meta.description.strip().endswith(".")
    assert check.meta.remediation.strip()
    # Only checks that make requests (the `github` input) are async.
    assert check.is_async == ("github" in check.inputs)


@pytest.mark.parametrize("check_id", BUILTIN_IDS)
def test_params_model_is_strict(check_id: str) -> None:
    model = REGISTRY[check_id].params_model
    if model is not None:
        assert model.model_config.get("extra") == "forbid"


@pytest.mark.parametrize("check_id", BUILTIN_IDS)
def test_remediation_placeholders_name_params(check_id: str) -> None:
    check = REGISTRY[check_id]
    placeholders = {
        field for _, field, _, _ in string.Formatter().parse(check.meta.remediation) if field
    }
    model = check.params_model
    names = set(model.model_fields) | set(model.model_computed_fields) if model else set()
    assert placeholders <= names


def test_every_check_has_pass_and_fail_cases() -> None:
    cases: set[tuple[str, Outcome | None]] = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        if path != Path(__file__):
            cases |= _cases_in_tables(_load(path))
    for outcome in (Outcome.PASS, Outcome.FAIL):
        missing = set(BUILTIN_IDS) - {check_id for check_id, seen in cases if seen == outcome}
        assert not missing, f"no {outcome} case for {sorted(missing)}"


def _load(path: Path) -> ModuleType:
    # Loaded under a private name, so that it works whatever pytest's import mode is.
    spec = importlib.util.spec_from_file_location(f"_library_test_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases_in_tables(module: ModuleType) -> set[tuple[str, Outcome | None]]:
    """(check id, expected outcome) of every row of the module's `parametrize` tables."""
    found = set()
    for value in vars(module).values():
        for mark in getattr(value, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            for row in mark.args[1]:
                values = row.values if isinstance(row, PARAM_ROW) else row
                if not isinstance(values, tuple | list):
                    values = (values,)
                outcome = next((item for item in values if isinstance(item, Outcome)), None)
                found |= {(item.id, outcome) for item in values if isinstance(item, Check)}
    return found
