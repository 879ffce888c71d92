"""The README's examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

from scorecard import Outcome
from scorecard.testing import run_check

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_check_example_works_with_its_one_line_test() -> None:
    check_example, test_example = _python_blocks()[:2]
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(check_example, "README.md", "exec"), namespace)
    exec(compile(test_example, "README.md", "exec"), namespace)
    namespace["test_runbook_too_short"]()
    runbook = namespace["runbook_is_useful"]
    long_enough = "\n".join(f"step {i}" for i in range(12))
    assert run_check(runbook, repo={"docs/runbook.md": long_enough}).outcome is Outcome.PASS
    missing = run_check(runbook, params={"path": "RUNBOOK.md"})
    assert missing.message == "RUNBOOK.md is missing from example."
