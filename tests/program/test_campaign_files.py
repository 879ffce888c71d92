"""Campaign files: strict loading, a FILE:LINE:COL and key path for every problem, the
limits track files have, who is in scope and at the goal, the pace the milestones ask
for, and `scorecard validate` over a workspace that has some."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scorecard.catalog.safe_yaml import MAX_DEPTH
from scorecard.cli import app
from scorecard.entity import Entity
from scorecard.filters import EntityFilter
from scorecard.problems import ConfigError
from scorecard.program.campaigns import (
    Campaign,
    campaign_files,
    load_campaigns,
    parse_day,
    parse_share,
)
from scorecard.registry import CheckRegistry
from scorecard.tracks import Track, load_tracks

READINESS = """\
apiVersion: scorecard/v1
kind: Track
id: production-readiness
title: Production readiness
filter: {kind: component}
levels:
  - id: bronze
    checks: [has_owner, has_description]
  - id: silver
    checks: [has_lifecycle, has_tags]
  - id: gold
    checks: [has_system]
"""
DOCS = """\
apiVersion: scorecard/v1
kind: Track
id: docs
title: Docs
levels:
  - id: bronze
    checks: [has_description]
"""

# Line by line, so that the cases below can name the line of each key.
GOOD = """\
apiVersion: scorecard/v1
kind: Campaign
id: silver-by-q1
title: Every production service at silver
owner: group:default/platform
goal:
  track: production-readiness
  level: silver
filter: {spec.lifecycle: production}
start: 2027-01-01
deadline: 2027-03-31
milestones:
  2027-02-01: 0.25
  2027-03-01: 50%
