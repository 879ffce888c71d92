"""The check SDK: the `@check` decorator and the `Check` it produces.

A check is a plain function. It names the inputs it wants as parameters and the engine
passes them by name:

- `entity`: the `Entity` being checked;
- `params`: the check's parameter model, validated from the track's `with:`;
- `repo`: a read-only view of the entity's source repository (`scorecard.inputs.Repo`);
- `catalog`: every entity of the run, to look up owners, systems, ... (`CatalogView`);
- `http`: an `httpx.AsyncClient` shared by the run;
- `github`: the entity's GitHub repository facts, read from the API
  (`scorecard.sources.github.GitHubRepoFacts`; its methods are async, so the check is too).

A check that raises `InputUnavailable` (`FactUnavailable` for GitHub) reports `unknown`.
"""

from __future__ import annotations

import inspect
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from scorecard.fixes.model import Fix
from scorecard.results import Result

INPUTS = ("entity", "params", "repo", "catalog", "http", "github")


class CheckMeta(BaseModel):
    """What a user reads about a check; validated when the check is defined."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    title: str = Field(min_length=3, max_length=100)
    description: str = Field(min_length=1)
    # May name parameters as `{path}`; they are filled in from the configured params.
    # A number takes its noun as `{min_count:tag|tags}`: "1 tag", "3 tags".
    remediation: str = Field(min_length=1)
    docs_url: str | None = None


@dataclass(frozen=True, eq=False)
class Check:
    """A check function with its metadata. Calling it calls the function."""

    meta: CheckMeta
    func: Callable[..., Any]
    params_model: type[BaseModel] | None
    inputs: tuple[str, ...]
    is_async: bool
    # A blocking sync check runs in a worker thread under the timeout; any other sync
    # check runs inline, since a task and a timer per call would cost more than the check.
    blocking: bool
    timeout: float | None
    module: str
    # The result is a function of the entity's document and the params alone: a run may
    # keep a stored result while neither changed instead of evaluating it again.
    pure: bool = False
    # The golden-path change that makes it pass (`scorecard fix`); a track entry's `fix:`
    # replaces it.
    fix: Fix | None = None

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def runs_inline(self) -> bool:
        return not self.is_async and not self.blocking

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Check {self.id} from {self.module}>"

    def parse_params(self, data: dict[str, Any] | BaseModel | None) -> BaseModel | None:
        """Validate configured params; raises pydantic's ValidationError."""
        if self.params_model is None:
            if data:
                raise TypeError(f"check {self.id!r} takes no parameters")
            return None
        if isinstance(data, self.params_model):
            return data
        return self.params_model.model_validate(data or {})

    def remediation_for(self, params: BaseModel | None) -> str:
        """The remediation text with `{param}` placeholders filled in."""
        values = params.model_dump() if params is not None else {}
        shown = {k: _shown(v) for k, v in values.items()}
        return _RemediationFormatter().vformat(self.meta.remediation, (), _Defaulting(shown))


class _RemediationFormatter(string.Formatter):
    """str.format, and `{n:noun|nouns}` for a number with its noun in the right form."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" not in format_spec:
            return super().format_field(value, format_spec)
        one, many = format_spec.split("|", 1)
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value} {one if value == 1 else many}"
        return str(value)  # a placeholder left as written, or a value that is no count


def _shown(value: Any) -> Any:
    """A param as a remediation says it: a list as `a, b`, an unset one as `not set`
    (never Python's `None`)."""
    if value is None:
        return "not set"
    if isinstance(value, list):
        return ", ".join("not set" if v is None else str(v) for v in value)
    return value


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def check(
    *,
    id: str,
    title: str,
    remediation: str,
    description: str | None = None,
    docs_url: str | None = None,
    params: type[BaseModel] | None = None,
    blocking: bool = False,
    timeout: float | None = None,
    pure: bool = False,
    fix: Fix | None = None,
) -> Callable[[Callable[..., Any]], Check]:
    """Declare a check. The description defaults to the function's docstring.

    `pure=True` promises that the result depends on nothing but the entity's document
    and the params: no clock, file, network, environment or other entity. A run then
    keeps the stored results of an entity whose document, track and checks are all as
    they were, instead of evaluating them again. Only a sync check whose inputs are
    `entity` and `params` can make that promise.

    `fix` declares the change that makes the check pass (`scorecard.fixes.model.Fix`):
    files to create from templates, edits to the entity's catalog-info.yaml.
    """

    def decorate(func: Callable[..., Any]) -> Check:
        signature = inspect.signature(func)
        names = []
        for parameter in signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"check {id!r}: inputs are passed by name; drop *args/**kwargs")
            if parameter.name not in INPUTS:
                raise TypeError(
                    f"check {id!r} asks for unknown input {parameter.name!r}; "
                    f"inputs are {', '.join(INPUTS)}"
                )
            names.append(parameter.name)
        if "params" in names and params is None:
            raise TypeError(f"check {id!r} takes `params` but declares no params model")
        if pure and (inspect.iscoroutinefunction(func) or set(names) - {"entity", "params"}):
            raise TypeError(
                f"check {id!r} cannot be pure: only a sync check of `entity` and `params` "
                "depends on nothing else"
            )
        # A fix's templates are compiled when it is first rendered, not here: importing
        # Jinja2 with every check module would slow down every command that loads checks.
        text = description or inspect.cleandoc(func.__doc__ or "")
        meta = CheckMeta(
            id=id, title=title, description=text, remediation=remediation, docs_url=docs_url
        )
        is_async = inspect.iscoroutinefunction(func)
        return Check(
            meta=meta,
            func=func,
            params_model=params,
            inputs=tuple(names),
            is_async=is_async,
            blocking=blocking and not is_async,
            timeout=timeout,
            module=func.__module__,
            pure=pure,
            fix=fix,
        )

    return decorate


def ensure_result(check_id: str, value: Any) -> Result:
    if not isinstance(value, Result):
        raise TypeError(f"check {check_id!r} returned {type(value).__name__}, not a Result")
    return value
