"""Remediation and descriptions as Markdown on the pages: code spans in monospace, links
that work, fenced YAML as code blocks, and nothing a track or catalog entity writes runs
as script or becomes markup. The filter alone first, then Chromium on a served workspace
whose texts try to (tests/pages/markdown_site.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from markupsafe import Markup
from playwright.sync_api import Dialog, Page, expect

from api.pages.markdown import LINK_REL, render_markdown, safe_href
from api.pages.templating import templates
from tests.pages.markdown_site import write_workspace
from tests.serving import ServedApp

# --- the filter -----------------------------------------------------------------------


def test_code_spans_links_and_fenced_yaml_become_their_elements() -> None:
    html = render_markdown(
        "Set `spec.owner`, as [the guide](https://guide.example.com/owners) says:\n\n"
        "```yaml\nspec:\n  owner: group:default/team\n```\n"
    )
    assert "<code>spec.owner</code>" in html
    assert f'<a href="https://guide.example.com/owners" rel="{LINK_REL}">the guide</a>' in html
    assert (
        '<pre><code class="language-yaml">spec:\n  owner: group:default/team\n</code></pre>' in html
    )
    # An indented block, as the built-in checks write their snippets, is code too.
    assert "<pre><code>metadata:\n  title: Payments\n</code></pre>" in render_markdown(
        "Give it a title:\n\n    metadata:\n      title: Payments\n"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        (
            '<img src="x" onerror="alert(1)">',
            "&lt;img src=&quot;x&quot; onerror=&quot;alert(1)&quot;&gt;",
        ),
        (
            "a <b onclick='alert(1)'>bold</b> word",
            "a &lt;b onclick='alert(1)'&gt;bold&lt;/b&gt; word",
        ),
        ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
        ("[x](JavaScript:alert(1))", "[x](JavaScript:alert(1))"),
        ("[x](vbscript:msgbox(1))", "[x](vbscript:msgbox(1))"),
        ("[x](data:text/html,<b>hi</b>)", "[x](data:text/html,&lt;b&gt;hi&lt;/b&gt;)"),
        ("[x](file:///etc/passwd)", "[x](file:///etc/passwd)"),
        ("<javascript:alert(1)>", "&lt;javascript:alert(1)&gt;"),
    ],
    ids=[
        "script",
        "img-onerror",
        "inline-html",
        "javascript",
        "javascript-case",
        "vbscript",
        "data",
        "file",
        "autolink",
    ],
)
def test_raw_html_and_unsafe_links_stay_text(text: str, shown: str) -> None:
    html = render_markdown(text)
    assert html == f"<p>{shown}</p>\n"
    assert "<a" not in html and "<script" not in html and "<img" not in html


def test_images_and_headings_are_not_made() -> None:
    # A picture would be fetched from wherever it points; a heading would break the page's
    # outline. Both stay readable.
    image = render_markdown("![diagram](https://cdn.example.com/d.png)")
    assert "<img" not in image and "diagram" in image
    assert "<h1>" not in render_markdown("# Title") and "# Title" in render_markdown("# Title")


def test_empty_text_is_nothing_and_the_same_text_is_rendered_once() -> None:
    assert render_markdown(None) == "" and render_markdown("  \n") == ""
    text = "Add `docs/runbook.md` to the repository."
    first = render_markdown(text)
    assert isinstance(first, Markup)
    assert render_markdown(text) is first  # kept: the same fix is on many rows


def test_the_pages_have_it_as_the_markdown_filter_under_autoescape() -> None:
    page = templates.env.from_string("{{ title }}: {{ fix | markdown }}")
    html = page.render(title="<b>Fix</b>", fix="Run `make` <script>x()</script>")
    assert (
        html
        == "&lt;b&gt;Fix&lt;/b&gt;: <p>Run <code>make</code> &lt;script&gt;x()&lt;/script&gt;</p>\n"
    )


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://docs.example.com/checks#owner", True),
        ("/docs/owners", True),
        ("mailto:platform@example.com", True),
        ("javascript:alert(1)", False),
        (" JAVASCRIPT:alert(1)", False),
        ("vbscript:x", False),
        ("data:text/html,<b>x</b>", False),
        (None, False),
    ],
)
def test_docs_links_keep_safe_addresses_only(url: str | None, kept: bool) -> None:
    assert safe_href(url) == ((url or "").strip() if kept else "")


# --- in the browser -------------------------------------------------------------------


@pytest.fixture(scope="module")
def md_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("markdown")
    with ServedApp(write_workspace(root)) as served:  # the first run happens as it starts
        yield served.url


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Every alert, confirm or prompt the page opens (none may)."""
    opened: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    return opened


