"""Row 7's servers, each started as its own process by bench/load.py.

`python -m bench.serve badge --db URL --tracks FILE --port P` serves the real app over a
filled store; `python -m bench.serve fixed --body FILE --port P` serves a minimal ASGI app
that answers every request with the same bytes. Both run under the same uvicorn settings,
so the ratio between them is the app's cost, not the server stack's.

`python -m bench.serve slow --delay-ms 50 --limit 64 --port P` is row D2's stand-in for
GitHub: every answer takes 50 ms, and at most 64 requests are served at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def fixed_app(body: bytes, content_type: bytes) -> ASGIApp:
    """An ASGI app answering 200 with `body` to every request: the stack's ceiling."""
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def slow_app(delay: float, limit: int) -> ASGIApp:
    """An API that answers each request after `delay` seconds and serves at most `limit` at
    once, the rest waiting their turn, as a rate-limited API holds back a client that
    opens too many connections. `GET /stats` answers, as JSON, the requests answered and
    the most open at once (arrived and not yet answered) since the last `/stats`."""
    served = asyncio.Semaphore(limit)
    counts = {"requests": 0, "open": 0, "peak_open": 0}
    headers = [(b"content-type", b"application/json")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["path"] == "/stats":
            body = json.dumps(counts).encode()
            counts["requests"], counts["peak_open"] = 0, counts["open"]
        else:
            counts["open"] += 1
            counts["peak_open"] = max(counts["peak_open"], counts["open"])
            try:
                async with served:
                    await asyncio.sleep(delay)
            finally:
                counts["open"] -= 1
            counts["requests"] += 1
            body = b'{"registered": true}'
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def badge_app(database: str, tracks: Path) -> ASGIApp:
    """The real scorecard app over `database`, with no scheduler and no startup run."""
    from api import create_app
    from scorecard.service.service import Service
    from scorecard.workspace import Workspace

    workspace = Workspace(
        catalog=[], tracks=[tracks], checks=[], database=database, reload_interval=0
    )
    return create_app(Service.create(workspace, schedule=False), manage_service=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("app", choices=["badge", "fixed", "slow"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", help="the store's database URL (badge)")
    parser.add_argument("--tracks", type=Path, help="the track file (badge)")
    parser.add_argument("--body", type=Path, help="the bytes to answer with (fixed)")
    parser.add_argument("--delay-ms", type=float, default=50.0, help="each answer's delay (slow)")
    parser.add_argument("--limit", type=int, default=64, help="requests served at once (slow)")
    args = parser.parse_args(argv)
    if args.app == "badge":
        app = badge_app(args.db, args.tracks)
    elif args.app == "slow":
        app = slow_app(args.delay_ms / 1000, args.limit)
    else:
        app = fixed_app(args.body.read_bytes(), b"image/svg+xml")
    # The same settings for both apps (uvicorn picks the same loop and HTTP parser); at
    # level warning no request is logged, so logging costs neither of them.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
