"""Exemptions on the pages, over plain HTTP against a real server: requested from an
entity's page, decided on /exemptions, shown in place on the entity page; each role sees
what it may do, and a post that may not change anything changes nothing."""

from __future__ import annotations

import contextlib
import dataclasses
import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api.pages.signin import COOKIE
from scorecard.auth import Principal, Role
from scorecard.store import ExemptionStatus
from scorecard.workspace import Workspace
from tests.exemptions.conftest import ENTITY, JUSTIFICATION, VARIABLES, write_workspace
from tests.serving import ServedApp
from tests.tokens import Tokens, tokens_in_environment

PAGE = "/catalog/component/default/nightly-report"
PAYMENTS = "component:default/payments"
PAYMENTS_PAGE = "/catalog/component/default/payments"
API = "/api/v1/entities/component/default/nightly-report"
FOREIGN = {"origin": "https://evil.example"}
FILE_JUSTIFICATION = "Payments is paged through the platform rota until the migration ends."
RUNNER = Principal("ci", Role.RUNNER)
ADMIN = Principal("release-admin", Role.ADMIN)


@dataclasses.dataclass
class Site:
    server: ServedApp
    tokens: Tokens

    @property
    def url(self) -> str:
        return self.server.url

    @contextlib.contextmanager
    def visitor(self, token: str | None = None) -> Iterator[httpx.Client]:
        """A browser-like client, signed in through the form with `token` when given."""
        with httpx.Client(base_url=self.url, timeout=20) as client:
            if token is not None:
                signed_in = client.post("/signin", data={"token": token, "next": "/"})
                assert signed_in.status_code == 303, signed_in.text
                assert COOKIE in client.cookies
            yield client

    def exemptions(self, **filters: object) -> list:
        return self.server.service.store.exemptions(limit=500, **filters).items

    def level(self) -> str | None:
        record = self.server.service.store.certification(ENTITY, "ops")
        return None if record is None else record.level

    def pending(self, justification: str = JUSTIFICATION) -> int:
        """A fresh pending request of the runner's, made straight through the desk."""
        record, _ = self.server.service.exemptions.request(
            RUNNER,
            entity_ref=ENTITY,
            track_id="ops",
            check_id="has_oncall",
            justification=justification,
            expires_at=datetime.now(UTC) + timedelta(days=10),
        )
        assert record.id is not None
        return record.id


def _exemption_file(root: Path) -> str:
    """An exemption kept as code, of a check that payments passes anyway."""
    expires = date.today() + timedelta(days=30)
    (root / "exemptions.yaml").write_text(
        "apiVersion: scorecard/v1\n"
        "kind: Exemption\n"
        f"entity: {PAYMENTS}\n"
        "track: ops\n"
        "check: has_oncall\n"
        f"justification: {FILE_JUSTIFICATION}\n"
        f"expires: {expires.isoformat()}\n"
    )
    return "exemptions.yaml"


def _serve(root: Path, **changes: object) -> tuple[ServedApp, Tokens]:
    """A server over the exemption tests' workspace (a track whose silver level needs an
    on-call annotation, which nightly-report lacks) with named tokens of each role."""
    config = write_workspace(
        root, f"sqlite:///{root / 'scorecard.db'}", exemption_files=(_exemption_file(root),)
    )
    # Read once, when the service starts: the server keeps them.
    with tokens_in_environment(VARIABLES) as tokens:
        workspace = dataclasses.replace(Workspace.load(config), **changes)
        server = ServedApp(workspace)
    server.start()
    return server, tokens


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    server, tokens = _serve(tmp_path_factory.mktemp("exemption-pages"))
    try:
        yield Site(server, tokens)
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _nothing_in_effect(site: Site) -> Iterator[None]:
    """Each test starts with no exemption of nightly-report pending or in effect."""
    yield
    service = site.server.service
    for record in site.exemptions(entity_ref=ENTITY):
        if record.status in (ExemptionStatus.PENDING, ExemptionStatus.APPROVED):
            assert record.id is not None
            service.exemptions.decide(ADMIN, record.id, "revoke", "test clean-up")


