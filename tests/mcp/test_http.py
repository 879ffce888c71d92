"""`/mcp` of a real server (uvicorn on loopback), through the SDK's streamable HTTP
client: the API's tokens and roles hold for every tool, and the answers are the store's."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError

from scorecard.mcp import build_server
from scorecard.results import NON_BLOCKING
from scorecard.workspace import Workspace
from tests.databases import database
from tests.mcp.conftest import (
    ADMIN_NAME,
    READER_NAME,
    Tokens,
    answer,
    error_text,
    http_session,
    write_workspace,
)
from tests.serving import ServedApp

READINESS = "production-readiness"
FRAUD = "component:default/fraud-scoring"
PAYMENTS = "group:default/payments"


def call(name: str, arguments: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    """A JSON-RPC `tools/call` as a client POSTs it."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def post(app: ServedApp, body: Any, token: str | None = None, **headers: str) -> httpx.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{app.url}/mcp", json=body, headers=MCP_HEADERS | headers, timeout=30)


def dashboard_required(app: ServedApp) -> str:
    """The production-readiness track with its optional dashboard check made required."""
    (folder,) = app.service.workspace.tracks
    document = yaml.safe_load((Path(folder) / f"{READINESS}.yaml").read_text())
    silver = next(level for level in document["levels"] if level["id"] == "silver")
    entry = next(c for c in silver["checks"] if isinstance(c, dict) and c["id"] == "has_dashboard")
    entry["required"] = True
    return yaml.safe_dump(document, sort_keys=False)


def leaves(group: BaseExceptionGroup) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        found += leaves(error) if isinstance(error, BaseExceptionGroup) else [error]
    return found


# --- private reads ----------------------------------------------------------------------


def test_without_a_token_private_reads_refuse_every_request(
    private_server: ServedApp, tokens: Tokens
) -> None:
    async def connect(token: str | None) -> str:
        # The refusal of `initialize` leaves the client's task groups wrapped around it.
        with pytest.raises(BaseExceptionGroup) as raised:
            async with http_session(private_server.url, token):
                pass
        (refused,) = leaves(raised.value)
        assert isinstance(refused, MCPError)
        return refused.message

    assert asyncio.run(connect(None)) == (
        "a bearer token is required: send `Authorization: Bearer <token>`"
    )
    assert asyncio.run(connect("not-a-token-of-this-server")) == "the bearer token is not valid"

    # What the client met: JSON with the API's `detail`, and the same sentence as a
    # JSON-RPC error for the request's id.
    response = post(private_server, call("get_scorecard", {"entity": "checkout-web"}, 7))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["detail"] == body["error"]["message"]
    assert body["detail"].startswith("a bearer token is required")
    assert body["id"] is None  # refused before the body was read
    assert post(private_server, {"jsonrpc": "2.0"}, "wrong").status_code == 403


def test_a_reader_token_reads_and_may_not_preview(
    private_server: ServedApp, tokens: Tokens
) -> None:
    store = private_server.service.store
    previews_before = store.audit_log(object_type="track").total

    async def converse() -> tuple[list[str], dict[str, Any], str, str]:
        async with http_session(private_server.url, tokens.reader) as session:
            listed = [tool.name for tool in (await session.list_tools()).tools]
            explained = answer(
                await session.call_tool(
                    "explain_level", {"entity": FRAUD, "level": "gold", "track": READINESS}
                )
            )
            unknown = error_text(await session.call_tool("get_scorecard", {"entity": "nobody"}))
            with pytest.raises(MCPError) as refused:
                await session.call_tool(
                    "preview_rollout", {"tracks": [dashboard_required(private_server)]}
                )
            return listed, explained, unknown, refused.value.message

    listed, explained, unknown, refused = asyncio.run(converse())

    assert "explain_level" in listed and "preview_rollout" in listed
    (track,) = explained["tracks"]
    certification = store.certification(FRAUD, READINESS)
    assert certification is not None
    assert (track["level"], track["target"]) == (certification.level, "gold")
    gold = private_server.service.config.current.track(READINESS)
    assert gold is not None
    results = {r.check_id: r for r in store.results(entity_ref=FRAUD, track_id=READINESS)}
    assert [b["id"] for b in track["blocking"]] == [
        c.id for c in gold.checks if c.required and results[c.id].outcome not in NON_BLOCKING
    ]
    assert track["blocking"], "fraud-scoring should be below gold in the demo"
    # Links are absolute, to the server the request came to.
    assert track["page"] == f"{private_server.url}/catalog/component/default/fraud-scoring"
    assert "no entity component:default/nobody has been evaluated" in unknown
    assert refused == f"token {READER_NAME!r} is a reader; this needs a admin token"

    # The refusal is the HTTP 403 of the API, before the tool runs.
    response = post(private_server, call("preview_rollout", {"tracks": ["x"]}), tokens.reader)
    assert response.status_code == 403
    assert response.json()["detail"] == refused
    assert response.json()["id"] == 1  # the call refused, for a client to match
    assert store.audit_log(object_type="track").total == previews_before  # nothing ran


