"""CSV downloads of the pages' tables: the catalog, a track's entities, an owner's
entities. Each holds every row the page's filters select, across all of its pages, in
the page's order.

A download is streamed: a generator reads the store a chunk at a time (keyset reads,
`scorecard.store.exports`) and hands each chunk's lines to the server as soon as they are
written, so the server holds one chunk whatever the number of rows, and no database
connection while the reader is slow.

Catalog text is untrusted and spreadsheets run a cell that starts like a formula: such a
cell is written with a single quote before it, as OWASP advises for CSV injection.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import ServiceDep
from api.pages.routes import MenuValue, PageNotFound, _track_or_404
from api.pages.signin import require_reader
from scorecard.entity import parse_ref
from scorecard.store.browse import SortKey, TrackEntityFilter
from scorecard.store.exports import CHUNK, CatalogFilter, ExportedEntity, ExportedPair
from scorecard.store.queries import NO_LEVEL
from scorecard.tracks import Track

router = APIRouter(include_in_schema=False)

# A cell starting with one of these is a formula to a spreadsheet (OWASP: CSV Injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "text/csv; charset=utf-8"
ENTITY_COLUMNS = ["ref", "kind", "namespace", "name", "title", "owner", "type", "lifecycle"]
TRACK_COLUMNS = ["ref", "title", "owner", "kind", "type", "level", "next_level"]

Row = Sequence[str | None]


def cell(value: str | None) -> str:
    """A value as a CSV cell: empty for None, and never a formula."""
    if not value:
        return ""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def csv_lines(header: Row, chunks: Iterable[list[Row]]) -> Iterator[bytes]:
    """The CSV text of `header` and the rows of each chunk, as UTF-8, one piece per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def taken() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8", "replace")

    writer.writerow([cell(name) for name in header])
    yield taken()
    for rows in chunks:
        writer.writerows([cell(value) for value in row] for row in rows)
        yield taken()


def download(filename: str, header: Row, chunks: Iterable[list[Row]]) -> StreamingResponse:
    """A streamed CSV attachment; the response has no length, so HTTP/1.1 sends it
    chunked."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "export.csv"
    return StreamingResponse(
        csv_lines(header, chunks),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def _tracks(service: ServiceDep) -> list[Track]:
    """The tracks whose levels the entity exports show: published first, as the owner
    page shows them."""
    return sorted(service.config.current.tracks, key=lambda t: t.draft)


def _level(levels: dict[str, str | None], track_id: str) -> str:
    """A level cell: the level, `none` at no level, empty where the track does not apply."""
    if track_id not in levels:
        return ""
    return levels[track_id] or NO_LEVEL


def _entity_rows(
    chunks: Iterable[list[ExportedEntity]], tracks: list[Track]
) -> Iterator[list[Row]]:
    for chunk in chunks:
        yield [
            [
                e.ref,
                e.kind,
                e.namespace,
                e.name,
                e.title,
                e.owner,
                e.type,
                e.lifecycle,
                *(_level(e.levels, t.id) for t in tracks),
            ]
            for e in chunk
        ]


def _entity_header(tracks: list[Track]) -> list[str]:
    return [*ENTITY_COLUMNS, *(f"level:{t.id}" for t in tracks)]


# --- the catalog ------------------------------------------------------------------------


@router.get("/exports/catalog.csv")
def catalog_csv(
    request: Request,
    service: ServiceDep,
    kind: MenuValue = None,
    owner: MenuValue = None,
    track: MenuValue = None,
    level: MenuValue = None,
) -> StreamingResponse:
    """Every listed entity the catalog's filters select (as `GET /api/v1/entities` takes
    them; empty means any), by ref, with its level on each track."""
    require_reader(request, service)
    where = CatalogFilter(
        kind=kind or None, owner=owner or None, track=track or None, level=level or None
    )
    tracks = _tracks(service)
    chunks = service.store.catalog_chunks(where, chunk=CHUNK)
    return download("catalog.csv", _entity_header(tracks), _entity_rows(chunks, tracks))


# --- an owner ---------------------------------------------------------------------------


@router.get("/exports/owner.csv")
def owner_csv(
    request: Request,
    service: ServiceDep,
    ref: Annotated[str, Query(min_length=1, max_length=300)],
) -> StreamingResponse:
    """The owner page's entities: every listed entity `ref` owns, by ref, with its level
    on each track."""
    require_reader(request, service)
    try:
        owner = str(parse_ref(ref, default_kind="group"))
    except ValueError:
        raise PageNotFound(
            f"“{ref}” is not an owner reference.", "Try group:default/name."
        ) from None
    chunks = service.store.catalog_chunks(CatalogFilter(owner=owner), chunk=CHUNK)
    # Read before answering: an owner of nothing is the owner page's 404, not an empty file.
    first = next(chunks, None)
    if first is None:
        raise PageNotFound(f"No evaluated entity is owned by {owner}.")
    tracks = _tracks(service)
    rows = _entity_rows(chain([first], chunks), tracks)
    return download(f"owner-{owner}.csv", _entity_header(tracks), rows)


# --- a track ----------------------------------------------------------------------------


@router.get("/exports/tracks/{track_id}.csv")
def track_csv(
    request: Request,
    service: ServiceDep,
    track_id: str,
    owner: MenuValue = None,
    kind: MenuValue = None,
    type: MenuValue = None,
    level: MenuValue = None,
    sort: SortKey = SortKey.NAME,
    desc: bool = False,
) -> StreamingResponse:
    """The track page's entities with its filters, in its order, across all its pages:
    each with its level, its next level and the stored outcome of every check."""
    require_reader(request, service)
    track = _track_or_404(service, track_id)
    where = TrackEntityFilter(
        owner=owner or None, kind=kind or None, type=type or None, level=level or None
    )
    chunks = service.store.track_chunks(
        track.id,
        [lvl.id for lvl in track.levels],
        where,
        sort=sort,
        descending=desc,
        chunk=CHUNK,
    )
    check_ids = [c.id for c in track.checks]
    header = [*TRACK_COLUMNS, *(f"check:{check_id}" for check_id in check_ids)]
    return download(f"track-{track.id}.csv", header, _pair_rows(chunks, check_ids))


def _pair_rows(chunks: Iterable[list[ExportedPair]], check_ids: list[str]) -> Iterator[list[Row]]:
    for chunk in chunks:
        yield [
            [
                p.ref,
                p.title,
                p.owner,
                p.kind,
                p.type,
                p.level or NO_LEVEL,
                p.next_level,
                # Empty for a check the pair was not evaluated with (added since).
                *(p.outcomes[c].value if c in p.outcomes else None for c in check_ids),
            ]
            for p in chunk
        ]
