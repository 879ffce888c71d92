"""Metric thresholds: a check that reports a number passes, warns or fails by comparing
it with the track's `pass_when` / `warn_when` (`">= 80"`).

A check reports its number as `evidence["value"]` (`Result.measured`); the threshold
decides the outcome and keeps the value, with the threshold, in the result.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scorecard.results import Outcome, Result

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_COMPARISON = re.compile(
    r"^\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*%?\s*$"
)


@dataclass(frozen=True, slots=True)
class Comparison:
    """`>= 80`: a value holds it when `value >= 80`."""

    operator: str
    bound: float

    @classmethod
    def parse(cls, text: Any) -> Comparison:
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            raise ValueError(f'a threshold is written as text like ">= 80", not {text!r}')
        if isinstance(text, int | float):  # a bare number means "at least"
            return cls(">=", float(text))
        match = _COMPARISON.match(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not a threshold: write an operator (>=, >, <=, <, ==, !=) "
                'and a number, like ">= 80"'
            )
        return cls(match.group(1), float(match.group(2)))

    def holds(self, value: float) -> bool:
        return _OPERATORS[self.operator](value, self.bound)

    def __str__(self) -> str:
        return f"{self.operator} {format_number(self.bound)}"


@dataclass(frozen=True, slots=True)
class Threshold:
    """`pass_when`, and optionally `warn_when`: a value that holds neither fails."""

    pass_when: Comparison
    warn_when: Comparison | None = None

    def outcome(self, value: float) -> Outcome:
        if self.pass_when.holds(value):
            return Outcome.PASS
        if self.warn_when is not None and self.warn_when.holds(value):
            return Outcome.WARN
        return Outcome.FAIL

    def describe(self) -> str:
        """`passes when >= 80, warns when >= 60`."""
        text = f"passes when {self.pass_when}"
        if self.warn_when is not None:
            text += f", warns when {self.warn_when}"
        return text

    def as_evidence(self) -> dict[str, str]:
        found = {"pass_when": str(self.pass_when)}
        if self.warn_when is not None:
            found["warn_when"] = str(self.warn_when)
        return found

    def judge(self, value: float, message: str, evidence: dict[str, Any]) -> Result:
        """The result of a reported `value`: its outcome by the threshold, its message
        with the value and the threshold, the value and threshold in the evidence."""
        outcome = self.outcome(value)
        shown = f"value {format_number(value)}; {self.describe()}"
        text = f"{message.rstrip('. ')} ({shown})." if message else f"Reported {shown}."
        kept = int(value) if float(value).is_integer() and abs(value) < 2**53 else value
        return Result(outcome, text, {**evidence, "value": kept, "threshold": self.as_evidence()})

    def apply(self, result: Result) -> Result:
        """A check's result with its outcome decided by the threshold. Outcomes that say
        nothing was measured (unknown, error, not applicable) stand as they are; a pass or
        fail without a number is an error, since the threshold cannot be applied."""
        if result.outcome not in (Outcome.PASS, Outcome.FAIL, Outcome.WARN):
            return result
        value = numeric(result.evidence.get("value"))
        if value is None:
            return Result.error(
                f"{result.message.rstrip('. ')}: the check reported no number in its "
                f"evidence's `value`, so the threshold ({self.describe()}) cannot apply.",
                **result.evidence,
            )
        return self.judge(value, result.message, result.evidence)


def numeric(value: Any) -> float | None:
    """`value` as a finite number, or None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def format_number(value: float) -> str:
    """72.0 → `72`, 72.5 → `72.5`."""
    return f"{value:g}" if abs(value) < 1e15 else repr(value)
