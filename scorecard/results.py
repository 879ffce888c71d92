"""What a check returns: an outcome, a sentence that says what was observed, and evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    # A failure of a check that a level does not require: shown, but it blocks nothing.
    WARN = "warn"
    NOT_APPLICABLE = "not_applicable"
    # The data the check needs could not be read (no repository, no permission, ...).
    UNKNOWN = "unknown"
    # The check crashed or timed out.
    ERROR = "error"


# Outcomes that do not block a level. `not_applicable` means the requirement does not
# concern this entity, so it cannot hold it back; `error` and `unknown` always block.
NON_BLOCKING = frozenset({Outcome.PASS, Outcome.WARN, Outcome.NOT_APPLICABLE})

# Read once: looking a member up on the enum class costs more than building the Result.
_PASS = Outcome.PASS
_FAIL = Outcome.FAIL
_NOT_APPLICABLE = Outcome.NOT_APPLICABLE
_UNKNOWN = Outcome.UNKNOWN
_ERROR = Outcome.ERROR


# A plain slotted dataclass rather than a pydantic model, and not frozen (that makes
# construction three times slower): a run builds one per check per entity, a million for a
# large catalog. Treat it as a value: nothing changes a Result once it is made.
@dataclass(slots=True)
class Result:
    """The result of one check on one entity.

    `message` is a full sentence naming what was observed ("README.md is missing from
    payments-api"); `evidence` holds the same facts as data (paths, urls, values).
    """

    outcome: Outcome
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, message: str, **evidence: Any) -> Result:
        return cls(_PASS, message, evidence)

    @classmethod
    def failed(cls, message: str, **evidence: Any) -> Result:
        return cls(_FAIL, message, evidence)

    @classmethod
    def not_applicable(cls, message: str, **evidence: Any) -> Result:
        return cls(_NOT_APPLICABLE, message, evidence)

    @classmethod
    def unknown(cls, message: str, **evidence: Any) -> Result:
        return cls(_UNKNOWN, message, evidence)

    @classmethod
    def error(cls, message: str, **evidence: Any) -> Result:
        return cls(_ERROR, message, evidence)

    @classmethod
    def measured(cls, value: float, message: str, **evidence: Any) -> Result:
        """A number the check measured (coverage, a count): it passes unless the track
        gives the check a threshold (`pass_when`, `warn_when`), which then decides."""
        return cls(_PASS, message, {**evidence, "value": value})

    @classmethod
    def from_bool(cls, ok: bool, passed: str, failed: str, **evidence: Any) -> Result:
        """`passed` or `failed` by a condition, with the same evidence either way."""
        if ok:
            return cls(_PASS, passed, evidence)
        return cls(_FAIL, failed, evidence)
