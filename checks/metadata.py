"""Descriptive metadata: description, title, tags, lifecycle, system and links."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from scorecard.entity import Entity
from scorecard.fixes.model import CatalogEdit, Fix
from scorecard.results import Outcome, Result
from scorecard.sdk import check

# These checks run on every entity of a catalog, so they build their Result directly, with
# only the message that applies (Result.from_bool would format both).
_PASS = Outcome.PASS
_FAIL = Outcome.FAIL

# Backstage's system model puts these kinds in a system; others (groups, users, domains,
# locations, systems themselves) have no `spec.system` field.
_KINDS_IN_A_SYSTEM = frozenset({"component", "api", "resource"})


class MinLength(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_length: int = Field(default=1, ge=1)


class MinCount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_count: int = Field(default=1, ge=1)


class AllowedLifecycles(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed: list[str] = Field(default=["production", "experimental", "deprecated"], min_length=1)


@check(
    id="has_description",
    title="Has a description",
    remediation="Describe what the entity does in `metadata.description` in catalog-info.yaml, "
    "in at least {min_length:character|characters}:\n\n"
    "    metadata:\n"
    "      description: Takes card payments for the web shop and the mobile apps.",
    params=MinLength,
    pure=True,
)
def has_description(entity: Entity, params: MinLength) -> Result:
    """The entity has a `metadata.description` of at least `min_length` characters (surrounding
    blanks not counted), so people can tell what it is from the catalog."""
    description = entity.description
    min_length = params.min_length
    if description is None:
        return Result(_FAIL, f"{entity.ref} has no description.", {"min_length": min_length})
    length = len(description)
    evidence = {"length": length, "min_length": min_length}
    described = f"{entity.ref} has a description of {_count(length, 'character')}"
    if length >= min_length:
        return Result(_PASS, f"{described}.", evidence)
    return Result(_FAIL, f"{described}; at least {min_length} required.", evidence)


# Words of a name that read as acronyms in a title: `payments-api` → "Payments API".
# `fixes.values.title_acronyms` replaces the list.
TITLE_ACRONYMS = (
    "ai", "api", "aws", "bff", "cd", "ci", "cli", "cms", "crm", "db", "dns", "etl", "gcp",
    "grpc", "http", "iam", "id", "k8s", "ml", "qa", "sdk", "sql", "sso", "ui", "url", "ux",
)  # fmt: skip

TITLE_FIX = Fix(
    title="Give the entity a title",
    catalog=CatalogEdit(
        fields={
            "metadata.title": "{% set acronyms = (values.get('title_acronyms') or "
            + repr(list(TITLE_ACRONYMS))
            + ") | map('string') | map('lower') | list %}"
            # Names are letters and digits between single - _ . separators.
            "{% for word in name.replace('_', '-').replace('.', '-').split('-') if word %}"
            "{{ word.upper() if word.lower() in acronyms else word[:1].upper() ~ word[1:] }}"
            "{{ '' if loop.last else ' ' }}"
            "{% endfor %}"
        }
    ),
)


@check(
    id="has_title",
    title="Has a title",
    remediation="Give the entity a human-readable `metadata.title` in catalog-info.yaml:\n\n"
    "    metadata:\n"
    "      title: Payments API",
    pure=True,
    fix=TITLE_FIX,
)
def has_title(entity: Entity) -> Result:
    """The entity has a display name in `metadata.title`."""
    title = entity.title
    if title is None:
        return Result(_FAIL, f"{entity.ref} has no title.", {})
    return Result(_PASS, f"{entity.ref} has the title {title!r}.", {"title": title})


# `fixes.values.tags`: a list of tags for every entity, or a mapping from owner (its ref or
# its name) to its list. A declaration has one template per tag, so a fix adds at most
# TAG_SLOTS of them; slots past the end of the list repeat its last tag, which the catalog
# edit adds only once.
TAG_SLOTS = 10
_TAGS = """\
{% set tags = values.get("tags") %}
{% set tags = tags.get(owner) or tags.get(owner_name) if tags is mapping and owner else tags %}
{% set tags = [tags] if tags is string else tags %}
{% set listed = entity.metadata.get("tags") %}
{% set existing = listed | select("string") | list
   if listed is sequence and listed is not string and listed is not mapping else [] %}
{% set count = (existing + tags) | unique | list | length
   if tags is sequence and tags is not mapping else 0 %}
{% if not tags or tags is mapping or tags is not sequence or tags | reject("string") | list %}
{{ fail("no tags for " ~ ref ~ ": give them in fixes.values.tags in scorecard.yaml (a list, "
        ~ "or a mapping from owner to its list)") }}
{% elif tags | length > TAG_SLOTS %}
{{ fail("fixes.values.tags lists " ~ tags | length ~ " tags; a fix adds at most TAG_SLOTS") }}
{% elif count < params.min_count %}
{{ fail(ref ~ " would have " ~ count ~ (" tag" if count == 1 else " tags") ~ ", and the check "
        ~ "asks for at least " ~ params.min_count ~ ": give more in fixes.values.tags") }}
{% endif %}
"""

TAGS_FIX = Fix(
    title="Add tags",
    catalog=CatalogEdit(
        tags=[
            _TAGS.replace("TAG_SLOTS", str(TAG_SLOTS))
            + f"{{{{ tags[{slot}] if tags | length > {slot} else tags[-1] }}}}"
            for slot in range(TAG_SLOTS)
        ]
    ),
)


@check(
    id="has_tags",
    title="Has tags",
    remediation="Add at least {min_count:tag|tags} to `metadata.tags` in catalog-info.yaml "
    "(lowercase letters, digits and dashes):\n\n"
    "    metadata:\n"
    "      tags:\n"
    "        - python\n"
    "        - payments",
    params=MinCount,
    pure=True,
    fix=TAGS_FIX,
)
def has_tags(entity: Entity, params: MinCount) -> Result:
    """The entity has at least `min_count` tags in `metadata.tags`, so it can be found by
    language, domain or platform."""
    tags = entity.tags
    count = len(tags)
    min_count = params.min_count
    if count == 1:
        found = f"{entity.ref} has 1 tag ({tags[0]})"
    elif count:
        found = f"{entity.ref} has {count} tags ({', '.join(tags)})"
    else:
        found = f"{entity.ref} has 0 tags"
    evidence = {"tags": tags, "min_count": min_count}
    if count >= min_count:
        return Result(_PASS, found + ".", evidence)
    return Result(_FAIL, f"{found}; at least {min_count} required.", evidence)


# Experimental unless the workspace says otherwise: the fix cannot know how mature the
# entity is, and `production` would promise support (on-call, SLOs) nobody has agreed to,
# while `experimental` promises least and leaves the owners to raise it.
LIFECYCLE_FIX = Fix(
    title="Set the lifecycle",
    catalog=CatalogEdit(
        fields={
            "spec.lifecycle": """\
{% set lifecycle = values.get("lifecycle") or "experimental" %}
{% if lifecycle is not string %}
{{ fail("fixes.values.lifecycle must be a lifecycle stage, such as experimental") }}
{% endif %}
{{ lifecycle }}"""
        }
    ),
)


@check(
    id="has_lifecycle",
    title="Has a lifecycle",
    remediation="Set `spec.lifecycle` in catalog-info.yaml:\n\n"
    "    spec:\n"
    "      lifecycle: production",
    pure=True,
    fix=LIFECYCLE_FIX,
)
def has_lifecycle(entity: Entity) -> Result:
    """The entity states its lifecycle stage in `spec.lifecycle` (production, experimental,
    deprecated, ...)."""
    lifecycle = entity.lifecycle
    if lifecycle is None:
        return Result.failed(f"{entity.ref} has no lifecycle (spec.lifecycle is not set).")
    return Result.passed(f"{entity.ref} has the lifecycle {lifecycle!r}.", lifecycle=lifecycle)


@check(
    id="lifecycle_allowed",
    title="Lifecycle is an allowed value",
    remediation="Set `spec.lifecycle` in catalog-info.yaml to one of {allowed}:\n\n"
    "    spec:\n"
    "      lifecycle: production",
    params=AllowedLifecycles,
    pure=True,
)
def lifecycle_allowed(entity: Entity, params: AllowedLifecycles) -> Result:
    """`spec.lifecycle` is one of the `allowed` values, compared case-insensitively; an entity
    without a lifecycle fails."""
    lifecycle = entity.lifecycle
    listed = params.allowed
    if lifecycle is None:
        return Result(
            _FAIL,
            f"{entity.ref} has no lifecycle; expected one of {', '.join(listed)}.",
            {"allowed": listed},
        )
    evidence = {"lifecycle": lifecycle, "allowed": listed}
    # Keyed by the values rather than the params object, which could be changed in place.
    if lifecycle.casefold() in _casefolded(tuple(listed)):
        return Result(
            _PASS, f"{entity.ref} has the lifecycle {lifecycle!r}, which is allowed.", evidence
        )
    return Result(
        _FAIL,
        f"{entity.ref} has the lifecycle {lifecycle!r}, which is not one of {', '.join(listed)}.",
        evidence,
    )


@lru_cache(maxsize=64)
def _casefolded(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(value.casefold() for value in values)


# `fixes.values.system`: one system for every entity, or a mapping from owner (its ref or its
# name) to its system. Without it there is no honest guess, and the fix says so.
SYSTEM_FIX = Fix(
    title="Name the system the entity belongs to",
    catalog=CatalogEdit(
        fields={
            "spec.system": """\
{% set system = values.get("system") %}
{% set system = system.get(owner) or system.get(owner_name)
   if system is mapping and owner else system %}
{% if system is not string or not system.strip() %}
{{ fail("no system for " ~ ref ~ ": give it in fixes.values.system in scorecard.yaml (a "
        ~ "system name, or a mapping from owner to its system)") }}
{% endif %}
{{ system }}"""
        }
    ),
)


@check(
    id="has_system",
    title="Belongs to a system",
    remediation="Name the system the entity is part of in `spec.system` in catalog-info.yaml:\n\n"
    "    spec:\n"
    "      system: payments",
    pure=True,
    fix=SYSTEM_FIX,
)
def has_system(entity: Entity) -> Result:
    """A Component, API or Resource names the system it belongs to in `spec.system`. Other
    kinds have no system and are not applicable."""
    if entity.kind.lower() not in _KINDS_IN_A_SYSTEM:
        return Result(
            Outcome.NOT_APPLICABLE,
            f"{entity.ref} is a {entity.kind}; only components, APIs and resources belong to a "
            "system.",
            {"kind": entity.kind},
        )
    system = entity.system
    if system is None:
        return Result(_FAIL, f"{entity.ref} belongs to no system (spec.system is not set).", {})
    return Result(_PASS, f"{entity.ref} belongs to {system}.", {"system": system})


@check(
    id="has_links",
    title="Has links",
    remediation="Add at least {min_count:link|links} (dashboards, runbooks, docs) to "
    "`metadata.links` in catalog-info.yaml:\n\n"
    "    metadata:\n"
    "      links:\n"
    "        - url: https://grafana.example.com/d/payments\n"
    "          title: Dashboard",
    params=MinCount,
    pure=True,
)
def has_links(entity: Entity, params: MinCount) -> Result:
    """The entity has at least `min_count` entries with a `url` in `metadata.links`
    (dashboards, runbooks, documentation)."""
    urls = _link_urls(entity.metadata.get("links"))
    return Result.from_bool(
        len(urls) >= params.min_count,
        f"{entity.ref} has {_count(len(urls), 'link')}.",
        f"{entity.ref} has {_count(len(urls), 'link')}; at least {params.min_count} required.",
        urls=urls,
        min_count=params.min_count,
    )


def _link_urls(links: Any) -> list[str]:
    if not isinstance(links, list):
        return []
    return [
        link["url"].strip()
        for link in links
        if isinstance(link, dict) and isinstance(link.get("url"), str) and link["url"].strip()
    ]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
