"""`/docs` and `/redoc` render in Chromium with every request on loopback: their scripts
and styles come from this server, so they work on a closed network (the `page` fixture
fails a test on any request that leaves loopback, and on script errors). ReDoc's footer
asks for a logo on a CDN; the pages' Content-Security-Policy stops it in the browser."""

from __future__ import annotations

from playwright.sync_api import expect


def test_swagger_ui_renders_without_a_cdn(site, page, screenshot):
    requests: list[str] = []
    page.on("requestfinished", lambda request: requests.append(request.url))
    response = page.goto(f"{site.url}/docs")
    assert response is not None and response.status == 200
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("scorecard")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator("body")).to_contain_text("/api/v1/entities/{kind}/{namespace}/{name}")
    assert any("/docs-assets/swagger-ui-bundle.js" in url for url in requests), requests
    assert all(url.startswith(site.url) for url in requests if url.startswith("http")), requests
    screenshot(page, "api-docs-swagger")


def test_redoc_renders_without_a_cdn(site, page, page_errors, screenshot):
    requests: list[str] = []
    page.on("requestfinished", lambda request: requests.append(request.url))
    response = page.goto(f"{site.url}/redoc")
    assert response is not None and response.status == 200
    expect(page.locator("h1").first).to_contain_text("scorecard")
    expect(page.locator("body")).to_contain_text("/api/v1/entities/{kind}/{namespace}/{name}")
    assert any("/docs-assets/redoc.standalone.js" in url for url in requests), requests
    # The logo is stopped in the browser, which says so; nothing left loopback.
    page_errors.allow(r"redoc\.ly/redoc/logo-mini\.svg' violates the following Content Security")
    assert not page_errors.blocked_requests
    assert all(url.startswith(site.url) for url in requests if url.startswith("http")), requests
    screenshot(page, "api-docs-redoc")
