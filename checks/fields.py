"""The no-code rule: compare one field of the entity with a value, configured in YAML.

- check: entity_field
  with: {path: spec.lifecycle, op: in, value: [production, experimental]}
"""

from __future__ import annotations

import math
import operator
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field, model_validator

from scorecard.entity import Entity
from scorecard.fixes.model import CatalogEdit, Fix
from scorecard.results import Outcome, Result
from scorecard.sdk import check


def compile_regex(pattern: str) -> str:
    """Validate a regular expression, so a bad one is a config error rather than a crash."""
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {error}") from error
    return pattern


# A params field holding a regular expression, checked when the config is loaded.
Regex = Annotated[str, AfterValidator(compile_regex)]


class Op(StrEnum):
    EXISTS = "exists"
    NOT_EXISTS = "not_exists"
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    MATCHES = "matches"
    NOT_MATCHES = "not_matches"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    GTE = "gte"
    LTE = "lte"
    GT = "gt"
    LT = "lt"


# Each negated op holds exactly when its positive op does not, so a negated op holds on a
# field that is not set ("lifecycle is not deprecated" is true of an entity without one).
_NEGATED = {
    Op.NOT_EXISTS: Op.EXISTS,
    Op.NOT_EQUALS: Op.EQUALS,
    Op.NOT_IN: Op.IN,
    Op.NOT_MATCHES: Op.MATCHES,
    Op.NOT_CONTAINS: Op.CONTAINS,
}
_NUMERIC = {Op.GTE: operator.ge, Op.LTE: operator.le, Op.GT: operator.gt, Op.LT: operator.lt}
_SCALARS = (str, int, float, bool)


class FieldRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)
    op: Op = Op.EXISTS
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> FieldRule:
        op, value = self.op, self.value
        positive = _NEGATED.get(op, op)
        if positive is Op.EXISTS:
            if value is not None:
                raise ValueError(f"op {op} takes no value; remove `value`")
        elif value is None:
            raise ValueError(f"op {op} needs a `value`")
        elif positive is Op.IN:
            if not isinstance(value, list) or not value:
                raise ValueError(f"op {op} needs a non-empty list as `value`")
        elif positive is Op.MATCHES:
            if not isinstance(value, str):
                raise ValueError(f"op {op} needs a regular expression (a string) as `value`")
            compile_regex(value)
        elif positive is Op.CONTAINS:
            if not isinstance(value, _SCALARS):
                raise ValueError(f"op {op} needs a string or number as `value`")
        elif positive in _NUMERIC and _number(value, strings=False) is None:
            raise ValueError(f"op {op} needs a number as `value`")
        return self

    # A computed field, so that model_dump() and the remediation template can use it.
    @computed_field
    @property
    def expectation(self) -> str:
        """What the field must do, after "expected to": `equal 'production'`."""
        positive = _NEGATED.get(self.op, self.op)
        phrase = _phrase(positive, self.value)
        return f"not {phrase}" if positive is not self.op else phrase


def _phrase(op: Op, value: Any) -> str:
    match op:
        case Op.EXISTS:
            return "exist"
        case Op.EQUALS:
            return f"equal {value!r}"
        case Op.IN:
            return f"be one of {', '.join(repr(item) for item in value)}"
        case Op.MATCHES:
            return f"match /{value}/"
        case Op.CONTAINS:
            return f"contain {value!r}"
        case Op.GTE:
            return f"be at least {value!r}"
        case Op.LTE:
            return f"be at most {value!r}"
        case Op.GT:
            return f"be greater than {value!r}"
        case _:  # Op.LT, the last positive op; negated ops are phrased from their positive.
            return f"be less than {value!r}"


# Only `equals` and `in` name a value to set; every other op says what a value must not be
# or must look like, and a fix that made one up would be a guess. Text only: the catalog
# edit writes strings, and `3` written as "3" would not equal 3. The fields that make an
# entity what it is are never changed: that would make it another entity.
FIELD_FIX = Fix(
    title="Set the field the rule asks for",
    catalog=CatalogEdit(
        fields={
            "{{ params.path }}": """\
{% set value = params.value[0] if params.op == "in" else params.value %}
{% if params.path.lower() in ["apiversion", "kind", "metadata.name", "metadata.namespace"] %}
{{ fail(params.path ~ " names the entity; a fix does not change it") }}
{% elif params.op not in ["equals", "in"] %}
{{ fail("a rule with op " ~ params.op ~ " names no value to set: give the track entry of "
        ~ check.id ~ " its own `fix:`") }}
{% elif value is not string %}
{{ fail("a fix sets text, and the rule expects " ~ value | tojson ~ ": give the track entry "
        ~ "of " ~ check.id ~ " its own `fix:`") }}
{% endif %}
{{ value }}"""
        }
    ),
)


@check(
    id="entity_field",
    title="Entity field rule",
    remediation="Update catalog-info.yaml so that `{path}` meets the rule: "
    "it is expected to {expectation}.",
    params=FieldRule,
    pure=True,
    fix=FIELD_FIX,
)
def entity_field(entity: Entity, params: FieldRule) -> Result:
    """A field of the entity, named by a dot path, passes a comparison: exists, equals, in,
    matches (a regex search), contains, their `not_` forms, or gte/lte/gt/lt."""
    actual = entity.get(params.path)
    observed = "not set" if actual is None else repr(actual)
    evidence = {"path": params.path, "op": str(params.op), "value": actual}
    if params.value is not None:
        evidence["expected"] = params.value
    expected = f"(expected to {params.expectation})"
    if params.op in _NUMERIC and actual is not None:
        number = _number(actual, strings=True)
        if number is None:
            return Result(
                Outcome.FAIL,
                f"{params.path} is {observed}, which is not numeric {expected}.",
                evidence,
            )
        holds = _NUMERIC[params.op](number, params.value)
    else:
        positive = _NEGATED.get(params.op, params.op)
        holds = _holds(positive, actual, params.value)
        if positive is not params.op:
            holds = not holds
    message = f"{params.path} is {observed} {expected}."
    return Result(Outcome.PASS if holds else Outcome.FAIL, message, evidence)


# Only positive ops reach here; every comparison fails on a field that is not set.
def _holds(op: Op, actual: Any, expected: Any) -> bool:
    if op is Op.EXISTS:
        return _is_set(actual)
    if actual is None:
        return False
    if op is Op.EQUALS:
        return _same(actual, expected)
    if op is Op.IN:
        return any(_same(actual, item) for item in expected)
    if op is Op.MATCHES:
        # Numbers are matched as written; lists and mappings never match.
        text = actual if isinstance(actual, str) else _number_text(actual)
        return text is not None and re.search(expected, text) is not None
    if op is Op.CONTAINS:
        if isinstance(actual, list):
            return any(_same(item, expected) for item in actual)
        return isinstance(actual, str) and isinstance(expected, str) and expected in actual
    # gte/lte/gt/lt on a field that is not set: there is nothing to compare.
    return False


def _is_set(value: Any) -> bool:
    # A blank string or an empty list says nothing, as if the field were absent.
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return value is not None


def _same(a: Any, b: Any) -> bool:
    # Backstage compares catalog strings case-insensitively; True must not equal 1.
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _number(value: Any, *, strings: bool) -> float | None:
    # Annotation values are always strings, so "3" in the catalog is a number too.
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif strings and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _number_text(value: Any) -> str | None:
    return str(value) if _number(value, strings=False) is not None else None
