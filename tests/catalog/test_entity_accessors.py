"""Entity's accessors read the document once and keep what they parsed: what they return
must be what parsing it anew would give."""

from __future__ import annotations

import pytest

from scorecard.entity import Entity, parse_ref

REFS = [
    "team-a",
    " team-a ",
    "group:team-a",
    "User:Default/Bob",
    "Group:NS/Team",
    "ns/name",
    ":team",
    "ns/",
    "/name",
    "a:",
    "a:/",
    ":",
    "/",
    "a:b/c/d",
    "a:b:c",
    "x/y:z",
    "\tkind:ns/name\n",
    "İstanbul:ΣΣ/Name",
]


def _entity(spec: object, **metadata: object) -> Entity:
    document = {"apiVersion": "v1", "kind": "Component", "metadata": {"name": "svc", **metadata}}
    if spec is not None:
        document["spec"] = spec
    return Entity(document)


def _expected(text: str, kind: str, namespace: str) -> str | None:
    if not text.strip():
        return None
    try:
        return str(parse_ref(text, default_kind=kind, default_namespace=namespace))
    except ValueError:
        return None


@pytest.mark.parametrize("text", REFS)
def test_owner_and_system_are_what_parse_ref_gives(text: str) -> None:
    entity = _entity({"owner": text, "system": text}, namespace="other")
    assert entity.owner == _expected(text, "group", "other")
    assert entity.owner == _expected(text, "group", "other")  # kept, not re-read
    assert entity.system == _expected(text, "system", "other")


@pytest.mark.parametrize("value", [None, "", "  ", 3, ["team-a"], {"a": 1}, True])
def test_owner_and_system_of_no_text_are_none(value: object) -> None:
    entity = _entity({"owner": value, "system": value})
    assert entity.owner is None
    assert entity.system is None


@pytest.mark.parametrize("spec", [None, "not a mapping", ["owner"]])
def test_spec_fields_of_an_entity_without_a_spec_mapping_are_none(spec: object) -> None:
    entity = _entity(spec)
    assert (entity.owner, entity.system, entity.lifecycle, entity.type) == (None,) * 4


def test_tags_are_a_new_list_each_time() -> None:
    entity = _entity({}, tags=["a", 1, "b", None])
    tags = entity.tags
    assert tags == ["a", "b"]
    tags.append("changed")
    assert entity.tags == ["a", "b"]
    assert entity.tags is not entity.tags


@pytest.mark.parametrize("tags", [None, "a", {"a": 1}, [1, 2]])
def test_tags_that_are_not_a_list_of_strings_are_empty(tags: object) -> None:
    assert _entity({}, tags=tags).tags == []
