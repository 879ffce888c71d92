"""Where an entity's catalog file is inside its GitHub repository, read from the locations
Backstage records: `backstage.io/managed-by-location` (the file itself, a `blob` URL), else
`backstage.io/source-location` (a folder, whose catalog-info.yaml is taken).

Locations are catalog data: a path is used only when it names a file of the very
repository the pull request is for, on its web host, and stays inside it.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from scorecard.entity import Entity
from scorecard.fixes.paths import repository_path
from scorecard.fixes.templates import FixTemplateError
from scorecard.inputs import MANAGED_BY_LOCATION, SOURCE_LOCATION

CATALOG_FILE = "catalog-info.yaml"
_YAML = (".yaml", ".yml")


class UnknownCatalogPath(ValueError):
    """The path of an entity's catalog file in its repository cannot be known; says why."""


def catalog_path(entity: Entity, repository: tuple[str, str], web_host: str) -> str:
    """The path of `entity`'s catalog file inside `repository` (owner, name), or
    UnknownCatalogPath saying why it cannot be known."""
    managed = _url_location(entity, MANAGED_BY_LOCATION)
    if managed is not None:
        parts = _repository_parts(managed, repository, web_host, MANAGED_BY_LOCATION)
        if len(parts) >= 3 and parts[0] == "blob" and parts[-1].lower().endswith(_YAML):
            return _checked("/".join(parts[2:]), MANAGED_BY_LOCATION)
        raise UnknownCatalogPath(
            f"its {MANAGED_BY_LOCATION} {managed!r} does not name a YAML file "
            "(…/blob/BRANCH/PATH.yaml)"
        )
    source = _url_location(entity, SOURCE_LOCATION)
    if source is not None:
        parts = _repository_parts(source, repository, web_host, SOURCE_LOCATION)
        if not parts:  # the repository itself: its root
            return CATALOG_FILE
        if len(parts) >= 2 and parts[0] == "tree":
            folder = PurePosixPath(*parts[2:]) if len(parts) > 2 else PurePosixPath()
            return _checked((folder / CATALOG_FILE).as_posix(), SOURCE_LOCATION)
        raise UnknownCatalogPath(
            f"its {SOURCE_LOCATION} {source!r} does not name a folder (…/tree/BRANCH/PATH)"
        )
    raise UnknownCatalogPath(
        f"the path of its catalog file is not known: it has no {MANAGED_BY_LOCATION} or "
        f"{SOURCE_LOCATION} url on {web_host}"
    )


def _url_location(entity: Entity, annotation: str) -> str | None:
    """The annotation's URL when it is a `url:` location; None for none or another kind."""
    value = entity.annotations.get(annotation)
    if not isinstance(value, str):
        return None
    kind, _, target = value.strip().partition(":")
    return target.strip() if kind == "url" and target.strip() else None


def _repository_parts(
    url: str, repository: tuple[str, str], web_host: str, annotation: str
) -> list[str]:
    """The path segments of `url` after /OWNER/REPO, when it is a page of `repository`
    on `web_host`; else UnknownCatalogPath."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise UnknownCatalogPath(f"its {annotation} {url!r} is not a URL") from None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    owner, name = repository
    if host != web_host.lower() or len(segments) < 2:
        raise UnknownCatalogPath(
            f"its {annotation} {url!r} is not a page of {owner}/{name} on {web_host}"
        )
    found = (segments[0].lower(), segments[1].lower().removesuffix(".git"))
    if found != (owner.lower(), name.lower()):
        raise UnknownCatalogPath(
            f"its catalog file is in {segments[0]}/{segments[1]} ({annotation}), "
            f"not in {owner}/{name}: edit it there"
        )
    return segments[2:]


def _checked(path: str, annotation: str) -> str:
    try:
        return repository_path(path, f"its {annotation}")
    except FixTemplateError as error:
        raise UnknownCatalogPath(str(error)) from None
