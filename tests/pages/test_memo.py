"""The pages' roll-up memo: kept until a run finishes or the configuration reloads."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from api.pages.memo import PageMemo


def _service(completed: int = 0, loaded_at: float = 1.0) -> Any:
    return SimpleNamespace(
        runs=SimpleNamespace(completed=completed),
        config=SimpleNamespace(current=SimpleNamespace(loaded_at=loaded_at)),
    )


def test_a_value_is_kept_until_a_run_finishes_or_a_reload() -> None:
    memo, service, calls = PageMemo(), _service(), []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert memo.get(service, "rollups", compute) == 1
    assert memo.get(service, "rollups", compute) == 1
    assert memo.get(service, "other", compute) == 2
    service.runs.completed += 1  # a run finished
    assert memo.get(service, "rollups", compute) == 3
    service.config.current.loaded_at = 2.0  # tracks reloaded
    assert memo.get(service, "rollups", compute) == 4
    assert memo.get(service, "rollups", compute) == 4


def test_a_value_expires_after_the_ttl() -> None:
    memo, service = PageMemo(ttl=0.0), _service()
    values = iter(range(10))
    first = memo.get(service, "k", lambda: next(values))
    assert memo.get(service, "k", lambda: next(values)) != first