def test_an_admin_token_previews_a_track_change(private_server: ServedApp, tokens: Tokens) -> None:
    store = private_server.service.store
    document = dashboard_required(private_server)

    async def converse() -> dict[str, Any]:
        async with http_session(private_server.url, tokens.admin) as session:
            return answer(await session.call_tool("preview_rollout", {"tracks": [document]}))

    previewed = asyncio.run(converse())

    lose = sorted(
        c.entity_ref
        for c in store.certifications(track_id=READINESS)
        if c.level in ("silver", "gold")
        and store.results(entity_ref=c.entity_ref, track_id=READINESS, check_id="has_dashboard")[
            0
        ].outcome
        == "warn"
    )
    assert FRAUD in lose
    (track,) = previewed["tracks"]
    assert previewed["baseline"] == "stored"
    assert sorted(m["entity"] for m in track["lost"]) == lose
    assert all(m["after"] == "bronze" for m in track["lost"])
    # Nothing stored but the audit log's row, naming the token.
    assert store.certification(FRAUD, READINESS).level == "silver"  # type: ignore[union-attr]
    (row,) = store.audit_log(action="tracks.previewed").items
    assert (row.actor, row.object_id) == (ADMIN_NAME, READINESS)
    assert row.change["lost"] == {READINESS: len(lose)}


# --- public reads -----------------------------------------------------------------------


def test_public_reads_need_no_token_but_the_preview_does(
    public_server: ServedApp, tokens: Tokens
) -> None:
    async def converse() -> tuple[dict[str, Any], str]:
        async with http_session(public_server.url) as session:
            card = answer(await session.call_tool("get_scorecard", {"entity": "fraud-scoring"}))
            with pytest.raises(MCPError) as refused:
                await session.call_tool("preview_rollout", {"tracks": ["x"]})
            return card, refused.value.message

    card, refused = asyncio.run(converse())
    stored = {
        c.track_id: c.level for c in public_server.service.store.certifications(entity_ref=FRAUD)
    }
    assert {t["track"]: t["level"] for t in card["tracks"]} == stored
    assert refused.startswith("a bearer token is required")

    preview = call("preview_rollout", {"tracks": ["x"]})
    assert post(public_server, preview).status_code == 401
    assert post(public_server, preview, tokens.reader).status_code == 403
    # A batch hiding the call among reads is refused as the call is.
    batch = [
        call("get_scorecard", {"entity": "fraud-scoring"}, 1),
        call("preview_rollout", {"tracks": ["x"]}, 2),
    ]
    assert post(public_server, batch).status_code == 401


def test_a_body_past_the_limit_is_refused_unread(public_server: ServedApp) -> None:
    huge = call("get_scorecard", {"entity": "x" * (5 * 1024 * 1024)})
    response = post(public_server, huge)
    assert response.status_code == 413
    assert response.json()["detail"] == "a request body may hold at most 4194304 bytes"


def test_a_request_from_another_site_is_refused(public_server: ServedApp) -> None:
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = post(public_server, listing, Origin="https://evil.example")
    assert response.status_code == 403
    assert response.json()["detail"] == "requests from another origin are refused"
    same = post(public_server, listing, Origin=public_server.url)
    assert same.status_code == 200
    assert "get_scorecard" in {tool["name"] for tool in same.json()["result"]["tools"]}


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_tools_read_a_postgresql_store(tmp_path: Path) -> None:
    with database("postgres", tmp_path / "data") as url:
        config = write_workspace(tmp_path / "workspace")
        with ServedApp(replace(Workspace.load(config), database=url)) as app:
            store = app.service.store

            async def converse() -> dict[str, dict[str, Any]]:
                async with http_session(app.url) as session:
                    asked = {
                        "owner": ("list_owner_entities", {"owner": "Group:Default/Payments"}),
                        "campaigns": ("list_owner_campaigns", {"owner": "payments"}),
                        "explain": ("explain_level", {"entity": FRAUD, "level": "gold"}),
                        "found": ("find_entities", {"query": "PAYMENTS", "kind": "component"}),
                    }
                    return {k: answer(await session.call_tool(*c)) for k, c in asked.items()}

            got = asyncio.run(converse())

            owned = store.entities(owner=PAYMENTS)
            assert [e["entity"]["ref"] for e in got["owner"]["entities"]] == [e.ref for e in owned]
            recorded = store.owner_campaigns(PAYMENTS, ["silver-production-services"])
            (campaign,) = got["campaigns"]["campaigns"]
            mine = recorded["silver-production-services"]
            assert (campaign["in_scope"], campaign["at_goal"]) == (mine.in_scope, mine.at_goal)
            levels = {t["track"]: t["level"] for t in got["explain"]["tracks"]}
            assert levels == {c.track_id: c.level for c in store.certifications(entity_ref=FRAUD)}
            assert [e["entity"]["ref"] for e in got["found"]["entities"]] == [
                "component:default/payments-gateway"
            ]


def test_the_preview_tool_itself_refuses_a_call_without_an_admin(
    private_server: ServedApp,
) -> None:
    # Should a call ever reach the tool past the endpoint's check, it still refuses.
    server = build_server(private_server.service, local=False)
    with pytest.raises(ToolError, match="previewing a track change needs an admin token"):
        asyncio.run(server.call_tool("preview_rollout", {"tracks": ["x"]}))
