"""Fix templates, rendered in a sandbox.

A template sees exactly these names, and nothing else:

- `entity`: the entity's document as plain data (`entity.metadata.name`, `entity.spec.owner`);
- `ref`, `kind`, `namespace`, `name`, `title` (the title, else the name), `owner` (the
  owner's entity ref, `group:default/payments`), `owner_name` (`payments`) and `system`;
- `params`: the check's params, as the track configured them;
- `values`: the workspace's `fixes.values` (the licence, the GitHub organisation, ...);
- `check`: the check's `id` and `title`;
- `year`: the current year, for a licence's copyright line (a template reads no clock).

One function is there too: `fail("...")` stops the render with that sentence, for an input
the template cannot honestly render (an unknown licence, a value the workspace lacks).

Templates are written by the platform team, but what they render comes from catalog data,
so the environment is Jinja2's immutable sandbox: attribute walking (`__class__`,
`__globals__`, ...) and calls on unsafe objects are refused, nothing can be included or
imported (there is no file a template may read), a name it was not given is an error
rather than a blank, and the output is bounded.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from typing import Any

import orjson
from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

from scorecard.entity import Entity, parse_ref
from scorecard.fixes.model import CatalogChange, FileChange, Fix

# A rendered file or value larger than this is refused: no golden-path file is that big,
# and a template looping over catalog data should not fill a disk.
MAX_RENDERED_BYTES = 1024 * 1024

CONTEXT_NAMES = (
    "entity", "ref", "kind", "namespace", "name", "title", "owner", "owner_name", "system",
    "params", "values", "check", "year",
)  # fmt: skip


class FixTemplateError(ValueError):
    """A fix template that does not compile or render; `str()` says which and why."""


class _TemplateFailed(Exception):
    """Raised by `fail()` in a template; its message is the template's own sentence."""


def _fail(message: Any) -> None:
    """`{{ fail("...") }}`: Jinja has no `raise`, so a template that meets an input it cannot
    render (an unknown licence id, a value the workspace does not give) ends here."""
    raise _TemplateFailed(str(message))


class _NoFiles(BaseLoader):
    """Every `include`, `import` and `extends` ends here: a template reads no file."""

    def get_source(self, environment: Any, template: str) -> Any:
        raise TemplateNotFound(template)


class _Environment(ImmutableSandboxedEnvironment):
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Beyond the sandbox's own rule (no `_private`, no function internals): the data a
        # template is given is dicts, lists and scalars, so no attribute other than their
        # read-only methods (`items`, `get`, `lower`, ...) is ever needed.
        return super().is_safe_attribute(obj, attr, value) and not attr.startswith("_")


