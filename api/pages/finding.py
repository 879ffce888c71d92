"""The pages people find their way around by: the search box's results, and the index of
the catalog, of owners and of tracks.

Each reads what it shows through bounded queries: a page of 50 entities and their levels
in one query, owners from the kept roll-ups (remembered until the next run finishes),
search through the search terms' index. None reads the whole catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response

from api.deps import ServiceDep
from api.finding import Owner, OwnerDirectory, owner_directory, search
from api.pages.routes import (
    PER_PAGE,
    MenuValue,
    PageNumber,
    Pager,
    _level_bar,
    _memo,
    _offset,
    _sort_link,
)
from api.pages.signin import require_reader
from api.pages.templating import render
from api.routes.search import MAX_QUERY
from scorecard.store import EntityRecord
from scorecard.store.browse import MENU_LIMIT
from scorecard.store.queries import NO_LEVEL
from scorecard.store.search import MAX_QUERY_WORDS
from scorecard.tracks import Track

router = APIRouter(include_in_schema=False)

SearchQuery = Annotated[str, Query(max_length=MAX_QUERY)]
SortValue = Annotated[str, Query(max_length=100)]


def _tracks_in_order(service: ServiceDep) -> list[Track]:
    """The configured tracks, the published ones first and the drafts after them."""
    return sorted(service.config.current.tracks, key=lambda track: track.draft)


# --- search -----------------------------------------------------------------------------


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, service: ServiceDep, q: SearchQuery = "") -> Response:
    require_reader(request, service)
    found = search(service, _memo(request), q)
    return render(
        request,
        "search.html",
        query=q,
        found=found,
        search_query=q,
        max_words=MAX_QUERY_WORDS,
        tracks={track.id: track for track in service.config.current.tracks},
        titles=_owner_titles(owner_directory(service, _memo(request)), found.entities),
    )


def _owner_titles(directory: OwnerDirectory, entities: Iterable[EntityRecord]) -> dict[str, str]:
    """What the catalog calls the owners of `entities`, by lower-case ref."""
    return {
        owner.key: owner.title
        for e in entities
        if e.owner and (owner := directory.get(e.owner)) is not None and owner.title
    }


# --- catalog ----------------------------------------------------------------------------


@router.get("/catalog", response_class=HTMLResponse)
def catalog_page(
    request: Request,
    service: ServiceDep,
    kind: MenuValue = None,
    owner: MenuValue = None,
    track: MenuValue = None,
    level: MenuValue = None,
    page: PageNumber = 1,
) -> Response:
    """Every listed entity with its level on each track, filtered as `GET /api/v1/entities`
    filters: the same filters list the same entities."""
    require_reader(request, service)
    where = {"kind": kind or None, "owner": owner or None, "track": track or None}
    where["level"] = level or None
    found = service.store.find_entities(
        **where, outcome=None, query=None, limit=PER_PAGE, offset=_offset(page)
    )
    certifications = service.store.certifications_for([e.ref for e in found.items])
    tracks = _tracks_in_order(service)
    memo = _memo(request)
    owners = owner_directory(service, memo)
    chosen = service.config.current.track(track) if track else None
    ladder = [lvl.id for lvl in chosen.levels] if chosen else _every_level(tracks)
    filters = {name: value for name, value in where.items() if value}
    return render(
        request,
        "catalog.html",
        rows=[
            {"entity": e, "levels": {c.track_id: c.level for c in certifications[e.ref]}}
            for e in found.items
        ],
        pager=Pager(page, found.total, request),
        tracks=tracks,
        titles=_owner_titles(owners, found.items),
        where={name: value or "" for name, value in where.items()},
        filtered=bool(filters),
        menus={
            "kind": memo.get(service, "kinds", service.store.kinds),
            "track": [(t.id, t.title + (" (draft)" if t.draft else "")) for t in tracks],
            "level": [*ladder, NO_LEVEL],
        },
        # A menu of a few hundred owners at most; past that the owner is typed.
        owner_menu=[o.ref for o in owners.owners] if len(owners) <= MENU_LIMIT else None,
        csv_link="/exports/catalog.csv" + (f"?{urlencode(filters)}" if filters else ""),
        api_link="/api/v1/entities" + (f"?{urlencode(filters)}" if filters else ""),
    )


def _every_level(tracks: list[Track]) -> list[str]:
    """The level ids of every track, each once, in ladder order."""
    return list(dict.fromkeys(lvl.id for track in tracks for lvl in track.levels))


# --- owners -----------------------------------------------------------------------------


@router.get("/owners", response_class=HTMLResponse)
def owners_page(
    request: Request,
    service: ServiceDep,
    sort: SortValue = "name",
    desc: bool = False,
    page: PageNumber = 1,
) -> Response:
    """Every owner with entities evaluated, each track's levels of its entities, from the
    kept roll-ups; sorted by name or by how many entities a track evaluated."""
    require_reader(request, service)
    tracks = _tracks_in_order(service)
    by_id = {track.id: track for track in tracks}
    if sort != "name" and sort not in by_id:
        known = ", ".join(["name", *by_id])
        raise RequestValidationError(
            [{"type": "enum", "loc": ("query", "sort"), "msg": f"must be one of {known}"}]
        )
    directory = owner_directory(service, _memo(request))
    owners = list(directory.owners)
    if sort == "name":
        if desc:
            owners.reverse()
    else:
        # Most entities first unless reversed; by name among equals.
        owners.sort(key=lambda o: _evaluated(o, sort), reverse=not desc)
    shown = owners[_offset(page) : _offset(page) + PER_PAGE]
    return render(
        request,
        "owners.html",
        rows=[
            {
                "owner": o,
                "bars": {t.id: _owner_bar(t, o) for t in tracks if t.id in o.tracks},
            }
            for o in shown
        ],
        tracks=tracks,
        unowned=[(by_id[t], n) for t, n in directory.unowned.items() if t in by_id],
        pager=Pager(page, len(owners), request),
        sort=sort,
        desc=desc,
        sort_link=lambda key: _sort_link(request, key, sort, desc),
    )


def _evaluated(owner: Owner, track_id: str) -> int:
    held = owner.tracks.get(track_id)
    return held.entities if held else 0


def _owner_bar(track: Track, owner: Owner) -> dict[str, Any]:
    """An owner's levels on a track as the overview's bar, each segment a link to the
    track's entities of that owner at that level."""
    levels = owner.tracks[track.id].levels
    segments = [
        {
            **segment,
            "link": f"/tracks/{track.id}?"
            + urlencode({"owner": owner.ref, "level": segment["level"] or NO_LEVEL})
            + "#entities",
        }
        for segment in _level_bar(track, levels)
    ]
    return {"segments": segments, "total": sum(levels.values())}


# --- tracks -----------------------------------------------------------------------------


@router.get("/tracks", response_class=HTMLResponse)
def tracks_page(request: Request, service: ServiceDep) -> Response:
    """Every track, published ones first, with its ladder and how far the catalog got."""
    require_reader(request, service)
    rollups = {
        rollup.track_id: rollup
        for rollup in _memo(request).get(service, "rollups", service.store.track_rollups)
    }
    rows = []
    for track in _tracks_in_order(service):
        rollup = rollups.get(track.id)
        levels = rollup.levels if rollup else {}
        rows.append(
            {"track": track, "bar": _level_bar(track, levels), "total": sum(levels.values())}
        )
    return render(request, "tracks.html", rows=rows)
