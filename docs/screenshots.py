"""Take the README's screenshots of the pages again: docs/overview.png, docs/run.png,
docs/search.png and docs/entity.png.

    .venv/bin/python docs/screenshots.py

It copies the demo workspace to a temporary folder and gives it a month of history, so
that the trend charts, the leaderboard and the level histories have something to show:
one run a day for 30 days, each evaluated by the engine over the catalog as it stood that
day, while the demo's teams improve their components (a runbook, tags, a security policy
...) and once take a step back. The demo as shipped is somewhere along the way: what its
teams did in the last month is undone first, then done again on its day. Past runs are
stored with the time of their day: the store takes a run's results, levels and end from
its report (a run's start is stamped when it is opened, so the runs list, which no
screenshot shows, has them all started today).

Today's runs are the server's own: one of every track, in which a check starts to crash
(the run page shows it), then checkout-web's alone, run again once its owners repaired the
file. Then Chromium (headless, 1280 pixels wide) photographs the pages over loopback; a
page error, a console error or a request to another host stops it.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

# Run as a script, only docs/ would be on the path: the tests' helpers are at the top.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright

from scorecard.auth import DEFAULT_TOKEN_NAME
from scorecard.catalog import pushdown_filters, read_sources
from scorecard.registry import build_registry
from scorecard.runner import evaluate
from scorecard.sources.git import git_cache_from
from scorecard.store import Store
from scorecard.tracks import Track, load_tracks
from scorecard.workspace import DEMO_DIR, Workspace
from tests.pages.conftest import CHROMIUM_ARGS, chromium_path, make_workspace
from tests.serving import ServedApp

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
HISTORY_DAYS = 30
RUN_TIME = time(6, 0)  # the daily run of a past day, in UTC
TRIGGER = "schedule"
WIDTH = 1280
# No page is photographed taller than this: a README image is seen at a glance.
MAX_HEIGHT = 3000
MARGIN = 12  # pixels below the last element shown: less than the gap to the next box
TOO_LARGE = 400_000  # bytes: more than a README image should weigh

SEARCH_QUERY = "pay"  # payments-gateway, payments-api, payments-core and the Payments team
CHECKOUT_WEB = "component:default/checkout-web"  # the entity page shown


# --- what the teams did ---------------------------------------------------------------


class Change(Protocol):
    def apply(self, catalog: Path) -> None: ...
    def undo(self, catalog: Path) -> None: ...


@dataclass(frozen=True)
class Replace:
    """In the file `path` (under the catalog), `old` text becomes `new`."""

    path: str
    old: str
    new: str

    def apply(self, catalog: Path) -> None:
        _swap(catalog / self.path, self.old, self.new)

    def undo(self, catalog: Path) -> None:
        _swap(catalog / self.path, self.new, self.old)


@dataclass(frozen=True)
class AddFile:
    """The file `path` (under the catalog) appears with `text`."""

    path: str
    text: str

    def apply(self, catalog: Path) -> None:
        target = catalog / self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.text)

    def undo(self, catalog: Path) -> None:
        (catalog / self.path).unlink()


@dataclass(frozen=True)
class RemoveFile:
    """The file `path` (under the catalog) is deleted; undone, it is the demo's again."""

    path: str

    def apply(self, catalog: Path) -> None:
        (catalog / self.path).unlink()

    def undo(self, catalog: Path) -> None:
        AddFile(self.path, _demo_text(self.path)).apply(catalog)


