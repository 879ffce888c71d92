"""`scorecard worker` and `scorecard workers`: the Celery workers of the celery executor."""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Annotated

import typer

from scorecard.cli.app import EXIT_FAILED, EXIT_OK, EXIT_USAGE, State, app, config_errors, stderr
from scorecard.cli.app import stdout as console


@app.command("worker")
def worker_command(
    ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", min=1, max=256, help="Shards evaluated at once [default: cores]."
        ),
    ] = None,
    queue: Annotated[
        list[str] | None,
        typer.Option("--queue", "-Q", help="Queues to take shards from [default: executor.queue]."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Worker name [default: scorecard@HOST].")
    ] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", help="Celery's log level.")] = "info",
) -> None:
    """Evaluate shards of runs for the workspace's celery executor, until stopped.

    Uses the same scorecard.yaml as the server: catalog sources, tracks, checks,
    repositories, GitHub settings and the PostgreSQL database. SIGTERM or Ctrl-C stops it
    after the shards in hand are stored (a second Ctrl-C stops at once; those shards are
    delivered again to another worker).
    """
    from scorecard.distributed.app import celery_app
    from scorecard.distributed.worker import WorkerContext, register, use_context

    state: State = ctx.obj
    with config_errors():
        workspace = state.workspace()
        if not workspace.executor.distributed:
            stderr.print(
                f"{workspace.source}: executor.kind is local: a worker needs "
                "executor: {kind: celery, broker: …} (or SCORECARD_BROKER_URL)",
                highlight=False,
            )
            raise typer.Exit(EXIT_USAGE)
        context = WorkerContext.load(workspace)
    try:
        worker_app = celery_app(workspace.executor)
    except RuntimeError as error:
        stderr.print(str(error), highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    register(worker_app)
    use_context(context)
    queues = ",".join(queue or [workspace.executor.queue])
    stderr.print(
        f"scorecard worker: configuration {context.fingerprint}, "
        f"{len(context.live.current.tracks)} tracks, queue {queues}",
        highlight=False,
    )
    argv = [
        "worker",
        f"--concurrency={concurrency or os.cpu_count() or 1}",
        f"--queues={queues}",
        f"--loglevel={loglevel}",
        f"--hostname={name or 'scorecard@' + socket.gethostname()}",
        "--pool=prefork",
        # No gossip or synchronisation between workers: the store is what they share.
        "--without-gossip",
        "--without-mingle",
    ]
    worker_app.worker_main(argv)


@app.command("workers")
def workers_command(
    ctx: typer.Context,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for answers.")
    ] = 2.0,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table or json.", case_sensitive=False)
    ] = "table",
) -> None:
    """List the live workers of the celery executor and the shards waiting in its queue.

    Exits 0 when at least one worker answered, 1 when none did, 2 when the executor is
    not celery or the broker cannot be reached.
    """
    from scorecard.distributed.status import executor_status

    state: State = ctx.obj
    with config_errors():
        workspace = state.workspace()
    if not workspace.executor.distributed:
        stderr.print(f"{workspace.source}: executor.kind is local: no workers", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        status = executor_status(workspace.executor, timeout=timeout)
    except RuntimeError as error:
        stderr.print(str(error), highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    if output_format.lower() == "json":
        sys.stdout.write(json.dumps(status.as_dict(), indent=2) + "\n")
    else:
        from rich.table import Table

        table = Table(title=f"Queue {status.queue}: {status.waiting} shards waiting")
        for column in ("worker", "busy", "concurrency", "shards done"):
            table.add_column(column)
        for worker in status.workers:
            table.add_row(
                worker.name, str(worker.busy), str(worker.concurrency), str(worker.processed)
            )
        console.print(table)
        if not status.workers:
            console.print("No worker answered.", style="bold red")
    raise typer.Exit(EXIT_OK if status.workers else EXIT_FAILED)
