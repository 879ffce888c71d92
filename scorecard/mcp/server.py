"""The scorecard MCP server: tools that answer what an agent is asked about scorecards
("why is my service not silver?"), read from a service's store and configuration.

The same server runs over stdio (`scorecard mcp`, for the local user, who is trusted) and
over streamable HTTP under `/mcp` of `scorecard serve`, where `scorecard.mcp.http` checks
the bearer token of every request before it reaches a tool.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.errors import DATABASE_DOWN, database_unreachable
from api.routes.preview import MAX_DOCUMENT_CHARS, MAX_DOCUMENTS, PreviewOut
from api.schemas import NO_NUL
from scorecard.auth import Principal, Role
from scorecard.mcp import answers
from scorecard.mcp.answers import Links
from scorecard.mcp.models import (
    CheckAnswer,
    EntitySearch,
    LevelExplanation,
    OwnerAnswer,
    OwnerCampaigns,
    ScorecardAnswer,
)
from scorecard.mcp.rollout import preview_rollout as preview_rollout_answer
from scorecard.service.service import Service

# Where `scorecard.mcp.http` leaves the principal of a request's token, in its ASGI scope.
PRINCIPAL_KEY = "scorecard.principal"
# The tools that need an admin token over HTTP.
ADMIN_TOOLS = frozenset({"preview_rollout"})
# Who the audit log names for a preview asked over stdio: the local user.
LOCAL_ACTOR = "cli"

INSTRUCTIONS = """\
scorecard scores the entities of a software catalog (services, APIs, libraries, named by
Backstage entity refs such as component:default/payments) on tracks: ordered levels
(bronze, silver, gold...) made of checks. An entity is at the highest level whose required
checks, and those of every level below, all pass (or do not apply, or are exempted).