_ENV = _Environment(
    loader=_NoFiles(),
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals["fail"] = _fail


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    parsed = _ENV.parse(source)
    for node in parsed.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        raise TemplateSyntaxError(
            "templates cannot include, import or extend other templates: a fix renders "
            "from its inputs only",
            node.lineno,
        )
    return _ENV.from_string(parsed)


@functools.lru_cache(maxsize=512)
def _expression(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=False)


def compile_template(source: str, where: str) -> None:
    """Raise FixTemplateError if `source` is not a valid template."""
    try:
        _compiled(source)
    except TemplateSyntaxError as error:
        raise FixTemplateError(f"{where}: line {error.lineno}: {error.message}") from None


def compile_fix(fix: Fix, where: str) -> None:
    """Compile every template of a fix, so a mistake is a config error at load time."""
    for index, new_file in enumerate(fix.files):
        compile_template(new_file.path, f"{where}, files[{index}].path")
        compile_template(new_file.template, f"{where}, file {new_file.path}")
        if new_file.when is not None:
            try:
                _expression(new_file.when)
            except TemplateSyntaxError as error:
                raise FixTemplateError(
                    f"{where}, file {new_file.path}: `when` is not an expression: {error.message}"
                ) from None
    catalog = fix.catalog
    if catalog is not None:
        for section in ("annotations", "labels", "fields"):
            for key, value in getattr(catalog, section).items():
                compile_template(key, f"{where}, {section} key {key!r}")
                compile_template(value, f"{where}, {section}.{key}")
        # By position: a tag's template may be long, and quoting it would bury the error.
        for index, tag in enumerate(catalog.tags):
            compile_template(tag, f"{where}, tags[{index}]")


def fix_context(
    entity: Entity,
    params: BaseModel | None,
    values: Mapping[str, Any],
    check_id: str,
    check_title: str,
    *,
    today: date | None = None,
) -> dict[str, Any]:
    """The names a template sees, as plain data (a JSON round trip leaves no object whose
    attributes a template could walk). `today` (default: today) gives `year`."""
    owner = entity.owner
    owner_name = parse_ref(owner).name if owner else None
    context = {
        "entity": entity.raw,
        "ref": entity.ref,
        "kind": entity.kind,
        "namespace": entity.namespace,
        "name": entity.name,
        "title": entity.title or entity.name,
        "owner": owner,
        "owner_name": owner_name,
        "system": entity.system,
        "params": params.model_dump(mode="json") if params is not None else {},
        "values": dict(values),
        "check": {"id": check_id, "title": check_title},
        "year": (today or date.today()).year,
    }
    return orjson.loads(orjson.dumps(context, default=str))


def render(source: str, context: Mapping[str, Any], where: str) -> str:
    """Render one template; FixTemplateError says which template failed and why."""
    try:
        text = _compiled(source).render(context)
    except _TemplateFailed as error:
        raise FixTemplateError(f"{where}: {error}") from None
    except TemplateSyntaxError as error:
        raise FixTemplateError(f"{where}: line {error.lineno}: {error.message}") from None
    except SecurityError as error:
        raise FixTemplateError(
            f"{where}: the template reaches outside its inputs, which is not allowed ({error})"
        ) from None
    except TemplateNotFound as error:
        raise FixTemplateError(
            f"{where}: the template tries to read {error.name!r}; templates read no files"
        ) from None
    except UndefinedError as error:
        raise FixTemplateError(
            f"{where}: {error.message} (a template sees {', '.join(CONTEXT_NAMES)}; "
            "workspace values go in the `fixes.values` of scorecard.yaml)"
        ) from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as error:
        raise FixTemplateError(f"{where}: {type(error).__name__}: {error}") from None
    if len(text.encode()) > MAX_RENDERED_BYTES:
        raise FixTemplateError(
            f"{where}: renders {len(text.encode()):,} bytes, more than the "
            f"{MAX_RENDERED_BYTES:,} a fix may write"
        )
    return text


def _holds(expression: str, context: Mapping[str, Any], where: str) -> bool:
    try:
        return bool(_expression(expression)(**context))
    except _TemplateFailed as error:
        raise FixTemplateError(f"{where}: `when`: {error}") from None
    except SecurityError as error:
        raise FixTemplateError(
            f"{where}: `when` reaches outside its inputs, which is not allowed ({error})"
        ) from None
    except UndefinedError as error:
        raise FixTemplateError(f"{where}: `when`: {error.message}") from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as error:
        raise FixTemplateError(f"{where}: `when`: {type(error).__name__}: {error}") from None


def render_fix(
    fix: Fix, context: Mapping[str, Any], where: str
) -> tuple[tuple[FileChange, ...], CatalogChange | None]:
    """The files and catalog edits a fix renders to for one entity."""
    from scorecard.fixes.paths import repository_path

    files = []
    for new_file in fix.files:
        if new_file.when is not None and not _holds(
            new_file.when, context, f"{where}, file {new_file.path}"
        ):
            continue
        path_text = render(new_file.path, context, f"{where}, path {new_file.path!r}").strip()
        path = repository_path(path_text, f"{where}, path {new_file.path!r}")
        files.append(FileChange(path, render(new_file.template, context, f"{where}, file {path}")))
    catalog = None
    if fix.catalog is not None:

        def each(section: str) -> dict[str, str]:
            mapping = getattr(fix.catalog, section)
            rendered = {}
            for key, value in mapping.items():
                name = render(key, context, f"{where}, {section} key {key!r}").strip()
                text = render(value, context, f"{where}, {section}.{key}").strip()
                if not name or not text:
                    raise FixTemplateError(f"{where}, {section}.{key}: renders to nothing")
                rendered[name] = text
            return rendered

        tags = tuple(
            render(tag, context, f"{where}, tags[{index}]").strip()
            for index, tag in enumerate(fix.catalog.tags)
        )
        if any(not tag for tag in tags):
            raise FixTemplateError(f"{where}: a tag renders to nothing")
        catalog = CatalogChange(each("annotations"), each("labels"), tags, each("fields"))
    return tuple(files), catalog
