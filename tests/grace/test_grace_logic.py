"""`scorecard.grace` on its own: which results a grace covers, what it keeps, what it
writes into their evidence, and the letters levels are counted from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from scorecard.grace import (
    GRACE,
    Grace,
    LastKnown,
    Pair,
    Previous,
    certify,
    counted_codes,
    grant,
)
from scorecard.registry import CheckRegistry
from scorecard.report import OUTCOME_BY_CODE, PairResults
from scorecard.results import Outcome, Result
from scorecard.tracks import Track, load_track
from scorecard.waivers import Waiver, Waivers

REF = "component:default/payments"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
# Positions: 0 has_owner (no grace), 1 delete_branch_on_merge (24h), 2 default_branch_
# protected (1h), 3 vulnerability_alerts_enabled (optional, 1h).
TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: github
title: GitHub
levels:
  - id: bronze
    checks:
      - has_owner
      - {check: delete_branch_on_merge, grace: 24h}
  - id: silver
    checks:
      - {check: default_branch_protected, grace: 1h}
      - {check: vulnerability_alerts_enabled, required: false, grace: 1h}
"""
PLAIN = TRACK.replace("grace: 24h", "required: true").replace(", grace: 1h", "")


def _track(tmp_path: Path, registry: CheckRegistry, text: str, name: str) -> Track:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace("id: github", f"id: {name}"))
    return load_track(path, registry)


@pytest.fixture
def track(tmp_path: Path, registry: CheckRegistry) -> Track:
    return _track(tmp_path, registry, TRACK, "github")


def pair(track: Track, codes: str, ref: str = REF) -> PairResults:
    """The track's results with these outcome letters, each with a message and evidence
    of its own (an `unknown` as GitHub's outage gives it)."""
    results = []
    for check, code in zip(track.checks, codes, strict=True):
        outcome = OUTCOME_BY_CODE[code]
        if outcome in (Outcome.UNKNOWN, Outcome.ERROR):
            message = f"GitHub could not give the {check.id} (HTTP 502: Bad Gateway)."
            results.append(Result(outcome, message, {"exception": "FactUnavailable"}))
        else:
            results.append(Result(outcome, f"{ref} {check.id} is {outcome}", {"seen": check.id}))
    return track.packer(ref, results)


def previous(track: Track, codes: str, observed: timedelta | None) -> Previous:
    stored = pair(track, codes)
    observed_at = None if observed is None else NOW - observed
    return Previous(track.layout, codes, stored.packed, observed_at)


def grace_of(graced: PairResults, position: int) -> dict[str, str]:
    return graced.results()[position].result.evidence[GRACE]


def test_a_pass_observed_within_the_grace_counts_for_the_level(track: Track) -> None:
    before = previous(track, "pppp", timedelta(hours=2))
    now_down = pair(track, "pupp")
    assert (now_down.level, now_down.next_level) == (None, "bronze")
    made = grant(now_down, track, before, NOW)
    assert made is not None
    graced, counted = made
    # The result keeps its real outcome; the level counts the last known one.
    assert graced.codes == "pupp" and counted == "pppp"
    assert (graced.level, graced.next_level) == ("silver", None)
    result = graced.results()[1].result
    assert result.outcome is Outcome.UNKNOWN
    assert result.message.startswith("GitHub could not give the delete_branch_on_merge")
    assert result.evidence == {
        "exception": "FactUnavailable",
        GRACE: {
            "outcome": "pass",
            "observed_at": (NOW - timedelta(hours=2)).isoformat(),
            "until": (NOW + timedelta(hours=22)).isoformat(),
        },
    }
    # The grace is in the packed text, so its digest differs and readers find it there.
    assert graced.digest != now_down.digest
    assert counted_codes(graced.codes, graced.packed) == "pppp"
    assert counted_codes(graced.codes, orjson.loads(graced.packed)) == "pppp"
    # Every other result is packed as it was.
    assert [r.result for r in graced.results()][::2] == [r.result for r in now_down.results()][::2]


def test_past_the_grace_the_real_outcome_counts(track: Track) -> None:
    before = previous(track, "pppp", timedelta(hours=2))
    assert grant(pair(track, "ppup"), track, before, NOW) is None  # a 1h grace, 2h ago
    # The limit itself is past the grace.
    at_limit = previous(track, "pppp", timedelta(hours=1))
    assert grant(pair(track, "ppup"), track, at_limit, NOW) is None
    just_within = previous(track, "pppp", timedelta(minutes=59))
    assert grant(pair(track, "ppup"), track, just_within, NOW) is not None