"""
# A valid first document (its `---` included), so that the bad one starts further down.
FIRST = """\
apiVersion: scorecard/v1
kind: Campaign
id: docs-everywhere
title: Every entity described
goal: {track: docs, checks: [has_description]}
start: 2027-01-01
deadline: 2027-06-30
---
"""
OFFSET = FIRST.count("\n")


@pytest.fixture
def tracks(tmp_path: Path, registry: CheckRegistry) -> list[Track]:
    folder = tmp_path / "tracks"
    folder.mkdir()
    (folder / "readiness.yaml").write_text(READINESS)
    (folder / "docs.yaml").write_text(DOCS)
    return load_tracks([folder], registry)


@pytest.fixture
def readiness(tracks: list[Track]) -> Track:
    return next(t for t in tracks if t.id == "production-readiness")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems_of(paths: list[Path], tracks: list[Track]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_campaigns(paths, tracks)
    return [str(p) for p in raised.value.problems]


def only_problem(paths: list[Path], tracks: list[Track]) -> str:
    problems = problems_of(paths, tracks)
    assert len(problems) == 1, problems
    return problems[0]


def loaded(tmp_path: Path, tracks: list[Track], text: str) -> Campaign:
    [campaign] = load_campaigns([write(tmp_path, "campaign.yaml", text)], tracks)
    return campaign


# --- a valid file ----------------------------------------------------------------------


def test_a_file_of_two_documents_loads_into_two_campaigns(
    tmp_path: Path, tracks: list[Track]
) -> None:
    second = (
        "apiVersion: scorecard/v1\n"
        "kind: Campaign\n"
        "id: oncall-2027\n"
        "title: Everyone is paged\n"
        "description: >\n"
        "  Every service has an owner\n"
        "  and tags.\n"
        "owner: platform\n"
        "docs: https://wiki.example.com/oncall\n"
        "goal:\n"
        "  track: production-readiness\n"
        "  checks: [has_owner, has_tags]\n"
        "exclude: {spec.type: [library, documentation]}\n"
        "start: 2027-01-01\n"
        "deadline: '2027-12-31'\n"
        "milestones:\n"
        "  2027-09-01: 100%\n"
        "  '2027-03-01': 12.5%\n"
        "  2027-6-1: 0.5\n"
    )
    path = write(tmp_path, "campaigns.yaml", GOOD + "---\n" + second + "---\n")
    first, other = load_campaigns([path], tracks)
    assert first == Campaign(
        id="silver-by-q1",
        title="Every production service at silver",
        description=None,
        owner="group:default/platform",
        docs=None,
        track_id="production-readiness",
        level="silver",
        checks=(),
        start=date(2027, 1, 1),
        deadline=date(2027, 3, 31),
        milestones=((date(2027, 2, 1), 0.25), (date(2027, 3, 1), 0.5)),
        source=str(path),
        line=1,
        filter=EntityFilter.from_config([{"spec.lifecycle": ["production"]}]),
        exclude=None,
    )
    assert other.level is None
    assert other.checks == ("has_owner", "has_tags")
    assert other.owner == "group:default/platform"  # a bare name is a group
    assert other.docs == "https://wiki.example.com/oncall"
    assert other.description == "Every service has an owner and tags.\n"
    assert other.filter is None
    assert other.exclude == EntityFilter.from_config([{"spec.type": ["library", "documentation"]}])
    assert other.deadline == date(2027, 12, 31)  # quoted: text, read as a date all the same
    assert other.milestones == (  # sorted by date, shares as fractions
        (date(2027, 3, 1), 0.125),
        (date(2027, 6, 1), 0.5),
        (date(2027, 9, 1), 1.0),
    )
    assert other.line == GOOD.count("\n") + 2


def test_a_file_of_comments_holds_no_campaign(tmp_path: Path, tracks: list[Track]) -> None:
    path = write(tmp_path, "none.yaml", "# no campaign this quarter\n")
    assert load_campaigns([path], tracks) == []


def test_folders_are_searched_recursively_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "campaigns"
    b = write(folder, "b.yaml", "")
    a = write(folder, "team/a.yml", "")
    write(folder, "notes.md", "")
    write(folder, ".git/config.yaml", "")
    single = write(tmp_path, "other.txt", "")
    assert campaign_files([single, folder]) == [single, b, a]


# --- each problem, where it is ---------------------------------------------------------


def replace(line: str, new: str | None) -> str:
    """GOOD with the line starting `line` replaced by `new` (or removed)."""
    lines = GOOD.splitlines(keepends=True)
    index = next(i for i, text in enumerate(lines) if text.startswith(line))
    lines[index : index + 1] = [] if new is None else [new + "\n"]
    return "".join(lines)


@pytest.mark.parametrize(
    ("body", "line", "column", "key", "message"),
    [
        pytest.param(GOOD + "colour: red\n", 15, 1, "colour", "unknown key 'colour'", id="key"),
        pytest.param(
            GOOD + "descripton: Silver.\n",
            15,
            1,
            "descripton",
            "unknown key 'descripton' (did you mean 'description'?)",
            id="misspelt-key",
        ),
        pytest.param(
            replace("  level:", "  level: silver\n  team: sre"),
            9,
            3,
            "goal.team",
            "unknown key 'team'",
            id="unknown-goal-key",
        ),
        pytest.param(
            replace("title:", None), 1, 1, "title", "required key is missing", id="missing-title"
        ),
        pytest.param(
            replace("deadline:", None),
            1,
            1,
            "deadline",
            "required key is missing",
            id="missing-deadline",
        ),
        pytest.param(
            replace("kind:", "kind: Track"),
            2,
            1,
            "kind",
            "Input should be 'Campaign'",
            id="wrong-kind",
        ),
        pytest.param(
            replace("apiVersion:", "apiVersion: scorecard/v2"),
            1,
            1,
            "apiVersion",
            "Input should be 'scorecard/v1'",
            id="wrong-api-version",
        ),
        pytest.param(
            replace("id:", "id: Silver_Q1"),
            3,
            1,
            "id",
            "campaign id 'Silver_Q1' must be lower-case letters, digits and '-'",
            id="bad-id",
        ),
        pytest.param(
            replace("id:", "id: -silver"), 3, 1, "id", "campaign id '-silver'", id="id-with-dash"
        ),
        pytest.param(
            replace("  track:", "  track: production-readines"),
            7,
            3,
            "goal.track",
            "unknown track 'production-readines' (did you mean 'production-readiness'? "
            "known tracks: docs, production-readiness)",
            id="unknown-track",
        ),
        pytest.param(
            replace("  level:", "  level: platinum"),
            8,
            3,
            "goal.level",
            "track 'production-readiness' has no level 'platinum' (its levels: bronze, "
            "silver, gold)",
            id="unknown-level",
        ),
        pytest.param(
            replace("  level:", "  level: silvr"),
            8,
            3,
            "goal.level",
            "(did you mean 'silver'? its levels: bronze, silver, gold)",
            id="misspelt-level",
        ),
        pytest.param(
            replace("  level:", "  checks: [has_owner, has_runbook]"),
            8,
            23,
            "goal.checks[1]",
            "track 'production-readiness' has no check 'has_runbook' (its checks: has_owner, "
            "has_description, has_lifecycle, has_tags, has_system)",
            id="unknown-check",
        ),
        pytest.param(
            replace("  level:", "  checks: [has_tags, has_tags]"),
            8,
            22,
            "goal.checks[1]",
            "check 'has_tags' is listed twice",
            id="check-twice",
        ),
        pytest.param(
            replace("  level:", "  checks: []"),
            8,
            3,
            "goal.checks",
            "at least 1 item",
            id="no-checks",
        ),
        pytest.param(
            replace("  level:", "  level: silver\n  checks: [has_owner]"),
            6,
            1,
            "goal",
            "give exactly one of `level` and `checks`, not both",
            id="level-and-checks",
        ),
        pytest.param(
            replace("  level:", None),
            6,
            1,
            "goal",
            "give exactly one of `level` and `checks`: the level every entity must reach",
            id="neither-level-nor-checks",
        ),
        pytest.param(
            replace("filter:", "filter: {spec.lifecycle: [production, {x: 1}]}"),
            9,
            39,
            "filter[0].spec.lifecycle[1]",
            "valid string",
            id="bad-filter-value",
        ),
        pytest.param(
            replace("filter:", "filter: []"),
            9,
            1,
            "filter",
            "at least 1 item",
            id="empty-filter",
        ),
        pytest.param(
            replace("filter:", "exclude: nothing"),
            9,
            1,
            "exclude",
            "valid list",
            id="bad-exclude",
        ),
        pytest.param(
            replace("deadline:", "deadline: 2027-01-01"),
            11,
            1,
            "deadline",
            "the deadline 2027-01-01 is not after the start 2027-01-01",
            id="deadline-at-start",
        ),
        pytest.param(
            replace("deadline:", "deadline: 2026-12-31"),
            11,
            1,
            "deadline",
            "the deadline 2026-12-31 is not after the start 2027-01-01",
            id="deadline-before-start",
        ),
        pytest.param(
            replace("start:", "start: next year"),
            10,
            1,
            "start",
            "'next year' is not a date such as 2027-03-31",
            id="start-not-a-date",
        ),
        pytest.param(
            replace("start:", "start: 2027-01-01T09:00:00Z"),
            10,
            1,
            "start",
            "has a time; write a date such as 2027-03-31",
            id="start-with-a-time",
        ),
        pytest.param(
            replace("start:", "start: 20270101"),
            10,
            1,
            "start",
            "expected a date such as 2027-03-31, not int",
            id="start-a-number",
        ),
        pytest.param(
            replace("deadline:", "deadline: 2027-02-30"),
            11,
            11,
            "deadline",
            "invalid value: day is out of range for month",
            id="no-such-day",
        ),
        pytest.param(
            replace("  2027-03-01:", "  2027-04-01: 50%"),
            14,
            3,
            "milestones.2027-04-01",
            "the milestone 2027-04-01 is outside the campaign, from its start 2027-01-01 to "
            "its deadline 2027-03-31",
            id="milestone-after-deadline",
        ),
        pytest.param(
            replace("  2027-02-01:", "  2026-12-01: 0.25"),
            13,
            3,
            "milestones.2026-12-01",
            "the milestone 2026-12-01 is outside the campaign",
            id="milestone-before-start",
        ),
        pytest.param(
            replace("  2027-02-01:", "  soon: 0.25"),
            13,
            3,
            "milestones.soon",
            "'soon' is not a date such as 2027-03-31",
            id="milestone-not-a-date",
        ),
        pytest.param(
            replace("  2027-02-01:", "  '2027-02-30': 0.25"),
            13,
            3,
            "milestones.2027-02-30",
            "'2027-02-30' is not a date: day is out of range for month",
            id="milestone-no-such-day",
        ),
        pytest.param(
            replace("  2027-02-01:", "  2027-2-1: 0.25\n  2027-02-01: 0.25"),
            14,
            3,
            "milestones.2027-02-01",
            "the milestone 2027-02-01 is the same day as 2027-2-1",
            id="milestones-on-one-day",
        ),
        pytest.param(
            replace("  2027-02-01:", "  2027-02-01: 1.5"),
            13,
            3,
            "milestones.2027-02-01",
            "the share 1.5 is not more than 0 and at most 1: write a fraction such as 0.5 or "
            "a percentage such as 50%",
            id="share-above-one",
        ),
        pytest.param(
            replace("  2027-02-01:", "  2027-02-01: 25"),
            13,
            3,
            "milestones.2027-02-01",
            "the share 25 is not more than 0 and at most 1",
            id="share-as-a-number-of-percent",
        ),
        pytest.param(
            replace("  2027-02-01:", "  2027-02-01: 0"),
            13,
            3,
            "milestones.2027-02-01",
            "the share 0 is not more than 0 and at most 1",
            id="share-zero",
        ),
        pytest.param(
            replace("  2027-03-01:", "  2027-03-01: 150%"),
            14,
            3,
            "milestones.2027-03-01",
            "the share 150% is not more than 0 and at most 1",
            id="share-above-100-percent",
        ),
        pytest.param(
            replace("  2027-03-01:", "  2027-03-01: half"),
            14,
            3,
            "milestones.2027-03-01",
            "'half' is not a share: write a fraction (0.5) or a percentage (50%)",
            id="share-not-a-number",
        ),
        pytest.param(
            replace("  2027-03-01:", "  2027-03-01: 10%"),
            14,
            3,
            "milestones.2027-03-01",
            "the share 10% is less than the 25% asked for by the earlier milestone 2027-02-01",
            id="share-going-down",
        ),
        pytest.param(
            replace("owner:", "owner: group:default/plat form"),
            5,
            1,
            "owner",
            "'plat form' is not a valid name",
            id="bad-owner",
        ),
        pytest.param(
            replace("owner:", "docs: wiki/q1"),
            5,
            1,
            "docs",
            "'wiki/q1' is not an http(s) URL",
            id="bad-docs",
        ),
        pytest.param(
            GOOD + "start: 2027-01-02\n",
            15,
            1,
            "start",
            "duplicate key",
            id="duplicate-key",
        ),
    ],
)
def test_each_problem_names_file_line_column_and_key(
    tmp_path: Path,
    tracks: list[Track],
    body: str,
    line: int,
    column: int,
    key: str,
    message: str,
) -> None:
    # The bad document comes second: lines count from the top of the file.
    path = write(tmp_path, "campaigns.yaml", FIRST + body)
    problem = only_problem([path], tracks)
    assert problem.startswith(f"{path}:{OFFSET + line}:{column}: {key}: "), problem
    assert message in problem


def test_every_problem_of_every_file_is_reported(tmp_path: Path, tracks: list[Track]) -> None:
    one = write(
        tmp_path,
        "one.yaml",
        replace("  level:", "  level: platinum").replace("2027-03-31", "2026-01-01") + "extra: 1\n",
    )
    two = write(tmp_path, "two.yaml", replace("kind:", "kind: Track"))
    problems = problems_of([one, two, tmp_path / "missing"], tracks)
    assert [p.split(": ")[1] for p in problems] == [
        "goal.level",
        "deadline",
        "extra",
        "kind",
        "no such file or folder",
    ]
    assert problems[0].startswith(f"{one}:8:3: ")
    assert problems[3].startswith(f"{two}:2:1: ")
    assert problems[4] == f"{tmp_path / 'missing'}: no such file or folder"


def test_an_id_is_unique_across_files(tmp_path: Path, tracks: list[Track]) -> None:
    first = write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "team/b.yaml", FIRST + GOOD.replace("title: Every", "title: All"))
    problem = only_problem([first, second], tracks)
    assert problem == (
        f"{second}:{OFFSET + 3}:1: id: duplicate campaign id 'silver-by-q1': already defined "
        f"at {first}:1"
    )


def test_broken_yaml_is_reported_with_its_position(tmp_path: Path, tracks: list[Track]) -> None:
    path = write(tmp_path, "a.yaml", FIRST + "goal: [production-readiness\n")
    problem = only_problem([path], tracks)
    assert problem.startswith(f"{path}:{OFFSET + 2}:1: invalid YAML: "), problem


def test_a_document_that_is_no_mapping_is_refused(tmp_path: Path, tracks: list[Track]) -> None:
    path = write(tmp_path, "a.yaml", FIRST + "- just\n- a list\n")
    assert (
        only_problem([path], tracks) == f"{path}:{OFFSET + 1}:1: a campaign must be a YAML mapping"
    )


def test_a_campaign_needs_loaded_tracks(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", GOOD)
    assert only_problem([path], []) == (
        f"{path}:7:3: goal.track: unknown track 'production-readiness' (there are no known tracks)"
    )


# --- hostile input, refused as in track files -------------------------------------------


def test_an_alias_bomb_is_refused_and_the_next_document_read(
    tmp_path: Path, tracks: list[Track]
) -> None:
    bomb = 'a: &a ["xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx"]\n'
    for level in range(1, 12):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        bomb += f"{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous}]\n"
    body = GOOD + "notes:\n" + "".join("  " + line + "\n" for line in bomb.splitlines())
    path = write(tmp_path, "bomb.yaml", body + "---\n" + FIRST.removesuffix("---\n"))
    problem = only_problem([path], tracks)
    assert problem.startswith(f"{path}:"), problem
    assert "with its aliases expanded it would be about" in problem
    assert "over the limit of" in problem
    # The bomb is refused as a whole; FIRST, after it, is still read and checked.
    path.write_text(body + "---\n" + FIRST.replace("docs,", "doc,").removesuffix("---\n"))
    assert len(problems_of([path], tracks)) == 2


def test_a_document_nested_too_deep_is_refused(tmp_path: Path, tracks: list[Track]) -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    path = write(tmp_path, "deep.yaml", FIRST + GOOD + f"notes: {deep}\n")
    problem = only_problem([path], tracks)
    assert problem.startswith(f"{path}:{OFFSET + 15}:"), problem
    assert problem.endswith(f"nested more than {MAX_DEPTH} levels deep")


def test_a_document_too_deep_to_parse_is_refused(tmp_path: Path, tracks: list[Track]) -> None:
    path = write(tmp_path, "deep.yaml", GOOD + "notes: " + "[" * 100_000 + "\n")
    assert only_problem([path], tracks) == f"{path}: invalid YAML: nested too deeply to parse"


# --- scope and goal -----------------------------------------------------------------------


def entity(kind: str = "Component", **spec: Any) -> Entity:
    return Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": kind,
            "metadata": {"name": "payments"},
            "spec": {"type": "service", "lifecycle": "production", **spec},
        }
    )


def test_a_campaign_narrows_its_tracks_scope(
    tmp_path: Path, tracks: list[Track], readiness: Track
) -> None:
    campaign = loaded(tmp_path, tracks, GOOD + "exclude: {spec.type: library}\n")
    assert campaign.applies_to(entity(), readiness)
    assert campaign.applies_to(entity(lifecycle="Production"), readiness)  # as tracks match
    assert not campaign.applies_to(entity(lifecycle="experimental"), readiness)  # its filter
    assert not campaign.applies_to(entity(type="library"), readiness)  # its exclude
    assert not campaign.applies_to(entity("API"), readiness)  # the track's own filter
    unfiltered = loaded(tmp_path, tracks, replace("filter:", None))
    assert unfiltered.applies_to(entity(lifecycle="experimental"), readiness)
    assert not unfiltered.applies_to(entity("API"), readiness)


def test_a_campaign_is_measured_on_its_own_track(
    tmp_path: Path, tracks: list[Track], readiness: Track
) -> None:
    campaign = loaded(tmp_path, tracks, GOOD)
    docs = next(t for t in tracks if t.id == "docs")
    with pytest.raises(ValueError, match="on track 'production-readiness', not 'docs'"):
        campaign.applies_to(entity(), docs)
    with pytest.raises(ValueError, match="not 'docs'"):
        campaign.at_goal("silver", docs.layout, "p", (), docs)


def test_a_level_goal_is_met_at_the_level_or_above(
    tmp_path: Path, tracks: list[Track], readiness: Track
) -> None:
    campaign = loaded(tmp_path, tracks, GOOD)
    layout, failing = readiness.layout, "f" * len(readiness.layout)
    # The certified level alone decides (it already counts exemptions).
    assert campaign.at_goal("silver", layout, failing, (), readiness)
    assert campaign.at_goal("gold", layout, failing, (), readiness)
    assert not campaign.at_goal("bronze", layout, "ppppp", (), readiness)
    assert not campaign.at_goal(None, layout, "ppppp", (), readiness)
    assert not campaign.at_goal("platinum", layout, "ppppp", (), readiness)


@pytest.mark.parametrize(
    ("codes", "waived", "expected"),
    [
        # has_owner, has_description, has_lifecycle, has_tags, has_system
        ("pfffp", (), False),
        ("pffpf", (), True),
        ("nffpf", (), True),  # not applicable counts as met
        ("pfffe", (), False),
        ("pfffe", ("has_tags",), True),  # a waived check counts as passing
        ("ffffe", ("has_tags", "has_owner"), True),
        ("uffpf", (), False),  # unknown is never a pass
        ("effpf", (), False),  # nor is an error
        ("wffpf", (), False),  # nor a failure of an optional check
        ("p", (), False),  # no outcome for has_tags
    ],
)
def test_a_checks_goal_needs_every_goal_check(
    tmp_path: Path,
    tracks: list[Track],
    readiness: Track,
    codes: str,
    waived: tuple[str, ...],
    expected: bool,
) -> None:
    campaign = loaded(tmp_path, tracks, replace("  level:", "  checks: [has_owner, has_tags]"))
    assert campaign.level is None and campaign.checks == ("has_owner", "has_tags")
    assert campaign.at_goal("gold", readiness.layout, codes, waived, readiness) is expected


def test_a_checks_goal_on_a_check_the_track_no_longer_has(
    tmp_path: Path, tracks: list[Track], readiness: Track
) -> None:
    campaign = loaded(tmp_path, tracks, replace("  level:", "  checks: [has_owner]"))
    layout = [head for head in readiness.layout if head[0] != "has_owner"]
    assert not campaign.at_goal("gold", layout, "pppp", (), readiness)


# --- pace -------------------------------------------------------------------------------


def test_the_milestones_set_the_expected_share(tmp_path: Path, tracks: list[Track]) -> None:
    campaign = loaded(tmp_path, tracks, GOOD)
    assert campaign.expected_share(date(2026, 12, 1)) is None
    assert campaign.expected_share(date(2027, 1, 31)) is None  # before the first milestone
    assert campaign.expected_share(date(2027, 2, 1)) == 0.25
    assert campaign.expected_share(date(2027, 2, 28)) == 0.25
    assert campaign.expected_share(date(2027, 3, 1)) == 0.5
    assert campaign.expected_share(date(2027, 6, 1)) == 0.5
    without = loaded(tmp_path, tracks, GOOD.split("milestones:")[0])
    assert without.milestones == ()
    assert without.expected_share(date(2027, 3, 31)) is None


def test_the_straight_line_goes_from_nothing_at_the_start_to_all_at_the_deadline(
    tmp_path: Path, tracks: list[Track]
) -> None:
    campaign = loaded(tmp_path, tracks, GOOD)  # 2027-01-01 to 2027-03-31: 89 days
    assert campaign.straight_line_share(date(2026, 6, 1)) == 0.0
    assert campaign.straight_line_share(date(2027, 1, 1)) == 0.0
    assert campaign.straight_line_share(date(2027, 2, 14)) == pytest.approx(44 / 89)
    assert campaign.straight_line_share(date(2027, 3, 31)) == 1.0
    assert campaign.straight_line_share(date(2028, 1, 1)) == 1.0


# --- the values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.25, 0.25), (1, 1.0), ("50%", 0.5), (" 12.5 % ", 0.125), ("100%", 1.0), (".5%", 0.005)],
)
def test_parse_share(value: Any, expected: float) -> None:
    assert parse_share(value) == expected


@pytest.mark.parametrize(
    "value", [0, -0.5, 1.01, "0%", "101%", "1/2", "50", True, None, float("nan")]
)
def test_parse_share_refuses(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_share(value)


def test_parse_day() -> None:
    assert parse_day(date(2027, 3, 31)) == date(2027, 3, 31)
    assert parse_day(" 2027-3-1 ") == date(2027, 3, 1)
    for bad in (datetime(2027, 3, 31), "2027-02-30", "31/03/2027", 20270331, None):
        with pytest.raises(ValueError):
            parse_day(bad)


# --- scorecard validate ------------------------------------------------------------------


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Commands look for ./scorecard.yaml; run them from elsewhere, with --config.
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "workspace"
    write(root, "tracks/readiness.yaml", READINESS)
    write(root, "catalog/catalog-info.yaml", "")
    write(
        root, "scorecard.yaml", "catalog: [catalog/]\ntracks: [tracks/]\ncampaigns: [campaigns/]\n"
    )
    return root


def test_validate_accepts_good_campaign_files(workspace: Path) -> None:
    write(workspace, "campaigns/q1/silver.yaml", GOOD)
    result = invoke("--config", workspace / "scorecard.yaml", "validate")
    assert result.exit_code == 0, result.output
    assert "1 track files and 1 campaign files are valid." in result.stderr


def test_validate_reports_bad_campaign_files(workspace: Path) -> None:
    path = write(workspace, "campaigns/a.yaml", replace("  level:", "  level: platinum"))
    result = invoke("--config", workspace / "scorecard.yaml", "validate")
    assert result.exit_code == 2, result.output
    assert (
        f"{path}:8:3: goal.level: track 'production-readiness' has no level 'platinum'"
        in result.stdout
    )
    assert "1 problem in 1 track files and 1 campaign files." in result.stderr


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda text: text.replace("title:", "team: sre\ntitle:"), ":4:1: team: unknown key"),
        (lambda text: text.replace("deadline: 2027-03-31", "deadline: 2026-03-31"), ":11:1:"),
        (lambda text: text.replace("50%", "500%"), ":14:3: milestones.2027-03-01: the share"),
        (lambda text: text.replace("  track: production-readiness", "  track: docs"), ":7:3:"),
    ],
    ids=["unknown key", "deadline before start", "share", "unknown track"],
)
def test_validate_names_file_line_column_and_key(workspace: Path, change: Any, where: str) -> None:
    path = write(workspace, "campaigns/a.yaml", change(GOOD))
    result = invoke("--config", workspace / "scorecard.yaml", "validate")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(path))]
    assert lines and where in lines[0], result.stdout


def test_validate_reports_a_missing_campaign_folder(workspace: Path) -> None:
    result = invoke("--config", workspace / "scorecard.yaml", "validate")
    assert result.exit_code == 2, result.output
    assert f"{workspace / 'campaigns'}: no such file or folder" in result.stdout


def test_validate_counts_exemption_and_campaign_files(workspace: Path) -> None:
    write(
        workspace,
        "scorecard.yaml",
        "catalog: [catalog/]\ntracks: [tracks/]\ncampaigns: [campaigns/]\n"
        "exemptions:\n  files: [exemptions/]\n",
    )
    far = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    write(
        workspace,
        "exemptions/a.yaml",
        "apiVersion: scorecard/v1\nkind: Exemption\nentity: component:payments\n"
        "check: has_tags\njustification: Tags arrive with the catalog migration.\n"
        f"expires: {far}\n",
    )
    write(workspace, "campaigns/a.yaml", GOOD)
    write(workspace, "campaigns/b.yaml", GOOD.replace("silver-by-q1", "silver-by-q2"))
    result = invoke("--config", workspace / "scorecard.yaml", "validate")
    assert result.exit_code == 0, result.output
    assert "1 track files, 1 exemption files and 2 campaign files are valid." in result.stderr
