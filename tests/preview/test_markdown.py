"""The Markdown a pull-request comment gets: its exact text on a workspace whose every
outcome is known, bounded for large catalogs, and safe whatever a check's message says."""

from __future__ import annotations

import re
from pathlib import Path

from tests.preview.conftest import DOCS_TRACK, DOCS_TRACK_CHANGED, invoke

EXPECTED = """\
## scorecard preview

Compared with the workspace's tracks · 5 entities · evaluated in <t>

### Documentation (`docs`)

2 entities lose a level, 1 entity gains one.

| level | now | after | change |
| --- | ---: | ---: | ---: |
| none | 1 | 2 | +1 |
| bronze | 1 | 1 | 0 |
| silver | 2 | 0 | -2 |
| gold | 0 | 1 | +1 |

<details><summary>2 entities lose a level</summary>

- `component:default/beta`: silver → bronze
  - `has_tags` (silver) fail: component:default/beta has 0 tags; at least 1 required. \
— moved from gold to silver
- `component:default/gamma`: bronze → no level
  - `has_description` (bronze) fail: component:default/gamma has no description. \
— moved from silver to bronze

</details>

<details><summary>1 entity gains a level</summary>

- `component:default/alpha`: silver → gold
  - `has_links` (gold) warn: component:default/alpha has 0 links; at least 1 required. \
— no longer required

</details>

**Checks failing most**

| check | level | failing now | failing after |
| --- | --- | ---: | ---: |
| `has_links` (optional) | gold | 3 | 3 |
| `has_tags` | silver | 2 | 2 |
| `has_owner` | bronze | 1 | 1 |
| `has_description` | bronze | 1 | 1 |
"""


def _timeless(markdown: str) -> str:
    return re.sub(r"evaluated in \d+\.\d\ds", "evaluated in <t>", markdown)


def test_the_markdown_of_a_change_is_exactly_this(small_workspace: Path, tmp_path: Path) -> None:
    changed = tmp_path / "docs.yaml"
    changed.write_text(DOCS_TRACK_CHANGED)

    result = invoke("--config", small_workspace, "preview", changed, "--format", "markdown")

    assert result.exit_code == 0, result.output
    assert _timeless(result.stdout) == EXPECTED
    # Nothing was stored: the workspace's database was not even created.
    assert not (small_workspace.parent / "scorecard.db").exists()


def test_a_large_change_lists_the_first_entities_then_how_many_more(tmp_path: Path) -> None:
    # 60 components with an owner and no description: bronze now, no level once the
    # description is required for bronze.
    catalog = "---\n".join(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        f"metadata: {{name: service-{n:02d}}}\n"
        "spec: {type: service, lifecycle: production, owner: group:default/team}\n"
        for n in range(60)
    )
    (tmp_path / "catalog-info.yaml").write_text(catalog)
    (tmp_path / "tracks").mkdir()
    (tmp_path / "tracks" / "docs.yaml").write_text(DOCS_TRACK)
    (tmp_path / "scorecard.yaml").write_text("catalog: [catalog-info.yaml]\ntracks: [tracks/]\n")
    changed = tmp_path / "docs-changed.yaml"
    changed.write_text(DOCS_TRACK_CHANGED)

    result = invoke("--config", tmp_path / "scorecard.yaml", "preview", changed, "-f", "markdown")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    listed = [line for line in lines if line.startswith("- `component:default/service-")]
    assert listed == [
        f"- `component:default/service-{n:02d}`: bronze → no level" for n in range(50)
    ]
    assert "- … and 10 more" in lines
    assert "<details><summary>60 entities lose a level</summary>" in lines
    assert "| bronze | 60 | 0 | -60 |" in lines

    # The text output is bounded the same way, and --limit changes the bound.
    text = invoke("--config", tmp_path / "scorecard.yaml", "preview", changed, "--limit", "5")
    assert text.exit_code == 0, text.output
    assert text.stdout.count("has_description (bronze) fail") == 5
    assert "… and 55 more (--format json lists them all)." in text.stdout


HTML_CHECK = '''
from scorecard import Result, check


@check(id="says_html", title="Says something odd", remediation="Nothing to do.")
def says_html(entity):
    """Fails with a message that holds HTML and a table cell's end."""
    return Result.failed("</details><b>bold</b> | cell\\nsecond line")
'''


def test_a_message_cannot_break_the_comment(small_workspace: Path, tmp_path: Path) -> None:
    checks = tmp_path / "more-checks"
    checks.mkdir()
    (checks / "odd.py").write_text(HTML_CHECK)
    changed = tmp_path / "docs.yaml"
    changed.write_text(DOCS_TRACK.replace("checks: [has_owner]", "checks: [has_owner, says_html]"))

    result = invoke(
        "--config", small_workspace, "preview", changed, "--checks", checks, "-f", "markdown"
    )

    assert result.exit_code == 0, result.output
    assert (
        "  - `says_html` (bronze) fail: &lt;/details&gt;&lt;b&gt;bold&lt;/b&gt; \\| cell "
        "second line — new check"
    ) in result.stdout.splitlines()
    assert result.stdout.count("</details>") == result.stdout.count("<details>")


def test_a_draft_says_so(small_workspace: Path, tmp_path: Path) -> None:
    draft = tmp_path / "docs.yaml"
    draft.write_text(DOCS_TRACK_CHANGED.replace("filter:", "draft: true\nfilter:"))

    markdown = invoke("--config", small_workspace, "preview", draft, "-f", "markdown").stdout
    text = invoke("--config", small_workspace, "preview", draft).stdout

    assert "### Documentation (`docs`, a draft)" in markdown.splitlines()
    assert "docs — Documentation (a draft)" in text
