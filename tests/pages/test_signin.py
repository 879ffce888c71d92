"""Signing in to the pages over plain HTTP: private reads, the cookie, forged posts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from tests.pages.conftest import TOKEN, make_workspace
from tests.serving import ServedApp

ENTITY = "/catalog/component/default/checkout-web"


@pytest.fixture(scope="module")
def private_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose reads need the token (`public_reads: false`)."""
    workspace = make_workspace(tmp_path_factory.mktemp("private"))
    server = ServedApp(dataclasses.replace(workspace, public_reads=False))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


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
