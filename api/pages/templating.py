"""The Jinja2 environment of the pages, with the presentation helpers as filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.pages import present
from api.pages.markdown import render_markdown, safe_href
from api.pages.signin import signed_in

TEMPLATES = Path(__file__).parent / "templates"

templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters.update(
    icon=present.outcome_icon,
    outcome=present.outcome_label,
    percent=present.percent,
    evidence=present.evidence_value,
    ago=present.ago,
    utc=present.utc,
    until=present.until,
    day=present.day,
    campaign_icon=present.campaign_status_icon,
    campaign_class=present.campaign_status_class,
    markdown=render_markdown,
    href=safe_href,
    count=present.count,
)
templates.env.globals.update(
    level_colour=present.level_colour,
    duration=present.duration,
)


def entity_path(ref: str) -> str:
    """The page of an entity ref (`kind:namespace/name`)."""
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return f"/catalog/{kind}/{namespace}/{name}"


templates.env.globals["entity_path"] = entity_path


def render(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    service = request.app.state.service
    # Who is signed in (a `Principal`: name and role), or None.
    context.setdefault("signed_in", signed_in(request, service))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def compile_templates() -> None:
    """Compile every page's template now, so that no visitor's first view of a page
    waits for it (10–15 ms each); Jinja keeps them for the life of the process."""
    for name in templates.env.list_templates(extensions=["html"]):
        templates.env.get_template(name)