def test_no_real_outcome_observed_no_grace(track: Track) -> None:
    down = pair(track, "pepp")
    assert grant(down, track, None, NOW) is None  # never stored
    assert grant(down, track, previous(track, "pepp", timedelta(minutes=5)), NOW) is None
    assert grant(down, track, previous(track, "pupp", timedelta(minutes=5)), NOW) is None
    # A pass no run can date is not trusted either.
    assert grant(down, track, previous(track, "pppp", None), NOW) is None


def test_a_grace_carries_its_observation_forward_and_the_pair_stays_the_same(
    track: Track,
) -> None:
    first = grant(pair(track, "pupp"), track, previous(track, "pppp", timedelta(hours=2)), NOW)
    assert first is not None
    graced, _ = first
    # The next run finds GitHub still down: what it falls back on is the graced result,
    # stored by a run that observed nothing real.
    stored = Previous(track.layout, graced.codes, graced.packed, NOW + timedelta(minutes=30))
    later = grant(pair(track, "pupp"), track, stored, NOW + timedelta(hours=1))
    assert later is not None
    again, counted = later
    assert again.packed == graced.packed and again.digest == graced.digest
    assert counted == "pppp" and again.level == "silver"
    assert grace_of(again, 1)["observed_at"] == (NOW - timedelta(hours=2)).isoformat()
    # A grace never outlives the observation it started from.
    assert grant(pair(track, "pupp"), track, stored, NOW + timedelta(hours=22)) is None


def test_a_failure_is_kept_as_a_failure(track: Track) -> None:
    made = grant(pair(track, "pupp"), track, previous(track, "pfpp", timedelta(hours=1)), NOW)
    assert made is not None
    graced, counted = made
    assert counted == "pfpp" and (graced.level, graced.next_level) == (None, "bronze")
    assert grace_of(graced, 1)["outcome"] == "fail"


def test_only_checks_with_a_grace_are_graced(track: Track) -> None:
    before = previous(track, "pppp", timedelta(minutes=5))
    assert grant(pair(track, "uppp"), track, before, NOW) is None  # has_owner has none
    made = grant(pair(track, "uupp"), track, before, NOW)
    assert made is not None
    graced, counted = made
    assert counted == "uppp" and graced.level is None
    assert GRACE not in graced.results()[0].result.evidence


def test_an_optional_check_keeps_its_warning(track: Track) -> None:
    made = grant(pair(track, "pppe"), track, previous(track, "pppw", timedelta(minutes=5)), NOW)
    assert made is not None
    assert made[1] == "pppw" and grace_of(made[0], 3)["outcome"] == "warn"


def test_previous_results_are_matched_by_check_id(tmp_path: Path, track: Track) -> None:
    # Stored when the track had its silver checks first and another check besides.
    layout = (*reversed(track.layout), ("gone", "silver", True))
    packed = orjson.dumps(["=a", "=b", "=c", "=d", "=e"]).decode()
    before = Previous(layout, "ppfpp", packed, NOW - timedelta(minutes=5))
    made = grant(pair(track, "puup"), track, before, NOW)
    assert made is not None
    # delete_branch_on_merge was the third stored (f), default_branch_protected the second.
    assert made[1] == "pfpp"
    # Stored results that do not match their layout give nothing to fall back on.
    broken = Previous(track.layout, "pppp", orjson.dumps(["=a"]).decode(), NOW)
    assert grant(pair(track, "puup"), track, broken, NOW) is None


def test_counted_codes_reads_nothing_without_an_unanswered_letter() -> None:
    assert counted_codes("ppfw", "not even JSON") == "ppfw"
    with pytest.raises(ValueError, match="2 packed results for 3 outcomes"):
        counted_codes("ppu", '["=a", "=b"]')


@pytest.mark.parametrize(
    "grace",
    [
        {"outcome": "error", "observed_at": NOW.isoformat(), "until": NOW.isoformat()},
        {"outcome": "pass", "observed_at": "2027-03-01T12:00:00", "until": NOW.isoformat()},
        {"outcome": "pass", "observed_at": "yesterday", "until": NOW.isoformat()},
        {"outcome": "maybe", "observed_at": NOW.isoformat(), "until": NOW.isoformat()},
        {"outcome": "pass"},
        "pass",
    ],
)
def test_evidence_that_is_not_a_grace_counts_for_nothing(grace: object) -> None:
    packed = orjson.dumps(["=a", ["=b", {GRACE: grace}]]).decode()
    assert counted_codes("pu", packed) == "pu"
    assert Grace.of({GRACE: grace}) is None


