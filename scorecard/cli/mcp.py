"""`scorecard mcp`: the scorecards as an MCP server over stdin and stdout, for an agent
(Claude Desktop, VS Code, any MCP client) run by the same user."""

from __future__ import annotations

import logging
import sys
from contextlib import redirect_stdout
from typing import Annotated

import typer

from scorecard.cli.app import State, app, config_errors, database_errors


@app.command("mcp")
def mcp_command(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="Database URL.")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "warning",
) -> None:
    """Serve the workspace's scorecards to an AI agent over MCP on stdin/stdout.

    The agent's client starts it: {"command": "scorecard", "args": ["mcp"]}.

    It answers from the results of the last runs and the tracks and checks as loaded
    (read again when their files change), and starts no run.

    Whoever starts it is trusted: its rollout preview needs no token here, where over
    HTTP (`/mcp` of `scorecard serve`) it needs an admin token.

    Logs go to stderr; stdout carries the protocol only.
    """
    from dataclasses import replace

    from scorecard.mcp import build_server
    from scorecard.service.config import LiveConfig
    from scorecard.service.service import Service

    logging.basicConfig(
        stream=sys.stderr, level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    state: State = ctx.obj
    # A check module that prints while it is imported must not write into the protocol.
    with redirect_stdout(sys.stderr), config_errors(), database_errors():
        workspace = state.workspace()
        if db is not None:
            workspace = replace(workspace, database=db)
        service = Service.create(workspace, schedule=False)
        # Tracks and checks are read again when their files change, and nothing more: a
        # server's reload also applies exemption and campaign files to the store, which
        # an agent's reader must not do to a database it may share with a server.
        service = replace(service, config=LiveConfig(workspace))
    try:
        build_server(service, local=True).run("stdio")
    except KeyboardInterrupt:
        pass  # the client stopped it
    finally:
        service.store.close()
