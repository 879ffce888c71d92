"""A campaign's fixes, over a real server, its store and the fake GitHub on loopback: the
campaign page lists per entity the fix that would bring it to the goal (files, catalog
edits, checks left by hand, the level it would reach); an admin previews the pull
requests (nothing opened) and opens them (one per repository, one audit row); a reader,
an anonymous visitor and another site's form get nothing done."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from api.pages.signin import COOKIE
from scorecard.fixes.pull_requests import BRANCH
from scorecard.store import AuditRecord
from scorecard.workspace import Workspace
from tests.builders import catalog_yaml, component, write_workspace_files
from tests.fixes import conftest as fixes_conftest
from tests.fixes.github_api import FORBIDDEN, FakeGitHub
from tests.serving import ServedApp
from tests.tokens import HOLDERS, Tokens, tokens_config, tokens_in_environment, variables

# The fake GitHub of the fixes tests, a fixture of this module's tests too.
fake_github_server = fixes_conftest.fake_github_server
fake_github = fixes_conftest.fake_github

VARIABLES = variables("SC_CAMPAIGN_FIXES")
GITHUB_TOKEN_ENV = "SC_CAMPAIGN_FIXES_GITHUB_TOKEN"
CAMPAIGN = "ops-silver"
PAGE = f"/campaigns/{CAMPAIGN}"
ACTION = f"{PAGE}/fixes"
AUDIT_ACTION = "fixes.pull_requests"

# Silver: on call, TechDocs (both with a fix) and a description (by hand).
TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: ops
title: Operations
filter: {kind: Component}
levels:
  - id: bronze
    checks: [has_owner]
  - id: silver
    checks:
      - has_oncall
      - has_techdocs
      - check: has_description
        remediation: >-
          Say what it does in `metadata.description`, as **the guide** says:
          [how to describe a service](https://wiki.example.com/describe).
"""


