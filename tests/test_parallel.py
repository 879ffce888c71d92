"""A large run of checks on held inputs is evaluated in forked processes, with exactly the
results one process makes; anything else stays in one process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from scorecard import parallel
from scorecard.entity import Entity
from scorecard.executor import Executor
from scorecard.inputs import CatalogView
from scorecard.planner import plan
from scorecard.registry import CheckRegistry, build_registry
from scorecard.results import Outcome
from scorecard.runner import _certified, evaluate, run_and_store
from scorecard.store import Store
from scorecard.store.writes import RunWriter
from scorecard.tracks import Track, load_track
from tests.databases import BACKENDS, database

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="runs are forked on Linux only"
)

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: held
title: Checks of held inputs
levels:
  - id: bronze
    checks: [has_owner, owner_exists, has_description]
  - id: silver
    checks: [crashes, has_title, wrong_type]
"""


@pytest.fixture(scope="module")
def registry(data_dir: Path) -> CheckRegistry:
    return build_registry([data_dir / "faulty_checks"])


@pytest.fixture
def track(tmp_path: Path, registry: CheckRegistry) -> Track:
    path = tmp_path / "held.yaml"
    path.write_text(TRACK)
    return load_track(path, registry)


def _catalog(count: int) -> list[Entity]:
    entities = [
        Entity(
            {
                "apiVersion": "backstage.io/v1",
                "kind": "Group",
                "metadata": {"name": "team-a"},
                "spec": {"type": "team"},
            }
        )
    ]
    for i in range(count):
        metadata = {"name": f"svc-{i}"}
        if i % 3:
            metadata["description"] = f"Service number {i}, with a \x00 in it."
        if i % 5:
            metadata["title"] = f"Service {i}"
        spec = {"owner": "team-a" if i % 4 else "team-gone"}
        entities.append(
            Entity(
                {"apiVersion": "backstage.io/v1", "kind": "Component", "metadata": metadata,
                 "spec": spec},
            )
        )  # fmt: skip
    return entities


def test_forked_processes_make_exactly_the_results_of_one(track: Track) -> None:
    entities = _catalog(500)
    plans = plan(entities, [track])
    catalog = CatalogView(entities)
    alone = Executor().run(plans, catalog, None, _certified)
    progress: list[int] = []

    forked = parallel.evaluate_forked(Executor(), plans, catalog, progress.append, _certified, 2)

    assert [[p.packed for p in pairs] for pairs in forked] == [
        [p.packed for p in pairs] for pairs in alone
    ]
    assert [[p.level for p in pairs] for pairs in forked] == [
        [p.level for p in pairs] for pairs in alone
    ]
    assert sum(progress) == len(plans)
    outcomes = {r.check_id: r.outcome for pairs in forked for p in pairs for r in p.results()}
    assert outcomes["crashes"] is Outcome.ERROR  # a crash in a child is a result, as at home


def test_meanwhile_this_process_does_other_work_while_children_evaluate(track: Track) -> None:
    entities = _catalog(200)
    plans = plan(entities, [track])
    catalog = CatalogView(entities)
    alone = Executor().run(plans, catalog, None, _certified)
    calls: list[int] = []

    forked = parallel.evaluate_forked(
        Executor(), plans, catalog, None, _certified, 2, meanwhile=lambda: calls.append(1)
    )

    assert calls == [1]
    assert [[p.packed for p in pairs] for pairs in forked] == [
        [p.packed for p in pairs] for pairs in alone
    ]


def test_a_failing_meanwhile_leaves_no_process_behind(
    track: Track, monkeypatch: pytest.MonkeyPatch
) -> None:
    entities = _catalog(200)
    plans = plan(entities, [track])
    forked: list[tuple[int, str]] = []
    real = parallel._fork

    def recorded(*args):  # type: ignore[no-untyped-def]
        spool = real(*args)
        forked.append((spool.pid, spool.path))
        return spool

    monkeypatch.setattr(parallel, "_fork", recorded)

    def fail() -> None:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        parallel.evaluate_forked(
            Executor(), plans, CatalogView(entities), None, _certified, 2, meanwhile=fail
        )
    assert len(forked) == 2
    for pid, spool in forked:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped
        assert not os.path.exists(spool)


def test_a_large_run_of_held_inputs_is_forked(
    track: Track, monkeypatch: pytest.MonkeyPatch
) -> None:
    entities = _catalog(300)
    monkeypatch.setattr(parallel, "MIN_EVALUATIONS", 100)
    forks: list[int] = []
    real = parallel.evaluate_forked

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        forks.append(args[5])  # processes
        return real(*args, **kwargs)

    monkeypatch.setattr("scorecard.runner.evaluate_forked", counted)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)

    report = evaluate(entities, [track])

    assert forks == [2]
    assert report.result_count == 301 * 6
    assert {p.entity_ref for p in report.pairs} == {e.ref for e in entities}


