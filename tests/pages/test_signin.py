"""Signing in to the pages over plain HTTP: private reads, sessions in the cookie, forged
posts."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from api.pages.signin import COOKIE, MAX_FORM_BYTES, SESSION_LIFETIME
from scorecard.store import Store, sessions
from scorecard.store.tables import SessionRecord
from scorecard.workspace import Workspace
from tests.pages.conftest import TOKEN, make_workspace
from tests.serving import ServedApp

ENTITY = "/catalog/component/default/checkout-web"
FOREIGN = {"origin": "https://evil.example"}


def _private(root: Path) -> Workspace:
    """The demo workspace in `root`, its reads behind the token (`public_reads: false`)."""
    return dataclasses.replace(make_workspace(root), public_reads=False)


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """A server whose reads need the token: a visitor without a session is sent to sign
    in, so every page view says whether a session is live."""
    server = ServedApp(_private(tmp_path_factory.mktemp("private")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def private_site(private_server: ServedApp) -> str:
    return private_server.url


def sign_in(url: str) -> tuple[str, list[httpx.Response]]:
    """Sign in through the form; the session id in the cookie, and every response seen."""
    with httpx.Client(base_url=url, timeout=10) as client:
        signed_in = client.post("/signin", data={"token": TOKEN, "next": ENTITY})
        assert signed_in.status_code == 303, signed_in.text
        page = client.get(ENTITY)
        assert page.status_code == 200
        return client.cookies[COOKIE], [signed_in, page]


def opens_pages(url: str, session_id: str) -> bool:
    """Whether a cookie holding `session_id` (replayed by a client of its own) opens a
    private page as a signed-in writer."""
    response = httpx.get(f"{url}{ENTITY}", headers={"cookie": f"{COOKIE}={session_id}"})
    if response.status_code == 303:
        assert response.headers["location"] == f"/signin?next={ENTITY}"
        return False
    assert response.status_code == 200
    assert "Re-run now" in response.text
    return True


def stored_sessions(engine: Engine) -> list[SessionRecord]:
    with engine.connect() as connection:
        return [SessionRecord(**row._mapping) for row in connection.execute(select(SessionRecord))]


def test_private_pages_send_a_visitor_to_sign_in_and_back(private_site: str) -> None:
    with httpx.Client(base_url=private_site, timeout=10) as client:
        for path in ["/", "/runs", ENTITY, "/tracks/basics"]:
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == f"/signin?next={path}"
        # The JSON API answers 401 as before; only pages redirect.
        assert client.get("/api/v1/entities").status_code == 401

        signed_in = client.post("/signin", data={"token": TOKEN, "next": ENTITY})
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == ENTITY
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        page = client.get(ENTITY)
        assert page.status_code == 200
        assert "Re-run now" in page.text


def test_a_wrong_token_or_a_foreign_next_gets_nothing(private_site: str) -> None:
    with httpx.Client(base_url=private_site, timeout=10) as client:
        refused = client.post("/signin", data={"token": "wrong", "next": "/"})
        assert refused.status_code == 403
        assert "not this server's API token" in refused.text
        assert "set-cookie" not in refused.headers
        # After signing in, a `next` on another host is not followed.
        landed = client.post("/signin", data={"token": TOKEN, "next": "https://evil.example/"})
        assert landed.headers["location"] == "/"
        landed = client.post("/signin", data={"token": TOKEN, "next": "//evil.example/x"})
        assert landed.headers["location"] == "/"


def test_a_post_from_another_site_cannot_sign_in_or_re_run(private_site: str) -> None:
    foreign = {"origin": "https://evil.example"}
    with httpx.Client(base_url=private_site, timeout=10) as client:
        forged = client.post("/signin", data={"token": TOKEN, "next": "/"}, headers=foreign)
        assert forged.status_code == 403
        client.post("/signin", data={"token": TOKEN, "next": "/"})
        runs_before = client.get("/api/v1/runs", headers={"authorization": f"Bearer {TOKEN}"})
        rerun = client.post(f"{ENTITY}/run", headers=foreign)
        assert rerun.status_code == 303
        assert rerun.headers["location"].startswith("/signin")
        runs_after = client.get("/api/v1/runs", headers={"authorization": f"Bearer {TOKEN}"})
        assert runs_after.json()["total"] == runs_before.json()["total"]


def test_without_a_cookie_the_re_run_button_sends_to_sign_in(private_site: str) -> None:
    with httpx.Client(base_url=private_site, timeout=10) as client:
        response = client.post(f"{ENTITY}/run")
        assert response.status_code == 303
        assert response.headers["location"] == f"/signin?next={ENTITY}"


# --- sessions, not tokens, in the cookie ------------------------------------------------


def test_the_cookie_holds_a_random_session_id_never_the_token(private_site: str) -> None:
    session_id, responses = sign_in(private_site)
    assert session_id != TOKEN and len(session_id) >= 43  # 32 random bytes
    with httpx.Client(base_url=private_site, timeout=10) as client:
        responses.append(client.get("/signin"))
        responses.append(client.post("/signin", data={"token": "wrong", "next": "/"}))
    for response in responses:
        for name, value in response.headers.multi_items():
            assert TOKEN not in value, f"{response.request.url}: {name}: {value}"
        assert TOKEN not in response.text, response.request.url
    cookie = responses[0].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie  # plain http here; over https the cookie is Secure
    # It lasts as long as its session, half a day at most, not 30 days.
    max_age = int(re.search(r"max-age=(\d+)", cookie).group(1))
    assert max_age == SESSION_LIFETIME.total_seconds() <= 12 * 3600


def test_the_table_keeps_only_the_hash_of_the_session_id(private_server: ServedApp) -> None:
    session_id, _ = sign_in(private_server.url)
    rows = stored_sessions(private_server.service.store.engine)
    mine = [row for row in rows if row.id_hash == hashlib.sha256(session_id.encode()).hexdigest()]
    assert len(mine) == 1
    assert mine[0].expires_at - mine[0].created_at == SESSION_LIFETIME
    for row in rows:
        for value in row.model_dump().values():
            assert session_id not in str(value) and TOKEN not in str(value)


def test_signing_out_revokes_the_session_even_for_a_replayed_cookie(
    private_server: ServedApp,
) -> None:
    url, engine = private_server.url, private_server.service.store.engine
    with httpx.Client(base_url=url, timeout=10) as client:
        client.post("/signin", data={"token": TOKEN, "next": "/"})
        session_id = client.cookies[COOKIE]
        assert opens_pages(url, session_id)
        signed_out = client.post("/signout")
        assert signed_out.status_code == 303
        assert COOKIE not in client.cookies
        assert client.get(ENTITY).status_code == 303
    stored = {row.id_hash for row in stored_sessions(engine)}
    assert sessions.hash_id(session_id) not in stored
    # A copy of the cookie taken before signing out opens nothing either.
    assert not opens_pages(url, session_id)


def test_a_sign_out_from_another_site_is_refused(private_server: ServedApp) -> None:
    url = private_server.url
    session_id, _ = sign_in(url)
    cookie = {"cookie": f"{COOKIE}={session_id}"}
    for origin in [FOREIGN, {"origin": "null"}]:
        forged = httpx.post(f"{url}/signout", headers={**cookie, **origin})
        assert forged.status_code == 403
        assert "nothing was changed" in forged.text
        assert "set-cookie" not in forged.headers
    assert opens_pages(url, session_id)


def test_an_expired_session_is_refused_and_pruned_at_the_next_sign_in(
    private_server: ServedApp,
) -> None:
    url, engine = private_server.url, private_server.service.store.engine
    session_id, _ = sign_in(url)
    with engine.begin() as connection:
        connection.execute(
            update(SessionRecord)
            .where(SessionRecord.id_hash == sessions.hash_id(session_id))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert not opens_pages(url, session_id)
    sign_in(url)
    assert sessions.hash_id(session_id) not in {row.id_hash for row in stored_sessions(engine)}


def test_changing_the_api_token_revokes_every_session_of_the_old_one(
    tmp_path: Path,
) -> None:
    workspace = _private(tmp_path)
    rotated = dataclasses.replace(workspace, api_token="another-token-fedcba9876543210")
    with ServedApp(workspace) as first:
        session_id, _ = sign_in(first.url)
    # A restart with the same token keeps the session ...
    with ServedApp(workspace) as same:
        assert opens_pages(same.url, session_id)
    # ... another token ends it, and it stays ended when the old token comes back.
    with ServedApp(rotated) as server:
        assert not opens_pages(server.url, session_id)
        assert stored_sessions(server.service.store.engine) == []
    with ServedApp(workspace) as back:
        assert not opens_pages(back.url, session_id)


def test_a_sign_in_form_over_the_size_limit_is_refused(private_site: str) -> None:
    padding = "x" * MAX_FORM_BYTES
    with httpx.Client(base_url=private_site, timeout=10) as client:
        refused = client.post("/signin", data={"token": TOKEN, "next": "/", "pad": padding})
        assert refused.status_code == 403
        assert "set-cookie" not in refused.headers


def test_sessions_on_each_backend(store_url: str) -> None:
    """The session functions on SQLite and PostgreSQL: ids are stored hashed, a session
    is valid until it expires and for a token still accepted only (it then says whose),
    and pruning removes the rest."""
    mine, theirs = sessions.token_fingerprint(TOKEN), sessions.token_fingerprint("x" * 16)
    assert mine != theirs and TOKEN not in mine
    accepted = {mine: "admin"}
    now = datetime.now(UTC)
    with Store(store_url) as store:
        engine = store.engine
        live = sessions.create(engine, mine, now, timedelta(hours=1))
        expired = sessions.create(engine, mine, now - timedelta(hours=2), timedelta(hours=1))
        old_token = sessions.create(engine, theirs, now, timedelta(hours=1))
        assert sessions.lookup(engine, live, accepted, now) == "admin"
        assert sessions.lookup(engine, live, accepted, now + timedelta(hours=1)) is None
        assert sessions.lookup(engine, expired, accepted, now) is None
        assert sessions.lookup(engine, old_token, accepted, now) is None
        assert sessions.lookup(engine, old_token, {theirs: "ci"}, now) == "ci"
        assert sessions.lookup(engine, "not-a-session\x00", accepted, now) is None
        assert {row.id_hash for row in stored_sessions(engine)} == {
            sessions.hash_id(s) for s in (live, expired, old_token)
        }

        assert sessions.prune(engine, {mine}, now) == 2
        assert [row.id_hash for row in stored_sessions(engine)] == [sessions.hash_id(live)]
        assert sessions.revoke(engine, live) and not sessions.revoke(engine, live)
        assert sessions.lookup(engine, live, accepted, now) is None

        sessions.create(engine, mine, now, timedelta(hours=1))
        assert sessions.prune(engine, set(), now) == 1  # no token: no session survives


def test_signing_in_or_out_clears_the_token_cookie_of_earlier_releases(private_site: str) -> None:
    for path, data in [("/signin", {"token": TOKEN, "next": "/"}), ("/signout", {})]:
        response = httpx.post(
            f"{private_site}{path}", data=data, headers={"cookie": f"scorecard_token={TOKEN}"}
        )
        assert response.status_code == 303
        cleared = [c for c in response.headers.get_list("set-cookie") if "scorecard_token" in c]
        assert len(cleared) == 1 and "max-age=0" in cleared[0].lower(), path
        assert TOKEN not in cleared[0]