def summary(page: str) -> str:
    """The entity page's table of tracks: the level reached and the next one."""
    return page.split('<table class="summary-table">', 1)[1].split("</table>", 1)[0]


def check_row(page: str, check_id: str) -> str:
    """The row of the entity page's check table for `check_id`."""
    rows = re.findall(r"<tr class=\"row-[^\"]*\">.*?</tr>", page, flags=re.S)
    found = [row for row in rows if f"<code>{check_id}</code>" in row]
    assert len(found) == 1, f"{len(found)} rows for {check_id}"
    return found[0]


def section(page: str, key: str) -> str:
    """One section of /exemptions (pending, active, past)."""
    match = re.search(rf'<section id="{key}">(.*?)</section>', page, flags=re.S)
    assert match, f"no section {key}"
    return match.group(1)


def text(page: str) -> str:
    return html.unescape(page)


# --- the whole way: requested on the entity page, approved on /exemptions ----------------


def test_a_runner_requests_and_an_admin_approves_through_the_pages(site: Site) -> None:
    assert site.level() == "bronze"
    with site.visitor(site.tokens.runner) as runner:
        page = runner.get(PAGE).text
        assert 'name="justification"' in page and f'action="{PAGE}/exemptions"' in page
        assert 'value="ops:has_oncall"' in page
        assert "exemptions.max_days" in page and 'max="90"' in page and 'value="30"' in page
        assert 'name="approve"' not in page  # an admin's only

        asked = runner.post(
            f"{PAGE}/exemptions",
            data={"target": "ops:has_oncall", "justification": JUSTIFICATION, "days": "30"},
        )
        assert asked.status_code == 303, asked.text
        [record] = site.exemptions(entity_ref=ENTITY, status=[ExemptionStatus.PENDING])
        assert record.requested_by == "ci" and record.track_id == "ops"
        assert asked.headers["location"] == f"{PAGE}?exemption={record.id}#exemptions"
        assert 29 <= (record.expires_at - datetime.now(UTC)).days <= 30

        landed = runner.get(asked.headers["location"]).text
        assert f"Exemption #{record.id} of <code>has_oncall</code> is requested" in landed
        pending = landed.split('id="exemptions"', 1)[1]
        assert JUSTIFICATION in text(pending) and "ci" in pending
        # Nothing counts before an admin approves it.
        assert site.level() == "bronze"
        assert "exempted" not in check_row(landed, "has_oncall")
        assert "top level" not in summary(landed)

        listed = runner.get("/exemptions").text
        assert JUSTIFICATION in text(section(listed, "pending"))
        assert f'href="{PAGE}"' in section(listed, "pending")
        assert "/approve" not in listed and "/revoke" not in listed  # a runner decides nothing

    with site.visitor(site.tokens.admin) as admin:
        assert 'name="approve"' in admin.get(PAGE).text
        listed = admin.get("/exemptions", params={"status": "pending"}).text
        assert f'action="/exemptions/{record.id}/approve"' in listed
        assert f'action="/exemptions/{record.id}/deny"' in listed
        approved = admin.post(
            f"/exemptions/{record.id}/approve", data={"next": "/exemptions?status=pending"}
        )
        assert approved.status_code == 303, approved.text
        assert approved.headers["location"] == f"/exemptions?status=pending&decided={record.id}"
        told = admin.get(approved.headers["location"]).text
        assert f"Exemption #{record.id}" in told and "is active (by release-admin)" in told
        active = section(admin.get("/exemptions").text, "active")
        assert JUSTIFICATION in text(active)
        assert f'action="/exemptions/{record.id}/revoke"' in active

    assert site.level() == "silver"
    with site.visitor() as anonymous:
        assert anonymous.get(API).json()["tracks"][0]["level"] == "silver"
        page = anonymous.get(PAGE).text
    assert "silver" in summary(page) and "top level" in summary(page)
    row = check_row(page, "has_oncall")
    assert "row-fail row-exempted" in row
    assert "✗</span> fail" in row  # its real outcome, never a pass
    assert "⊘</span> exempted" in row
    assert JUSTIFICATION in text(row)
    assert "approved by release-admin" in row
    assert "requested here or through the API" in row
    expires = site.exemptions(entity_ref=ENTITY)[0].expires_at
    assert expires.strftime("%Y-%m-%d") in row

    # Revoked from /exemptions: back to bronze, listed among the past ones.
    with site.visitor(site.tokens.admin) as admin:
        revoked = admin.post(
            f"/exemptions/{record.id}/revoke", data={"note": "On call now.", "next": "/exemptions"}
        )
        assert revoked.status_code == 303
        past = section(admin.get("/exemptions").text, "past")
        assert "revoked" in past and "On call now." in past
    assert site.level() == "bronze"


