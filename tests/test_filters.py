"""Backstage catalog-filter semantics: keys AND, list values OR, sets OR, case-insensitive."""

from __future__ import annotations

from typing import Any

import pytest

from scorecard.filters import EntityFilter
from scorecard.testing import make_entity

SERVICE = {
    "kind": "Component",
    "metadata": {
        "name": "payments",
        "tags": ["Java", "payments"],
        "annotations": {"backstage.io/techdocs-ref": "dir:.", "pagerduty.com/service-id": "P1"},
    },
    "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "replicas": 3},
    "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a"}],
}


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ([{"kind": ["Component"]}], True),
        ([{"kind": ["component"]}], True),  # values are case-insensitive
        ([{"KIND": ["COMPONENT"]}], True),  # so are keys
        ([{"kind": ["API"]}], False),
        ([{"kind": ["API", "Component"]}], True),  # list values OR
        ([{"kind": ["Component"], "spec.type": ["website"]}], False),  # keys AND
        ([{"kind": ["Component"], "spec.type": ["service"]}], True),
        ([{"kind": ["API"]}, {"spec.type": ["service"]}], True),  # sets OR
        ([{"kind": ["API"]}, {"spec.type": ["library"]}], False),
        ([{"metadata.tags": ["java"]}], True),  # any element of a list field
        ([{"metadata.tags": ["go"]}], False),
        ([{"metadata.annotations.pagerduty.com/service-id": ["p1"]}], True),  # dotted keys
        ([{"metadata.annotations.backstage.io/techdocs-ref": ["dir:."]}], True),
        ([{"spec.replicas": ["3"]}], True),  # numbers compare as text
        ([{"spec.system": ["x"]}], False),  # absent field
        ([{"Spec.Lifecycle": ["PRODUCTION"]}], True),
        ([{"relations.ownedby": ["group:default/team-a"]}], True),
        ([{"relations.ownedBy": ["group:default/team-b"]}], False),
    ],
)
def test_filter_semantics(sets: list[dict[str, Any]], expected: bool) -> None:
    assert EntityFilter.from_config(sets).matches(make_entity(SERVICE)) is expected
