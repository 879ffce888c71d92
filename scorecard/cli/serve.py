"""`scorecard serve`: the API, badges and the scheduler in one process."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from scorecard.cli.app import State, app, config_errors, database_errors, stderr

if TYPE_CHECKING:
    from scorecard.service.service import Service


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    schedule: Annotated[
        bool, typer.Option(help="Run tracks on their schedules (--no-schedule: only on demand).")
    ] = True,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the API and badges, and run each track on its schedule.

    On start it evaluates every track once if the store is empty. Ctrl-C stops it after
    the runs in progress finish (or are abandoned after a grace period).
    """
    import uvicorn

    from api import create_app
    from scorecard.service.service import Service

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    state: State = ctx.obj
    with config_errors(), database_errors():
        workspace = state.workspace()
        service = Service.create(workspace, schedule=schedule)
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host=host, port=port, log_level=log_level.lower())
    )
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    stderr.print(f"scorecard is serving {workspace.source} at {base}/", highlight=False)
    stderr.print(f"  API and its docs:  {base}/docs", highlight=False)
    example = _example(service)
    if example is not None:
        kind, namespace, name, track = example
        stderr.print(
            f"  a scorecard page:  {base}/catalog/{kind}/{namespace}/{name}\n"
            f"  its JSON:          {base}/api/v1/entities/{kind}/{namespace}/{name}\n"
            f"  its badge:         {base}/badges/{kind}/{namespace}/{name}/{track}.svg",
            highlight=False,
        )
    if not service.tokens:
        stderr.print(
            "Writes (runs, reloads, exemptions) are disabled until SCORECARD_API_TOKEN is set "
            "or a token under `tokens:` has its variable set.",
            style="dim",
        )
    else:
        named = ", ".join(f"{t.name} ({t.role})" for t in service.tokens.tokens)
        stderr.print(f"API tokens accepted: {named}", style="dim", highlight=False)
    server.run()


def _example(service: Service) -> tuple[str, str, str, str] | None:
    """An entity and a track that applies to it, to show working URLs at start."""
    from scorecard.catalog import read_catalog
    from scorecard.planner import plan

    tracks = service.config.current.tracks
    # Files only: a Backstage source is read by the runs, not to print a start banner.
    paths = [c for c in service.workspace.catalog if isinstance(c, str)]
    listing = read_catalog(paths, local_roots=service.workspace.local_roots)
    for item in plan(listing.entities, tracks):
        entity = item.entity
        return entity.kind.lower(), entity.namespace.lower(), entity.name, item.tracks[-1].id
    return None
