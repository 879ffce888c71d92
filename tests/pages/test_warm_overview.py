"""The overview is counted before its first visitor: as the server starts, and again as
each of its runs finishes, so no visitor waits for the trends and the leaderboard."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from scorecard.report import RunReport
from scorecard.store import Store
from tests.pages.conftest import make_workspace
from tests.serving import ServedApp


def test_the_overview_is_counted_at_start_and_after_each_run(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    now = datetime.now(UTC)
    with Store(workspace.database) as store:  # a store with a run: none runs at start
        report = RunReport.of(now, results=[], certifications=[], finished_at=now, entities=[])
        store.save_run(store.start_run("test"), report)
    served = ServedApp(workspace)
    store = served.service.store
    counted: list[str] = []
    level_trends = store.level_trends

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        counted.append("trends")
        return level_trends(*args, **kwargs)

    store.level_trends = counting  # type: ignore[method-assign]
    with served:
        assert counted == ["trends"]  # before anyone asked
        assert httpx.get(f"{served.url}/").status_code == 200
        assert counted == ["trends"]  # the first view read what was kept

        served.service.runs.trigger(wait=True)
        assert counted == ["trends", "trends"]  # counted again as the run finished
        page = httpx.get(f"{served.url}/")
        assert page.status_code == 200 and "Trends" in page.text
        assert counted == ["trends", "trends"]


def test_a_failing_count_at_start_does_not_stop_the_server(tmp_path: Path) -> None:
    served = ServedApp(make_workspace(tmp_path))

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    served.service.store.level_trends = broken  # type: ignore[method-assign]
    with served:
        assert httpx.get(f"{served.url}/api/v1/health").status_code == 200
