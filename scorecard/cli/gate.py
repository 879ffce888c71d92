"""`scorecard gate`: exit 0 when every gated entity reaches the required level, 1 when one
does not, 2 on a configuration or usage error, 3 when the server cannot be reached."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scorecard.cli.app import State, app, config_errors, stderr
from scorecard.envvars import TOKEN_ENV
from scorecard.gate.model import EXIT_UNREACHABLE, GateReport, Requirement
from scorecard.problems import ConfigError, Problem

if TYPE_CHECKING:
    from scorecard.workspace import Workspace


@app.command()
def gate(
    ctx: typer.Context,
    track: Annotated[
        list[str] | None, typer.Option("--track", "-t", help="A track id (repeatable).")
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option("--require", "-r", help="The level required on the --track before it."),
    ] = None,
    repo: Annotated[Path, typer.Option(help="The repository whose entities are gated.")] = Path(),
    catalog: Annotated[
        Path | None, typer.Option(help="Its catalog file [default: catalog-info.yaml].")
    ] = None,
    entity: Annotated[
        list[str] | None,
        typer.Option(help="Gate these entity refs on the server instead of the catalog file's."),
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="Ask this `scorecard serve` instead of evaluating here.")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar=TOKEN_ENV, help="Bearer token for --refresh.")
    ] = None,
    refresh: Annotated[
        bool, typer.Option(help="With --server: run the tracks for the entity first.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for a --refresh run.")
    ] = 300.0,
    baseline: Annotated[
        bool, typer.Option(help="Compare this evaluation with the --server's current one.")
    ] = False,
    baseline_ref: Annotated[
        str | None, typer.Option(help="Compare with an evaluation of this git ref (e.g. main).")
    ] = None,
    allow_errors: Annotated[
        bool, typer.Option(help="A required check that errored does not fail the gate.")
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="text, json, junit or markdown.")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option(help="Write the --format there; print the summary.")
    ] = None,
) -> None:
    """Fail a pipeline when an entity is below the level required on a track.

    Without --server the repository's own catalog file is evaluated on its working tree.
    Markdown goes to $GITHUB_STEP_SUMMARY when it is set. A draft track (`draft: true`)
    is not gated: named with --track it is refused, in the gate: section it is left out.
    """
    from scorecard.gate.output import write_outputs

    options = _Options(
        repo, catalog, entity or [], server, token, refresh, timeout, baseline, baseline_ref,
        allow_errors,
        # The gate: section's drafts are left out; a draft named with --track is refused.
        skip_drafts=not track,
    )  # fmt: skip
    state: State = ctx.obj
    with config_errors():
        workspace = state.workspace()
        requirements = _requirements(track or [], require or [], workspace.gate)
        if baseline and server is None:
            raise ConfigError([Problem("--baseline", "compares with a server: give --server")])
        if output_format not in ("text", "json", "junit", "markdown"):
            raise ConfigError([Problem("--format", "use text, json, junit or markdown")])
        with _server_errors(server):
            report = _report(workspace, requirements, options)
    text = write_outputs(report, output_format=output_format, output=output, environ=os.environ)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    raise typer.Exit(report.exit_code)


@contextmanager
def _server_errors(server: str | None) -> Iterator[None]:
    """Exit 3 when the --server cannot be reached."""
    if server is None:  # nothing talks to a server: its client (httpx) is not imported
        yield
        return
    from scorecard.gate.remote import Unreachable

    try:
        yield
    except Unreachable as error:
        stderr.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNREACHABLE) from None


def _requirements(
    tracks: list[str], levels: list[str], configured: tuple[tuple[str, str], ...]
) -> list[Requirement]:
    if len(tracks) != len(levels):
        raise ConfigError(
            [Problem("--track/--require", "give one --require for each --track, in pairs")]
        )
    pairs = list(zip(tracks, levels, strict=True)) or list(configured)
    if not pairs:
        raise ConfigError(
            [Problem("--track", "nothing to gate: give --track T --require L, or a gate: section")]
        )
    return [Requirement(t, level) for t, level in pairs]


@dataclass(frozen=True)
class _Options:
    repo: Path
    catalog: Path | None
    entities: list[str]
    server: str | None
    token: str | None
    refresh: bool
    timeout: float
    baseline: bool
    baseline_ref: str | None
    allow_errors: bool
    skip_drafts: bool = False


def _report(workspace: Workspace, requirements: list[Requirement], options: _Options) -> GateReport:
    from scorecard.gate.local import compare, find_catalog_file, gate_locally, gated_entities

    o = options
    if o.server is not None and not o.baseline:
        from scorecard.gate.remote import RemoteGate, gate_remotely

        refs = o.entities or [e.ref for e in gated_entities(find_catalog_file(o.repo, o.catalog))]
        with RemoteGate(o.server, o.token, timeout=o.timeout) as remote:
            return gate_remotely(
                remote,
                refs,
                requirements,
                allow_errors=o.allow_errors,
                refresh=o.refresh,
                skip_drafts=o.skip_drafts,
            )
    report = gate_locally(
        workspace,
        o.repo,
        o.catalog,
        requirements,
        allow_errors=o.allow_errors,
        baseline_ref=o.baseline_ref,
        skip_drafts=o.skip_drafts,
    )
    if o.baseline and o.server is not None:
        from scorecard.gate.remote import RemoteGate

        refs = sorted({v.entity_ref for v in report.verdicts})
        gated = [r for r in requirements if r.track_id not in report.drafts_left_out]
        with RemoteGate(o.server, o.token, timeout=o.timeout) as remote:
            served = remote.verdicts(refs, gated, allow_errors=o.allow_errors)
        compare(report.verdicts, served)
        report.baseline = o.server
    return report
