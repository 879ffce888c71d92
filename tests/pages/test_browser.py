"""Infrastructure smoke tests: the server, the seeded store and Chromium work together.

The web pages themselves get their own test modules; these only prove the chain.
"""

from __future__ import annotations

import json

from playwright.sync_api import expect


def test_infrastructure_smoke_chromium_shows_the_seeded_site(site, page, screenshot):
    """Chromium renders what the real server serves from the seeded store."""
    change = site.change
    kind, rest = change.entity.split(":", 1)
    badge = f"{site.url}/badges/{kind}/{rest}/{change.track}.svg"

    response = page.goto(badge)
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    # The badge shows the level of the second seed run, not the first.
    expect(page.locator("svg")).to_contain_text(change.track)
    expect(page.locator("svg")).to_contain_text(change.after)
    assert change.before not in (page.locator("svg").text_content() or "")

    response = page.goto(f"{site.url}/api/v1/tracks")
    assert response is not None and response.status == 200
    body = page.locator("body")
    expect(body).to_contain_text('"production-readiness"')
    expect(body).to_contain_text('"security-hygiene"')
    path = screenshot(page, "infrastructure-api-tracks")
    assert path.stat().st_size > 0

    runs = json.loads(page.goto(f"{site.url}/api/v1/runs").text())
    statuses = {run["id"]: run["status"] for run in runs["items"]}
    assert all(statuses.get(run_id) == "finished" for run_id in site.runs), statuses


def test_infrastructure_smoke_page_errors_are_caught(page, page_errors):
    """The `page` fixture sees script errors, console errors and requests leaving loopback."""
    page.set_content(
        "<p>x</p>"
        "<img src='https://cdn.example.com/a.png'>"
        "<script>console.error('noisy'); setTimeout(() => { throw new Error('boom'); });</script>"
    )
    page.wait_for_timeout(200)
    assert any("boom" in text for text in page_errors.page_errors), page_errors
    assert any("noisy" in text for text in page_errors.console_errors), page_errors
    assert page_errors.blocked_requests == ["https://cdn.example.com/a.png"], page_errors
    # All of it was expected here; anywhere else it fails the test after its body.
    page_errors.allow(".")
