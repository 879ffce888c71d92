"""One function per row of the issue's table, each returning a `Row`.

Targets are judged at any size but only mean something at the full size (100,000
entities); at the smoke size the suite only proves it still runs and that the engines
agree.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench import export_memory, floor, load, repos
from bench.context import POSTGRES_URL_VARIABLE, TRACK_FILE, Context, fresh, postgres_schema
from bench.load import REPO
from bench.peer import Unavailable
from scorecard.catalog import read_catalog
from scorecard.entity import Entity
from scorecard.registry import build_registry
from scorecard.report import RunReport
from scorecard.results import Outcome
from scorecard.runner import evaluate, run_and_store
from scorecard.sources.git import GitCache, git_cache_from
from scorecard.store import Store
from scorecard.tracks import load_track
from scorecard.workspace import RepositoriesConfig

try:
    from yaml import CSafeLoader as _RawLoader

    LIBYAML = True
except ImportError:  # the engine falls back to the pure-Python loader too; say so
    from yaml import SafeLoader as _RawLoader  # type: ignore[assignment]

    LIBYAML = False

MEMORY_LIMIT_MB = 600
LINEAR_SLACK = 1.5
BADGE_PATHS = 1_000
REPOSITORIES = 200
SMOKE_REPOSITORIES = 20
CLONE_SLACK = 1.5
CLONE_ROUNDS = 3
PAGE_ROWS = 50  # the pages' rows per page
PAGE_SLACK = 2.0
MAX_PAGE_KB = 200
# The server memory a CSV of every entity may take, against a tenth of them: flat.
EXPORT_SLACK = 1.5
OVERVIEW_SECONDS = 60  # row 11's load at the full size; the smoke size uses --wrk-seconds
SLOW_SECONDS = 2.0
ROLLUP_MS = 50  # row 14: a roll-up read costs the same at any size
HELP_SECONDS = 0.3  # row 12: `scorecard --help`, the median of HELP_RUNS
HELP_RUNS = 10


@dataclass
class Row:
    number: str
    what: str
    measured: str
    target: str
    passed: bool | None  # None: a reference row, or skipped (the detail says why)
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # the row crashed: the suite no longer works

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def row_1(ctx: Context) -> Row:
    """Evaluation only: the engine's real executor path, results built."""
    seconds = ctx.evaluate_seconds(ctx.size)
    evaluations = ctx.size * len(ctx.tracks[0].checks)
    rate = _rate(evaluations, seconds)
    what = "evaluation only (engine's executor path, results built)"
    target = "≥ 5× json-rules-engine"
    data: dict[str, Any] = {"evaluations": evaluations, "seconds": seconds, "per_second": rate}
    measured = f"{rate:,.0f} evals/s ({seconds:.2f} s)"
    peer, reason = ctx.peer()
    if peer is None:
        return Row("1", what, measured, target, None, f"skipped: {reason}", data)
    if peer.evaluations != evaluations:
        raise RuntimeError(f"json-rules-engine made {peer.evaluations:,} evaluations")
    ratio = rate / peer.evaluations_per_second
    data |= {"peer_per_second": peer.evaluations_per_second, "ratio": ratio}
    detail = (
        f"{ratio:.2f}× json-rules-engine {peer.version} "
        f"({peer.evaluations_per_second:,.0f} evals/s, {peer.raw['best'].replace('_', ' ')}; "
        f"a new engine per entity as Tech Insights does: "
        f"{peer.raw['engine_per_entity']['evaluations_per_second']:,.0f} evals/s)"
    )
    return Row("1", what, f"{measured}, {ratio:.2f}×", target, ratio >= 5, detail, data)


def row_2(ctx: Context) -> Row:
    """Evaluate and persist to a fresh SQLite store, entities already parsed."""
    cold = ctx.cold
    what = "evaluate + persist to a fresh SQLite store"
    target = "≤ json-rules-engine's evaluation time"
    stats = cold.stats
    detail = (
        f"evaluate {cold.evaluate_seconds:.2f} s + store "
        f"{cold.seconds - cold.evaluate_seconds:.2f} s; wrote {stats.results_written:,} "
        f"results in {stats.certifications_changed:,} pair rows, {stats.history_rows:,} "
        f"history rows, {stats.entities_written:,} entities"
    )
    data = {"seconds": cold.seconds, "evaluate_seconds": cold.evaluate_seconds, **asdict(stats)}
    peer, reason = ctx.peer()
    if peer is None:
        return Row("2", what, f"{cold.seconds:.2f} s", target, None, f"skipped: {reason}", data)
    data["peer_seconds"] = peer.seconds
    return Row(
        "2",
        what,
        f"{cold.seconds:.2f} s vs {peer.seconds:.2f} s",
        target,
        cold.seconds <= peer.seconds,
        detail,
        data,
    )


