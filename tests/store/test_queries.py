"""The API's reads: filters, pages with totals, roll-ups counted in the database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from scorecard.entity import Entity
from scorecard.results import Outcome
from scorecard.store import CheckRollup, OwnerLevels, Page, Store
from scorecard.store.browse import SortKey, TrackEntityFilter

P, F, W, NA, U, E = (
    Outcome.PASS,
    Outcome.FAIL,
    Outcome.WARN,
    Outcome.NOT_APPLICABLE,
    Outcome.UNKNOWN,
    Outcome.ERROR,
)
TEAM_A = "group:default/team-a"
TEAM_B = "group:default/team-b"
ORDERS_API = "api:default/orders-api"

# Checks `runbook` and `oncall` are in level silver, the others in bronze.
CHECK_LEVELS = {"runbook": "silver", "oncall": "silver"}
RESULTS = {
    ("alpha", "prod", "owner"): P, ("alpha", "prod", "runbook"): P, ("alpha", "prod", "oncall"): P,
    ("beta", "prod", "owner"): P, ("beta", "prod", "runbook"): F, ("beta", "prod", "oncall"): NA,
    ("gamma", "prod", "owner"): P, ("gamma", "prod", "runbook"): P, ("gamma", "prod", "oncall"): W,
    ("delta", "prod", "owner"): F, ("delta", "prod", "runbook"): E, ("delta", "prod", "oncall"): U,
    ("epsilon", "prod", "owner"): P, ("epsilon", "prod", "runbook"): NA,
    ("epsilon", "prod", "oncall"): NA,
    ("zeta", "prod", "owner"): F, ("zeta", "prod", "runbook"): F, ("zeta", "prod", "oncall"): F,
    ("alpha", "docs", "readme"): P, ("alpha", "docs", "techdocs"): P,
    ("alpha", "docs", "changelog"): NA,
    ("beta", "docs", "readme"): F, ("beta", "docs", "techdocs"): P,
    ("beta", "docs", "changelog"): NA,
    ("delta", "docs", "readme"): P, ("delta", "docs", "techdocs"): NA,
    ("delta", "docs", "changelog"): NA,
}  # fmt: skip
LEVELS = {
    ("alpha", "prod"): "silver",
    ("beta", "prod"): "bronze",
    ("gamma", "prod"): "silver",
    ("delta", "prod"): None,
    ("epsilon", "prod"): "silver",
    ("zeta", "prod"): None,
    ("alpha", "docs"): "bronze",
    ("beta", "docs"): None,
    ("delta", "docs"): "bronze",
}


def ref(name: str) -> str:
    return f"component:default/{name}"


def refs(*names: str) -> list[str]:
    return [ORDERS_API if name == "orders-api" else ref(name) for name in names]


def counts(**found: int) -> dict[Outcome, int]:
    return {outcome: found.get(outcome.value, 0) for outcome in Outcome}


@pytest.fixture
def catalog(store, save, make_report, make_entity) -> Store:
    """Six components and an API: alpha, beta and gamma owned by team-a (gamma spelled
    Team-A), delta, epsilon and the API by team-b, zeta by nobody; on tracks prod and docs."""
    owners = {"gamma": "Team-A", "delta": "team-b", "epsilon": "team-b", "zeta": None}
    components = []
    for name in ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]:
        entity = make_entity(name, title="Alpha Payments") if name == "alpha" else make_entity(name)
        owner = owners.get(name, "team-a")
        if owner is None:
            del entity.raw["spec"]["owner"]
        else:
            entity.raw["spec"]["owner"] = owner
        components.append(entity)
    api = Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "API",
            "metadata": {"name": "orders-api"},
            "spec": {"type": "openapi", "owner": "team-b"},
        }
    )
    save(make_report(RESULTS, LEVELS, entities=[*components, api], check_levels=CHECK_LEVELS))
    return store


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["orders-api", "alpha", "beta", "delta", "epsilon", "gamma", "zeta"]),
        ({"kind": "COMPONENT"}, ["alpha", "beta", "delta", "epsilon", "gamma", "zeta"]),
        ({"kind": "api"}, ["orders-api"]),
        ({"owner": "GROUP:default/TEAM-A"}, ["alpha", "beta", "gamma"]),
        ({"owner": TEAM_B}, ["orders-api", "delta", "epsilon"]),
        ({"owner": "group:default/nobody"}, []),
        ({"track": "docs"}, ["alpha", "beta", "delta"]),
        ({"track": "nothing"}, []),
        ({"track": "prod", "level": "silver"}, ["alpha", "epsilon", "gamma"]),
        ({"track": "prod", "level": "none"}, ["delta", "zeta"]),
        ({"track": "docs", "level": "none"}, ["beta"]),
        ({"track": "docs", "level": "silver"}, []),
        ({"level": "bronze"}, ["alpha", "beta", "delta"]),
        ({"level": "none"}, ["beta", "delta", "zeta"]),
        ({"level": "gold"}, []),
        ({"outcome": E}, ["delta"]),
        ({"outcome": "fail"}, ["beta", "delta", "zeta"]),
        ({"outcome": F, "track": "docs"}, ["beta"]),
        ({"outcome": NA, "track": "prod"}, ["beta", "epsilon"]),
        ({"outcome": NA, "track": "docs"}, ["alpha", "beta", "delta"]),
        ({"outcome": W, "track": "docs"}, []),
        ({"outcome": F, "owner": TEAM_A}, ["beta"]),
        ({"outcome": P, "track": "docs", "level": "none"}, ["beta"]),
        ({"query": "PAYMENTS"}, ["alpha"]),
        ({"query": "ZET"}, ["zeta"]),
        ({"query": "Api:"}, ["orders-api"]),
        # LIKE wildcards are plain characters: "a_p" would match "a P" of Alpha Payments.
        ({"query": "a_p"}, []),
        ({"query": "%"}, []),
        ({"kind": "component", "owner": TEAM_B, "track": "prod", "level": "silver",
          "outcome": NA, "query": "eps"}, ["epsilon"]),
    ],
)  # fmt: skip
def test_find_entities_filters(catalog, filters, expected):
    page = catalog.find_entities(**filters)

    assert [e.ref for e in page.items] == refs(*expected)
    assert page.total == len(expected)


@pytest.mark.parametrize(
    ("filters", "expected", "total"),
    [
        ({"limit": 2}, ["orders-api", "alpha"], 7),
        ({"limit": 2, "offset": 2}, ["beta", "delta"], 7),
        ({"limit": 2, "offset": 6}, ["zeta"], 7),
        ({"offset": 7}, [], 7),
        ({"limit": 0}, [], 7),
        ({"owner": TEAM_A, "limit": 1, "offset": 1}, ["beta"], 3),
        ({"outcome": F, "limit": 2}, ["beta", "delta"], 3),
    ],
)
def test_find_entities_pages_keep_the_total(catalog, filters, expected, total):
    page = catalog.find_entities(**filters)

    assert [e.ref for e in page.items] == refs(*expected)
    assert (page.total, page.limit, page.offset) == (
        total,
        filters.get("limit", 50),
        filters.get("offset", 0),
    )


@pytest.mark.parametrize("paging", [{"limit": -1}, {"offset": -1}])
def test_a_negative_page_is_refused(catalog, paging):
    with pytest.raises(ValueError, match="must not be negative"):
        catalog.find_entities(**paging)


def test_certifications_for_a_page_of_entities(catalog):
    found = catalog.certifications_for([ref("alpha"), ref("zeta"), ORDERS_API])

    assert {
        entity: [(c.track_id, c.level) for c in certifications]
        for entity, certifications in found.items()
    } == {
        ref("alpha"): [("docs", "bronze"), ("prod", "silver")],
        ref("zeta"): [("prod", None)],
        ORDERS_API: [],
    }
    assert catalog.certifications_for([]) == {}


def test_track_rollup_counts_levels_and_outcomes(catalog):
    rollup = catalog.track_rollup("prod")

    assert rollup.track_id == "prod"
    assert rollup.levels == {"silver": 3, "bronze": 1, None: 2}
    assert rollup.checks == [
        CheckRollup("oncall", "silver", counts(**{"pass": 1, "fail": 1, "warn": 1,
                    "not_applicable": 2, "unknown": 1}), 6, 1 / 4),
        CheckRollup("owner", "bronze", counts(**{"pass": 4, "fail": 2}), 6, 4 / 6),
        CheckRollup("runbook", "silver", counts(**{"pass": 2, "fail": 2, "error": 1,
                    "not_applicable": 1}), 6, 2 / 5),
    ]  # fmt: skip


def test_a_check_that_applies_to_no_entity_has_no_pass_rate(catalog):
    rollup = catalog.track_rollup("docs")

    assert rollup.levels == {"bronze": 2, None: 1}
    assert [(c.check_id, c.total, c.pass_rate) for c in rollup.checks] == [
        ("changelog", 3, None),
        ("readme", 3, 2 / 3),
        ("techdocs", 3, 1.0),
    ]


def test_a_track_never_evaluated_has_an_empty_rollup(catalog):
    rollup = catalog.track_rollup("nothing")

    assert (rollup.track_id, rollup.levels, rollup.checks) == ("nothing", {}, [])


def test_owner_rollup_covers_the_owners_entities_whatever_the_case(catalog):
    docs, prod = catalog.owner_rollup("GROUP:DEFAULT/team-a")

    assert (prod.owner, prod.track_id, prod.levels) == (
        "GROUP:DEFAULT/team-a",
        "prod",
        {"silver": 2, "bronze": 1},
    )
    assert [(c.check_id, c.counts, c.pass_rate) for c in prod.checks] == [
        ("oncall", counts(**{"pass": 1, "warn": 1, "not_applicable": 1}), 1 / 2),
        ("owner", counts(**{"pass": 3}), 1.0),
        ("runbook", counts(**{"pass": 2, "fail": 1}), 2 / 3),
    ]
    assert (docs.track_id, docs.levels) == ("docs", {"bronze": 1, None: 1})
    assert [(c.check_id, c.total, c.pass_rate) for c in docs.checks] == [
        ("changelog", 2, None),
        ("readme", 2, 1 / 2),
        ("techdocs", 2, 1.0),
    ]


@pytest.mark.parametrize(
    ("owner", "track", "expected"),
    [
        (TEAM_B, "docs", [("docs", {"bronze": 1}, {"readme": 1.0, "techdocs": None,
                                                   "changelog": None})]),
        (TEAM_B, None, [("docs", {"bronze": 1}, {"readme": 1.0, "techdocs": None,
                                                 "changelog": None}),
                        ("prod", {"silver": 1, None: 1}, {"oncall": 0.0, "owner": 1 / 2,
                                                          "runbook": 0.0})]),
        (TEAM_A, "nothing", []),
        ("group:default/nobody", None, []),
    ],
)  # fmt: skip
def test_owner_rollup_by_track(catalog, owner, track, expected):
    rollups = catalog.owner_rollup(owner, track)

    assert [
        (r.track_id, r.levels, {c.check_id: c.pass_rate for c in r.checks}) for r in rollups
    ] == expected


def test_owners_rollup_groups_owners_without_regard_to_case(catalog):
    assert catalog.owners_rollup("prod") == [
        # gamma's owner is spelled Team-A: one owner, shown in the spelling sorted first.
        OwnerLevels("group:default/Team-A", {"silver": 2, "bronze": 1}, 3),
        OwnerLevels(TEAM_B, {None: 1, "silver": 1}, 2),
        OwnerLevels(None, {None: 1}, 1),
    ]
    assert catalog.owners_rollup("docs") == [
        OwnerLevels(TEAM_A, {"bronze": 1, None: 1}, 2),
        OwnerLevels(TEAM_B, {"bronze": 1}, 1),
    ]
    assert catalog.owners_rollup("nothing") == []


@pytest.mark.parametrize(
    ("filters", "expected", "total"),
    [
        ({"entity_ref": ref("delta")}, [("delta", "docs", "changelog"), ("delta", "docs", "readme"),
         ("delta", "docs", "techdocs"), ("delta", "prod", "oncall"), ("delta", "prod", "owner"),
         ("delta", "prod", "runbook")], 6),
        ({"track_id": "docs", "check_id": "readme"}, [("alpha", "docs", "readme"),
         ("beta", "docs", "readme"), ("delta", "docs", "readme")], 3),
        ({"outcome": E}, [("delta", "prod", "runbook")], 1),
        ({"track_id": "prod", "outcome": "not_applicable"}, [("beta", "prod", "oncall"),
         ("epsilon", "prod", "oncall"), ("epsilon", "prod", "runbook")], 3),
        ({"limit": 2, "offset": 3}, [("alpha", "prod", "oncall"), ("alpha", "prod", "owner")],
         len(RESULTS)),
        ({"entity_ref": ORDERS_API}, [], 0),
        ({"entity_ref": ref("DELTA")}, [], 0),
    ],
)  # fmt: skip
def test_find_results(catalog, filters, expected, total):
    page = catalog.find_results(**filters)

    assert [(r.entity_ref, r.track_id, r.check_id) for r in page.items] == [
        (ref(name), track, check) for name, track, check in expected
    ]
    assert page.total == total


def test_find_runs_newest_first(store):
    assert store.find_runs() == Page([], 0, 50, 0)
    ids = [store.start_run("cli") for _ in range(3)]

    page = store.find_runs(limit=2, offset=1)

    assert [r.id for r in page.items] == [ids[1], ids[0]]
    assert (page.total, page.limit, page.offset) == (3, 2, 1)


def test_certification_by_key(catalog):
    found = catalog.certification(ref("alpha"), "prod")

    assert (found.entity_ref, found.track_id, found.level) == (ref("alpha"), "prod", "silver")
    assert catalog.certification(ref("zeta"), "docs") is None


def test_history_newest_first(catalog, save, make_report, make_entity):
    entities = [make_entity("alpha", title="Alpha Payments")]
    changed = {("alpha", "prod", "runbook"): F, ("alpha", "docs", "readme"): F}
    save(
        make_report(
            {**{k: v for k, v in RESULTS.items() if k[0] == "alpha"}, **changed},
            {("alpha", "prod"): "bronze", ("alpha", "docs"): None},
            entities=entities,
            check_levels=CHECK_LEVELS,
        )
    )

    results, levels = catalog.history(ref("alpha"))

    assert [(r.track_id, r.check_id, r.previous_outcome) for r in results[:2]] == [
        ("docs", "readme", P),
        ("prod", "runbook", P),
    ]
    assert len(results) == 6 + 2
    assert [(c.track_id, c.level, c.previous_level) for c in levels] == [
        ("docs", None, "bronze"),
        ("prod", "bronze", "silver"),
        ("docs", "bronze", None),
        ("prod", "silver", None),
    ]
    results, levels = catalog.history(ref("alpha"), "prod", limit=1)
    assert [(r.check_id, r.outcome) for r in results] == [("runbook", F)]
    assert [c.level for c in levels] == ["bronze"]
    assert catalog.history("component:default/nothing") == ([], [])


def test_fingerprint_changes_when_a_run_finishes_and_only_then(store, save, make_report):
    empty = store.fingerprint()
    first, second = store.start_run("schedule"), store.start_run("api")
    assert store.fingerprint() == empty

    # Runs of different tracks overlap: the older run may finish last.
    store.save_run(second, make_report({("alpha", "docs", "readme"): P}))
    after_second = store.fingerprint()
    store.save_run(first, make_report({("alpha", "prod", "owner"): P}))
    after_first = store.fingerprint()

    assert len({empty, after_second, after_first}) == 3
    store.find_entities(outcome=P)
    store.track_rollup("prod")
    store.fail_run(store.start_run("cli"), "the catalog did not answer")
    assert store.fingerprint() == after_first


@contextmanager
def recorded_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent through `engine` inside the block."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_counts_over_a_large_catalog_come_from_sql(tmp_path: Path, make_report):
    outcomes = list(Outcome)
    results = {
        (f"e{i:05d}", "prod", f"c{j}"): outcomes[(i + j) % len(outcomes)]
        for i in range(20_000)
        for j in range(5)
    }
    levels = {(f"e{i:05d}", "prod"): ["bronze", "silver", None][i % 3] for i in range(20_000)}
    with Store(f"sqlite:///{tmp_path / 'large.db'}") as store:
        store.save_run(store.start_run("cli"), make_report(results, levels))

        with recorded_statements(store.engine) as statements:
            rollup = store.track_rollup("prod")
            errors = store.find_entities(outcome=Outcome.ERROR, limit=10)

    assert rollup.levels == {"bronze": 6667, "silver": 6667, None: 6666}
    expected = Counter((check, outcome) for (_, _, check), outcome in results.items())
    assert {c.check_id: c.counts for c in rollup.checks} == {
        f"c{j}": {o: expected[f"c{j}", o] for o in Outcome} for j in range(5)
    }
    # Entity i has an error on check c(j) where (i + j) % 6 == 5: all but i % 6 == 0.
    assert errors.total == sum(1 for i in range(20_000) if i % 6 != 0)
    assert [e.name for e in errors.items][:3] == ["e00001", "e00002", "e00003"]
    # Two GROUP BY queries for the roll-up, a COUNT and a page for the entities.
    assert len(statements) == 4
    assert all("GROUP BY" in s for s in statements[:2])
    assert "count(*)" in statements[2]
    assert "LIMIT" in statements[3]


@pytest.mark.parametrize(
    ("level", "descending", "expected"),
    [
        # By rank on the ladder (no level lowest), then by reference.
        (None, False, ["delta", "zeta", "beta", "alpha", "epsilon", "gamma"]),
        (None, True, ["alpha", "epsilon", "gamma", "beta", "delta", "zeta"]),
        # A level filter holds every row at one rank: the references' order either way.
        ("silver", False, ["alpha", "epsilon", "gamma"]),
        ("silver", True, ["alpha", "epsilon", "gamma"]),
        ("none", True, ["delta", "zeta"]),
    ],
)
def test_a_track_page_sorted_by_level(catalog, level, descending, expected):
    found = catalog.track_entities(
        "prod",
        ["bronze", "silver"],
        TrackEntityFilter(level=level),
        sort=SortKey.LEVEL,
        descending=descending,
    )
    assert [item.entity.ref for item in found.items] == refs(*expected)
    assert found.total == len(expected)
