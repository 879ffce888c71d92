"""The store's side of a sharded run, without a broker: the demo workspace planned into
shards, each evaluated here and written as a worker writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from scorecard.catalog import read_sources
from scorecard.distributed.shards import ShardMessage, message_for, split
from scorecard.inputs import CatalogView
from scorecard.planner import EntityPlan, plan
from scorecard.registry import build_registry
from scorecard.runner import evaluate, run_and_store
from scorecard.store import Store
from scorecard.store.shards import Kept
from scorecard.tracks import load_tracks
from scorecard.workspace import Workspace
from tests.databases import database

TABLES = ("certification", "pair_result", "result_change", "certification_change", "entity")


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def levels(store: Store) -> list[tuple[str, str, str | None]]:
    return sorted((c.entity_ref, c.track_id, c.level) for c in store.certifications())


def test_a_shard_written_twice_is_written_once_and_the_run_matches_a_local_one(
    store_url: str, tmp_path: Path
) -> None:
    workspace = Workspace.demo()
    tracks = load_tracks(workspace.tracks, build_registry(workspace.checks))
    entities = read_sources(workspace.catalog).entities
    plans = plan(entities, tracks)
    shards = split(plans, 2)
    assert len(shards) > 2
    with Store(store_url) as store:
        run_id = store.start_run("cli", {"tracks": [t.id for t in tracks], "entity": None})
        store.shards.plan(run_id, entities, tracks, [len(s) for s in shards])
        by_id = {track.id: track for track in tracks}
        for number, part in enumerate(shards):
            # Through the message a worker receives, as it receives it.
            message = ShardMessage.decode(message_for(run_id, number, "f", part).encode())
            assert store.shards.start_attempt(run_id, number, "w1").attempts == 1
            pairs = []
            for entity, track_ids in message.items:
                chosen = [by_id[t] for t in track_ids]
                report = evaluate([entity], chosen, kept={}, catalog=CatalogView(entities))
                pairs.extend(report.pairs)
            written = store.shards.write(run_id, number, pairs, datetime.now(UTC), notify=True)
            assert written.written
            before = counts(store)
            # Delivered again (its worker died before acknowledging): nothing is written.
            again = store.shards.write(run_id, number, pairs, datetime.now(UTC), notify=True)
            assert not again.written
            assert counts(store) == before
            assert store.shards.start_attempt(run_id, number, "w2").status == "done"
        assert store.shards.progress(run_id).settled
        store.shards.finish(
            run_id, entities, list(by_id), problems=[], kept=Kept(), catalog_complete=True
        )
        run = store.run(run_id)
        assert run is not None and run.status == "finished"
        sharded_levels, sharded_rollups = levels(store), store.track_rollups()
        sharded_run = (run.entities, run.results, run.errors)
    with database("sqlite", tmp_path / "local") as local_url, Store(local_url) as local:
        stored = run_and_store(local, entities, tracks, trigger="cli", catalog_complete=True)
        assert levels(local) == sharded_levels
        assert local.track_rollups() == sharded_rollups
        report = stored.report
        assert (len(report.entities), report.result_count, report.error_count) == sharded_run


def test_a_failed_run_leaves_no_shard_to_evaluate(store_url: str) -> None:
    workspace = Workspace.demo()
    tracks = load_tracks(workspace.tracks, build_registry(workspace.checks))
    entities = read_sources(workspace.catalog).entities
    with Store(store_url) as store:
        run_id = store.start_run("cli", {"tracks": None, "entity": None})
        store.shards.plan(run_id, entities, tracks, [3, 3])
        assert store.shards.give_up(run_id, 0, "killed its worker")
        store.shards.abandon_pending(run_id, f"run {run_id} failed")
        progress = store.shards.progress(run_id)
        assert (progress.failed, progress.settled) == (2, True)
        assert progress.failures == [(0, "killed its worker"), (1, f"run {run_id} failed")]
        assert store.shards.start_attempt(run_id, 1, "late").status == "failed"
        assert store.shards.start_attempt(run_id, 7, "late") is None


def _planned(names_and_locations: list[tuple[str, str | None]]) -> list[EntityPlan]:
    from scorecard.entity import Entity
    from tests.builders import component

    plans = []
    for name, location in names_and_locations:
        annotations = {"backstage.io/source-location": location} if location else None
        plans.append(EntityPlan(Entity(component(name, annotations=annotations)), ()))
    return plans


def test_entities_of_one_repository_share_a_shard_so_it_is_fetched_once() -> None:
    repo = "url:https://github.com/acme/monorepo/tree/main/services/{}"
    plans = _planned(
        [("a", None), ("b", None), ("c", repo.format("c")), ("d", None), ("e", repo.format("e"))]
        + [(f"m{i}", repo.format(f"m{i}")) for i in range(4)]
        + [("z", "url:https://github.com/acme/other")]
    )
    shards = [[item.entity.name for item in shard] for shard in split(plans, 3)]
    # The monorepo's six entities stay together (a group larger than a shard stays whole);
    # the others fill shards of three in catalog order.
    assert shards == [["a", "b"], ["c", "e", "m0", "m1", "m2", "m3"], ["d", "z"]]
    every = sorted(name for shard in shards for name in shard)
    assert every == sorted(item.entity.name for item in plans)


def test_a_rerun_that_keeps_every_pair_needs_no_worker_and_counts_what_it_kept(
    store_url: str,
) -> None:
    """The bench track's checks are pure: a second run of an unchanged catalog keeps every
    stored pair, so the coordinator sends no shard (the broker here answers nothing)."""
    from bench.catalog import generate
    from scorecard.distributed.coordinator import complete_sharded_run
    from scorecard.entity import Entity
    from scorecard.workspace import ExecutorConfig
    from tests.serving import free_port

    registry = build_registry(plugins=False)
    tracks = load_tracks([Path(__file__).parents[2] / "bench" / "track.yaml"], registry)
    entities = [Entity(document) for document in generate(300)]
    executor = ExecutorConfig(kind="celery", broker=f"amqp://guest:guest@127.0.0.1:{free_port()}//")
    with Store(store_url) as store:
        first = run_and_store(store, entities, tracks, trigger="cli", catalog_complete=True)
        run_id = store.start_run("cli", {"tracks": [t.id for t in tracks], "entity": None})
        again = complete_sharded_run(
            store, run_id, [Entity(document) for document in generate(300)], tracks,
            executor=executor, fingerprint="f", catalog_complete=True,
        )  # fmt: skip
        run = store.run(run_id)
        assert run is not None and run.status == "finished"
        assert store.shards.progress(run_id).total == 0
        assert (run.results, run.errors) == (first.report.result_count, first.report.error_count)
        assert again.stats.history_rows == 0
        assert len(again.report.pairs) == len(first.report.pairs)