def test_an_admin_may_approve_a_request_at_once(site: Site) -> None:
    with site.visitor(site.tokens.admin) as admin:
        asked = admin.post(
            f"{PAGE}/exemptions",
            data={
                "target": "ops:has_oncall",
                "justification": JUSTIFICATION,
                "days": "7",
                "approve": "1",
                "every_track": "1",
            },
        )
        assert asked.status_code == 303, asked.text
        landed = admin.get(asked.headers["location"]).text
    [record] = site.exemptions(entity_ref=ENTITY, status=[ExemptionStatus.APPROVED])
    assert record.track_id is None and record.decided_by == "release-admin"
    assert "is approved: the levels below count it now" in landed
    assert "on every track that has the check" in check_row(landed, "has_oncall")
    assert site.level() == "silver"


def test_a_file_exemption_of_a_passing_check_shows_as_not_needed_without_buttons(
    site: Site,
) -> None:
    with site.visitor(site.tokens.admin) as admin:
        page = admin.get(PAYMENTS_PAGE).text
        listed = admin.get("/exemptions", params={"status": "active"}).text
    row = check_row(page, "has_oncall")
    assert "✓</span> pass" in row and "exemption not needed" in row
    assert "defined in <code>" in row and "exemptions.yaml" in row
    assert FILE_JUSTIFICATION in text(row)
    [file_row] = re.findall(r"<tr id=\"exemption-\d+\">.*?</tr>", listed, flags=re.S)
    assert FILE_JUSTIFICATION in text(file_row) and "exemptions.yaml" in file_row
    assert "<form" not in file_row  # changed only with its file


# --- who may do what ---------------------------------------------------------------------


def test_a_reader_or_anonymous_visitor_sees_no_form_and_no_buttons(site: Site) -> None:
    number = site.pending()
    for token in [site.tokens.reader, None]:
        with site.visitor(token) as visitor:
            page = visitor.get(PAGE).text
            assert 'name="justification"' not in page and f'action="{PAGE}/exemptions"' not in page
            assert "runner or admin token" in page
            assert JUSTIFICATION in text(page.split('id="exemptions"', 1)[1])  # pending, shown
            listed = visitor.get("/exemptions").text
            assert f"#{number}" in section(listed, "pending")
            assert '<form method="post"' not in listed.split("<main>", 1)[1]


def test_a_reader_may_not_request_or_decide(site: Site) -> None:
    number = site.pending()
    before = len(site.exemptions())
    with site.visitor(site.tokens.reader) as reader:
        asked = reader.post(
            f"{PAGE}/exemptions",
            data={"target": "ops:has_oncall", "justification": JUSTIFICATION, "days": "30"},
        )
        assert asked.status_code == 403
        assert "dashboards (reader)" in asked.text and "Nothing was changed" in asked.text
        for decision in ["approve", "deny", "revoke"]:
            refused = reader.post(f"/exemptions/{number}/{decision}")
            assert refused.status_code == 403
    with site.visitor(site.tokens.runner) as runner:
        assert runner.post(f"/exemptions/{number}/approve").status_code == 403
        # A runner's "approve at once" is the desk's refusal, shown on the page.
        at_once = runner.post(
            f"{PAGE}/exemptions",
            data={
                "target": "ops:has_oncall",
                "justification": JUSTIFICATION,
                "days": "30",
                "approve": "1",
            },
        )
        assert at_once.status_code == 403
        assert "may not approve exemptions" in text(at_once.text)
    assert len(site.exemptions()) == before
    assert site.server.service.store.exemption(number).status == ExemptionStatus.PENDING
    assert site.level() == "bronze"


