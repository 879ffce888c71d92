"""End-to-end browser tests: a real server over a seeded workspace, driven by Chromium.

Debian's Chromium (`/usr/bin/chromium`, installed by `.ci/run` with apt-get) is driven
through Playwright for Python; Playwright never downloads a browser here. Fixtures:

- `site`: a scorecard server on a free loopback port (one per test module) over a copy of
  the demo workspace with two finished runs; between them checkout-web gained a runbook,
  so its production-readiness certification went from bronze to silver (`site.change`).
- `browser`: the Chromium of every test of this folder.
- `page`: a fresh context and page per test, 1280x900, 10 s timeouts. A JavaScript
  error, a console error or a request to another host than loopback fails the test
  (`page_errors.allow(pattern)` lets one through); a failing test leaves a full-page
  screenshot in tests/artifacts/screenshots/.
- `screenshot(page, name)`: a full-page PNG at tests/artifacts/screenshots/{name}.png.

Tests here must not call `asyncio.run()` themselves: while sync Playwright is alive it
marks its event loop as running in the main thread.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from scorecard.service.service import Service
from scorecard.workspace import DEMO_DIR, Workspace, bundled_tracks
from tests.serving import ServedApp

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

TOKEN = "pages-test-token-0123456789abcdef"
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "tests" / "artifacts" / "screenshots"

CHROMIUM = "/usr/bin/chromium"
# Exactly these; Playwright adds its own automation switches (a pipe for the DevTools
# protocol, a temporary --user-data-dir, ...) and Debian's launcher script a few more.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 10_000
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

RUNBOOK = """# Checkout web runbook

- Restart: `kubectl rollout restart deployment/checkout-web -n storefront`.
- Roll back: `kubectl rollout undo deployment/checkout-web -n storefront`.
- Page the owners: PagerDuty service PX41C9M.
"""


# --- the browser ----------------------------------------------------------------------


def chromium_path() -> str | None:
    """Debian's Chromium: /usr/bin/chromium, else `chromium` on PATH."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def _unavailable(reason: str) -> None:
    # CI installs Chromium (.ci/run): there a missing browser is a broken setup, not a skip.
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests may not be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Chromium, launched once for the tests of this folder (package scope: see below)."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed: pip install -e '.[dev]'")
    executable = chromium_path()
    if executable is None:
        _unavailable(
            f"Chromium is not installed ({CHROMIUM} is missing and no `chromium` on PATH): "
            "apt-get install chromium"
        )
    expect.set_options(timeout=TIMEOUT_MS)
    # Package scope, not session: a live sync Playwright marks its asyncio loop as running
    # in the main thread, which would break asyncio.run() in the rest of the suite.
    with sync_playwright() as playwright:
        # launch() gives Chromium a fresh temporary profile and removes it on close.
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageErrors:
    """What went wrong in a page: JavaScript errors, console errors, foreign requests."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Let errors matching this regular expression through (a 404 a test asks for)."""
        self.allowed.append(re.compile(pattern))

    def problems(self) -> list[str]:
        found = (
            [f"page error: {text}" for text in self.page_errors]
            + [f"console error: {text}" for text in self.console_errors]
            + [f"request to another host (blocked): {url}" for url in self.blocked_requests]
        )
        return [p for p in found if not any(a.search(p) for a in self.allowed)]


@pytest.fixture
def page_errors() -> PageErrors:
    """The errors `page` collected; `page_errors.allow(pattern)` to expect some."""
    return PageErrors()


def _is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return True  # data:, blob:, about: stay in the page
    return parts.hostname in LOOPBACK or (parts.hostname or "").startswith("127.")


