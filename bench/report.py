"""The results: a table on the terminal, JSON for tools, Markdown for the README."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bench.rows import LIBYAML, Row


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _tool_version(*command: str) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    done = subprocess.run(command, capture_output=True, text=True)
    lines = (done.stdout or done.stderr).strip().splitlines()
    # wrk's first line goes on with its event loop and copyright.
    return re.split(r"\s+(?:\[|Copyright)", lines[0])[0].strip() if lines else None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": cpus,
        "cpu_model": _cpu_model(),
        "ram_gb": _ram_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "pyyaml_libyaml": LIBYAML,
        "uvicorn": version("uvicorn"),
        "node": _tool_version("node", "--version"),
        "wrk": _tool_version("wrk", "--version"),
    }


def describe_machine(info: dict[str, Any]) -> str:
    return (
        f"{info['cpus']} CPUs ({info['cpu_model']}), {info['ram_gb']} GB RAM, {info['os']}; "
        f"Python {info['python']}, SQLite {info['sqlite']}, "
        f"libyaml {'yes' if info['pyyaml_libyaml'] else 'no'}, uvicorn {info['uvicorn']}, "
        f"Node {info['node'] or 'absent'}, {info['wrk'] or 'wrk absent'}"
    )


def _verdict(row: Row, judged: bool) -> str:
    if row.error is not None:
        return "error"
    if row.passed is None:
        return "skipped" if row.detail.startswith("skipped") else "—"
    if not judged:
        return "(pass)" if row.passed else "(fail)"
    return "pass" if row.passed else "FAIL"


def disagreements(passes: dict[str, dict[str, int]]) -> list[str]:
    """Check ids whose pass counts differ between the sides that counted them."""
    sides = list(passes.values())
    if len(sides) < 2:
        return []
    ids = sorted({check for side in sides for check in side})
    return [c for c in ids if len({side.get(c) for side in sides}) > 1]


def print_report(
    console: Console,
    rows: Sequence[Row],
    passes: dict[str, dict[str, int]],
    info: dict[str, Any],
    size: int,
    judged: bool,
) -> None:
    table = Table(title=f"scorecard benchmark, N = {size:,} entities", title_justify="left")
    for column in ("#", "what", "measured", "target", "result"):
        table.add_column(column, overflow="fold")
    for row in rows:
        verdict = _verdict(row, judged)
        style = "red" if verdict in ("FAIL", "error") else None
        cells = (row.number, row.what, row.measured, row.target, verdict)
        table.add_row(*(Text(cell) for cell in cells), style=style)
    console.print(table)
    for row in rows:
        if row.detail:
            console.print(
                f"  {row.number}: {row.detail}", markup=False, highlight=False, soft_wrap=True
            )
    if not judged:
        console.print(
            "  Targets are set for N = 100,000; at this size they are not judged "
            "(shown in parentheses).",
            highlight=False,
        )
    console.print(
        f"Machine: {describe_machine(info)}", markup=False, highlight=False, soft_wrap=True
    )
    if len(passes) < 2:
        console.print("Pass counts: not compared (fewer than two sides counted them).")
        return
    counts = Table(title="Passes per check", title_justify="left")
    counts.add_column("check")
    for side in passes:
        counts.add_column(side, justify="right")
    differing = disagreements(passes)
    for check in sorted({c for side in passes.values() for c in side}):
        counts.add_row(
            check,
            *(f"{side[check]:,}" if check in side else "—" for side in passes.values()),
            style="red" if check in differing else None,
        )
    console.print(counts)
    if differing:
        console.print(f"[red]The pass counts disagree on {', '.join(differing)}.[/red]")
    else:
        console.print(f"Pass counts agree between {', '.join(passes)}.", highlight=False)


def markdown(rows: Sequence[Row], info: dict[str, Any], size: int, judged: bool) -> str:
    """The table as the README's Performance section shows it."""
    lines = [
        f"N = {size:,} entities, measured {datetime.now(UTC):%Y-%m-%d} on "
        f"{describe_machine(info)}.",
        "",
        "| # | what | measured | target | result |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = (row.number, row.what, row.measured, row.target, _verdict(row, judged))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines += [f"- {row.number}: {row.detail}" for row in rows if row.detail]
    return "\n".join(lines) + "\n"


def write(
    path: Path,
    rows: Sequence[Row],
    passes: dict[str, dict[str, int]],
    info: dict[str, Any],
    size: int,
    judged: bool,
) -> Path:
    """Write the results as JSON at `path` and as Markdown beside it; returns the latter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": size,
        "judged": judged,
        "machine": info,
        "rows": [row.as_dict() for row in rows],
        "passes": passes,
        "passes_agree": not disagreements(passes),
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    table = path.with_suffix(".md")
    table.write_text(markdown(rows, info, size, judged))
    return table
