"""`scorecard push`: report results of external checks to a server from a pipeline.

Exit codes as `gate`: 0 every result counts as passing, 1 one fails (or errors, or is
unknown), 2 the batch was rejected or the command is misused, 3 the server cannot be
reached.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from scorecard.cli.app import app, stderr, stdout
from scorecard.envvars import TOKEN_ENV
from scorecard.gate.model import EXIT_MET, EXIT_NOT_MET, EXIT_UNREACHABLE, EXIT_USAGE

if TYPE_CHECKING:
    import httpx

SERVER_ENV = "SCORECARD_SERVER"
_COUNTS_AS_PASSING = ("pass", "warn", "not_applicable")


@app.command()
def push(
    server: Annotated[
        str, typer.Option(envvar=SERVER_ENV, help="The `scorecard serve` to report to.")
    ],
    token: Annotated[
        str | None, typer.Option(envvar=TOKEN_ENV, help="A runner or admin token.")
    ] = None,
    entity: Annotated[str | None, typer.Option(help="The entity ref the result is of.")] = None,
    check: Annotated[str | None, typer.Option(help="The external check's id.")] = None,
    track: Annotated[
        str | None, typer.Option(help="Its track \\[default: every track with the check].")
    ] = None,
    outcome: Annotated[
        str | None, typer.Option(help="pass, fail, not_applicable, unknown or error.")
    ] = None,
    value: Annotated[
        float | None, typer.Option(help="A number (coverage, a count): the threshold decides.")
    ] = None,
    message: Annotated[str | None, typer.Option(help="What was observed, in a sentence.")] = None,
    evidence: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE facts to keep with it (repeatable).")
    ] = None,
    observed_at: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z"], help="When it was observed \\[default: now]."
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help='Many results: JSON `{"results": [...]}` as the API takes.'
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the server.")] = 60.0,
) -> None:
    """Report results of external checks (`check: external`) to a server.

    One result from flags (--entity, --check, --outcome or --value), or many from a JSON
    file. The entities' levels change at once; the exit code says whether every result
    counts as passing.
    """
    import httpx  # imported when used: `scorecard --help` loads every command's module

    if output_format not in ("text", "json"):
        _usage(f"--format {output_format!r}: use text or json")
    body = _body(file, entity, check, track, outcome, value, message, evidence, observed_at)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = server.rstrip("/") + "/api/v1/results"
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=timeout)
    except httpx.TransportError as error:
        stderr.print(f"cannot reach {server}: {error}", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNREACHABLE) from None
    if response.status_code >= 500:
        stderr.print(f"{url} answered {response.status_code}", markup=False, highlight=False)
        raise typer.Exit(EXIT_UNREACHABLE)
    answer = _json(response)
    if response.status_code != 201:
        problems = answer.get("errors") or [answer.get("detail") or response.text[:500]]
        for problem in problems:
            stderr.print(f"{url}: {problem}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE)
    results = answer.get("results", [])
    if output_format == "json":
        stdout.print_json(data=answer)
    else:
        _print(answer["run_id"], results)
    failing = [r for r in results if r.get("outcome") not in _COUNTS_AS_PASSING]
    raise typer.Exit(EXIT_NOT_MET if failing else EXIT_MET)


def _body(
    file: Path | None,
    entity: str | None,
    check: str | None,
    track: str | None,
    outcome: str | None,
    value: float | None,
    message: str | None,
    evidence: list[str] | None,
    observed_at: datetime | None,
) -> dict[str, Any]:
    flags = (entity, check, track, outcome, value, message, evidence, observed_at)
    if file is not None:
        if any(flag is not None for flag in flags):
            _usage("give --file or the flags of one result, not both")
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as error:
            _usage(f"{file}: {error.strerror or error}")
        except (ValueError, UnicodeDecodeError) as error:
            _usage(f"{file}: not JSON: {error}")
        if isinstance(data, list):
            data = {"results": data}
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            _usage(f'{file}: expected {{"results": [...]}} or a list of results')
        return data
    if entity is None or check is None:
        _usage("give --entity and --check (and --outcome or --value), or --file")
    if outcome is None and value is None:
        _usage("give --outcome, --value, or both")
    item: dict[str, Any] = {"entity": entity, "check": check}
    for key, given in (("track", track), ("outcome", outcome), ("value", value)):
        if given is not None:
            item[key] = given
    if message is not None:
        item["message"] = message
    if evidence:
        item["evidence"] = _evidence(evidence)
    if observed_at is not None:
        item["observed_at"] = observed_at.isoformat()
    return {"results": [item]}


def _evidence(pairs: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            _usage(f"--evidence {pair!r}: write KEY=VALUE")
        try:  # numbers and booleans as such, anything else as text
            found[key] = json.loads(text)
        except ValueError:
            found[key] = text
    return found


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _print(run_id: int, results: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title=f"Pushed as run {run_id}", title_justify="left")
    for column in ("entity", "track", "check", "outcome", "level"):
        table.add_column(column)
    for r in results:
        level = r.get("level") or "-"
        if r.get("previous_level") != r.get("level"):
            level = f"{r.get('previous_level') or '-'} → {level}"
        table.add_row(r["entity"], r["track"], r["check"], r["outcome"], level)
    stdout.print(table)
    for r in results:
        stdout.print(f"{r['entity']} {r['check']}: {r['message']}", markup=False, highlight=False)


def _usage(message: str) -> NoReturn:
    stderr.print(message, markup=False, highlight=False)
    raise typer.Exit(EXIT_USAGE)
