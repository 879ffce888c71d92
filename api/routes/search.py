"""Search: the entities and owners a few words find, as the pages' search box shows them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api import convert
from api.deps import ServiceDep
from api.finding import ENTITIES_SHOWN, OWNER_ENTITIES_SHOWN, OWNERS_SHOWN, search
from api.schemas import COMMON_RESPONSES, NO_NUL, EntitySummary
from scorecard.store.search import MAX_QUERY_WORDS

router = APIRouter(tags=["search"], responses=COMMON_RESPONSES)

# Longer than any search box sends; what is searched is the first words' first 64
# characters each.
MAX_QUERY = 2_000


class OwnerMatchOut(BaseModel):
    owner: str = Field(description="The owner's ref.")
    title: str | None = Field(description="Its title in the catalog, when the catalog has it.")
    entities: int = Field(description="How many listed entities it owns.")
    first_entities: list[EntitySummary] = Field(
        description=f"Its first {OWNER_ENTITIES_SHOWN} entities by ref."
    )


class SearchOut(BaseModel):
    query: str
    words: list[str] = Field(description="The words searched, lower-case.")
    ignored: list[str] = Field(
        description=f"Words after the first {MAX_QUERY_WORDS}, which were not searched."
    )
    entities: list[EntitySummary] = Field(
        description=f"The first {ENTITIES_SHOWN} entities each word starts a word of (of the "
        "name or title, or the whole name, title or ref), an exact word before longer ones."
    )
    total: int | None = Field(
        description="How many entities match; null when more than a search reads (narrow "
        "the query to see them)."
    )
    more: bool = Field(description="Some matching entities are not listed.")
    owners: list[OwnerMatchOut] = Field(
        description=f"The first {OWNERS_SHOWN} owners whose name or catalog title the words "
        "start, with their first entities."
    )
    owners_total: int = Field(description="How many owners match.")


@router.get("/search", response_model=SearchOut)
def search_catalog(
    request: Request,
    service: ServiceDep,
    q: Annotated[
        str,
        Query(
            max_length=MAX_QUERY,
            pattern=NO_NUL,
            description="Words, each the start of a word of what is sought; blank finds nothing.",
        ),
    ],
) -> SearchOut:
    """Entities and owners found by the start of their words: every word must match, case
    does not matter, and `%` or `_` are letters like any other. Gone entities are never
    found."""
    found = search(service, request.app.state.page_memo, q)
    return SearchOut(
        query=q,
        words=found.words,
        ignored=found.ignored,
        entities=[convert.entity(e, found.levels.get(e.ref, {})) for e in found.entities],
        total=found.total,
        more=found.more,
        owners=[
            OwnerMatchOut(
                owner=match.owner.ref,
                title=match.owner.title,
                entities=match.total,
                first_entities=[
                    convert.entity(e, found.levels.get(e.ref, {})) for e in match.entities
                ],
            )
            for match in found.owners
        ],
        owners_total=found.owners_matched,
    )