def assert_nothing_ran(page: Page, dialogs: list[str]) -> None:
    assert page.evaluate("window.__injected") is None
    assert dialogs == []
    expect(page.locator("a[href^='javascript' i]")).to_have_count(0)
    expect(page.locator(".md script, .md img, .md [onerror]")).to_have_count(0)


def test_the_track_page_shows_remediation_as_markdown(
    md_site: str, page: Page, dialogs: list[str], screenshot
) -> None:
    page.goto(f"{md_site}/tracks/handbook")
    row = page.locator("#check-bronze-tagged")
    fix = row.locator("td.remedy")
    expect(fix.locator("code").first).to_have_text("metadata.tags")
    expect(fix.locator("code").first).to_have_css(
        "font-family", "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
    )
    link = fix.get_by_role("link", name="the tagging guide")
    expect(link).to_have_attribute("href", "https://guide.example.com/tags")
    expect(link).to_have_attribute("rel", "nofollow noopener")
    assert link.get_attribute("target") is None  # opens as any link does
    block = fix.locator("pre > code.language-yaml")
    expect(block).to_have_text("metadata:\n  tags: [python, payments]\n")
    expect(fix.locator("pre")).to_have_css("white-space", "pre")
    # The attempts are shown as the text they are, and none of them does anything.
    expect(fix).to_contain_text("<script>window.__injected = 'script'</script>")
    expect(fix).to_contain_text('<img src="x" onerror="window.__injected = \'img\'">')
    expect(fix).to_contain_text("[click me](javascript:window.__injected='link')")
    fix.get_by_text("click me").click()
    # The track's own words, as Markdown too: its description and the entry's.
    expect(page.locator(".description strong")).to_have_text("handbook")
    expect(page.locator(".description").get_by_role("link", name="the wiki")).to_have_attribute(
        "href", "https://wiki.example.com/handbook"
    )
    expect(row.locator("td").first.locator("em")).to_have_text("find")
    screenshot(page, "markdown-track")
    assert_nothing_ran(page, dialogs)


def test_a_docs_address_that_would_run_script_is_no_link(
    md_site: str, page: Page, dialogs: list[str]
) -> None:
    page.goto(f"{md_site}/tracks/second-look")
    expect(page.get_by_role("heading", level=1)).to_have_text("Second look")
    expect(page.get_by_role("link", name="documentation")).to_have_count(0)
    assert_nothing_ran(page, dialogs)


def test_the_entity_page_shows_its_description_and_each_fix_once_as_markdown(
    md_site: str, page: Page, dialogs: list[str], screenshot
) -> None:
    page.goto(f"{md_site}/catalog/component/default/shop")
    description = page.locator(".md.description")
    expect(description.locator("code")).to_have_text("widgets")
    expect(description.get_by_role("link", name="the shop")).to_have_attribute(
        "href", "https://shop.example.com/"
    )
    expect(description).to_contain_text("<script>window.__injected = 'description'</script>")

    # `tagged` fails on both tracks, in the list of what holds the next level back and in
    # its level's table: its fix is written once, and every other place links to it.
    shown = page.locator(".remedy.md", has_text="Add tags in metadata.tags")
    expect(shown).to_have_count(1)
    expect(shown.locator("pre > code.language-yaml")).to_have_text(
        "metadata:\n  tags: [python, payments]\n"
    )
    anchor = shown.get_attribute("id")
    assert anchor
    links = page.locator("a.see-fix")
    expect(links).to_have_count(3)
    for index in range(3):
        expect(links.nth(index)).to_have_attribute("href", f"#{anchor}")
    links.last.click()
    expect(page).to_have_url(f"{md_site}/catalog/component/default/shop#{anchor}")
    expect(shown).to_be_in_viewport()
    screenshot(page, "markdown-entity")
    assert_nothing_ran(page, dialogs)