def test_the_sentence_says_how_long_ago_when_it_is_shown() -> None:
    grace = Grace(Outcome.PASS, NOW - timedelta(hours=3, minutes=5), NOW + timedelta(hours=20))
    message = "GitHub answered 502"
    assert grace.sentence("unknown", message, NOW) == (
        "last known pass, 3 h ago; now unknown: GitHub answered 502"
    )
    assert grace.sentence("error", message, NOW - timedelta(hours=3)).startswith(
        "last known pass, 5 min ago; now error:"
    )
    assert "under a minute ago" in grace.sentence("unknown", message, grace.observed_at)
    assert "1 day ago" in grace.sentence("unknown", message, NOW + timedelta(hours=21))


class Recorded:
    """A recall that answers from a table and remembers what it was asked."""

    def __init__(self, stored: Mapping[Pair, Previous]) -> None:
        self.stored = stored
        self.asked: list[tuple[list[Pair], datetime]] = []

    def __call__(self, pairs: Sequence[Pair], since: datetime) -> Mapping[Pair, Previous]:
        self.asked.append((list(pairs), since))
        return {key: self.stored[key] for key in pairs if key in self.stored}


def test_a_run_recalls_only_the_pairs_waiting_for_a_grace(
    tmp_path: Path, registry: CheckRegistry, track: Track
) -> None:
    plain = _track(tmp_path, registry, PLAIN, "plain")
    other = "component:default/ledger"
    recall = Recorded({(REF, "github"): previous(track, "pppp", timedelta(hours=2))})
    assert not LastKnown([plain], recall)
    last_known = LastKnown([track, plain], recall)
    # Nothing could not be answered, or only where no grace applies: nothing is read.
    untouched = [[pair(track, "pppp"), pair(plain, "pupp")], [pair(track, "uppp", other)]]
    assert last_known.settle(untouched, NOW) == {} and recall.asked == []
    results = [[pair(track, "pupp"), pair(plain, "pupp")], [pair(track, "pupp", other)]]
    kept_other = results[1][0]
    counted = last_known.settle(results, NOW)
    # One read for the slice, from as far back as the longest grace reaches.
    assert recall.asked == [([(REF, "github"), (other, "github")], NOW - timedelta(hours=24))]
    assert counted == {(REF, "github"): "pppp"}
    assert results[0][0].level == "silver" and GRACE in results[0][0].results()[1].result.evidence
    assert results[0][1].level is None  # no grace on that track
    assert results[1][0] is kept_other  # never stored: nothing to fall back on


def test_kept_pairs_waiting_for_a_grace_are_evaluated_again(
    tmp_path: Path, registry: CheckRegistry, track: Track
) -> None:
    plain = _track(tmp_path, registry, PLAIN, "plain")
    last_known = LastKnown([track, plain], Recorded({}))
    answered, other = pair(track, "pppp"), pair(plain, "pupp")
    waiting = pair(track, "pupp", "c:d/x")
    kept = {"github": {REF: answered, "c:d/x": waiting}, "plain": {REF: other}}
    assert last_known.unsettled(kept) == {"github": {REF: answered}, "plain": {REF: other}}
    only_plain = {"plain": {REF: other}}
    assert last_known.unsettled(only_plain) is only_plain


def test_exemptions_count_on_top_of_a_grace(track: Track) -> None:
    exempt = Waiver(
        exemption_id=4,
        entity_ref=REF,
        track_id="github",
        check_id="default_branch_protected",
        justification="Protected by the organisation's ruleset, which the API hides.",
        expires_at=NOW + timedelta(days=30),
    )
    made = grant(pair(track, "pufp"), track, previous(track, "pppp", timedelta(hours=1)), NOW)
    assert made is not None
    graced, counted = made
    assert (graced.level, counted) == ("bronze", "ppfp")
    Waivers([exempt]).certify_all([graced], {"github": track.packer}, {(REF, "github"): counted})
    assert (graced.level, graced.next_level) == ("silver", None)
    # Without the counted letters, the exemption alone would not reach bronze.
    alone = pair(track, "pufp")
    Waivers([exempt]).certify(alone, track.packer)
    assert alone.level is None
    # A pair made again from the stored results (a push) counts both.
    again = track.packer(REF, [r.result for r in graced.results()])
    assert again.level is None
    certify(again, track.packer, Waivers([exempt]))
    assert (again.level, again.next_level) == ("silver", None)
    certify(again, track.packer)
    assert again.level == "bronze"
