"""Annotations that connect an entity to its tools: any annotation, TechDocs and on-call."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from checks.fields import Regex
from scorecard.entity import Entity
from scorecard.results import Outcome, Result
from scorecard.sdk import check

# Results are built directly, with only the message that applies: these checks run on
# every entity of a catalog.
_PASS = Outcome.PASS
_FAIL = Outcome.FAIL

TECHDOCS_REF = "backstage.io/techdocs-ref"

# The annotations of the Backstage plugins for PagerDuty, Opsgenie and Splunk On-Call.
ONCALL_ANNOTATIONS = (
    "pagerduty.com/integration-key",
    "pagerduty.com/service-id",
    "opsgenie.com/component-selector",
    "opsgenie.com/team",
    "splunk.com/on-call-routing-key",
)


class AnnotationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1)
    # Searched for anywhere in the value; anchor it with ^...$ to match the whole value.
    pattern: Regex | None = None


def _annotation(entity: Entity, key: str) -> str | None:
    value = entity.annotations.get(key)
    if isinstance(value, str):
        return value.strip() or None
    return None


@check(
    id="has_annotation",
    title="Has an annotation",
    remediation="Add the `{key}` annotation to catalog-info.yaml:\n\n"
    "    metadata:\n"
    "      annotations:\n"
    "        {key}: <value>",
    params=AnnotationParams,
    pure=True,
)
def has_annotation(entity: Entity, params: AnnotationParams) -> Result:
    """The entity has the annotation `key` with a non-blank value. With `pattern`, the value
    must also contain a match of that regular expression (use ^...$ to match it whole)."""
    key = params.key
    value = _annotation(entity, key)
    if value is None:
        return Result(_FAIL, f"{entity.ref} has no {key} annotation.", {"annotation": key})
    pattern = params.pattern
    if pattern is None:
        return Result(
            _PASS, f"{entity.ref} has the {key} annotation.", {"annotation": key, "value": value}
        )
    evidence = {"annotation": key, "value": value, "pattern": pattern}
    if re.search(pattern, value) is not None:
        return Result(
            _PASS,
            f"{entity.ref} has the {key} annotation {value!r}, which matches /{pattern}/.",
            evidence,
        )
    return Result(
        _FAIL,
        f"{entity.ref} has the {key} annotation {value!r}, which does not match /{pattern}/.",
        evidence,
    )


@check(
    id="has_techdocs",
    title="Has TechDocs",
    remediation="Point the `backstage.io/techdocs-ref` annotation at the documentation source "
    "in catalog-info.yaml, and add an mkdocs.yml with a docs/ folder next to it:\n\n"
    "    metadata:\n"
    "      annotations:\n"
    "        backstage.io/techdocs-ref: dir:.",
    pure=True,
)
def has_techdocs(entity: Entity) -> Result:
    """The entity publishes TechDocs: its `backstage.io/techdocs-ref` annotation is set."""
    value = _annotation(entity, TECHDOCS_REF)
    if value is None:
        return Result(
            _FAIL, f"{entity.ref} has no {TECHDOCS_REF} annotation.", {"annotation": TECHDOCS_REF}
        )
    return Result(
        _PASS,
        f"{entity.ref} has TechDocs at {value}.",
        {"annotation": TECHDOCS_REF, "value": value},
    )


@check(
    id="has_oncall",
    title="Has an on-call integration",
    remediation="Connect the entity to its on-call rotation with one of these annotations in "
    "catalog-info.yaml: " + ", ".join(f"`{key}`" for key in ONCALL_ANNOTATIONS) + ". "
    "For PagerDuty:\n\n"
    "    metadata:\n"
    "      annotations:\n"
    "        pagerduty.com/service-id: PABC123",
    pure=True,
)
def has_oncall(entity: Entity) -> Result:
    """The entity is connected to an on-call rotation through a PagerDuty, Opsgenie or Splunk
    On-Call annotation, so incidents page the right people."""
    for key in ONCALL_ANNOTATIONS:
        value = _annotation(entity, key)
        if value is not None:
            return Result.passed(
                f"{entity.ref} has the on-call annotation {key}.", annotation=key, value=value
            )
    return Result.failed(
        f"{entity.ref} has none of the on-call annotations ({', '.join(ONCALL_ANNOTATIONS)}).",
        looked_for=list(ONCALL_ANNOTATIONS),
    )
