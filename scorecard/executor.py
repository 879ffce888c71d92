"""The executor: runs every applicable check on every planned entity.

Isolation is the rule: an exception or a timeout becomes an `error` result naming it, and
the rest of the run goes on. Cost follows need: a plain synchronous check runs inline (a
task and a timer each would cost more than the check itself); an async check runs under
the timeout; a sync check declared `blocking` runs in a worker thread under the timeout.
Entities whose checks all run inline are evaluated without creating a task at all.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scorecard.entity import Entity
from scorecard.inputs import CatalogView, InputUnavailable, Repo, repository_root
from scorecard.planner import EntityPlan
from scorecard.report import CheckResult
from scorecard.results import Outcome, Result
from scorecard.tracks import ConfiguredCheck

Progress = Callable[[int], None]
_INPUT_NOUNS = {"repo": "repository", "http": "HTTP client"}


class RunInputs:
    """Inputs shared across a run: one catalog view, one http client, one Repo per folder."""

    def __init__(self, catalog: CatalogView) -> None:
        self.catalog = catalog
        self._repos: dict[Path, Repo] = {}
        self._http: Any = None

    def for_entity(self, entity: Entity, names: frozenset[str]) -> dict[str, Any]:
        """The inputs an entity's checks ask for; an unavailable one maps to the reason."""
        inputs: dict[str, Any] = {"entity": entity, "catalog": self.catalog}
        if "repo" in names:
            try:
                inputs["repo"] = self.repo(entity)
            except InputUnavailable as error:
                inputs["repo"] = error
        if "http" in names:
            inputs["http"] = self.http()
        return inputs

    def repo(self, entity: Entity) -> Repo:
        root = repository_root(entity).resolve()
        repo = self._repos.get(root)
        if repo is None:
            repo = self._repos[root] = Repo(root)
        return repo

    def http(self) -> Any:
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(
                timeout=10.0, follow_redirects=True, headers={"user-agent": "scorecard"}
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()


class Executor:
    def __init__(self, *, concurrency: int = 16, timeout: float = 30.0) -> None:
        self.concurrency = concurrency
        self.timeout = timeout

    def run(
        self, plans: list[EntityPlan], catalog: CatalogView, progress: Progress | None = None
    ) -> list[CheckResult]:
        """Evaluate the plans; results come back in plan order."""
        return asyncio.run(self.run_async(plans, catalog, progress))

    async def run_async(
        self, plans: list[EntityPlan], catalog: CatalogView, progress: Progress | None = None
    ) -> list[CheckResult]:
        inputs = RunInputs(catalog)
        semaphore = asyncio.Semaphore(self.concurrency)
        # Blocking checks get a pool of their own; it is not waited for at the end, so a
        # hung check cannot hold the run (its thread ends when its call returns).
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="check")
        per_plan: list[list[CheckResult] | asyncio.Task[list[CheckResult]]] = []
        try:
            for plan in plans:
                configured = [c for track in plan.tracks for c in track.checks]
                if all(c.check.runs_inline for c in configured):
                    per_plan.append(self._evaluate_inline(plan, configured, inputs))
                    if progress:
                        progress(1)
                else:
                    per_plan.append(
                        asyncio.create_task(
                            self._evaluate(plan, configured, inputs, semaphore, pool, progress)
                        )
                    )
            results: list[CheckResult] = []
            for item in per_plan:
                results.extend(item if isinstance(item, list) else await item)
            return results
        finally:
            for item in per_plan:
                if isinstance(item, asyncio.Task):
                    item.cancel()
            await inputs.aclose()
            pool.shutdown(wait=False, cancel_futures=True)

    def _evaluate_inline(
        self, plan: EntityPlan, configured: list[ConfiguredCheck], inputs: RunInputs
    ) -> list[CheckResult]:
        entity = plan.entity
        available = inputs.for_entity(entity, _input_names(configured))
        results = []
        for configured_check in configured:
            kwargs = _kwargs(configured_check, available)
            result = (
                kwargs if isinstance(kwargs, Result) else _call_inline(configured_check, kwargs)
            )
            results.append(_place(entity.ref, configured_check, result))
        return results

    async def _evaluate(
        self,
        plan: EntityPlan,
        configured: list[ConfiguredCheck],
        inputs: RunInputs,
        semaphore: asyncio.Semaphore,
        pool: ThreadPoolExecutor,
        progress: Progress | None,
    ) -> list[CheckResult]:
        async with semaphore:
            entity = plan.entity
            available = inputs.for_entity(entity, _input_names(configured))
            results = []
            for configured_check in configured:
                kwargs = _kwargs(configured_check, available)
                if isinstance(kwargs, Result):
                    result = kwargs
                elif configured_check.check.runs_inline:
                    result = _call_inline(configured_check, kwargs)
                else:
                    result = await self._call_guarded(configured_check, kwargs, pool)
                results.append(_place(entity.ref, configured_check, result))
        if progress:
            progress(1)
        return results

    async def _call_guarded(
        self, configured: ConfiguredCheck, kwargs: dict[str, Any], pool: ThreadPoolExecutor
    ) -> Result:
        check = configured.check
        timeout = check.timeout or self.timeout
        try:
            if check.is_async:
                value = await asyncio.wait_for(check.func(**kwargs), timeout)
            else:
                call = functools.partial(check.func, **kwargs)
                future = asyncio.get_running_loop().run_in_executor(pool, call)
                value = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return Result.error(
                f"Check {configured.id} did not finish within {timeout:g} seconds.",
                timeout_seconds=timeout,
            )
        except Exception as error:
            return _crashed(configured, error)
        return _checked(configured, value)


def _input_names(configured: Iterable[ConfiguredCheck]) -> frozenset[str]:
    return frozenset(name for c in configured for name in c.check.inputs)


def _kwargs(configured: ConfiguredCheck, available: dict[str, Any]) -> dict[str, Any] | Result:
    """The check's arguments, or an `unknown` Result when an input it needs is missing."""
    kwargs = {}
    for name in configured.check.inputs:
        if name == "params":
            kwargs[name] = configured.params
            continue
        value = available[name]
        if isinstance(value, InputUnavailable):
            return Result.unknown(f"The {_INPUT_NOUNS.get(name, name)} could not be read: {value}")
        kwargs[name] = value
    return kwargs


def _call_inline(configured: ConfiguredCheck, kwargs: dict[str, Any]) -> Result:
    try:
        value = configured.check.func(**kwargs)
    except Exception as error:
        return _crashed(configured, error)
    return _checked(configured, value)


def _checked(configured: ConfiguredCheck, value: Any) -> Result:
    if type(value) is Result:
        return value
    return Result.error(
        f"Check {configured.id} returned {type(value).__name__} instead of a Result.",
        returned=type(value).__name__,
    )


def _crashed(configured: ConfiguredCheck, error: Exception) -> Result:
    # The first line of the exception makes the sentence; the rest (a parser's context,
    # say) goes to the evidence.
    text = str(error).strip()
    first, _, rest = text.partition("\n")
    evidence = {"exception": type(error).__name__}
    if rest:
        evidence["detail"] = text
    return Result.error(
        f"Check {configured.id} crashed: {type(error).__name__}: {first}".rstrip(": "),
        **evidence,
    )


def _place(entity_ref: str, configured: ConfiguredCheck, result: Result) -> CheckResult:
    if result.outcome is Outcome.FAIL and not configured.required:
        result = Result(Outcome.WARN, result.message, result.evidence)
    return CheckResult(
        entity_ref,
        configured.track_id,
        configured.id,
        configured.level_id,
        configured.required,
        result,
    )