def row_13(ctx: Context) -> Row:
    """Row 2's cold run into a fresh PostgreSQL store, beside row 2's SQLite store."""
    what = "evaluate + persist to a fresh PostgreSQL store"
    target = "reported beside row 2"
    server = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server:
        reason = (
            f"skipped: set {POSTGRES_URL_VARIABLE} to a PostgreSQL server "
            "(postgresql://user@host/database); the row works in a schema of its own and "
            "drops it"
        )
        return Row("13", what, "—", target, None, reason)
    with postgres_schema(server) as database:
        store = Store(database)  # creating the schema is not part of a run
        try:
            version = ".".join(map(str, store.engine.dialect.server_version_info or ()))
            _, seconds, evaluate_seconds, stats = ctx.cold_run(store, "PostgreSQL")
        finally:
            store.close()
    sqlite = ctx.cold  # row 2's run, in the same invocation
    data: dict[str, Any] = {
        "seconds": seconds,
        "evaluate_seconds": evaluate_seconds,
        "sqlite_seconds": sqlite.seconds,
        "sqlite_ratio": seconds / sqlite.seconds,
        "postgresql": version,
        **asdict(stats),
    }
    detail = (
        f"PostgreSQL {version}: evaluate {evaluate_seconds:.2f} s + store "
        f"{seconds - evaluate_seconds:.2f} s; {seconds / sqlite.seconds:.2f}× row 2's "
        f"SQLite run ({sqlite.seconds:.2f} s); wrote {stats.results_written:,} results, "
        f"{stats.history_rows:,} history rows, {stats.entities_written:,} entities"
    )
    peer, reason = ctx.peer()
    if peer is None:
        return Row("13", what, f"{seconds:.2f} s", target, None, f"{detail}; peer {reason}", data)
    data |= {"peer_seconds": peer.seconds, "peer_ratio": seconds / peer.seconds}
    measured = f"{seconds:.2f} s vs {peer.seconds:.2f} s, {seconds / peer.seconds:.2f}×"
    return Row("13", what, measured, target, None, detail, data)


def row_3(ctx: Context) -> Row:
    """The same run again, nothing changed: time and history rows."""
    cold = ctx.cold
    entities = ctx.fresh_entities()
    ctx.log("warm run: the same catalog again")
    gc.collect()
    start = time.perf_counter()
    stored = run_and_store(cold.store, entities, ctx.tracks, trigger="bench")
    seconds = time.perf_counter() - start
    stats = stored.stats
    share = seconds / cold.seconds
    written = stats.results_written + stats.entities_written + stats.certifications_changed
    passed = share <= 0.25 and stats.history_rows == 0 and written == 0
    return Row(
        "3",
        "the same run again, nothing changed",
        f"{seconds:.2f} s = {share:.0%} of cold, {stats.history_rows} history rows",
        "≤ 25% of cold, 0 history rows",
        passed,
        f"wrote {stats.results_written} results, {stats.entities_written} entities, "
        f"{stats.certifications_changed} certifications",
        {"seconds": seconds, "share_of_cold": share, **asdict(stats)},
    )


def _changed_refs(path: str, run_id: int) -> set[str]:
    """Entity refs that run `run_id` wrote anything for, read straight from the file."""
    with sqlite3.connect(path) as connection:
        return {
            ref
            for (ref,) in connection.execute(
                "SELECT entity_ref FROM result_change WHERE run_id = ?1"
                " UNION SELECT entity_ref FROM certification_change WHERE run_id = ?1"
                " UNION SELECT entity_ref FROM result WHERE run_id = ?1"
                " UNION SELECT entity_ref FROM certification WHERE run_id = ?1"
                " UNION SELECT ref FROM entity WHERE updated_run = ?1",
                (run_id,),
            )
        }


def _seen(outcome: str, message: str, evidence: dict[str, Any]) -> tuple[str, str, Any]:
    """A result as the store sees it: evidence as it comes back from JSON."""
    return str(outcome), message, json.loads(json.dumps(evidence, default=str))


def row_4(ctx: Context) -> Row:
    """One entity changed, run again: only its changes are written."""
    cold = ctx.cold
    store, track_id = cold.store, ctx.track_id
    # The first entity whose description passes loses it.
    entities = ctx.fresh_entities()
    index = next(i for i, e in enumerate(entities) if e.description is not None)
    old = entities[index]
    document = copy.deepcopy(old.raw)
    del document["metadata"]["description"]
    entities[index] = Entity(document, source=old.source)
    before = {
        r.check_id: _seen(r.outcome, r.message, r.evidence)
        for r in store.results(entity_ref=old.ref)
    }
    level_before = store.certification(old.ref, track_id)
    # A result's or level's first change also writes the first observation it ends,
    # which a first run stores no history row for.
    per_change = 2 if store.count_history_rows() == 0 else None
    ctx.log(f"one entity changed: {old.ref} loses its description")
    gc.collect()
    start = time.perf_counter()
    stored = run_and_store(store, entities, ctx.tracks, trigger="bench")
    seconds = time.perf_counter() - start
    stats = stored.stats
    after = [r for p in stored.report.pairs if p.entity_ref == old.ref for r in p.results()]
    expected_results = sum(
        1
        for r in after
        if before.get(r.check_id) != _seen(r.outcome, r.result.message, r.result.evidence)
    )
    level_after = store.certification(old.ref, track_id)
    expected_levels = int(
        (level_before.level if level_before else None)
        != (level_after.level if level_after else None)
    )
    touched = _changed_refs(str(cold.path), stored.run_id)
    history = store.result_history(old.ref, track_id, newest_first=True, limit=1)
    last_change = history[0].check_id if history and history[0].run_id == stored.run_id else None
    passed = (
        touched == {old.ref}
        and stats.entities_written == 1
        and stats.results_written == expected_results
        and per_change is not None
        and stats.history_rows == per_change * (expected_results + expected_levels)
        and last_change == "has_description"
    )
    return Row(
        "4",
        "one entity changed, run again",
        f"{stats.results_written} result, {stats.history_rows} history rows, "
        f"{stats.entities_written} entity ({seconds:.2f} s)",
        "writes only that entity's changes",
        passed,
        f"{old.ref} lost its description; rows written for {sorted(touched)}; "
        f"expected {expected_results} result + {expected_levels} level change, each with "
        "the first observation it ends",
        {
            "seconds": seconds,
            "entity": old.ref,
            "refs_written": sorted(touched),
            **asdict(stats),
        },
    )