def test_small_runs_and_checks_of_shared_inputs_stay_in_one_process(
    track: Track, registry: CheckRegistry, tmp_path: Path, data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    entities = _catalog(300)
    assert parallel.processes_for(plan(entities, [track])) == 1  # 1,806 evaluations

    monkeypatch.setattr(parallel, "MIN_EVALUATIONS", 100)
    assert parallel.processes_for(plan(entities, [track])) == 2
    assert parallel.processes_for(plan(entities, [track]), limit=1) == 1
    # Repositories, async and blocking checks share caches and clients: one process.
    faulty = load_track(data_dir / "tracks" / "faulty.yaml", registry)
    assert parallel.processes_for(plan(entities, [track, faulty])) == 1


def test_a_forked_run_stores_what_a_run_in_one_process_stores(
    track: Track, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entities go in while the children evaluate, the results after, in one
    transaction: the store ends up as a run in one process leaves it."""
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    meanwhile: list[object] = []
    real = parallel.evaluate_forked

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        meanwhile.append(args[6])
        return real(*args, **kwargs)

    monkeypatch.setattr("scorecard.runner.evaluate_forked", counted)
    stored = {}
    for name, minimum in (("alone", 10**9), ("forked", 100)):
        monkeypatch.setattr(parallel, "MIN_EVALUATIONS", minimum)
        with Store(f"sqlite:///{tmp_path / name}.db") as store:
            run = run_and_store(store, _catalog(300), [track], trigger="test")
            stored[name] = (
                run.stats,
                [(r.entity_ref, r.check_id, r.outcome, r.message) for r in store.results()],
                [(c.entity_ref, c.level, c.next_level) for c in store.certifications()],
                [(e.ref, e.digest, e.raw) for e in store.entities(limit=1000)],
            )

    assert len(meanwhile) == 1 and meanwhile[0] is not None  # entities written meanwhile
    assert stored["forked"] == stored["alone"]
    assert stored["forked"][0].entities_written == 301


def test_a_child_that_fails_fails_the_run_with_its_reason(
    track: Track, monkeypatch: pytest.MonkeyPatch
) -> None:
    entities = _catalog(200)
    plans = plan(entities, [track])

    class Broken(Executor):
        def run(self, plans, catalog, progress=None, finish=None):  # type: ignore[no-untyped-def, override]
            if os.getpid() != parent:
                raise MemoryError("no room left")
            return super().run(plans, catalog, progress, finish)

    parent = os.getpid()
    with pytest.raises(RuntimeError, match="failed: MemoryError: no room left"):
        parallel.evaluate_forked(Broken(), plans, CatalogView(entities), None, _certified, 2)


def _changed(entities: list[Entity]) -> list[Entity]:
    """The catalog of a second run: some descriptions gone, one entity gone, one new."""
    changed = [entities[0]]
    for entity in entities[1:-1]:
        raw = entity.raw
        if entity.name.endswith("7"):
            raw = {**raw, "metadata": {k: v for k, v in raw["metadata"].items() if k != "title"}}
        changed.append(Entity(raw))
    changed.append(
        Entity(
            {"apiVersion": "backstage.io/v1", "kind": "Component",
             "metadata": {"name": "svc-new", "title": "New"}, "spec": {"owner": "team-a"}}
        )
    )  # fmt: skip
    return changed


def _stored_state(store: Store, track_id: str) -> tuple[object, ...]:
    return (
        sorted((r.entity_ref, r.check_id, r.outcome, r.message, r.run_id) for r in store.results()),
        sorted((c.entity_ref, c.level, c.next_level, c.run_id) for c in store.certifications()),
        [
            (h.check_id, h.outcome, h.previous_outcome, h.run_id)
            for h in store.result_history("component:default/svc-17")
        ],
        store.track_rollup(track_id),
        store.owner_rollup("group:default/team-a", track_id),
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_forked_run_stores_each_slice_as_it_comes_as_one_process_would(
    backend: str, track: Track, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slices of 16 plans: this process stores each as a child writes it, while the
    children evaluate the next. A first run and a second (titles gone, an entity gone, one
    new) leave results, levels, history and kept roll-ups as runs in one process do."""
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    monkeypatch.setattr(parallel, "_SLICE", 16)
    written: list[int] = []
    real = RunWriter.write_pairs

    def counted(self, pairs, at):  # type: ignore[no-untyped-def]
        written.append(len(pairs))
        return real(self, pairs, at)

    monkeypatch.setattr(RunWriter, "write_pairs", counted)
    first = _catalog(300)
    states = {}
    for name, minimum in (("alone", 10**9), ("forked", 100)):
        monkeypatch.setattr(parallel, "MIN_EVALUATIONS", minimum)
        with database(backend, tmp_path / name) as url, Store(url) as store:
            runs = [
                run_and_store(store, first, [track], trigger="test", catalog_complete=True),
                run_and_store(
                    store, _changed(first), [track], trigger="test", catalog_complete=True
                ),
            ]
            states[name] = ([run.stats for run in runs], _stored_state(store, track.id))

    assert len(written) >= 2 * 300 // 16  # every slice of both runs, as it came
    assert sum(written) == 301 + 301
    assert states["forked"] == states["alone"]
    stats, (_, _, history, rollup, _) = states["forked"]
    assert stats[1].history_rows and history  # the second run changed results
    assert sum(rollup.levels.values()) == 301  # the gone entity counts in no level


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_slice_the_store_refuses_fails_the_run_and_keeps_the_stored_results(
    backend: str, track: Track, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new pairs of the slices written before let go of their results, so the run
    cannot be saved again: it fails with the store's error, its transaction rolled back,
    and the results of the run before stand as they were. (A slice of changed pairs
    only keeps them, and the run is saved again whole, as when writing entities fails.)"""
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    monkeypatch.setattr(parallel, "_SLICE", 16)
    monkeypatch.setattr(parallel, "MIN_EVALUATIONS", 100)
    calls: list[int] = []
    real = RunWriter.write_pairs

    def refusing(self, pairs, at):  # type: ignore[no-untyped-def]
        calls.append(len(pairs))
        if len(calls) == 3:
            raise OSError("disk full")
        return real(self, pairs, at)

    with database(backend, tmp_path) as url, Store(url) as store:
        run_and_store(store, _catalog(300), [track], trigger="test")
        before = _stored_state(store, track.id)
        monkeypatch.setattr(RunWriter, "write_pairs", refusing)
        newcomers = [
            Entity({"apiVersion": "backstage.io/v1", "kind": "Component",
                    "metadata": {"name": f"new-{i}"}, "spec": {"owner": "team-a"}})
            for i in range(100)
        ]  # fmt: skip
        with pytest.raises(OSError, match="disk full"):
            run_and_store(store, [*newcomers, *_catalog(300)], [track], trigger="test")
        assert len(calls) == 3  # nothing more once a write failed
        assert _stored_state(store, track.id) == before
        assert [run.status for run in store.runs()] == ["failed", "finished"]  # newest first


def test_a_large_run_lets_go_of_each_slice_once_stored(
    track: Track, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pairs of a forked run hold no packed text once written; asked for after the
    run, it is read back from the store."""
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    monkeypatch.setattr(parallel, "_SLICE", 16)
    monkeypatch.setattr(parallel, "MIN_EVALUATIONS", 100)
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        run = run_and_store(store, _catalog(300), [track], trigger="test")
        assert all(pair._packed is None for pair in run.report.pairs)
        read_back = [
            (r.entity_ref, r.check_id, r.outcome, r.result.message)
            for pair in run.report.pairs
            for r in pair.results()
        ]
        stored = [(r.entity_ref, r.check_id, r.outcome, r.message) for r in store.results()]
        assert sorted(read_back) == sorted(stored) and len(stored) == 301 * 6


def test_hashing_a_large_catalog_forks_and_gives_every_digest_one_process_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A re-run hashes most documents in a forked child while it reads the stored pairs:
    the digests are the ones this process makes, and one that cannot be made is left to
    raise as it would."""
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    monkeypatch.setattr(parallel, "MIN_DOCUMENTS", 50)
    entities = _catalog(200)
    deep: dict[str, object] = {}
    for _ in range(2_000):  # deeper than a digest can go
        deep = {"a": deep}
    odd = Entity({"apiVersion": "v1", "kind": "Component", "metadata": {"name": "odd"},
                  "spec": deep})  # fmt: skip
    entities.append(odd)
    forks: list[int] = []
    real_fork = parallel.os.fork

    def counted_fork() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(parallel.os, "fork", counted_fork)
    digests, read = parallel.hash_documents(entities, lambda: "read")
    assert read == "read" and forks == [1]
    assert digests[-1] is None and digests[:-1] == [e.digest() for e in entities[:-1]]
    plain = [Entity(e.raw, e.source) for e in entities[:-1]]
    assert [e.digest() for e in entities[:-1]] == [e.digest() for e in plain]
    with pytest.raises(RecursionError):
        odd.digest()


def test_hashing_goes_on_in_this_process_when_the_child_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    monkeypatch.setattr(parallel, "MIN_DOCUMENTS", 50)

    def failed(pid: int, reading: int) -> None:
        os.close(reading)
        os.waitpid(pid, 0)

    monkeypatch.setattr(parallel, "_take_digests", failed)
    entities = _catalog(200)
    parallel.hash_documents(entities, lambda: None)
    assert all(e._digest is not None for e in entities)
    assert [e.digest() for e in entities] == [Entity(e.raw, e.source).digest() for e in entities]
