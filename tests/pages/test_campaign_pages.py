"""Campaigns end to end, over a copy of the demo workspace served for real: the campaign
pages (a burn-up chart drawn on the server, owners furthest behind first, the status), a
catalog change that brings two entities to the goal through a run started by the API,
a missed deadline told once to a JSON webhook, and the pages in Chromium.

The tests of this module share one server and run in order: the second one changes the
catalog."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from scorecard.service.service import Service
from scorecard.workspace import NotificationRule, NotificationsConfig, NotificationTarget
from tests.pages.conftest import RUNBOOK, TOKEN, make_workspace
from tests.serving import ServedApp, free_port
from tests.webhooks import Webhook

TODAY = datetime.now(UTC).date()
PUBLIC_URL = "https://scorecard.example.com"


def _day(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


# In scope of both: payments-gateway, checkout-web, fraud-scoring, notifications, ledger
# (the production-readiness track: services and websites, not experimental). Runbooks:
# payments-gateway and fraud-scoring have one; checkout-web and notifications do not;
# ledger's remote repository cannot be read. Gold: payments-gateway alone.
CAMPAIGNS = f"""\
apiVersion: scorecard/v1
kind: Campaign
id: runbooks
title: A runbook for every service <before the peak>
description: Whoever is paged knows what to do.
owner: group:default/platform
goal:
  track: production-readiness
  checks: [has_runbook]
start: {_day(-30)}
deadline: {_day(60)}
milestones:
  {_day(30)}: 60%