@pytest.fixture
def page(
    browser: Browser, page_errors: PageErrors, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A page in a fresh browser context; the test fails on errors (see `PageErrors`)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)

    # The network is closed: a page that needs a CDN would hang, so fail it at once.
    def block(route: Any) -> None:
        page_errors.blocked_requests.append(route.request.url)
        route.abort("blockedbyclient")

    context.route(lambda url: not _is_loopback(url), block)
    tab = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            page_errors.console_errors.append(
                f"{message.text} ({where})" if where else message.text
            )

    def on_failed(failed: Request) -> None:
        # ERR_ABORTED is the browser cancelling a load because the test left the page
        # (a click that navigates before the stylesheet arrived), not a fault of the page.
        if _is_loopback(failed.url) and failed.failure != "net::ERR_ABORTED":
            page_errors.console_errors.append(f"{failed.url} failed: {failed.failure}")

    tab.on("pageerror", lambda error: page_errors.page_errors.append(str(error)))
    tab.on("console", on_console)
    tab.on("requestfailed", on_failed)
    request.node.stash[_PAGE] = (tab, page_errors)
    try:
        yield tab
    finally:
        report = request.node.stash.get(_REPORT, None)
        if report is not None and report.failed and not tab.is_closed():
            # The screenshot is a courtesy; a failure to take it must not hide the real one.
            with contextlib.suppress(Exception):
                _save_screenshot(tab, f"FAILED-{_safe_name(request.node.nodeid)}")
        context.close()


_PAGE = pytest.StashKey[tuple[Any, PageErrors]]()
_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the test body: fail it if its page reported errors."""
    result = yield
    used = item.stash.get(_PAGE, None)
    if used is not None:
        tab, errors = used
        if not tab.is_closed():
            tab.evaluate("0")  # a round trip, so that events already sent are delivered
        problems = errors.problems()
        if problems:
            raise AssertionError("the page reported errors:\n  " + "\n  ".join(problems))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_REPORT] = report
    return report


# --- screenshots ----------------------------------------------------------------------


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def _save_screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_safe_name(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], Path]:
    """`screenshot(page, name)`: a full-page PNG at tests/artifacts/screenshots/{name}.png."""
    return _save_screenshot


# --- the site -------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedChange:
    """What changed between the two seed runs."""

    entity: str
    track: str
    before: str | None
    after: str | None


@dataclass
class Site:
    url: str
    token: str
    service: Service
    workspace_dir: Path
    runs: list[int]  # the seed runs, oldest first
    change: SeedChange

    def client(self, *, auth: bool = False) -> httpx.Client:
        """An HTTP client for the site (with the bearer token for writes when `auth`)."""
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def trigger_run(self, **kwargs: Any) -> int:
        """Run (all tracks unless `track_ids=[...]`) and wait for it; returns its id."""
        return self.service.runs.trigger(trigger="api", wait=True, **kwargs).run_id


def make_workspace(root: Path) -> Workspace:
    """A copy of the demo workspace in `root`, with its database there too."""
    shutil.copytree(DEMO_DIR / "catalog", root / "catalog")
    shutil.copytree(bundled_tracks(), root / "tracks")
    shutil.copytree(DEMO_DIR / "checks", root / "checks")
    return Workspace(
        catalog=[str(root / "catalog" / "catalog-info.yaml")],
        tracks=[root / "tracks"],
        checks=[root / "checks"],
        database=f"sqlite:///{root / 'scorecard.db'}",
        api_token=TOKEN,
        reload_interval=0,
    )


def _level(service: Service, entity: str, track: str) -> str | None:
    record = service.store.certification(entity, track)
    return None if record is None else record.level


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server over the demo workspace with two runs: checkout-web's runbook came between."""
    root = tmp_path_factory.mktemp("site")
    server = ServedApp(make_workspace(root))
    server.start()
    try:
        service = server.service
        first = service.store.latest_run()
        assert first is not None and first.status == "finished", f"first run: {first}"

        entity, track = "component:default/checkout-web", "production-readiness"
        before = _level(service, entity, track)
        runbook = root / "catalog" / "repos" / "checkout-web" / "docs" / "runbook.md"
        runbook.write_text(RUNBOOK)
        second = service.runs.trigger(trigger="api", wait=True).run_id
        run = service.store.run(second)
        assert run is not None and run.status == "finished", f"second run: {run}"
        after = _level(service, entity, track)
        history = service.store.certification_history(entity, track)
        assert before != after and len(history) >= 2, (
            f"the seed change did not move {entity} on {track}: {before} -> {after}, "
            f"{len(history)} history rows"
        )
        yield Site(
            url=server.url,
            token=TOKEN,
            service=service,
            workspace_dir=root,
            runs=[first.id, second],
            change=SeedChange(entity, track, before, after),
        )
    finally:
        server.stop()
