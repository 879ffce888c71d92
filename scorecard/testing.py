"""Test a check in one line: `run_check(has_readme, repo={"README.md": "# Hi"})`.

Inputs are given as plain data: `entity` as a dict (missing fields are filled with a
minimal valid Component), `repo` as a folder, a {path: text} mapping written to a
temporary folder or a `Repo`, `catalog` as a list of entity dicts, `params` as a dict
validated by the check's params model, `github` as a `GitHubRepoFacts` (over an
`httpx.MockTransport`, say).
Exceptions propagate, so a crashing check shows its traceback; `InputUnavailable` (and
GitHub's `FactUnavailable`) becomes `unknown`, as in a run.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from scorecard.entity import Entity
from scorecard.inputs import CatalogView, InputUnavailable, Repo
from scorecard.results import Result
from scorecard.sdk import Check, ensure_result


def make_entity(raw: Mapping[str, Any] | Entity | None = None, **metadata: Any) -> Entity:
    """An entity from a partial document: kind Component, name `example` unless given."""
    if isinstance(raw, Entity):
        return raw
    document: dict[str, Any] = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "example"},
        "spec": {},
    }
    for key, value in (raw or {}).items():
        if key == "metadata":
            document["metadata"] = {"name": "example", **value}
        else:
            document[key] = value
    document["metadata"].update(metadata)
    return Entity(document)


def run_check(
    check: Check,
    entity: Mapping[str, Any] | Entity | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    repo: Path | str | Mapping[str, str | bytes] | Repo | None = None,
    catalog: Iterable[Mapping[str, Any] | Entity] = (),
    http: Any = None,
    github: Any = None,
) -> Result:
    """Run one check on plain data and return its Result."""
    subject = make_entity(entity)
    with tempfile.TemporaryDirectory(prefix="scorecard-check-") as scratch:
        inputs: dict[str, Any] = {
            "entity": subject,
            "params": check.parse_params(dict(params) if params is not None else None),
            "catalog": CatalogView([subject, *(make_entity(e) for e in catalog)]),
            "http": http,
            "github": github,
            "repo": _repo(repo, Path(scratch)),
        }
        kwargs = {name: inputs[name] for name in check.inputs}
        try:
            value = check.func(**kwargs)
            if check.is_async:
                value = asyncio.run(value)
        except InputUnavailable as error:  # as in a run: the data could not be read
            return Result.unknown(str(error).strip(), exception=type(error).__name__)
        return ensure_result(check.id, value)


def _repo(repo: Path | str | Mapping[str, str | bytes] | Repo | None, scratch: Path) -> Repo:
    if repo is None:
        return Repo(scratch, label="example")
    if isinstance(repo, Repo):
        return repo
    if isinstance(repo, str | Path):
        return Repo(Path(repo))
    for relative, content in repo.items():
        target = scratch / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return Repo(scratch, label="example")
