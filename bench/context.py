"""What the rows share, each piece built once, when a row first needs it.

Rows can be run alone (`--rows 7`): a row that needs the filled store, the peer's figures
or the YAML files gets them from here, built on first use, whichever row asks first.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import catalog
from bench.peer import PeerRun, Unavailable, run_peer
from scorecard.entity import Entity
from scorecard.registry import build_registry
from scorecard.report import RunReport
from scorecard.results import Outcome
from scorecard.runner import evaluate, run_and_store
from scorecard.store import Store, WriteStats
from scorecard.tracks import Track, load_track

TRACK_FILE = Path(__file__).resolve().parent / "track.yaml"


# The PostgreSQL server of row 13, as postgresql://user@host/database; unset, it is skipped.
POSTGRES_URL_VARIABLE = "SCORECARD_BENCH_POSTGRES_URL"


@contextmanager
def postgres_schema(server: str) -> Iterator[str]:
    """The URL of a new, empty schema on `server` that every connection works in; the
    schema and everything in it are dropped afterwards."""
    import psycopg  # the `postgres` extra: needed only when the row runs
    from psycopg import sql

    plain = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = sql.Identifier(f"bench_{uuid.uuid4().hex[:16]}")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    try:
        # psycopg passes `options` to the server: each connection's search path.
        yield (
            make_url(server)
            .update_query_dict({"options": f"-csearch_path={schema.as_string()}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


def fresh(path: Path) -> Path:
    """`path` with no database left there by an earlier `--workdir` run."""
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    return path


@dataclass
class ColdRun:
    """Row 2's store: a fresh SQLite file after one full run, reused by rows 3, 4 and 7."""

    store: Store
    database: str
    path: Path
    run_id: int
    seconds: float
    evaluate_seconds: float
    stats: WriteStats


@dataclass
class Context:
    size: int
    smoke: bool
    workdir: Path
    wrk_seconds: float
    require_tools: bool = False
    # Passes per check id, from each side that has counted them.
    passes: dict[str, dict[str, int]] = field(default_factory=dict)
    _evaluations: dict[int, float] = field(default_factory=dict)
    _peer_error: str | None = None

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    @cached_property
    def documents(self) -> list[dict[str, Any]]:
        self.log(f"generating a catalog of {self.size:,} entities")
        return list(catalog.generate(self.size))

    @cached_property
    def entities(self) -> list[Entity]:
        """For reading refs and names only: timed runs get `fresh_entities`."""
        return [Entity(document, source="bench") for document in self.documents]

    def fresh_entities(self, size: int | None = None) -> list[Entity]:
        """The catalog (its first `size` entities) as newly parsed entities.

        Every timed run gets its own, as a real run reads the catalog anew: anything the
        engine caches on an entity or its document must not carry over from one row to
        the next. Generating is cheaper than a deep copy and gives the same documents.
        """
        return [Entity(d, source="bench") for d in catalog.generate(size or self.size)]

    @cached_property
    def tracks(self) -> list[Track]:
        return [load_track(TRACK_FILE, build_registry(plugins=False))]

    @cached_property
    def track_id(self) -> str:
        return self.tracks[0].id

    @cached_property
    def json_lines(self) -> Path:
        return catalog.write_json_lines(self.documents, self.workdir / "catalog.jsonl")

    @cached_property
    def yaml_folder(self) -> Path:
        self.log(f"writing the catalog as YAML files of {catalog.DOCS_PER_FILE:,} documents")
        folder = self.workdir / "catalog"
        catalog.write_yaml(self.documents, folder)
        return folder

    @property
    def yaml_files(self) -> list[Path]:
        return sorted(self.yaml_folder.glob("*.yaml"))

    # The peer

    @cached_property
    def _peer(self) -> PeerRun | None:
        self.log("running json-rules-engine over the same catalog")
        try:
            run = run_peer(self.json_lines)
        except Unavailable as error:
            if self.require_tools:
                raise
            self._peer_error = str(error)
            return None
        self.passes["json-rules-engine"] = run.passes
        return run

    def peer(self) -> tuple[PeerRun | None, str]:
        """The peer's run, or None and why it was skipped."""
        run = self._peer
        return run, self._peer_error or ""

    # The engine

    def record_passes(self, report: RunReport) -> None:
        # Counted from the packed pairs' outcomes, as the store's roll-ups count them.
        passed = Outcome.PASS.value
        counts = Counter(
            check
            for pair in report.pairs
            for (check, *_), outcome in zip(pair.layout, pair.outcomes, strict=True)
            if outcome == passed
        )
        found = {c.id: counts[c.id] for c in self.tracks[0].checks}
        first = self.passes.setdefault("scorecard", found)
        if found != first:  # a stored run must count what an evaluation counts
            self.passes["scorecard (stored run)"] = found

    def check_complete(self, report: RunReport, size: int) -> None:
        """Every entity got every check, and none of them crashed."""
        expected = size * len(self.tracks[0].checks)
        errors = report.outcome_count(Outcome.ERROR)
        if report.result_count != expected or errors:
            raise RuntimeError(
                f"expected {expected:,} results without errors, got {report.result_count:,} "
                f"with {errors:,} errors"
            )

    def evaluate_seconds(self, size: int) -> float:
        """Seconds `evaluate` takes over the first `size` entities (the median of three runs
        below the full size, where a run is short enough to be noisy)."""
        if size not in self._evaluations:
            self.log(f"evaluating {size:,} entities")
            times = []
            for _ in range(1 if size == self.size else 3):
                entities = self.fresh_entities(size)
                gc.collect()
                start = time.perf_counter()
                report = evaluate(entities, self.tracks)
                times.append(time.perf_counter() - start)
                self.check_complete(report, size)
                if size == self.size:
                    self.record_passes(report)
                del report, entities
            self._evaluations[size] = statistics.median(times)
        return self._evaluations[size]

    @cached_property
    def cold(self) -> ColdRun:
        """Evaluate and store into a fresh SQLite file; the entities are already parsed."""
        path = fresh(self.workdir / "store.db")
        database = f"sqlite:///{path}"
        store = Store(database)  # creating the schema is not part of a run
        run_id, seconds, evaluate_seconds, stats = self.cold_run(store, "SQLite")
        return ColdRun(store, database, path, run_id, seconds, evaluate_seconds, stats)

    def cold_run(self, store: Store, backend: str) -> tuple[int, float, float, WriteStats]:
        """Evaluate the whole catalog and store it into `store`, which holds no run yet:
        (the run's id, seconds in all, seconds evaluating, what it wrote)."""
        entities, tracks = self.fresh_entities(), self.tracks
        self.log(f"cold run: evaluating and storing {self.size:,} entities ({backend})")
        gc.collect()
        start = time.perf_counter()
        stored = run_and_store(store, entities, tracks, trigger="bench")
        seconds = time.perf_counter() - start
        report = stored.report
        self.check_complete(report, self.size)
        evaluating = (report.finished_at or report.started_at) - report.started_at
        self.record_passes(report)
        return stored.run_id, seconds, evaluating.total_seconds(), stored.stats

    def close(self) -> None:
        if "cold" in self.__dict__:
            self.cold.store.close()