def row_5(ctx: Context) -> Row:
    """Peak memory (RSS) of a cold run, in a process of its own."""
    folder = ctx.yaml_folder
    path = fresh(ctx.workdir / "coldrun.db")
    ctx.log("cold run in a child process, for its peak memory")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.coldrun",
            "--catalog",
            str(folder),
            "--track",
            str(TRACK_FILE),
            "--db",
            f"sqlite:///{path}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the cold run failed: {done.stderr.strip()[-2000:]}")
    out = json.loads(done.stdout)
    # The run's own peak, or that of the run with the children it forked, whichever is
    # higher: a page a child only reads from its parent counts once (PSS).
    peak = max(out["peak_rss_mb"], out["peak_tree_pss_mb"])
    loaded = out["rss_after_load_mb"]
    return Row(
        "5",
        "peak memory of the cold run",
        f"{peak:,.0f} MB",
        f"≤ {MEMORY_LIMIT_MB:,} MB",
        peak <= MEMORY_LIMIT_MB and out["entities"] == ctx.size,
        f"a `scorecard run` from YAML files into a fresh store in {out['seconds']:.1f} s; "
        f"the process's peak RSS {out['peak_rss_mb']:,.0f} MB, with its forked children "
        f"{out['peak_tree_pss_mb']:,.0f} MB PSS (sampled every 50 ms)"
        + (f"; {loaded:,.0f} MB once the catalog was read" if loaded else ""),
        out,
    )


def _raw_load(files: list[Any]) -> int:
    documents = []
    for file in files:
        with open(file, "rb") as stream:
            documents.extend(yaml.load_all(stream, Loader=_RawLoader))
    return len(documents)


def _engine_load(folder: Any) -> int:
    listing = read_catalog([folder])
    if listing.problems:
        raise RuntimeError(f"the catalog has problems: {listing.problems[:3]}")
    return len(listing.entities)


def row_6(ctx: Context) -> Row:
    """Loading entities from catalog YAML files, against the raw libyaml loader."""
    files, folder = ctx.yaml_files, ctx.yaml_folder
    ctx.log(f"loading {ctx.size:,} entities from {len(files)} YAML files")
    raw_times, engine_times = [], []
    # Alternated, best of a few: both read the same files from the page cache.
    for _ in range(2 if ctx.size >= 50_000 else 3):
        for times, load_ in (
            (raw_times, lambda: _raw_load(files)),
            (engine_times, lambda: _engine_load(folder)),
        ):
            gc.collect()
            start = time.perf_counter()
            count = load_()
            times.append(time.perf_counter() - start)
            if count != ctx.size:
                raise RuntimeError(f"loaded {count} documents, expected {ctx.size}")
    raw, engine = min(raw_times), min(engine_times)
    ratio = raw / engine
    loader = "libyaml (CSafeLoader)" if LIBYAML else "pure Python (SafeLoader): libyaml is absent"
    return Row(
        "6",
        "loading entities from catalog YAML files",
        f"{_rate(ctx.size, engine):,.0f} entities/s = {ratio:.0%} of raw",
        "≥ 80% of the raw loader",
        ratio >= 0.8,
        f"raw: yaml.load_all with {loader} over {len(files)} file(s), documents kept in a list "
        f"({_rate(ctx.size, raw):,.0f}/s); engine: read_catalog([folder])",
        {"engine_seconds": engine, "raw_seconds": raw, "ratio": ratio, "libyaml": LIBYAML},
    )


