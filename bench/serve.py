"""Row 7's servers, each started as its own process by bench/load.py.

`python -m bench.serve badge --db URL --tracks FILE --port P` serves the real app over a
filled store; `python -m bench.serve fixed --body FILE --port P` serves a minimal ASGI app
that answers every request with the same bytes. Both run under the same uvicorn settings,
so the ratio between them is the app's cost, not the server stack's.
"""

from __future__ import annotations

import argparse
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
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
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
    parser.add_argument("app", choices=["badge", "fixed"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", help="the store's database URL (badge)")
    parser.add_argument("--tracks", type=Path, help="the track file (badge)")
    parser.add_argument("--body", type=Path, help="the bytes to answer with (fixed)")
    args = parser.parse_args(argv)
    if args.app == "badge":
        app = badge_app(args.db, args.tracks)
    else:
        app = fixed_app(args.body.read_bytes(), b"image/svg+xml")
    # The same settings for both apps (uvicorn picks the same loop and HTTP parser); at
    # level warning no request is logged, so logging costs neither of them.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
