"""The check registry: an object that is built and passed in, never a module global.

Checks come from three places: the built-in `checks` package (its modules are listed
there explicitly), installed packages that declare the entry-point group
`scorecard.checks`, and folders of check modules named in the workspace config.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from scorecard.problems import ConfigError, Problem
from scorecard.sdk import Check

ENTRY_POINT_GROUP = "scorecard.checks"


class CheckRegistry:
    def __init__(self, checks: Iterable[Check] = (), origin: str = "code") -> None:
        self._checks: dict[str, Check] = {}
        self._origins: dict[str, str] = {}
        for item in checks:
            self.add(item, origin)

    def add(self, item: Check, origin: str) -> None:
        if not isinstance(item, Check):
            raise TypeError(f"{origin}: {item!r} is not a check (decorate it with @check)")
        existing = self._checks.get(item.id)
        if existing is not None and existing is not item:
            raise ConfigError(
                [
                    Problem(
                        origin,
                        f"check id {item.id!r} is already defined by {self._origins[item.id]}",
                    )
                ]
            )
        self._checks[item.id] = item
        self._origins[item.id] = origin

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def __getitem__(self, check_id: str) -> Check:
        return self._checks[check_id]

    def get(self, check_id: str) -> Check | None:
        return self._checks.get(check_id)

    def __iter__(self) -> Iterator[Check]:
        return iter(sorted(self._checks.values(), key=lambda c: c.id))

    def __len__(self) -> int:
        return len(self._checks)

    def origin(self, check_id: str) -> str:
        return self._origins[check_id]

    def add_module(self, module: ModuleType, origin: str) -> int:
        """Register every check defined at the top level of a module; returns how many."""
        found = [value for value in vars(module).values() if isinstance(value, Check)]
        for item in found:
            self.add(item, origin)
        return len(found)

    def add_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Load third-party checks: an entry point names a module, a Check or a list of them."""
        problems = []
        for point in entry_points(group=group):
            origin = f"entry point {point.name} ({point.value})"
            try:
                loaded = point.load()
                self._add_loaded(loaded, origin)
            except ConfigError as error:
                problems.extend(error.problems)
            except Exception as error:
                problems.append(Problem(origin, f"cannot load: {error!r}"))
        if problems:
            raise ConfigError(problems)

    def _add_loaded(self, loaded: Any, origin: str) -> None:
        if isinstance(loaded, ModuleType):
            self.add_module(loaded, origin)
        elif isinstance(loaded, Check):
            self.add(loaded, origin)
        elif isinstance(loaded, list | tuple):
            for item in loaded:
                self.add(item, origin)
        else:
            raise TypeError(f"expected a module, a check or a list of checks, got {loaded!r}")

    def add_directory(self, folder: Path) -> None:
        """Import every `*.py` module of a folder (not starting with `_`) and add its checks."""
        if not folder.is_dir():
            raise ConfigError([Problem(str(folder), "checks folder does not exist")])
        problems = []
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            try:
                module = _import_file(path)
                self.add_module(module, str(path))
            except ConfigError as error:
                problems.extend(error.problems)
            except Exception as error:
                problems.append(_import_problem(path, error))
        if problems:
            raise ConfigError(problems)


def _import_file(path: Path) -> ModuleType:
    # A name derived from the absolute path keeps two folders' `ownership.py` apart.
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"scorecard_user_checks.{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import_problem(path: Path, error: Exception) -> Problem:
    line = None
    if isinstance(error, SyntaxError):
        line = error.lineno
    else:
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            if frame.filename == str(path):
                line = frame.lineno
                break
    return Problem(str(path), f"cannot import check module: {error!r}", line=line)


def build_registry(
    check_dirs: Iterable[Path] = (), *, builtins: bool = True, plugins: bool = True
) -> CheckRegistry:
    """The registry a workspace uses: built-ins, installed plugins, then its own folders."""
    registry = CheckRegistry()
    problems: list[Problem] = []
    if builtins:
        from checks import BUILTIN_MODULES

        for module in BUILTIN_MODULES:
            registry.add_module(module, f"built-in ({module.__name__})")
    steps = [registry.add_entry_points] if plugins else []
    steps += [lambda folder=folder: registry.add_directory(folder) for folder in check_dirs]
    for step in steps:
        try:
            step()
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return registry
