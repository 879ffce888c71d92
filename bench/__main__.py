"""`python -m bench`: run the benchmark rows, print the table, write JSON and Markdown.

Exit codes: 0 when every row ran and the engines agree on the pass counts, whatever the
targets say (the suite is a report, not a test); 1 when the pass counts disagree; 2 when
a row crashed or a tool that `--require-tools` asks for is missing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from rich.console import Console

from bench import report
from bench.context import Context
from bench.rows import ROWS, Row

FULL_SIZE = 100_000
SMOKE_SIZE = 1_000
DEFAULT_JSON = Path(__file__).resolve().parent / "out" / "results.json"


def _rows(text: str | None) -> list[str]:
    if text is None:
        return list(ROWS)
    wanted = {part.strip().upper() for part in text.split(",") if part.strip()}
    unknown = wanted - set(ROWS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown rows {', '.join(sorted(unknown))}; rows are {', '.join(ROWS)}"
        )
    # Always in the table's order: row 3 re-runs row 2's store before row 4 changes it.
    return [number for number in ROWS if number in wanted]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark scorecard against json-rules-engine and a plain-Python floor.",
    )
    parser.add_argument("--size", type=int, default=FULL_SIZE, help="entities (default 100000)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"N = {SMOKE_SIZE:,} and short load tests: every row runs, no target is judged",
    )
    parser.add_argument("--rows", type=_rows, default=None, help="e.g. 1,2,7,F1 (default: all)")
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})"
    )
    parser.add_argument(
        "--wrk-seconds",
        type=float,
        default=None,
        help="row 7's load per app (10; smoke 2), row 11's with --smoke",
    )
    parser.add_argument("--workdir", type=Path, help="keep the generated files here")
    parser.add_argument(
        "--require-tools",
        action="store_true",
        help="fail rather than skip when Node.js or wrk is missing (CI)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.size = SMOKE_SIZE
    if args.size < 100:
        parser.error("--size must be at least 100")
    if args.wrk_seconds is None:
        args.wrk_seconds = 2.0 if args.smoke else 10.0
    return args


def _crashed(number: str, error: BaseException) -> Row:
    traceback.print_exc()
    message = f"{type(error).__name__}: {error}".splitlines()[0]
    what = (ROWS[number].__doc__ or ROWS[number].__name__).strip().splitlines()[0]
    return Row(number, what, "—", "—", False, f"error: {message}", error=message)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows_wanted = args.rows or list(ROWS)
    judged = args.size >= FULL_SIZE
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scorecard-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = Context(
        size=args.size,
        smoke=args.smoke,
        workdir=workdir,
        wrk_seconds=args.wrk_seconds,
        require_tools=args.require_tools,
    )
    started = time.perf_counter()
    rows: list[Row] = []
    try:
        for number in rows_wanted:
            ctx.log(f"row {number}")
            try:
                rows.append(ROWS[number](ctx))
            except Exception as error:
                rows.append(_crashed(number, error))
    finally:
        ctx.close()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    console = Console(width=max(120, Console().width))
    info = report.machine()
    report.print_report(console, rows, ctx.passes, info, args.size, judged)
    table = report.write(args.json, rows, ctx.passes, info, args.size, judged)
    elapsed = time.perf_counter() - started
    console.print(
        f"Ran in {elapsed:.0f} s. Results: {args.json} (JSON), {table} (Markdown).",
        markup=False,
        highlight=False,
    )
    if any(row.error is not None for row in rows):
        return 2
    return 1 if report.disagreements(ctx.passes) else 0


if __name__ == "__main__":
    sys.exit(main())
