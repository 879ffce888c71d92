"""What a fix declares, and the changes it renders to.

Every string of a declaration is a Jinja2 template (see `scorecard.fixes.templates` for
what a template can see). A check declares its fix with `@check(..., fix=Fix(...))`; a
track entry's `fix:` (the same shape, in YAML) replaces it, so a platform team can ship
its own CODEOWNERS format without writing Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class NewFile(BaseModel):
    """A file the fix creates. An existing file at `path` is never overwritten."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(min_length=1, description="Where, relative to the repository root.")
    template: str = Field(description="The file's content, a Jinja2 template.")
    when: str | None = Field(
        None,
        description="A Jinja2 expression: the file is made only when it holds "
        "(`values.ci_system == 'gitlab'`).",
    )


class CatalogEdit(BaseModel):
    """Changes to the entity's document in its catalog-info.yaml; values are templates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    annotations: dict[str, str] = Field({}, description="`metadata.annotations` to set.")
    labels: dict[str, str] = Field({}, description="`metadata.labels` to set.")
    tags: list[str] = Field([], description="`metadata.tags` to add when missing.")
    fields: dict[str, str] = Field(
        {}, description="Other fields to set, by dot path (`spec.lifecycle`)."
    )

    def is_empty(self) -> bool:
        return not (self.annotations or self.labels or self.tags or self.fields)


class Fix(BaseModel):
    """A check's golden-path change: files to create, and edits to catalog-info.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str | None = Field(
        None, description="What the change does, for the diff and the pull request."
    )
    files: list[NewFile] = []
    catalog: CatalogEdit | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Fix:
        if not self.files and (self.catalog is None or self.catalog.is_empty()):
            raise ValueError("a fix needs `files` or a `catalog` edit")
        return self


# --- what a fix renders to, for one entity -----------------------------------------------


@dataclass(frozen=True)
class FileChange:
    """A file to create: its path (POSIX, relative to the repository root) and content."""

    path: str
    content: str


@dataclass(frozen=True)
class CatalogChange:
    """Rendered edits of one entity's document; `fields` are dot paths."""

    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.annotations or self.labels or self.tags or self.fields)

    def merged(self, other: CatalogChange) -> CatalogChange:
        return CatalogChange(
            {**self.annotations, **other.annotations},
            {**self.labels, **other.labels},
            tuple(dict.fromkeys([*self.tags, *other.tags])),
            {**self.fields, **other.fields},
        )


@dataclass(frozen=True)
class RenderedFix:
    """One check's fix, rendered for one entity."""

    entity_ref: str
    track_id: str
    check_id: str
    check_title: str
    title: str
    files: tuple[FileChange, ...] = ()
    catalog: CatalogChange | None = None
