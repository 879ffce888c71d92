"""Markdown of the catalog and the tracks (remediation, descriptions) as page HTML.

CommonMark with raw HTML off: a `<script>` or an `<img onerror>` in a track file or a
catalog entity is shown as the text it is. Links keep markdown-it's own check of their
address (no `javascript:`, `vbscript:`, `file:` or `data:`), and leave the site as plain
links that pass it no referrer and no hold on this page (`rel="nofollow noopener"`).
Images are off: every asset of a page comes from this server, and a picture in a
remediation would be fetched from wherever it points. Headings are off too: a
description is a part of the page, not a new section of its outline.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

LINK_REL = "nofollow noopener"


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", LINK_REL)
    return self.renderToken(tokens, idx, options, env)


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    # With `html` false these never match; disabled as well, so no option can turn them on.
    parser.disable(["html_block", "html_inline", "image", "heading", "lheading"])
    parser.add_render_rule("link_open", _link_open)
    return parser


_PARSER = _parser()


@lru_cache(maxsize=4096)
def _render(text: str) -> Markup:
    # Safe to mark: markdown-it escapes every character of the text it does not turn into
    # one of the elements above, and raw HTML is off.
    return Markup(_PARSER.render(text))


def safe_href(url: Any) -> str:
    """`url` when a link may go there (as a Markdown link may: no `javascript:` and the
    like), else an empty text; for the `docs` address a track gives a check."""
    if not isinstance(url, str) or not url.strip():
        return ""
    return url.strip() if _PARSER.validateLink(url.strip()) else ""


def render_markdown(text: Any) -> Markup:
    """`text` as HTML (empty for None or blank). The same remediation is on many rows of
    a page, and on every page of its track: each distinct text is rendered once."""
    if not isinstance(text, str) or not text.strip():
        return Markup("")
    return _render(text)