def row_7(ctx: Context) -> Row:
    """GET a badge under load, against a fixed-bytes ASGI app on the same stack."""
    what = f"GET a badge, {ctx.size:,} entities stored, 64 connections"
    target = "≥ 50% of a fixed-bytes ASGI app, p99 ≤ 50 ms"
    try:
        load.require_wrk()
    except Unavailable as error:
        if ctx.require_tools:
            raise
        return Row("7", what, "—", target, None, f"skipped: {error}")
    cold = ctx.cold
    step = max(1, ctx.size // BADGE_PATHS)
    paths = [
        f"/badges/{e.kind.lower()}/{e.namespace}/{e.name}/{ctx.track_id}.svg"
        for e in ctx.entities[::step][:BADGE_PATHS]
    ]
    script = load.rotate_script(paths, ctx.workdir / "badges.lua")
    warmup = min(2.0, ctx.wrk_seconds / 2)
    runs = {}
    badge_args = ["badge", "--db", cold.database, "--tracks", str(TRACK_FILE)]
    with load.server(badge_args) as url:
        status, body = load.get(url + paths[0])
        if status != 200:
            raise RuntimeError(f"GET {paths[0]} answered {status}: {body[:200]!r}")
        (ctx.workdir / "badge.svg").write_bytes(body)
        ctx.log(f"wrk on the badge route for {ctx.wrk_seconds:g} s")
        load.wrk(url + paths[0], warmup, script=script)
        runs["badge"] = load.wrk(url + paths[0], ctx.wrk_seconds, script=script)
    with load.server(["fixed", "--body", str(ctx.workdir / "badge.svg")]) as url:
        ctx.log(f"wrk on a fixed-bytes ASGI app for {ctx.wrk_seconds:g} s")
        load.wrk(url + paths[0], warmup, script=script)
        runs["fixed"] = load.wrk(url + paths[0], ctx.wrk_seconds, script=script)
    badge, fixed = runs["badge"], runs["fixed"]
    ratio = badge.requests_per_second / fixed.requests_per_second
    passed = ratio >= 0.5 and badge.p99_ms <= 50 and badge.bad_responses == 0
    detail = (
        f"fixed-bytes app: {fixed.requests_per_second:,.0f} req/s, p99 {fixed.p99_ms:.1f} ms; "
        f"uvicorn, wrk -t2 -c64 -d{ctx.wrk_seconds:g}s over {len(paths)} entities' badges"
    )
    if badge.bad_responses:
        detail += f"; {badge.bad_responses} failed requests"
    return Row(
        "7",
        what,
        f"{badge.requests_per_second:,.0f} req/s = {ratio:.0%}, p99 {badge.p99_ms:.1f} ms",
        target,
        passed,
        detail,
        {
            "badge_rps": badge.requests_per_second,
            "badge_p99_ms": badge.p99_ms,
            "fixed_rps": fixed.requests_per_second,
            "fixed_p99_ms": fixed.p99_ms,
            "ratio": ratio,
            "failed_requests": badge.bad_responses,
        },
    )


def row_8(ctx: Context) -> Row:
    """Scaling: evaluation time at N/100, N/10 and N entities."""
    sizes = [max(1, ctx.size // 100), max(1, ctx.size // 10), ctx.size]
    seconds = {size: ctx.evaluate_seconds(size) for size in sizes}
    per_entity = {size: seconds[size] / size for size in sizes}
    growth = per_entity[sizes[2]] / per_entity[sizes[1]]
    points = ", ".join(f"{size:,}: {seconds[size]:.2f} s" for size in sizes)
    return Row(
        "8",
        "scaling of evaluation time",
        points,
        f"linear: per-entity time at {sizes[2]:,} ≤ {LINEAR_SLACK}× that at {sizes[1]:,}",
        growth <= LINEAR_SLACK,
        "per entity: "
        + ", ".join(f"{per_entity[s] * 1e6:.1f} µs" for s in sizes)
        + f"; {growth:.2f}× from {sizes[1]:,} to {sizes[2]:,} (small sizes: median of 3)",
        {"seconds": {str(s): seconds[s] for s in sizes}, "growth": growth},
    )


class _TimedGitCache(GitCache):
    """A GitCache that also times its `fetch_all`: how much of a run went to cloning."""

    def __init__(self, folder: Path, **options: Any) -> None:
        super().__init__(folder, **options)
        self.fetch_seconds = 0.0

    def fetch_all(
        self, specs: Iterable[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], Path | str]:
        start = time.perf_counter()
        try:
            return super().fetch_all(specs)
        finally:
            self.fetch_seconds += time.perf_counter() - start


def _cold_cache(folder: Path, git: str, origins: Path) -> _TimedGitCache:
    """An empty cache configured as a workspace's `repositories: {cache: folder,
    local_roots: [origins]}` would be: every other setting (the number of git processes at
    once among them) at its default."""
    shutil.rmtree(folder, ignore_errors=True)
    settings = RepositoriesConfig(cache=str(folder), local_roots=[str(origins)])
    configured = git_cache_from(settings, environ={})
    if configured is None:
        raise RuntimeError("repositories: settings made no cache")
    return _TimedGitCache(
        configured.folder,
        max_concurrent=configured.max_concurrent,
        timeout=configured.timeout,
        max_bytes=configured.max_bytes,
        local_roots=configured.local_roots,
        git=git,
    )


def _check_repository_run(
    report: RunReport, repositories: int, results: int, expected: dict[str, int]
) -> None:
    """Every check read its repository's clone: the passes are those the repositories'
    layouts call for, none unknown. (How many clones and fetches it took is judged.)"""
    outcomes = Counter(r.outcome for r in report.results)
    if outcomes[Outcome.UNKNOWN] or outcomes[Outcome.ERROR]:
        sample = next(
            r.result.message
            for r in report.results
            if r.outcome in (Outcome.UNKNOWN, Outcome.ERROR)
        )
        raise RuntimeError(
            f"{outcomes[Outcome.UNKNOWN]:,} unknown and {outcomes[Outcome.ERROR]:,} error "
            f"results over {repositories} repositories, such as: {sample}"
        )
    if len(report.results) != results:
        raise RuntimeError(f"expected {results:,} results, got {len(report.results):,}")
    passes = Counter(r.check_id for r in report.results if r.outcome is Outcome.PASS)
    found = {check: passes[check] for check in expected}
    if found != expected:
        raise RuntimeError(f"passes per check {found}, the repositories call for {expected}")


def row_9(ctx: Context) -> Row:
    """Remote repositories: a cold run's clones against plain `git clone --depth 1`."""
    count = SMOKE_REPOSITORIES if ctx.smoke else REPOSITORIES
    size = count * repos.ENTITIES_PER_REPO
    what = f"cold run: {size:,} entities in {count} remote git repositories, six checks each"
    target = f"exactly {count} fetches; ≤ {CLONE_SLACK}× {count} plain `git clone --depth 1`"
    try:
        git = repos.require_git()
    except Unavailable as error:
        if ctx.require_tools:
            raise
        return Row("9", what, "—", target, None, f"skipped: {error}")
    layouts = repos.layouts(count)
    ctx.log(f"creating {count} git repositories")
    origins = ctx.workdir / "origins"
    urls = repos.create_origins(origins, layouts, git)
    tracks = [load_track(repos.TRACK_FILE, build_registry(plugins=False))]
    checks = [c.id for c in tracks[0].checks]
    expected = {
        check: sum(layout.passes[check] for layout in layouts) * repos.ENTITIES_PER_REPO
        for check in checks
    }
    if sorted(checks) != sorted(layouts[0].passes):
        raise RuntimeError(f"{repos.TRACK_FILE.name} must hold the six repository checks")

    # Every run clones into a folder of its own, and none is deleted before the last run:
    # deleting thousands of just-written files can slow the runs after it down several
    # times over (it did so on the machine of the README's figures), whichever side they are.
    work = ctx.workdir / "row-9-runs"
    shutil.rmtree(work, ignore_errors=True)
    # The baseline runs as many clones at once as the cache runs git processes.
    concurrency = _cold_cache(work / "probe", git, origins).max_concurrent
    plain_times: list[float] = []
    runs: list[tuple[float, float]] = []  # (run seconds, of which fetch_all)
    operations: set[tuple[int, int]] = set()  # each run's (clones, re-fetches)
    ctx.log(f"cold runs over {count} repositories against plain clones, {CLONE_ROUNDS} rounds")
    try:
        for round_ in range(CLONE_ROUNDS):
            # Alternated, so that neither side always runs first; best of the rounds, as
            # the machine may be shared.
            for side in ("plain", "scorecard") if round_ % 2 == 0 else ("scorecard", "plain"):
                folder = work / f"{side}-{round_}"
                if side == "plain":
                    plain_times.append(repos.plain_clones(urls, folder, concurrency, git))
                    continue
                cache = _cold_cache(folder, git, origins)
                entities = repos.entities(urls)
                gc.collect()
                start = time.perf_counter()
                report = evaluate(entities, tracks, git_cache=cache)
                runs.append((time.perf_counter() - start, cache.fetch_seconds))
                _check_repository_run(report, count, size * len(checks), expected)
                operations.add((cache.clones, cache.fetches))
                del report, entities
    finally:
        shutil.rmtree(work, ignore_errors=True)

    seconds, fetching = min(runs)
    plain = min(plain_times)
    ratio = seconds / plain
    # A cold cache clones each repository once and fetches nothing, in every run; a run
    # that did otherwise is the one shown.
    exact = operations == {(count, 0)}
    clones, fetches = next((o for o in sorted(operations) if o != (count, 0)), (count, 0))
    detail = (
        f"GitCache: {clones} clones, {fetches} re-fetches, {size * len(checks):,} results; "
        f"{concurrency} git processes at once on both sides (the `repositories:` default); "
        f"of the run, fetching {fetching:.2f} s ({fetching / plain:.2f}× the plain clones), "
        f"checks {seconds - fetching:.2f} s; best of {CLONE_ROUNDS}, alternated "
        f"(all: {', '.join(f'{s:.2f}' for s, _ in runs)} s vs "
        f"{', '.join(f'{p:.2f}' for p in plain_times)} s)"
    )
    return Row(
        "9",
        what,
        f"{seconds:.2f} s vs {plain:.2f} s = {ratio:.2f}×, {clones + fetches} fetches",
        target,
        exact and ratio <= CLONE_SLACK,
        detail,
        {
            "repositories": count,
            "entities": size,
            "clones": clones,
            "fetches": fetches,
            "exactly_one_clone_each": exact,
            "concurrency": concurrency,
            "seconds": seconds,
            "fetch_seconds": fetching,
            "plain_seconds": plain,
            "ratio": ratio,
            "fetch_ratio": fetching / plain,
            "runs": [s for s, _ in runs],
            "fetch_runs": [f for _, f in runs],
            "plain_runs": plain_times,
            "passes": expected,
        },
    )


def _median_get(url: str, times: int) -> tuple[float, int]:
    """The median seconds of `times` GETs of `url`, and the size of its answer."""
    seconds, size = [], 0
    for _ in range(times):
        start = time.perf_counter()
        status, body = load.get(url)
        seconds.append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"GET {url} answered {status}: {body[:200]!r}")
        size = len(body)
    return statistics.median(seconds), size


def row_10(ctx: Context) -> Row:
    """Web pages over the stored catalog, against the JSON API's reads of the same data."""
    cold, track = ctx.cold, ctx.track_id
    what = f"web pages, {ctx.size:,} entities stored"
    target = (
        f"every page ≤ {PAGE_SLACK}× the JSON API's page of 50 entities, ≤ {MAX_PAGE_KB} kB; "
        f"the CSV of every entity streamed with ≤ {EXPORT_SLACK}× the memory of a tenth"
    )
    sample = ctx.entities[len(ctx.entities) // 2]
    owner = next(e.owner for e in ctx.entities if e.owner)
    middle = max(1, ctx.size // PAGE_ROWS // 2)
    pages = {
        "track page 1": f"/tracks/{track}",
        f"track page {middle:,}": f"/tracks/{track}?page={middle}",
        "track, level filter, by level": f"/tracks/{track}?level=none&sort=level&desc=true",
        "owner": f"/owners/{owner}",
        "entity": f"/catalog/{sample.kind.lower()}/{sample.namespace}/{sample.name}",
        "runs": "/runs",
        "search, a word of every name": f"/search?q={sample.kind.lower()}",
        "search, one name": f"/search?q={sample.name}",
        "search, an owner": f"/search?q={owner.rpartition('/')[2].rpartition(':')[2]}",
        "catalog page 1": "/catalog",
        f"catalog page {middle:,}": f"/catalog?page={middle}",
        "catalog, kind filter": f"/catalog?kind={sample.kind.lower()}",
        "owners": "/owners",
        "tracks": "/tracks",
    }
    json_page = (
        f"/api/v1/entities?track={track}&limit={PAGE_ROWS}&offset={(middle - 1) * PAGE_ROWS}"
    )
    times = 3 if ctx.smoke else 7
    args = ["badge", "--db", cold.database, "--tracks", str(TRACK_FILE)]
    with load.server(args) as url:
        ctx.log("pages: the overview's first view, then every page warm")
        # The first view of the overview counts the levels and pass rates; later views
        # reuse them until a run finishes. The JSON roll-up counts every time.
        start = time.perf_counter()
        status, body = load.get(f"{url}/")
        first_view = time.perf_counter() - start
        if status != 200:
            raise RuntimeError(f"GET / answered {status}: {body[:200]!r}")
        rollup, _ = _median_get(f"{url}/api/v1/tracks/{track}/rollup", times)
        api_page, _ = _median_get(url + json_page, times)
        measured = {"overview": _median_get(f"{url}/", times)}
        # The page of the run that stored the whole catalog: its changes are every pair.
        total = json.loads(load.get(f"{url}/api/v1/runs?limit=1")[1])["total"]
        first = json.loads(load.get(f"{url}/api/v1/runs?limit=1&offset={total - 1}")[1])
        pages["run page"] = f"/runs/{first['items'][0]['id']}"
        for name, path in pages.items():
            measured[name] = _median_get(url + path, times)
    slowest = max(measured, key=lambda name: measured[name][0])
    largest = max(size for _, size in measured.values())
    page_ratio = measured[slowest][0] / api_page
    first_ratio = first_view / rollup
    # The server's memory while it streams the catalog as CSV: it must not grow with
    # the rows (a tenth of the catalog against all of it).
    small, large = export_memory.export_memory(ctx)
    growth_ratio = export_memory.growth_ratio(small, large)
    passed = (
        page_ratio <= PAGE_SLACK and largest <= MAX_PAGE_KB * 1000 and growth_ratio <= EXPORT_SLACK
    )
    detail = (
        ", ".join(f"{name} {sec * 1000:.1f} ms" for name, (sec, _) in measured.items())
        + f"; JSON page of 50 {api_page * 1000:.1f} ms, JSON roll-up {rollup * 1000:.1f} ms, "
        f"the overview's first view (reading the kept counts) {first_view * 1000:.1f} ms "
        f"= {first_ratio:.2f}× the roll-up; medians of {times} over loopback. "
        f"The catalog as CSV, streamed: the server's peak RSS grew {small.growth_mb:.1f} MB "
        f"for {small.rows:,} rows and {large.growth_mb:.1f} MB for {large.rows:,} "
        f"({growth_ratio:.2f}×, growths under {export_memory.FLOOR_MB:g} MB counted as "
        f"{export_memory.FLOOR_MB:g}; {large.how}); {large.megabytes:.1f} MB in "
        f"{large.seconds:.2f} s"
    )
    return Row(
        "10",
        what,
        f"slowest ({slowest}) {measured[slowest][0] * 1000:.1f} ms = {page_ratio:.2f}× the "
        f"JSON page, {largest / 1000:.0f} kB; CSV memory {growth_ratio:.2f}× a tenth's",
        target,
        passed,
        detail,
        {
            "pages_ms": {name: sec * 1000 for name, (sec, _) in measured.items()},
            "page_bytes": {name: size for name, (_, size) in measured.items()},
            "json_page_ms": api_page * 1000,
            "json_rollup_ms": rollup * 1000,
            "first_view_ms": first_view * 1000,
            "page_ratio": page_ratio,
            "first_view_ratio": first_ratio,
            "export_csv": {
                "tenth": small.as_dict(),
                "full": large.as_dict(),
                "growth_ratio": growth_ratio,
            },
        },
    )


def row_11(ctx: Context) -> Row:
    """The overview under load from a fresh start: no request waits over 2 s."""
    seconds = ctx.wrk_seconds if ctx.smoke else OVERVIEW_SECONDS
    what = f"GET the overview from a fresh start, {ctx.size:,} entities stored, 64 connections"
    target = f"0 requests over {SLOW_SECONDS:g} s"
    try:
        load.require_wrk()
    except Unavailable as error:
        if ctx.require_tools:
            raise
        return Row("11", what, "—", target, None, f"skipped: {error}")
    cold = ctx.cold
    script = load.slow_script(SLOW_SECONDS, ctx.workdir / "slow.lua")
    args = ["badge", "--db", cold.database, "--tracks", str(TRACK_FILE)]
    with load.server(args) as url:
        # No warm-up: the server has just started, so the first requests all find the
        # counts missing. wrk waits up to 60 s for an answer, so that a slow one is
        # measured rather than dropped as a timeout.
        ctx.log(f"wrk on the overview of a server just started, for {seconds:g} s")
        run = load.wrk(url + "/", seconds, script=script, timeout=60)
    assert run.slow is not None, f"the script did not count slow requests:\n{run.output}"
    over = run.slow + run.timeouts
    passed = over == 0 and run.bad_responses == 0
    spread = ", ".join(
        f"p{share.rstrip('%')} {ms:,.1f} ms" for share, ms in run.percentiles_ms.items()
    )
    detail = (
        f"{run.requests:,} requests, {spread}, max {run.max_ms:,.1f} ms; "
        f"uvicorn, wrk -t2 -c64 -d{seconds:g}s on / from the moment the server listens"
    )
    if run.bad_responses:
        detail += f"; {run.bad_responses} failed requests"
    return Row(
        "11",
        what,
        f"{over:,} over {SLOW_SECONDS:g} s, {run.requests_per_second:,.0f} req/s, "
        f"p99 {run.p99_ms:,.1f} ms, max {run.max_ms:,.1f} ms",
        target,
        passed,
        detail,
        {
            "requests_over_2s": over,
            "rps": run.requests_per_second,
            "requests": run.requests,
            "latency_ms": run.percentiles_ms,
            "max_ms": run.max_ms,
            "failed_requests": run.bad_responses,
            "seconds": seconds,
        },
    )


def _alternated_medians(commands: list[list[str]], runs: int) -> list[float]:
    """The median wall time of each command, the commands run in turn `runs` times so that
    a busy moment of the machine slows each of them alike."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for command, seconds in zip(commands, times, strict=True):
            started = time.perf_counter()
            subprocess.run(command, cwd=REPO, check=True, capture_output=True)
            seconds.append(time.perf_counter() - started)
    return [statistics.median(seconds) for seconds in times]


def row_12(ctx: Context) -> Row:
    """`python -m scorecard --help` against `python -c pass`: start-up, medians of ten."""
    help_command = [sys.executable, "-m", "scorecard", "--help"]
    bare_command = [sys.executable, "-c", "pass"]
    scorecard, bare = _alternated_medians([help_command, bare_command], HELP_RUNS)
    data = {"seconds": scorecard, "python_seconds": bare, "difference": scorecard - bare}
    measured = f"{scorecard:.3f} s vs {bare:.3f} s, +{scorecard - bare:.3f} s"
    detail = (
        f"against `python -c pass` ({bare:.3f} s): scorecard's own start-up is "
        f"{scorecard - bare:.3f} s; medians of {HELP_RUNS} runs each, alternated"
    )
    what = "`python -m scorecard --help`"
    return Row("12", what, measured, f"≤ {HELP_SECONDS} s", scorecard <= HELP_SECONDS, detail, data)


def row_14(ctx: Context) -> Row:
    """Roll-ups read from the kept counts: the JSON roll-up, and the overview's first view
    after a run, at any catalog size."""
    cold, track = ctx.cold, ctx.track_id
    what = f"roll-ups, {ctx.size:,} entities stored"
    target = f"JSON roll-up and the overview's first view after a run each ≤ {ROLLUP_MS} ms"
    times = 3 if ctx.smoke else 7
    views = 3 if ctx.smoke else 5
    args = ["badge", "--db", cold.database, "--tracks", str(TRACK_FILE)]
    with load.server(args) as url:
        ctx.log("roll-ups: the JSON roll-up, warm")
        rollup, _ = _median_get(f"{url}/api/v1/tracks/{track}/rollup", times)
    # A changed entity is run and then run back as it was (so later rows find the store
    # as row 2 left it): both runs change the track, so its kept counts are recounted.
    # A server started after them remembers no roll-up, as a server whose run has just
    # finished; another page is viewed first so that the time is not the app's start.
    old = next(e for e in ctx.entities if e.description is not None)
    document = copy.deepcopy(old.raw)
    del document["metadata"]["description"]
    changed = Entity(document, source=old.source)
    runs, first_views = [], []
    for _ in range(views):
        for entity in (changed, old):
            start = time.perf_counter()
            run_and_store(cold.store, [entity], ctx.tracks, trigger="bench")
            runs.append(time.perf_counter() - start)
        with load.server(args) as url:
            _median_get(f"{url}/runs", 1)
            first_views.append(_median_get(f"{url}/", 1)[0])
    first_view = statistics.median(first_views)
    run_seconds = statistics.median(runs)
    passed = rollup * 1000 <= ROLLUP_MS and first_view * 1000 <= ROLLUP_MS
    return Row(
        "14",
        what,
        f"JSON roll-up {rollup * 1000:.1f} ms, the overview's first view after a run "
        f"{first_view * 1000:.1f} ms",
        target,
        passed,
        f"medians: the roll-up of {times} GETs, the first view of {views} servers each "
        f"started after a run (a server compiles the templates and counts the overview as it "
        f"starts, before it listens); a run of one changed entity, its track recounted, "
        f"{run_seconds:.2f} s",
        {
            "json_rollup_ms": rollup * 1000,
            "first_view_ms": first_view * 1000,
            "first_views_ms": [sec * 1000 for sec in first_views],
            "one_entity_run_s": run_seconds,
        },
    )


def row_d1(ctx: Context) -> Row:
    """The same cold run on the local executor, then on 1 and 2 celery workers."""
    from bench import sharded  # it builds on Row; imported when the row runs

    return sharded.row_d1(ctx)


def row_d2(ctx: Context) -> Row:
    """I/O-bound checks (a GET of 50 ms each) on 1 to 8 celery workers."""
    from bench import sharded

    return sharded.row_d2(ctx)


def row_floor_loop(ctx: Context) -> Row:
    """Floor: the ten predicates as a plain Python loop."""
    documents = ctx.documents
    gc.collect()
    passes, seconds = floor.count_passes(documents)
    ctx.passes["plain Python loop"] = passes
    evaluations = len(documents) * len(floor.CHECK_IDS)
    return Row(
        "F1",
        "floor: the ten predicates as a plain Python loop",
        f"{_rate(evaluations, seconds):,.0f} evals/s ({seconds:.2f} s)",
        "reference",
        None,
        "no results built, nothing but the predicates",
        {"evaluations": evaluations, "seconds": seconds},
    )


def row_floor_sqlite(ctx: Context) -> Row:
    """Floor: a raw sqlite3.executemany of as many result rows."""
    refs = [e.ref for e in ctx.entities]
    rows, seconds = floor.sqlite_executemany(fresh(ctx.workdir / "floor.db"), refs, ctx.track_id)
    rate = _rate(rows, seconds)
    detail = f"{rows:,} rows of 5 columns with a primary key, one transaction, WAL"
    if "cold" in ctx.__dict__:  # row 2 ran: its store part against this floor
        cold = ctx.cold
        stats = cold.stats
        stored = cold.seconds - cold.evaluate_seconds
        detail += (
            f"; the cold run (row 2) kept the same {stats.results_written:,} results, with "
            f"their messages and evidence, in {stats.certifications_changed:,} pair rows "
            f"beside {stats.entities_written:,} entity rows and {stats.history_rows:,} "
            f"history rows: its store part took {stored:.2f} s = {stored / seconds:.2f}× "
            "this floor"
        )
    return Row(
        "F2",
        "floor: raw sqlite3.executemany of the result rows",
        f"{rate:,.0f} rows/s ({seconds:.2f} s)",
        "reference",
        None,
        detail,
        {"rows": rows, "seconds": seconds},
    )


ROWS: dict[str, Callable[[Context], Row]] = {
    "1": row_1,
    "2": row_2,
    "13": row_13,  # beside row 2: the same cold run on PostgreSQL
    "3": row_3,
    "4": row_4,
    "5": row_5,
    "6": row_6,
    "7": row_7,
    "8": row_8,
    "9": row_9,
    "10": row_10,
    "11": row_11,
    "12": row_12,
    "14": row_14,
    "D1": row_d1,  # the celery executor: needs RabbitMQ and PostgreSQL
    "D2": row_d2,
    "F1": row_floor_loop,
    "F2": row_floor_sqlite,
}