---
apiVersion: scorecard/v1
kind: Campaign
id: overdue
title: Everything at gold
owner: group:default/platform
goal: {{track: production-readiness, level: gold}}
start: {_day(-60)}
deadline: {_day(-1)}
"""


@dataclass
class CampaignSite:
    url: str
    service: Service
    root: Path
    hook: Webhook

    def get(self, path: str, **params: Any) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            return client.get(path, params=params)

    def json(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def hook() -> Iterator[Webhook]:
    receiver = Webhook(free_port()).start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def campaign_site(
    tmp_path_factory: pytest.TempPathFactory, hook: Webhook
) -> Iterator[CampaignSite]:
    root = tmp_path_factory.mktemp("campaigns")
    (root / "campaigns").mkdir()
    (root / "campaigns" / "campaigns.yaml").write_text(CAMPAIGNS)
    workspace = replace(
        make_workspace(root),
        campaign_files=(root / "campaigns",),
        public_url=PUBLIC_URL,
        notifications=NotificationsConfig(
            targets=[NotificationTarget(name="hook", url=hook.url)],
            rules=[NotificationRule(events=["campaign.deadline_missed"], targets=["hook"])],
            backoff_seconds=0.3,
        ),
    )
    server = ServedApp(workspace)
    server.start()
    try:
        site = CampaignSite(server.url, server.service, root, hook)
        # Progress is recorded once the first run has finished (a hook of the run).
        wait_until(lambda: site.json("/api/v1/campaigns/runbooks/progress"), "the first recording")
        yield site
    finally:
        server.stop()


def _points(html: str) -> int:
    """The recorded points the burn-up chart draws."""
    return len(re.findall(r'<circle [^>]*class="point"', html))


def test_the_campaign_page_shows_the_burn_up_the_owners_and_the_status(
    campaign_site: CampaignSite,
) -> None:
    detail = campaign_site.json("/api/v1/campaigns/runbooks")
    assert (detail["in_scope"], detail["at_goal"], detail["status"]) == (5, 2, "on track")
    assert detail["goal"] == {
        "track": "production-readiness",
        "level": None,
        "checks": ["has_runbook"],
    }
    # Owners furthest behind first: storefront (0 of 1) and the user (0 of 1), then payments.
    owners = [(o["owner"], o["in_scope"], o["at_goal"]) for o in detail["owners"]]
    assert owners == [
        ("group:default/storefront", 1, 0),
        ("user:default/dan.ortiz", 1, 0),
        ("group:default/payments", 2, 1),
        ("group:default/risk", 1, 1),
    ]
    blocked = {e["ref"]: e["blocking"] for e in detail["not_at_goal"]}
    assert sorted(blocked) == [
        "component:default/checkout-web",
        "component:default/ledger",
        "component:default/notifications",
    ]
    [runbook] = blocked["component:default/checkout-web"]
    assert (runbook["check"], runbook["outcome"]) == ("has_runbook", "fail")
    assert "docs/runbook.md is missing" in runbook["message"]
    assert blocked["component:default/ledger"][0]["outcome"] == "unknown"

    page = campaign_site.get("/campaigns/runbooks")
    assert page.status_code == 200
    html = page.text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart burnup"' in html
    assert _points(html) >= 1
    assert "deadline " + _day(60) in html and "60% by " + _day(30) in html
    assert 'class="plan"' in html  # the steady pace
    # Escaped, never markup.
    assert "A runbook for every service &lt;before the peak&gt;" in html
    assert "<before the peak>" not in html
    assert "✓</span> on track" in html
    owners_table = html[html.index('class="campaign-owners"') :]
    assert owners_table.index("group:default/storefront") < owners_table.index("group:default/risk")
    assert 'href="/owners/group:default/storefront"' in html
    assert 'href="/catalog/component/default/checkout-web#track-production-readiness"' in html

    listing = campaign_site.get("/campaigns").text
    assert 'href="/campaigns/runbooks"' in listing and 'href="/campaigns/overdue"' in listing
    assert "2 of 5" in listing and "missed" in listing
    assert campaign_site.get("/campaigns/nope").status_code == 404
    assert campaign_site.get("/api/v1/campaigns/nope").status_code == 404


def test_progress_moves_when_two_entities_reach_the_goal(campaign_site: CampaignSite) -> None:
    before_page = campaign_site.get("/campaigns/runbooks").text
    before = campaign_site.json("/api/v1/campaigns/runbooks/progress")
    repos = campaign_site.root / "catalog" / "repos"
    for name in ("checkout-web", "notifications"):
        (repos / name / "docs").mkdir(exist_ok=True)
        (repos / name / "docs" / "runbook.md").write_text(RUNBOOK)
    with httpx.Client(
        base_url=campaign_site.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as client:
        started = client.post("/api/v1/runs", json={"tracks": ["production-readiness"]})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        wait_until(
            lambda: client.get(f"/api/v1/runs/{run_id}").json()["status"] != "running", "the run"
        )
    detail = wait_until(
        lambda: (d := campaign_site.json("/api/v1/campaigns/runbooks"))["at_goal"] == 4 and d,
        "the progress",
    )
    assert [e["ref"] for e in detail["not_at_goal"]] == ["component:default/ledger"]
    after = wait_until(
        lambda: (
            len(p := campaign_site.json("/api/v1/campaigns/runbooks/progress")) == len(before) + 1
            and p
        ),
        "a new point",
    )
    assert after[:-1] == before
    assert (after[-1]["in_scope"], after[-1]["at_goal"]) == (5, 4)
    listed = {c["id"]: c for c in campaign_site.json("/api/v1/campaigns")}
    assert (listed["runbooks"]["at_goal"], listed["runbooks"]["share"]) == (4, 0.8)
    # An owner's series moves too.
    storefront = campaign_site.json(
        "/api/v1/campaigns/runbooks/progress", owner="GROUP:default/storefront"
    )
    assert [(p["in_scope"], p["at_goal"]) for p in storefront] == [(1, 0), (1, 1)]

    page = campaign_site.get("/campaigns/runbooks").text
    assert _points(page) == _points(before_page) + 1
    assert "4 of 5" in page
    # The owner page lists the campaign with its own share; the entity page says it is there.
    owner = campaign_site.get("/owners/group:default/storefront").text
    assert 'href="/campaigns/runbooks"' in owner and "1 of 1 (100%)" in owner
    entity = campaign_site.get("/catalog/component/default/checkout-web").text
    section = entity[entity.index('id="campaigns"') :]
    assert "this entity is at the goal" in section.split("</section>")[0]
    ledger = campaign_site.get("/catalog/component/default/ledger").text
    assert "this entity is not at the goal yet" in ledger


def test_a_missed_deadline_is_told_once(campaign_site: CampaignSite) -> None:
    overdue = campaign_site.json("/api/v1/campaigns/overdue")
    assert (overdue["status"], overdue["in_scope"], overdue["at_goal"]) == ("missed", 5, 1)
    assert "✗</span> missed" in campaign_site.get("/campaigns/overdue").text
    [told] = campaign_site.hook.wait_for(1)
    assert told.body["title"] == (
        f"Everything at gold: deadline {_day(-1)} missed: 1 of 5 entities at gold on "
        "Production readiness"
    )
    assert f"{PUBLIC_URL}/campaigns/overdue" in told.body["message"]
    assert "Furthest behind:" in told.body["message"]
    # Recorded again (after a run, and right now), looked at again: told no more.
    service = campaign_site.service
    service.runs.trigger(["production-readiness"], trigger="api", wait=True)
    assert service.campaigns is not None and service.dispatcher is not None
    service.campaigns.record()
    service.campaigns.periodic(datetime.now(UTC))
    service.dispatcher.wake()
    time.sleep(1.5)
    assert len(campaign_site.hook.received) == 1
    sent = [n for n in service.store.notifications(target="hook").items]
    assert len(sent) == 1 and sent[0].status == "sent"
    kinds = [e.kind for e in service.store.outbox() if e.campaign_id == "overdue"]
    assert kinds == ["campaign.deadline_missed"]


def test_chromium_shows_the_campaigns_the_chart_the_owners_and_the_status(
    campaign_site: CampaignSite, page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    page.goto(f"{campaign_site.url}/campaigns")
    row = page.locator("#campaign-runbooks")
    expect(row).to_be_visible()
    expect(row).to_contain_text("A runbook for every service <before the peak>")
    expect(row.locator(".campaign-status")).to_have_text(re.compile(r"on track"))
    expect(page.locator("#campaign-overdue .campaign-status")).to_have_text(re.compile("missed"))
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns")
    ).to_be_visible()
    screenshot(page, "campaigns")

    row.get_by_role("link", name="A runbook for every service <before the peak>").click()
    expect(page).to_have_url(f"{campaign_site.url}/campaigns/runbooks")
    chart = page.locator("svg.burnup")
    expect(chart).to_be_visible()
    expect(chart.locator("circle.point").first).to_be_visible()
    expect(chart).to_contain_text(f"deadline {_day(60)}")
    expect(page.locator(".campaign-state")).to_contain_text("on track")
    owners = page.locator("table.campaign-owners")
    expect(owners).to_be_visible()
    expect(owners.locator("tbody tr").first).to_contain_text("group:default/")
    expect(page.locator("table.campaign-entities")).to_contain_text("component:default/ledger")
    screenshot(page, "campaign")


def _admin(site: CampaignSite) -> httpx.Client:
    return httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def test_an_approved_exemption_moves_the_progress_at_once(campaign_site: CampaignSite) -> None:
    """ledger's repository cannot be read; an exemption of has_runbook brings it to the
    goal: the campaign is done as soon as the exemption is approved, without a run."""
    runs = campaign_site.json("/api/v1/runs")["total"]
    with _admin(campaign_site) as admin:
        made = admin.post(
            "/api/v1/exemptions",
            json={
                "entity": "component:default/ledger",
                "track": "production-readiness",
                "check": "has_runbook",
                "justification": "The ledger's runbook lives in the payments wiki until the "
                "repository moves to the shared git host.",
                "days": 30,
                "approve": True,
            },
        )
        assert made.status_code == 201, made.text
    detail = campaign_site.json("/api/v1/campaigns/runbooks")
    assert (detail["in_scope"], detail["at_goal"], detail["status"]) == (5, 5, "done")
    assert detail["not_at_goal"] == []
    assert campaign_site.json("/api/v1/campaigns/runbooks/progress")[-1]["at_goal"] == 5
    assert campaign_site.json("/api/v1/runs")["total"] == runs  # no run
    page = campaign_site.get("/campaigns/runbooks").text
    assert "★</span> done" in page and "Every entity in scope is at the goal." in page
    done = [e for e in campaign_site.service.store.outbox() if e.kind == "campaign.done"]
    assert [e.key for e in done] == ["campaign.done:runbooks"]
    assert len(campaign_site.hook.received) == 1  # no rule routes it


def test_a_bad_campaign_file_keeps_the_last_good_ones_and_a_good_one_is_recorded_at_once(
    campaign_site: CampaignSite,
) -> None:
    added = campaign_site.root / "campaigns" / "added.yaml"
    added.write_text(
        "apiVersion: scorecard/v1\n"
        "kind: Campaign\n"
        "id: readmes\n"
        "title: A README everywhere\n"
        "goal: {track: production-readiness, level: platinum}\n"
        f"start: {_day(-1)}\n"
        f"deadline: {_day(30)}\n"
    )
    with _admin(campaign_site) as admin:
        refused = admin.post("/api/v1/reload")
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["problems"]
        assert problem["text"].startswith(f"{added}:5:")
        assert problem["key"] == "goal.level" and "platinum" in problem["message"]
        assert [c["id"] for c in campaign_site.json("/api/v1/campaigns")] == ["runbooks", "overdue"]

        added.write_text(added.read_text().replace("level: platinum", "checks: [has_readme]"))
        reloaded = admin.post("/api/v1/reload")
        assert reloaded.status_code == 200, reloaded.text
    ids = [c["id"] for c in campaign_site.json("/api/v1/campaigns")]
    assert ids == ["readmes", "runbooks", "overdue"]
    # Recorded by the reload itself: ledger's README cannot be read, the others have one.
    [point] = campaign_site.json("/api/v1/campaigns/readmes/progress")
    assert (point["in_scope"], point["at_goal"]) == (5, 4)
    assert "A README everywhere" in campaign_site.get("/campaigns").text