def _swap(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    # Exactly once: a demo file that changed must stop the script, not be edited elsewhere.
    if text.count(old) != 1:
        raise RuntimeError(f"{path.name}: expected {old!r} once, found it {text.count(old)}x")
    path.write_text(text.replace(old, new))


def _insert(path: str, after: str, text: str) -> Replace:
    """`text` is inserted in the file `path` after `after`."""
    return Replace(path, after, after + text)


def _demo_text(path: str) -> str:
    return (DEMO_DIR / "catalog" / path).read_text()


def _restored(path: str) -> AddFile:
    """A file of the demo, added back."""
    return AddFile(path, _demo_text(path))


class Step:
    """What a team did `days_ago`: `changes` to the catalog's files. `in_demo`: the demo as
    shipped has it already, so it is undone before the first day and done again on its."""

    def __init__(self, days_ago: int, what: str, *changes: Change, in_demo: bool = False):
        self.days_ago = days_ago
        self.what = what
        self.changes = changes
        self.in_demo = in_demo


GATEWAY = "repos/payments-gateway/catalog-info.yaml"
FRAUD = "repos/fraud-scoring/catalog-info.yaml"
FRAUD_SLO = "repos/fraud-scoring/slo.yaml"
TECHDOCS = "    backstage.io/techdocs-ref: dir:.\n"
FRAUD_METADATA = """\
  title: Fraud scoring
  description: Scores card payments for fraud.
  links:
    - url: https://grafana.acme-pay.example/d/fraud-scoring
      title: Dashboard
"""
CHECKOUT_RUNBOOK = """# Runbook: checkout-web

- Restart: `kubectl rollout restart deployment/checkout-web -n storefront`.
- Roll back: `kubectl rollout undo deployment/checkout-web -n storefront`.
- Page the owners: PagerDuty service PX41C9M.
"""
CHECKOUT_SECURITY = """# Security policy

Please report a vulnerability to security@acme-pay.example, not in a public issue; we
answer within two working days. Only the version in production gets fixes.
"""
# A first try at objectives with a tab for indentation, which YAML refuses: the
# `slo_defined` check crashes on it and reports `error` (scorecard/demo/checks/slo.py).
CHECKOUT_SLO = """service: checkout-web
objectives:
  - name: availability
\ttarget: 99.9
    window: 28d
"""

STEPS = [
    Step(27, "payments-api gets tags",
         _insert(GATEWAY, "refund card payments.\n", "  tags: [rest, payments]\n"), in_demo=True),
    Step(25, "fraud-scoring writes a runbook", _restored("repos/fraud-scoring/docs/runbook.md"),
         in_demo=True),
    Step(23, "money-lib publishes TechDocs",
         _insert("repos/money-lib/catalog-info.yaml", "  annotations:\n", TECHDOCS), in_demo=True),
    Step(21, "payments-gateway adds a security policy",
         _restored("repos/payments-gateway/SECURITY.md"), in_demo=True),
    Step(19, "fx-quotes gets a licence", _restored("repos/fx-quotes/LICENSE"), in_demo=True),
    Step(16, "payments-gateway defines its SLOs", _restored("repos/payments-gateway/slo.yaml"),
         in_demo=True),
    Step(13, "money-lib loses its Dependabot file in a clean-up",
         RemoveFile("repos/money-lib/.github/dependabot.yml")),
    Step(11, "payments-gateway gets a title",
         _insert(GATEWAY, "  name: payments-gateway\n", "  title: Payments gateway\n"),
         in_demo=True),
    Step(9, "money-lib's Dependabot file is back",
         _restored("repos/money-lib/.github/dependabot.yml")),
    Step(8, "fraud-scoring keeps .env files out of git",
         Replace("repos/fraud-scoring/.gitignore", ".venv/\n", ".venv/\n.env\n")),
    Step(6, "notifications moves to the Storefront team", Replace(
        "repos/notifications/catalog-info.yaml",
        "owner: user:default/dan.ortiz", "owner: group:default/storefront",
    )),
    Step(4, "checkout-web writes a runbook",
         AddFile("repos/checkout-web/docs/runbook.md", CHECKOUT_RUNBOOK)),
    Step(2, "fraud-scoring gets a title, a link and TechDocs",
         Replace(FRAUD, "  description: Scores card payments for fraud.\n", FRAUD_METADATA),
         _insert(FRAUD, "  annotations:\n", TECHDOCS)),
    # Today, the run the pages show: levels move, and one check starts to crash.
    Step(0, "fraud-scoring repairs its slo.yaml (quotes the text with a colon in it)",
         Replace(FRAUD_SLO, "description: p99: a score", "description: 'p99: a score"),
         Replace(FRAUD_SLO, "within 150 ms\n", "within 150 ms'\n")),
    Step(0, "checkout-web pins its base image",
         Replace("repos/checkout-web/Dockerfile", "FROM nginx:latest", "FROM nginx:1.27.3")),
    Step(0, "checkout-web adds a security policy",
         AddFile("repos/checkout-web/SECURITY.md", CHECKOUT_SECURITY)),
    Step(0, "checkout-web tries an slo.yaml, with a tab in it",
         AddFile("repos/checkout-web/slo.yaml", CHECKOUT_SLO)),
    Step(0, "ledger-events gets tags", _insert(
        "repos/ledger/catalog-info.yaml", "  name: ledger-events\n", "  tags: [events, payments]\n"
    )),
]  # fmt: skip
# After today's run, which the run page shows.
REPAIR = Step(0, "checkout-web replaces the tab in its slo.yaml and runs its checks again",
              Replace("repos/checkout-web/slo.yaml", "\ttarget", "    target"))  # fmt: skip


def take_steps(catalog: Path, days_ago: int) -> None:
    for step in STEPS:
        if step.days_ago == days_ago:
            for change in step.changes:
                change.apply(catalog)
            print(f"  {step.what}")


# --- the history ----------------------------------------------------------------------


def record_history(workspace: Workspace, catalog: Path, today: date) -> None:
    """A run for each of the last `HISTORY_DAYS` days, stored with its day's time."""
    for step in reversed(STEPS):
        if step.in_demo:
            for change in reversed(step.changes):
                change.undo(catalog)
    tracks = load_tracks(workspace.tracks, build_registry(workspace.checks))
    with Store(workspace.database) as store:
        for days_ago in range(HISTORY_DAYS, 0, -1):
            day = today - timedelta(days=days_ago)
            if any(step.days_ago == days_ago for step in STEPS):
                print(f"{day}:")
            take_steps(catalog, days_ago)
            run_on(store, workspace, tracks, datetime.combine(day, RUN_TIME, tzinfo=UTC))


def run_on(store: Store, workspace: Workspace, tracks: list[Track], when: datetime) -> None:
    """Evaluate the catalog as a server's run does, and store it as a run of `when`."""
    listing = read_sources(
        workspace.catalog,
        backstage_filters=pushdown_filters(tracks),
        local_roots=workspace.local_roots,
    )
    run_id = store.start_run(TRIGGER, {"tracks": [t.id for t in tracks], "entity": None})
    report = evaluate(
        listing.entities,
        tracks,
        concurrency=workspace.concurrency,
        timeout=workspace.check_timeout,
        problems=listing.problems,
        git_cache=git_cache_from(workspace.repositories),
        github=workspace.github,
    )
    took = (report.finished_at or report.started_at) - report.started_at
    report.started_at, report.finished_at = when, when + took
    store.save_run(run_id, report, catalog_complete=listing.shows_removals)


# --- the pages ------------------------------------------------------------------------


class PageTrouble(RuntimeError):
    pass


def _off_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1"


@contextmanager
def open_page(browser: Browser) -> Iterator[Page]:
    """A page that fails on a JavaScript error, a console error or a request off loopback,
    as the page tests' do."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    troubles: list[str] = []

    def block(route: Route) -> None:
        troubles.append(f"request to another host: {route.request.url}")
        route.abort("blockedbyclient")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            troubles.append(f"console error: {message.text}")

    context.route(_off_loopback, block)
    page = context.new_page()
    page.on("pageerror", lambda error: troubles.append(f"page error: {error}"))
    page.on("console", on_console)
    try:
        yield page
        page.evaluate("0")  # a round trip, so that events already sent are delivered
        if troubles:
            raise PageTrouble(f"{page.url}: " + "; ".join(troubles))
    finally:
        context.close()


def photograph(browser: Browser, url: str, name: str, until: str | None = None) -> Path:
    """A PNG of the page at `url`, at docs/{name}.png: the whole page, or down to the end
    of the element `until` (a CSS selector), cut at `MAX_HEIGHT` either way."""
    path = DOCS / f"{name}.png"
    with open_page(browser) as page:
        page.goto(url, wait_until="networkidle")
        if until is None:
            height = page.evaluate("document.documentElement.scrollHeight")
        else:
            box = page.locator(until).bounding_box()
            if box is None:
                raise PageTrouble(f"{url}: {until} is not shown")
            height = box["y"] + box["height"] + MARGIN
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": min(round(height), MAX_HEIGHT)}
        page.screenshot(path=str(path), full_page=True, clip=clip)
    size = path.stat().st_size
    warning = "  (larger than a README image should be)" if size > TOO_LARGE else ""
    print(f"{path.relative_to(REPO_ROOT)}: {WIDTH}x{clip['height']}, {size:,} bytes{warning}")
    return path


def photograph_site(executable: str, url: str, run_id: int) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            # Down to the trends and the leaderboard; the tables of checks follow.
            photograph(browser, f"{url}/", "overview", until="#leaderboard")
            photograph(browser, f"{url}/runs/{run_id}", "run")
            photograph(browser, f"{url}/search?q={SEARCH_QUERY}", "search")
            # Down to what it takes to reach security hygiene's top level.
            photograph(
                browser,
                f"{url}/catalog/{CHECKOUT_WEB.replace(':', '/')}",
                "entity",
                until="#track-security-hygiene .blocking",
            )
        finally:
            browser.close()


def main() -> None:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Chromium is not installed: apt-get install chromium")
    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory(prefix="scorecard-screenshots-") as folder:
        root = Path(folder)
        workspace = make_workspace(root)
        catalog = root / "catalog"
        record_history(workspace, catalog, today)
        # A store with runs gets no run at start: today's are started below.
        with ServedApp(workspace) as server:
            runs = server.service.runs
            print(f"{today}, the run the pages show:")
            take_steps(catalog, 0)
            run_id = finished(server, runs.trigger(trigger=TRIGGER, wait=True).run_id)
            # Its crash repaired, checkout-web is run again from its page, as its owners
            # would: today's run is no longer the latest, so its page is about what it
            # did (the page of the latest also lists every result that is not answered).
            print(f"{today}, then: {REPAIR.what}")
            for change in REPAIR.changes:
                change.apply(catalog)
            # As the entity page's "Re-run now" starts it, for the token's holder.
            rerun = runs.trigger(
                entity=CHECKOUT_WEB, trigger="page", actor=DEFAULT_TOKEN_NAME, wait=True
            )
            finished(server, rerun.run_id)
            photograph_site(executable, server.url, run_id)


def finished(server: ServedApp, run_id: int) -> int:
    run = server.service.store.run(run_id)
    if run is None or run.status.value != "finished":
        raise RuntimeError(f"run {run_id} did not finish: {run}")
    return run_id


if __name__ == "__main__":
    main()