To answer "why is my service not silver?" call explain_level with the entity and the
level: it names each blocking check with what it observed and how to fix it. get_scorecard
shows an entity's level and every result on each track; describe_check explains one
check; list_owner_entities and list_owner_campaigns answer for a team
(group:default/name); find_entities looks entities up by name, owner or level.
Results are those of the last run; links point at scorecard's pages. preview_rollout
(admin) shows what a new or changed track file would do to every entity's level.
"""

_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)

# Text an agent passes: any but NUL, which PostgreSQL refuses, and not endless.
EntityArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        pattern=NO_NUL,
        description="An entity ref, `kind:namespace/name` as in Backstage "
        "(component:default/payments); `kind:` defaults to component and `namespace/` to "
        "default; any case.",
    ),
]
OwnerArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        pattern=NO_NUL,
        description="An owner's entity ref (group:default/team-a); `kind:` defaults to "
        "group; any case.",
    ),
]
TrackArg = Annotated[
    str | None,
    Field(max_length=100, pattern=NO_NUL, description="A track id (production-readiness)."),
]
LevelArg = Annotated[
    str | None,
    Field(max_length=100, pattern=NO_NUL, description="A level id of the track (silver)."),
]
Limit = Annotated[int, Field(ge=1, le=200, description="Page size.")]
Offset = Annotated[int, Field(ge=0, le=10_000_000, description="Entities to skip.")]


def build_server(service: Service, *, local: bool) -> MCPServer:
    """The MCP server of `service`. `local`: served over stdio to the user who started
    it, who is trusted, and whose tracks and checks may change between questions."""
    with _logging_left_alone():
        server: MCPServer = MCPServer(
            name="scorecard",
            title="scorecard",
            description="Tech-standards scorecards of a software catalog.",
            instructions=INSTRUCTIONS,
            website_url=service.workspace.public_url,
        )

    def refresh() -> None:
        # Over stdio the tracks and checks are read again when their files changed, as
        # a server's periodic reload reads them; over HTTP the server does that itself.
        if local:
            service.config.reload_if_changed()

    def links(ctx: Context | None) -> Links:
        refresh()
        base = service.workspace.public_url or _request_base(ctx)
        return Links(base or "")

    @server.tool(title="An entity's scorecard", annotations=_READ_ONLY)
    def get_scorecard(
        entity: EntityArg, track: TrackArg = None, ctx: Context | None = None
    ) -> ScorecardAnswer:
        """An entity's scorecard on each track that applies to it (or one `track`): the
        level reached, the next level, the required checks blocking it, and every check's
        outcome (pass, fail, warn, not_applicable, unknown, error) and message, level by
        level, with exemptions in effect; links to its page, JSON and badges."""
        with _database_errors():
            return answers.scorecard(service, links(ctx), entity, track)

    @server.tool(title="Why an entity is not at a level", annotations=_READ_ONLY)
    def explain_level(
        entity: EntityArg,
        level: LevelArg = None,
        track: TrackArg = None,
        ctx: Context | None = None,
    ) -> LevelExplanation:
        """Why an entity is not at a level, and how to fix it: on each of its tracks that
        has `level` (or on `track`), every required check of that level and the levels
        below it that does not pass, with the message of its result, its description,
        remediation and docs link, and the exemptions that stand in for failing checks.
        Without `level`, explains the next level of each track."""
        with _database_errors():
            return answers.explain(service, links(ctx), entity, level, track)

    @server.tool(title="What a check verifies and how to fix it", annotations=_READ_ONLY)
    def describe_check(
        check: Annotated[
            str,
            Field(
                min_length=1,
                max_length=100,
                pattern=NO_NUL,
                description="A check's id on a track (has_runbook), or a registered check's "
                "id (has_file).",
            ),
        ],
        track: TrackArg = None,
        ctx: Context | None = None,
    ) -> CheckAnswer:
        """A check's description, remediation and docs link: as `track` configures it
        (title, level, params, required, threshold), or, without a track, the registered
        check and every track's configuration of it."""
        with _database_errors():
            return answers.describe_check(service, links(ctx), check, track)

    @server.tool(title="An owner's entities and their levels", annotations=_READ_ONLY)
    def list_owner_entities(
        owner: OwnerArg,
        track: TrackArg = None,
        limit: Limit = 50,
        offset: Offset = 0,
        ctx: Context | None = None,
    ) -> OwnerAnswer:
        """The entities an owner (a team) owns, a page at a time, each with its level on
        every track (null: evaluated, no level), and how many of them are at each level
        of each track; `track` keeps those evaluated on it."""
        with _database_errors():
            return answers.owner_entities(service, links(ctx), owner, track, limit, offset)

    @server.tool(title="Campaigns that concern an owner", annotations=_READ_ONLY)
    def list_owner_campaigns(owner: OwnerArg, ctx: Context | None = None) -> OwnerCampaigns:
        """The campaigns (goals with a deadline: a level or checks of a track) in which an
        owner has entities in scope, soonest deadline first: each campaign's goal, dates,
        milestones, status and overall progress, the owner's own progress, and the
        owner's entities not at the goal yet with the checks that hold each back."""
        with _database_errors():
            return answers.owner_campaigns(service, links(ctx), owner)

    @server.tool(title="Find entities", annotations=_READ_ONLY)
    def find_entities(
        query: Annotated[
            str | None,
            Field(max_length=200, pattern=NO_NUL, description="Text in the ref or title."),
        ] = None,
        owner: Annotated[
            str | None,
            Field(max_length=300, pattern=NO_NUL, description="An owner's ref."),
        ] = None,
        kind: Annotated[
            str | None, Field(max_length=100, pattern=NO_NUL, description="Component, API...")
        ] = None,
        track: TrackArg = None,
        level: Annotated[
            str | None,
            Field(
                max_length=100,
                pattern=NO_NUL,
                description="At this level of `track` (or of any track); `none`: at no level.",
            ),
        ] = None,
        limit: Limit = 20,
        offset: Offset = 0,
        ctx: Context | None = None,
    ) -> EntitySearch:
        """Evaluated entities, filtered like the catalog (every filter given must hold),
        by ref, with their level on every track: to find an entity's exact ref, or the
        entities at a level."""
        with _database_errors():
            return answers.find_entities(
                service, links(ctx), query=query, owner=owner, kind=kind, track=track,
                level=level, limit=limit, offset=offset,
            )  # fmt: skip

    @server.tool(
        title="Preview a track change (admin)",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True),
    )
    def preview_rollout(
        tracks: Annotated[
            list[Annotated[str, Field(min_length=1, max_length=MAX_DOCUMENT_CHARS)]],
            Field(
                min_length=1,
                max_length=MAX_DOCUMENTS,
                description="New or changed track files, one YAML document each "
                "(`apiVersion: scorecard/v1`, `kind: Track`); each replaces the track of "
                "its id, or is a new track.",
            ),
        ],
        ctx: Context | None = None,
    ) -> PreviewOut:
        """Before a track change ships: evaluate the new or changed tracks on every
        stored entity and compare with the levels stored now. Per track: entities per
        level now and after, the entities that would lose or gain a level with the checks
        that cause it, those entering or leaving the track, and the checks failing most.
        Nothing is stored but an audit log row. Over HTTP it needs an admin token."""
        actor = LOCAL_ACTOR
        if not local:
            # `scorecard.mcp.http` refuses a call without an admin token before it gets
            # here; this holds should a request ever reach the tool another way.
            principal = principal_of(ctx)
            if principal is None or not principal.may(Role.ADMIN):
                raise ToolError("previewing a track change needs an admin token")
            actor = principal.name
        refresh()
        with _database_errors():
            return preview_rollout_answer(service, actor, tracks)

    return server


def principal_of(ctx: Context | None) -> Principal | None:
    """Whose token the HTTP request carrying a tool call had (None over stdio, or for a
    request that needed no token)."""
    request = _request(ctx)
    scope: dict[str, Any] = getattr(request, "scope", None) or {}
    found = scope.get(PRINCIPAL_KEY)
    return found if isinstance(found, Principal) else None


def _request(ctx: Context | None) -> object | None:
    if ctx is None:
        return None
    try:
        return ctx.request_context.request
    except ValueError:  # outside of a request
        return None


def _request_base(ctx: Context | None) -> str | None:
    """`scheme://host[:port]` the HTTP request came to; None over stdio."""
    url = getattr(_request(ctx), "url", None)
    if url is None:
        return None
    return f"{url.scheme}://{url.netloc}"


@contextmanager
def _logging_left_alone() -> Iterator[None]:
    """The SDK's server configures the root logger when it is made (a handler of its
    own, level INFO) unless something did first; logging is the application's to set
    up (`scorecard serve` and `scorecard mcp` do), so the root logger is put back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@contextmanager
def _database_errors() -> Iterator[None]:
    """A database that cannot be reached is a tool error saying so, as the API's 503;
    any other error is a bug, which the SDK logs and answers without its traceback."""
    try:
        yield
    except (DBAPIError, PoolTimeout) as error:
        if database_unreachable(error):
            raise ToolError(DATABASE_DOWN) from None
        raise