def test_an_anonymous_post_changes_nothing(site: Site) -> None:
    number = site.pending()
    before = len(site.exemptions())
    with site.visitor() as anonymous:
        asked = anonymous.post(
            f"{PAGE}/exemptions",
            data={"target": "ops:has_oncall", "justification": JUSTIFICATION, "days": "30"},
        )
        assert asked.status_code == 303
        assert asked.headers["location"] == f"/signin?next={PAGE}"
        for decision in ["approve", "deny", "revoke"]:
            refused = anonymous.post(f"/exemptions/{number}/{decision}")
            assert refused.status_code == 303
            assert refused.headers["location"].startswith("/signin?next=")
    assert len(site.exemptions()) == before
    assert site.server.service.store.exemption(number).status == ExemptionStatus.PENDING


def test_a_cross_origin_post_is_refused(site: Site) -> None:
    number = site.pending()
    before = len(site.exemptions())
    with site.visitor(site.tokens.admin) as admin:
        for origin in [FOREIGN, {"origin": "null"}]:
            asked = admin.post(
                f"{PAGE}/exemptions",
                data={
                    "target": "ops:has_oncall",
                    "justification": JUSTIFICATION,
                    "days": "30",
                    "approve": "1",
                },
                headers=origin,
            )
            assert asked.status_code == 303
            assert asked.headers["location"].startswith("/signin")
            approved = admin.post(f"/exemptions/{number}/approve", headers=origin)
            assert approved.status_code == 303
            assert approved.headers["location"].startswith("/signin")
    assert len(site.exemptions()) == before
    assert site.server.service.store.exemption(number).status == ExemptionStatus.PENDING
    assert site.level() == "bronze"


# --- refusals shown on the page ---------------------------------------------------------


def test_a_too_short_justification_is_shown_on_the_page_with_the_form_as_sent(
    site: Site,
) -> None:
    before = len(site.exemptions())
    with site.visitor(site.tokens.runner) as runner:
        refused = runner.post(
            f"{PAGE}/exemptions",
            data={"target": "ops:has_oncall", "justification": "n/a", "days": "12"},
        )
    assert refused.status_code == 422
    page = text(refused.text)
    assert "No exemption was requested: the justification must be at least a sentence" in page
    assert "Traceback" not in page
    assert ">n/a</textarea>" in page and 'value="12"' in page
    assert 'value="ops:has_oncall" selected' in page
    # The page is the entity's, its forms pointing at the entity's addresses.
    assert f'action="{PAGE}/run"' in refused.text and f'action="{PAGE}/exemptions"' in refused.text
    assert len(site.exemptions()) == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"days": "0"}, "the days must be a whole number from 1 to 90"),
        ({"days": "91"}, "the days must be a whole number from 1 to 90"),
        ({"days": "soon"}, "the days must be a whole number from 1 to 90"),
        ({"target": "ops"}, "choose the check to exempt"),
        ({"target": "ops:no_such_check"}, "no_such_check"),
        ({"justification": "x" * 2001}, "at most 2000 characters"),
    ],
)
def test_other_refusals_are_shown_on_the_page(
    site: Site, fields: dict[str, str], message: str
) -> None:
    before = len(site.exemptions())
    sent = {"target": "ops:has_oncall", "justification": JUSTIFICATION, "days": "30"} | fields
    with site.visitor(site.tokens.runner) as runner:
        refused = runner.post(f"{PAGE}/exemptions", data=sent)
    assert refused.status_code == 422
    assert message in text(refused.text)
    assert len(site.exemptions()) == before