def _day(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


CAMPAIGN_FILE = f"""\
apiVersion: scorecard/v1
kind: Campaign
id: {CAMPAIGN}
title: Everything on call by spring
goal: {{track: ops, level: silver}}
start: {_day(-10)}
deadline: {_day(60)}
"""


def _on_github(repository: str) -> dict[str, str]:
    """The annotations of an entity of `repository` on the fake GitHub, its catalog file
    at the root (the fake's web host is its loopback address)."""
    return {
        "github.com/project-slug": repository,
        "backstage.io/source-location": f"url:http://127.0.0.1/{repository}/tree/main/",
    }


PAYMENTS = component(
    "payments",
    owner="group:default/payments",
    description="Takes payments.",
    annotations=_on_github("acme/payments"),
)
BILLING = component(
    "billing", owner="group:default/billing", annotations=_on_github("acme/billing")
)
LEDGER = component(
    "ledger",
    owner="group:default/payments",
    description="Keeps the books.",
    annotations={
        **_on_github("acme/ledger"),
        "pagerduty.com/service-id": "PXLED03",
        "backstage.io/techdocs-ref": "dir:.",
    },
)
LEGACY = component("legacy", owner="group:default/payments", description="Old and unhosted.")
BEHIND = ["component:default/billing", "component:default/legacy", "component:default/payments"]


@dataclass
class Site:
    server: ServedApp
    tokens: Tokens

    @property
    def url(self) -> str:
        return self.server.url

    @contextlib.contextmanager
    def visitor(self, token: str | None = None) -> Iterator[httpx.Client]:
        """A browser-like client, signed in through the form with `token` when given."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            if token is not None:
                signed_in = client.post("/signin", data={"token": token, "next": "/"})
                assert signed_in.status_code == 303, signed_in.text
                assert COOKIE in client.cookies
            yield client

    def audit_rows(self) -> list[AuditRecord]:
        return self.server.service.store.audit_log(action=AUDIT_ACTION).items


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, fake_github_server: FakeGitHub
) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("campaign-fixes")
    (root / "campaigns").mkdir()
    (root / "campaigns" / "campaigns.yaml").write_text(CAMPAIGN_FILE)
    config = write_workspace_files(
        root,
        f"sqlite:///{root / 'scorecard.db'}",
        tokens_config(VARIABLES),
        "campaigns: [campaigns]\n",
        "public_url: https://scorecard.example.com\n",
        f"github:\n  api_url: {fake_github_server.url}\n  token_env: {GITHUB_TOKEN_ENV}\n",
        "fixes:\n  values:\n    pagerduty_services: {payments: PXPAY01, billing: PXBIL02}\n",
        tracks={"ops": TRACK},
        catalog=catalog_yaml(PAYMENTS, BILLING, LEDGER, LEGACY),
    )
    with tokens_in_environment(VARIABLES) as tokens, pytest.MonkeyPatch.context() as patch:
        # Read each time pull requests are opened, as a deployment's would be.
        patch.setenv(GITHUB_TOKEN_ENV, "ghp_campaign_fixes")
        patch.delenv("SCORECARD_GITHUB_API_URL", raising=False)
        server = ServedApp(Workspace.load(config))
        server.start()
        try:
            yield Site(server, tokens)
        finally:
            server.stop()


@pytest.fixture
def github(fake_github: FakeGitHub) -> FakeGitHub:
    """The fake GitHub with the repositories of payments, billing and ledger."""
    for name, document in [("payments", PAYMENTS), ("billing", BILLING), ("ledger", LEDGER)]:
        fake_github.add_repository(f"acme/{name}", {"catalog-info.yaml": catalog_yaml(document)})
    return fake_github


def entity_fix(page: str, ref: str) -> str:
    """The fixes section's entry of one entity."""
    match = re.search(
        rf'<details class="entity-fix" data-entity="{re.escape(ref)}">(.*?)\n  </details>',
        page,
        flags=re.S,
    )
    assert match, f"no fix entry for {ref}"
    return match.group(1)


def fixes_section(page: str) -> str:
    match = re.search(r'<section id="fixes">(.*?)</section>', page, flags=re.S)
    assert match, "no fixes section"
    return match.group(1)


def writes(github: FakeGitHub) -> list[tuple[str, str]]:
    """Every request that could change something, of every repository."""
    return [
        request
        for name in ("acme/payments", "acme/billing", "acme/ledger")
        for request in github.repository(name).requests
        if request[0] != "GET"
    ]


# --- the page ----------------------------------------------------------------------------


def test_the_page_lists_each_entity_s_fix_and_what_is_left_by_hand(site: Site) -> None:
    with site.visitor() as anonymous:
        page = anonymous.get(PAGE)
    assert page.status_code == 200, page.text
    section = fixes_section(page.text)
    assert re.findall(r'data-entity="([^"]+)"', section) == BEHIND  # ledger is at the goal
    assert "This page: 6 automatic fixes, 1 check by hand, 2 entities brought to the goal" in (
        " ".join(html.unescape(section).split())
    )

    payments = entity_fix(page.text, "component:default/payments")
    assert re.search(r"bronze</span>\s*→\s*<span[^>]*>\s*silver", payments)
    assert "reaches the goal" in payments and "By hand" not in payments
    assert '<li class="fix-file">creates <code>mkdocs.yml</code>' in payments
    assert "creates <code>docs/index.md</code>" in payments
    assert "site_name: &#34;payments&#34;" in payments  # the rendered template, escaped
    assert (
        "sets annotation pagerduty.com/service-id in catalog-info.yaml to <code>PXPAY01</code>"
        in payments
    )
    techdocs = (
        "sets annotation backstage.io/techdocs-ref in catalog-info.yaml to <code>dir:.</code>"
    )
    assert techdocs in payments
    assert 'data-check="has_oncall"' in payments and 'data-check="has_techdocs"' in payments

    billing = entity_fix(page.text, "component:default/billing")
    assert "short of the goal" in billing and "PXBIL02" in billing
    by_hand = billing.split("By hand", 1)[1]
    assert 'data-check="has_description"' in by_hand
    assert "no automatic fix: do it by hand" in by_hand
    # The remediation as Markdown: emphasis and a link that leaves the site plainly.
    assert "<strong>the guide</strong>" in by_hand
    assert '<a href="https://wiki.example.com/describe" rel="nofollow noopener">' in by_hand

    # Anyone may read the fixes; only an admin gets the buttons.
    assert f'action="{ACTION}"' not in page.text
    with site.visitor(site.tokens.reader) as reader:
        assert f'action="{ACTION}"' not in reader.get(PAGE).text
    with site.visitor(site.tokens.admin) as admin:
        buttons = fixes_section(admin.get(PAGE).text)
    assert buttons.count(f'action="{ACTION}"') == 2
    assert "Preview pull requests" in buttons and "Open pull requests" in buttons
    assert f"<code>{BRANCH}</code>" in buttons and "all 3 entities not at the goal" in buttons


# --- who may press the buttons -------------------------------------------------------------


def test_a_reader_an_anonymous_visitor_or_another_site_opens_nothing(
    site: Site, github: FakeGitHub
) -> None:
    before = len(site.audit_rows())
    with site.visitor() as anonymous:
        sent = anonymous.post(ACTION, data={"mode": "open"})
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/signin?next={PAGE}"
    with site.visitor(site.tokens.reader) as reader:
        refused = reader.post(ACTION, data={"mode": "open"})
        assert refused.status_code == 403
        assert "may not open pull requests" in refused.text
        assert "Nothing was changed" in refused.text
    with site.visitor(site.tokens.runner) as runner:
        assert runner.post(ACTION, data={"mode": "open"}).status_code == 403
    with site.visitor(site.tokens.admin) as admin:
        foreign = admin.post(
            ACTION, data={"mode": "open"}, headers={"origin": "https://evil.example"}
        )
        assert foreign.status_code == 303 and foreign.headers["location"].startswith("/signin")
        assert admin.post(ACTION, data={"mode": "merge"}).status_code == 422
        assert admin.post("/campaigns/nope/fixes", data={"mode": "open"}).status_code == 404
    assert writes(github) == []
    assert github.repository("acme/payments").requests == []
    assert len(site.audit_rows()) == before


# --- the admin's buttons -------------------------------------------------------------------


def test_the_preview_opens_nothing(site: Site, github: FakeGitHub) -> None:
    before = len(site.audit_rows())
    with site.visitor(site.tokens.admin) as admin:
        preview = admin.post(ACTION, data={"mode": "preview"})
    assert preview.status_code == 200, preview.text
    page = preview.text
    assert "Preview: pull requests" in page and "nothing was opened or changed" in page
    outcome = r'<tr data-repository="([^"]+)".*?class="fix-outcome">([^<]+)<'
    rows = dict(re.findall(outcome, page, flags=re.S))
    assert rows == {"acme/payments": "would open", "acme/billing": "would open"}
    assert "<code>mkdocs.yml</code>" in page and "<code>catalog-info.yaml</code>" in page
    skipped = page.split('<section id="skipped">', 1)[1]
    assert "component:default/legacy" in skipped and "no GitHub repository is known" in skipped
    assert f'action="{ACTION}"' in page  # open them from here
    assert writes(github) == []
    assert github.repository("acme/payments").open_pulls() == []
    assert len(site.audit_rows()) == before


def test_an_admin_opens_one_pull_request_per_repository_and_one_audit_row(
    site: Site, github: FakeGitHub
) -> None:
    before = len(site.audit_rows())
    with site.visitor(site.tokens.admin) as admin:
        opened = admin.post(ACTION, data={"mode": "open"})
    assert opened.status_code == 200, opened.text
    page = opened.text
    assert "Recorded in the audit log" in page and "2 repositories opened" in page

    for name, service_id in [("payments", "PXPAY01"), ("billing", "PXBIL02")]:
        repository = github.repository(f"acme/{name}")
        [pull] = repository.open_pulls()
        assert pull.head == BRANCH
        files = repository.files(BRANCH)
        assert {"mkdocs.yml", "docs/index.md"} <= set(files)
        catalog = repository.text("catalog-info.yaml", BRANCH)
        assert f"pagerduty.com/service-id: {service_id}" in catalog
        assert "backstage.io/techdocs-ref: dir:." in catalog
        assert "mkdocs.yml" not in repository.files()  # the default branch is untouched
        link = f"{github.url}/acme/{name}/pull/{pull.number}"
        assert f'<a href="{link}">#{pull.number}</a>' in page
    assert github.repository("acme/ledger").requests == []  # at the goal: left alone

    [row] = site.audit_rows()[: len(site.audit_rows()) - before]
    assert (row.actor, row.action, row.object_type, row.object_id) == (
        HOLDERS["admin"],
        AUDIT_ACTION,
        "track",
        "ops",
    )
    assert row.change["level"] == "silver"
    assert row.change["campaign"] == CAMPAIGN and row.change["via"] == "campaign page"
    assert sorted(row.change["entities"]) == BEHIND
    assert {(r["repository"], r["action"]) for r in row.change["repositories"]} == {
        ("acme/payments", "opened"),
        ("acme/billing", "opened"),
    }


def test_a_repository_that_fails_is_shown_with_its_error(site: Site, github: FakeGitHub) -> None:
    github.fault("acme/billing", FORBIDDEN)
    with site.visitor(site.tokens.admin) as admin:
        opened = admin.post(ACTION, data={"mode": "open"})
    assert opened.status_code == 200, opened.text
    billing = opened.text.split('<tr data-repository="acme/billing"', 1)[1].split("</tr>", 1)[0]
    assert 'class="row-fail"' in billing and "failed" in billing
    assert "Resource not accessible by integration" in html.unescape(billing)
    assert len(github.repository("acme/payments").open_pulls()) == 1  # the others go on
    outcomes = {(r["repository"], r["action"]) for r in site.audit_rows()[0].change["repositories"]}
    assert outcomes == {("acme/payments", "opened"), ("acme/billing", "failed")}


def test_without_a_github_token_nothing_is_opened_and_the_page_says_why(
    site: Site, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(GITHUB_TOKEN_ENV)
    before = len(site.audit_rows())
    with site.visitor(site.tokens.admin) as admin:
        refused = admin.post(ACTION, data={"mode": "open"})
        assert refused.status_code == 422
        assert f"{GITHUB_TOKEN_ENV}: no GitHub token" in refused.text
        assert "Nothing was changed" in refused.text
        # A preview only reads, and needs none.
        assert admin.post(ACTION, data={"mode": "preview"}).status_code == 200
    assert writes(github) == []
    assert len(site.audit_rows()) == before


# --- in Chromium -------------------------------------------------------------------------


def test_chromium_shows_the_fixes_of_the_campaign(
    site: Site, github: FakeGitHub, page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    page.goto(f"{site.url}{PAGE}")
    section = page.locator("section#fixes")
    expect(section.get_by_role("heading", name="Fixes to the goal")).to_be_visible()
    payments = section.locator('details[data-entity="component:default/payments"]')
    summary = payments.locator("> summary")
    expect(summary).to_contain_text("reaches the goal")
    created = payments.locator("li.fix-file", has_text="creates mkdocs.yml")
    expect(created).to_be_hidden()  # collapsed
    summary.click()
    expect(created).to_be_visible()
    expect(created.locator("pre")).to_be_hidden()  # the content, until asked for
    created.get_by_text("Content").click()
    expect(created.locator("pre")).to_contain_text("site_name:")
    expect(payments).to_contain_text("PXPAY01")
    expect(section.get_by_role("button", name="Open pull requests")).to_have_count(0)
    screenshot(page, "campaign-fixes")

    # An admin previews the pull requests through the browser's own form post.
    page.goto(f"{site.url}/signin?next={PAGE}")
    page.get_by_label("API token").fill(site.tokens.admin)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site.url}{PAGE}")
    page.get_by_role("button", name="Preview pull requests").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Preview: pull requests")
    expect(page.locator('tr[data-repository="acme/payments"]')).to_contain_text("would open")
    screenshot(page, "campaign-fixes-preview")
    assert writes(github) == []
