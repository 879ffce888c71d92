"""What the pages say and count, read from the HTML a served workspace renders: a track's
own words for its checks, each fix once, owners by their catalog title, counts that agree
with `scorecard run`'s, plurals, and no Python `None`. The workspace is
tests/pages/markdown_site.py; no browser is needed."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import httpx
import pytest

from api.pages.present import count
from tests.pages.markdown_site import write_workspace
from tests.serving import ServedApp

GENERIC_TITLE = "Has tags"  # has_tags's own title, which the tracks' entry `tagged` replaces
GENERIC_DESCRIPTION = "so it can be found by language"
GENERIC_REMEDIATION = "lowercase letters, digits and dashes"
OWN_TITLE = "Tagged for search"


class Site:
    def __init__(self, url: str, root: Path) -> None:
        self.url = url
        self.root = root

    def page(self, path: str) -> str:
        response = httpx.get(f"{self.url}{path}", timeout=10)
        assert response.status_code == 200, response.text
        return response.text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("wording")
    with ServedApp(write_workspace(root)) as served:
        yield Site(served.url, root)


def text_of(html: str) -> str:
    """The words of a page (or part of one), tags dropped and spaces folded."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def section(html: str, heading: str) -> str:
    start = html.index(heading)
    end = html.find("<section", start + 1)
    return html[start : end if end != -1 else len(html)]


# --- a track's own words for a check ---------------------------------------------------


def test_the_track_page_shows_the_entrys_own_title_and_description(site: Site) -> None:
    row = re.search(r'<tr id="check-bronze-tagged">.*?</tr>', site.page("/tracks/handbook"), re.S)
    assert row is not None
    words = text_of(row.group(0))
    assert OWN_TITLE in words and "Tags let people find the entity by language" in words
    assert "Add tags in metadata.tags" in words
    for generic in (GENERIC_TITLE, GENERIC_DESCRIPTION, GENERIC_REMEDIATION):
        assert generic not in words


@pytest.mark.parametrize(
    ("path", "part"),
    [
        ("/catalog/component/default/till", 'id="track-handbook"'),
        ("/owners/group:default/bravo", "What would move the most entities up a level"),
        ("/", "Checks failing most often"),
    ],
    ids=["entity", "owner", "overview"],
)
def test_every_page_names_the_configured_check_by_the_tracks_title(
    site: Site, path: str, part: str
) -> None:
    words = text_of(section(site.page(path), part))
    assert OWN_TITLE in words
    assert GENERIC_TITLE not in words


# --- each fix once -----------------------------------------------------------------------


def test_the_entity_page_writes_a_fix_once_and_links_to_it_elsewhere(site: Site) -> None:
    html = site.page("/catalog/component/default/till")
    # `tagged` fails on two tracks, each listing it under "To reach bronze" and in its
    # level's table: four places, one text.
    assert html.count("the tagging guide") == 1
    shown = re.findall(r'<div class="remedy md" id="(fix-[^"]+)">', html)
    assert "fix-handbook-tagged" in shown
    assert len(re.findall(r'<a class="see-fix" href="#fix-handbook-tagged">', html)) == 3
    # has_description passes and has_title is not the next level's: no fix for them.
    assert "Give the entity a human-readable" in html  # has_title fails (silver) ...
    assert html.count("Give the entity a human-readable") == 1  # ... and is written once


# --- owners ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "title"),
    [
        ("group:default/alpha", "Team Alpha"),  # metadata.title
        ("group:default/bravo", "Team Bravo"),  # spec.profile.displayName
        ("group:default/charlie", "group:default/charlie"),  # not in the catalog: its ref
    ],
)
def test_the_owner_page_is_titled_as_the_catalog_titles_the_owner(
    site: Site, owner: str, title: str
) -> None:
    html = site.page(f"/owners/{owner}")
    assert f"<h1>{title}</h1>" in html
    assert f"<title>{title} · scorecard</title>" in html
    assert f"<code>{owner}</code>" in html


def test_the_owner_pages_columns_say_what_they_count(site: Site) -> None:
    html = site.page("/owners/group:default/bravo")
    headers = [text_of(h) for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', html, re.S)]
    for header in (
        "This owner's entities at each level",
        "Check to fix, and how",
        "Level it holds back",
        "Entities it alone holds back",
        "Entities it holds back",
        "Level on Handbook",
        "Level on Second look",
    ):
        assert header in headers, headers
    for vague in ("Fix", "For level", "Moves up alone", "Holds back", "Handbook"):
        assert vague not in headers


# --- counts -----------------------------------------------------------------------------


def test_the_overview_counts_as_scorecard_run_does(site: Site, tmp_path: Path) -> None:
    stats = text_of(section(site.page("/"), '<section class="stats">'))
    # Three components have a track; the catalog also has two groups and a user.
    assert "3 entities with a track · of 6 in the catalog" in stats
    # 3 components × (3 checks of handbook + 1 of second-look), none "not applicable".
    assert "of 12 check results pass" in stats and "12 results · 0 errors" in stats

    # `scorecard run` over the same files, into a database of its own, says the same.
    workspace = write_workspace(tmp_path / "cli")
    config = tmp_path / "cli" / "scorecard.yaml"
    config.write_text(
        f"catalog: [{workspace.catalog[0]}]\ntracks: [{workspace.tracks[0]}]\n"
        f"database: {workspace.database}\n"
    )
    # In a process of its own: the browser tests of this folder keep an event loop running
    # in this one, and a run needs its own.
    result = subprocess.run(
        [sys.executable, "-m", "scorecard", "--config", str(config), "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "3 entities with a track (of 6 catalog entities read), 12 results (" in result.stdout, (
        result.stdout
    )
    assert "; 12 results new or changed." in result.stdout


@pytest.mark.parametrize(
    ("number", "noun", "plural", "words"),
    [
        (0, "result", None, "0 results"),
        (1, "result", None, "1 result"),
        (2, "check result", None, "2 check results"),
        (1204, "result", None, "1,204 results"),
        (1, "entity", None, "1 entity"),
        (3, "entity", None, "3 entities"),
        (2, "day", None, "2 days"),
        (2, "person", "people", "2 people"),
    ],
)
def test_numbers_take_their_nouns_in_the_right_form(
    number: int, noun: str, plural: str | None, words: str
) -> None:
    assert count(number, noun, plural) == words


def test_no_page_says_none_as_python_would(site: Site) -> None:
    for path in (
        "/",
        "/tracks/handbook",
        "/tracks/second-look",
        "/catalog/component/default/shop",
        "/catalog/component/default/till",
        "/owners/group:default/alpha",
        "/owners/group:default/charlie",
    ):
        assert not re.search(r"\bNone\b", text_of(site.page(path))), path


def test_badges_are_drawn_with_rounded_lengths(site: Site) -> None:
    response = httpx.get(f"{site.url}/badges/component/default/shop/handbook.svg", timeout=10)
    assert response.status_code == 200
    lengths = re.findall(r'\b(?:width|height|x|y|textLength)="([^"%]+)"', response.text)
    assert lengths
    for value in lengths:
        assert re.fullmatch(r"-?\d+(\.\d)?", value), value