def test_a_decision_the_desk_refuses_is_shown_not_a_traceback(site: Site) -> None:
    with site.visitor(site.tokens.admin) as admin:
        missing = admin.post("/exemptions/999999/approve", data={"next": "/exemptions"})
        assert missing.status_code == 404
        assert "No exemption 999999" in missing.text and "Nothing was changed" in missing.text
        assert 'href="/exemptions"' in missing.text
        [file_one] = site.exemptions(entity_ref=PAYMENTS)
        kept = admin.post(f"/exemptions/{file_one.id}/revoke")
        assert kept.status_code == 409
        assert "exemptions.yaml" in kept.text
        assert admin.post("/exemptions/1/bless").status_code == 404
    assert site.server.service.store.exemption(file_one.id).status == ExemptionStatus.APPROVED


def test_untrusted_text_is_escaped(site: Site) -> None:
    hostile = "<script>alert(1)</script> because this batch job has nobody to page at all"
    site.pending(hostile)
    with site.visitor() as anonymous:
        for path in [PAGE, "/exemptions"]:
            page = anonymous.get(path).text
            assert "<script>alert(1)</script>" not in page
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- the list: filters, statuses, private reads -------------------------------------------


def test_the_list_filters_by_owner_track_check_and_status(site: Site) -> None:
    number = site.pending()
    with site.visitor() as anonymous:
        every = anonymous.get("/exemptions").text
        assert {"pending", "active", "past"} <= set(re.findall(r'<section id="(\w+)">', every))
        assert f"#{number}" in every and "exemptions.yaml" in every

        data_team = anonymous.get("/exemptions", params={"owner": "group:default/data"}).text
        assert f"#{number}" in data_team and "exemptions.yaml" not in data_team
        assert 'value="group:default/data" selected' in data_team

        payments = anonymous.get("/exemptions", params={"owner": "group:default/payments"}).text
        assert f"#{number}" not in payments and "exemptions.yaml" in payments

        by_check = anonymous.get("/exemptions", params={"track": "ops", "check": "has_owner"})
        assert f"#{number}" not in by_check.text and "No exemption matches" in by_check.text

        only_pending = anonymous.get("/exemptions", params={"status": "pending"}).text
        assert re.findall(r'<section id="(\w+)">', only_pending) == ["pending"]
        assert "exemptions.yaml" not in only_pending

        denied = anonymous.get("/exemptions", params={"status": "denied"}).text
        assert re.findall(r'<section id="(\w+)">', denied) == ["past"]
        assert f"#{number}" not in denied

        of_entity = anonymous.get("/exemptions", params={"entity": "nightly-report"}).text
        assert f"#{number}" in of_entity and "exemptions.yaml" not in of_entity

        bad = anonymous.get("/exemptions", params={"status": "maybe"})
        assert bad.status_code in (400, 422)


def test_the_list_is_paginated(site: Site) -> None:
    for _ in range(51):
        site.pending()
    with site.visitor() as anonymous:
        first = anonymous.get("/exemptions").text
        pending = section(first, "pending")
        assert pending.count('<tr id="exemption-') == 50
        assert 'href="http://' in pending and "status=pending" in pending and "page=2" in pending
        second = anonymous.get("/exemptions", params={"status": "pending", "page": 2}).text
        rows = section(second, "pending").count('<tr id="exemption-')
        assert rows >= 1 and "page 2 of" in second


def test_private_reads_send_a_visitor_to_sign_in(tmp_path: Path) -> None:
    server, tokens = _serve(tmp_path, public_reads=False)
    try:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            refused = client.get("/exemptions")
            assert refused.status_code == 303
            assert refused.headers["location"] == "/signin?next=/exemptions"
            client.post("/signin", data={"token": tokens.reader, "next": "/exemptions"})
            listed = client.get("/exemptions")
            assert listed.status_code == 200 and "Exemptions" in listed.text
            assert '<form method="post" action="/exemptions/' not in listed.text
    finally:
        server.stop()
