"""The ceiling of row 1: the bench track's ten checks written the fastest way Python
allows while each evaluation still makes a `Result` (outcome, sentence, evidence), then
packed and hashed as the store keeps them, on every core — against json-rules-engine in
the same invocation.

This is not the engine. The ten checks are fused into one pass per check over all the
entities (no executor, no call per check and entity), their sentences are constant
templates formatted when shown (no f-string per result), and the items are packed as
the store keeps them (message and evidence); the entities are split between this process
and one forked child, whose packed pairs are handed back pickled, as a run's are. It is
the most that the levers row 1's target names — messages formatted when shown, less
bookkeeping per result, the second core, the built-in checks evaluated over many
entities at once — can reach together, so it says whether the target is within reach of
an engine that keeps its check contract (a check makes a `Result` for each entity).

    .venv/bin/python -m bench.ceiling            # N = 100,000
    .venv/bin/python -m bench.ceiling --size 10000
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import pickle
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from bench.context import Context
from bench.peer import Unavailable, run_peer
from scorecard.entity import Entity
from scorecard.results import Outcome, Result

_PASS, _FAIL = Outcome.PASS, Outcome.FAIL
_LETTERS = {_PASS: "p", _FAIL: "f"}
_TECHDOCS = "backstage.io/techdocs-ref"
_PAGERDUTY = "pagerduty.com/service-id"
_ALLOWED = ("production", "experimental")
# The checks of bench/track.yaml in its order, as `_columns` makes their results.
CHECKS = (
    "has_owner", "has_description", "owner_is_group", "has_title", "has_tags",
    "lifecycle_allowed", "has_system", "has_techdocs", "has_pagerduty", "two_tags",
)  # fmt: skip


def _columns(entities: Sequence[Entity]) -> list[list[Result]]:
    """The ten checks of bench/track.yaml, one pass over the entities each, in the
    track's order; the same outcomes as the built-in checks."""
    owners = [e.owner for e in entities]
    tags = [e.tags for e in entities]
    lifecycles = [e.lifecycle for e in entities]
    return [
        [
            Result(_PASS, "{entity} is owned by {owner}.", {"owner": o})
            if o is not None
            else Result(_FAIL, "{entity} has no owner.", {})
            for o in owners
        ],
        [
            Result(_PASS, "{entity} has a description of {length} characters.", {"length": len(d)})
            if (d := e.description) is not None
            else Result(_FAIL, "{entity} has no description.", {})
            for e in entities
        ],
        [
            Result(_PASS, "{entity} is owned by {owner}, a group.", {"owner": o})
            if o is not None and o.startswith("group:")
            else Result(_FAIL, "{entity} is not owned by a group.", {"owner": o})
            for o in owners
        ],
        [
            Result(_PASS, "{entity} has the title {title!r}.", {"title": t})
            if (t := e.title) is not None
            else Result(_FAIL, "{entity} has no title.", {})
            for e in entities
        ],
        [
            Result(_PASS, "{entity} has tags.", {"tags": t})
            if t
            else Result(_FAIL, "{entity} has no tags.", {"tags": t})
            for t in tags
        ],
        [
            Result(_PASS, "{entity} has the lifecycle {lifecycle!r}.", {"lifecycle": lc})
            if lc is not None and lc.casefold() in _ALLOWED
            else Result(_FAIL, "{entity} has another lifecycle.", {"lifecycle": lc})
            for lc in lifecycles
        ],
        [
            Result(_PASS, "{entity} belongs to {system}.", {"system": s})
            if (s := e.system) is not None
            else Result(_FAIL, "{entity} belongs to no system.", {})
            for e in entities
        ],
        [
            Result(_PASS, "{entity} has TechDocs.", {"value": v})
            if isinstance(v := e.annotations.get(_TECHDOCS), str) and v.strip()
            else Result(_FAIL, "{entity} has no TechDocs.", {})
            for e in entities
        ],
        [
            Result(_PASS, "{entity} has the {annotation} annotation.", {"value": v})
            if isinstance(v := e.annotations.get(_PAGERDUTY), str) and v.strip()
            else Result(_FAIL, "{entity} has no {annotation} annotation.", {})
            for e in entities
        ],
        [
            Result(_PASS, "{entity} has tags.", {"tags": t})
            if len(t) >= 2
            else Result(_FAIL, "{entity} has too few tags.", {"tags": t})
            for t in tags
        ],
    ]


def _packed(entities: Sequence[Entity]) -> list[tuple[str, str, str, str]]:
    """Each entity's (ref, outcome letters, packed text, digest)."""
    packed = []
    for entity, results in zip(entities, zip(*_columns(entities), strict=True), strict=True):
        codes = "".join([_LETTERS[r.outcome] for r in results])
        text = orjson.dumps([(r.message, e) if (e := r.evidence) else r.message for r in results])
        digest = hashlib.blake2b(text, digest_size=16).hexdigest()
        packed.append((entity.ref, codes, text.decode(), digest))
    return packed


def _on_two_cores(entities: Sequence[Entity]) -> list[tuple[str, str, str, str]]:
    half = len(entities) // 2
    descriptor, path = tempfile.mkstemp(prefix="scorecard-ceiling-")
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            with os.fdopen(descriptor, "wb") as spool:
                pickle.dump(_packed(entities[half:]), spool, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)
    os.close(descriptor)
    try:
        found = _packed(entities[:half])
        os.waitpid(pid, 0)
        with open(path, "rb") as spool:
            found.extend(pickle.load(spool))
    finally:
        os.unlink(path)
    return found


def _passes(packed: list[tuple[str, str, str, str]]) -> dict[str, int]:
    return {
        check: sum(1 for _, codes, _, _ in packed if codes[i] == "p")
        for i, check in enumerate(CHECKS)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scorecard-ceiling-") as workdir:
        return _measure(Context(size=args.size, smoke=False, workdir=Path(workdir), wrk_seconds=1))


def _measure(ctx: Context) -> int:
    times: list[float] = []
    passes: dict[str, int] = {}
    for _ in range(3):
        entities = ctx.fresh_entities()
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        packed = _on_two_cores(entities)
        times.append(time.perf_counter() - start)
        gc.enable()
        passes = _passes(packed)
        del packed, entities
    seconds = statistics.median(times)
    evaluations = ctx.size * len(CHECKS)
    print(f"ceiling: {evaluations / seconds:,.0f} evals/s ({seconds:.2f} s, median of 3)")
    try:
        peer = run_peer(ctx.json_lines)
    except Unavailable as error:
        print(f"json-rules-engine: skipped ({error})")
        return 0
    ratio = evaluations / seconds / peer.evaluations_per_second
    print(f"json-rules-engine {peer.version}: {peer.evaluations_per_second:,.0f} evals/s")
    print(f"ceiling: {ratio:.2f}× json-rules-engine (row 1's target: ≥ 5×)")
    if passes != peer.passes:
        print(f"the passes per check disagree: ceiling {passes}, json-rules-engine {peer.passes}")
        return 1
    print("Pass counts agree between the ceiling and json-rules-engine.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
