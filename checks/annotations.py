"""Annotations that connect an entity to its tools: any annotation, TechDocs and on-call."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from checks.fields import Regex
from scorecard.entity import Entity
from scorecard.fixes.model import CatalogEdit, Fix, NewFile
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


# The value is the workspace's: the same for every entity, unless a track entry's own `fix:`
# makes it per entity with a template (`acme_{{ name }}`).
ANNOTATION_FIX = Fix(
    title="Add the annotation the track asks for",
    catalog=CatalogEdit(
        annotations={
            "{{ params.key }}": """\
{% set given = values.get("annotations") %}
{% if given is not mapping or given.get(params.key) is none %}
{{ fail("no value for the " ~ params.key ~ " annotation: give it in fixes.values.annotations "
        ~ "in scorecard.yaml, or give the track entry of " ~ check.id ~ " its own `fix:`") }}
{% endif %}
{{ given.get(params.key) }}"""
        }
    ),
)


@check(
    id="has_annotation",
    title="Has an annotation",
    remediation="Add the `{key}` annotation to catalog-info.yaml:\n\n"
    "    metadata:\n"
    "      annotations:\n"
    "        {key}: <value>",
    params=AnnotationParams,
    pure=True,
    fix=ANNOTATION_FIX,
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


# `dir:.` is the folder of catalog-info.yaml, where mkdocs.yml goes; an annotation without
# an mkdocs.yml would pass the check and leave an empty TechDocs page, so both are added.
TECHDOCS_FIX = Fix(
    title="Publish TechDocs from docs/",
    files=[
        NewFile(
            path="mkdocs.yml",
            template="""\
{% set description = entity.metadata.get("description") %}
site_name: {{ title | tojson }}
{% if description is string and description.strip() %}
site_description: {{ description.strip() | tojson }}
{% endif %}
nav:
  - Home: index.md
plugins:
  - techdocs-core
""",
        ),
        NewFile(
            path="docs/index.md",
            template="""\
{% set description = entity.metadata.get("description") %}
# {{ title }}
{% if description is string and description.strip() %}

{{ description.strip() }}
{% endif %}

This is the documentation of {{ title }}, published in the software catalog by TechDocs.
Add pages next to this one in docs/ and list them under `nav` in mkdocs.yml.
""",
        ),
    ],
    catalog=CatalogEdit(annotations={TECHDOCS_REF: "dir:."}),
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
    fix=TECHDOCS_FIX,
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


# The owner's PagerDuty service, keyed by its entity ref (`group:default/payments`) or, less
# precisely, its name (`payments`).
ONCALL_FIX = Fix(
    title="Connect the owner's PagerDuty service",
    catalog=CatalogEdit(
        annotations={
            "pagerduty.com/service-id": """\
{% set services = values.get("pagerduty_services") if owner else none %}
{% set service = services.get(owner) or services.get(owner_name) if services is mapping else none %}
{% if not service %}
{{ fail("no PagerDuty service for the owner of " ~ ref ~ " (" ~ (owner or "it has none") ~ "): "
        ~ "map " ~ (owner_name or "the owner") ~ " to its service id in "
        ~ "fixes.values.pagerduty_services in scorecard.yaml") }}
{% endif %}
{{ service }}"""
        }
    ),
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
    fix=ONCALL_FIX,
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
