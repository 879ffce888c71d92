"""Acme Pay's own checks: one module of the platform team's checks folder.

The workspace config names the folder (`checks: [checks/]` in scorecard.yaml); every
`*.py` module in it not starting with `_` is imported by path, and each `@check` defined
at its top level can be used in a track by its id, like a built-in one:

    levels:
      - id: gold
        checks:
          - slo_defined
          - check: slo_defined
            id: two_slos
            with: {min_objectives: 2}

An SLO file looks like this:

    service: payments-gateway
    objectives:
      - name: availability
        target: 99.95
        window: 28d
"""

from __future__ import annotations

import yaml
from pydantic import BaseModel, ConfigDict, Field

from scorecard import Entity, Repo, Result, check


class SloParams(BaseModel):
    # Reject unknown keys, so a typo in a track's `with:` fails when the track loads.
    model_config = ConfigDict(extra="forbid")

    path: str = "slo.yaml"
    min_objectives: int = Field(default=1, ge=1)


@check(
    id="slo_defined",
    title="Has service level objectives",
    remediation="Add `{path}` to the repository with at least "
    "{min_objectives:objective|objectives}, each with a target percentage:\n\n"
    "    objectives:\n"
    "      - name: availability\n"
    "        target: 99.9\n"
    "        window: 28d",
    params=SloParams,
    docs_url="https://sre.google/workbook/implementing-slos/",
)
def slo_defined(entity: Entity, repo: Repo, params: SloParams) -> Result:
    """The repository has an SLO file listing at least `min_objectives` objectives, each
    with a numeric `target`. Deprecated components are being retired and need none."""
    # A check sees the entity as well as its repository: here it decides that the
    # requirement does not concern this entity, which blocks no level.
    if (entity.lifecycle or "").lower() == "deprecated":
        return Result.not_applicable(
            f"{entity.ref} is deprecated; it needs no new service level objectives.",
            lifecycle=entity.lifecycle,
        )

    # `repo` is only built for an entity whose repository can be read; for one with a
    # remote source location the engine reports `unknown` without calling this function.
    text = repo.read_text(params.path)
    if text is None:
        return Result.failed(f"{params.path} is missing from {repo.label}.", path=params.path)

    # No try/except here, on purpose: a malformed file raises yaml.YAMLError, and the
    # engine turns any exception into an `error` result with its message, for this entity
    # and this check only; the other checks and entities of the run are not affected.
    # The demo's fraud-scoring repository has such a file, to show that isolation.
    document = yaml.safe_load(text)

    objectives = document.get("objectives") if isinstance(document, dict) else None
    if not isinstance(objectives, list):
        return Result.failed(
            f"{params.path} in {repo.label} has no `objectives` list.", path=params.path
        )
    with_target = [
        _name(objective, index)
        for index, objective in enumerate(objectives, 1)
        if isinstance(objective, dict) and _is_number(objective.get("target"))
    ]
    return Result.from_bool(
        len(with_target) >= params.min_objectives,
        f"{params.path} in {repo.label} defines {_count(len(with_target))}: "
        f"{', '.join(with_target)}.",
        f"{params.path} in {repo.label} defines {_count(len(with_target))} with a target; "
        f"at least {params.min_objectives} required.",
        path=params.path,
        objectives=with_target,
        min_objectives=params.min_objectives,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _name(objective: dict[str, object], index: int) -> str:
    """An objective's `name`, or its place in the list when it has none (`#2`)."""
    name = objective.get("name")
    return f"#{index}" if name is None or name == "" else str(name)


def _count(n: int) -> str:
    return "1 objective" if n == 1 else f"{n} objectives"
