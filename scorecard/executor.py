"""The executor: runs every applicable check on every planned entity.

Isolation is the rule: an exception or a timeout becomes an `error` result naming it, and
the rest of the run goes on. Cost follows need: a plain synchronous check runs inline (a
task and a timer each would cost more than the check itself); an async check runs under
the timeout; a sync check declared `blocking` runs in a worker thread under the timeout.
Entities whose checks all run inline are evaluated without creating a task at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from scorecard.entity import Entity
from scorecard.inputs import CatalogView, InputUnavailable, Repo, repository_root
from scorecard.planner import EntityPlan
from scorecard.pushed import PushedResults, external_result
from scorecard.results import Outcome, Result
from scorecard.sources.git import GitCache, allowed_roots, redact, remote_location
from scorecard.tracks import ConfiguredCheck

Progress = Callable[[int], None]
if TYPE_CHECKING:
    from scorecard.workspace import GitHubConfig

_INPUT_NOUNS = {"repo": "repository", "http": "HTTP client", "github": "GitHub repository"}


class RunInputs:
    """Inputs shared across a run: one catalog view, one http client, one Repo per folder."""

    def __init__(
        self,
        catalog: CatalogView,
        git_cache: GitCache | None = None,
        github: GitHubConfig | None = None,
        on_source_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.git_cache = git_cache
        self.github_settings = github
        self.on_source_failure = on_source_failure
        self._fetched: dict[tuple[str, str | None], Path | str] = {}
        self._repos: dict[Path, Repo] = {}
        self._roots = allowed_roots(git_cache)  # where local source locations may lead
        self._labels: dict[Path, str] = {}  # remote folders: the repository's name
        self._http: Any = None
        self._github: Any = None  # one GitHubClient per run, made when a check needs it
        self._github_facts: dict[tuple[str, str], Any] = {}

    async def prefetch(self, entities: Iterable[Entity]) -> None:
        """Fetch, once each, the remote repositories these entities read (in threads)."""
        if self.git_cache is None:
            return
        specs = []
        for entity in entities:
            with contextlib.suppress(ValueError):
                remote = remote_location(entity)
                if remote is not None and remote[1].spec not in self._fetched:
                    specs.append(remote[1].spec)
        if specs:
            fetched = await asyncio.to_thread(self.git_cache.fetch_all, specs)
            self._fetched.update(fetched)

    def _remote_root(self, entity: Entity) -> Path | None:
        """The clone folder of the entity's remote location; None for a local one."""
        try:
            remote = remote_location(entity)
        except ValueError as error:
            raise InputUnavailable(f"{entity.ref}: {error}") from None
        if remote is None:
            return None
        text, location = remote
        if self.git_cache is None:
            raise InputUnavailable(
                f"{entity.ref} has a remote source location {text!r}; "
                "remote repositories are not configured (`repositories:` in scorecard.yaml)"
            )
        if location.spec not in self._fetched:  # not prefetched: fetch it now, once
            self._fetched.update(self.git_cache.fetch_all([location.spec]))
        clone = self._fetched[location.spec]
        if isinstance(clone, str):
            raise InputUnavailable(f"{redact(location.url)} could not be fetched: {clone}")
        root = (clone / location.subpath).resolve()
        if not root.is_relative_to(clone.resolve()) or not root.is_dir():
            raise InputUnavailable(f"{location.subpath!r} does not exist in {redact(location.url)}")
        name = location.url.rstrip("/").rpartition("/")[2].rpartition(":")[2].removesuffix(".git")
        self._labels[root] = "/".join(p for p in (name, location.subpath) if p)
        return root

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
        if "github" in names:
            try:
                inputs["github"] = self.github(entity)
            except InputUnavailable as error:
                inputs["github"] = error
        return inputs

    def github(self, entity: Entity) -> Any:
        """The entity's GitHubRepoFacts; entities of one repository share them."""
        from scorecard.sources.github import GitHubClient, GitHubRepoFacts, repository_slug

        if self._github is None:
            self._github = GitHubClient.from_env(settings=self.github_settings)
            self._github.on_failure = self.on_source_failure
        slug = repository_slug(entity, self._github.web_host)
        facts = self._github_facts.get(slug)
        if facts is None:
            facts = self._github_facts[slug] = GitHubRepoFacts(self._github, *slug)
        return facts

    def repo(self, entity: Entity) -> Repo:
        root = self._remote_root(entity) or repository_root(entity, self._roots)
        repo = self._repos.get(root)
        if repo is None:
            repo = self._repos[root] = Repo(root, self._labels.get(root))
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
        if self._github is not None:
            await self._github.aclose()


@dataclass(frozen=True, slots=True)
class _Step:
    """A configured check made ready to call: the hot loop does no lookups of its own."""

    configured: ConfiguredCheck
    call: Callable[[dict[str, Any]], Any]  # the available inputs → the check's return value
    io_inputs: tuple[str, ...]  # inputs that may be unavailable (repo, http)
    inline: bool
    optional: bool  # a failure counts as `warn`


def _step(configured: ConfiguredCheck, pushed: PushedResults, now: datetime) -> _Step:
    if configured.external:
        # Its result is the one pushed, never evaluated: read from the run's snapshot.
        key = (configured.track_id, configured.id)

        def reported(available: dict[str, Any]) -> Result:
            ref = available["entity"].ref
            return external_result(configured, pushed.get((ref, *key)), ref, now)

        return _Step(configured, reported, (), True, not configured.required)
    step = _evaluated_step(configured)
    threshold = configured.threshold
    if threshold is None:
        return step
    call = step.call
    if configured.check.is_async:

        async def judged(available: dict[str, Any]) -> Any:
            return threshold.apply(_checked(configured, await call(available)))

    else:

        def judged(available: dict[str, Any]) -> Any:  # type: ignore[misc]
            return threshold.apply(_checked(configured, call(available)))

    return _Step(configured, judged, step.io_inputs, step.inline, step.optional)


def _evaluated_step(configured: ConfiguredCheck) -> _Step:
    check = configured.check
    func, params, names = check.func, configured.params, check.inputs
    # The common shapes get a direct call; building a kwargs dict per call costs more
    # than many checks do.
    call: Callable[[dict[str, Any]], Any]
    if names == ("entity",):
        call = lambda available: func(entity=available["entity"])  # noqa: E731
    elif names == ("entity", "params"):
        call = lambda available: func(entity=available["entity"], params=params)  # noqa: E731
    else:
        call = lambda available: func(  # noqa: E731
            **{n: params if n == "params" else available[n] for n in names}
        )
    io_inputs = tuple(n for n in names if n in ("repo", "http", "github"))
    return _Step(configured, call, io_inputs, check.runs_inline, not configured.required)


T = TypeVar("T")
# What a run does with an entity's results: `Result`s in the order of its tracks' checks,
# each outcome as it counts (an optional check's failure already `warn`).
Finish = Callable[[EntityPlan, list[Result]], T]


class Executor:
    def __init__(
        self,
        *,
        concurrency: int = 16,
        timeout: float = 30.0,
        git_cache: GitCache | None = None,
        github: GitHubConfig | None = None,
        on_source_failure: Callable[[str], None] | None = None,
        pushed: PushedResults | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.timeout = timeout
        self.git_cache = git_cache
        self.github = github
        self.on_source_failure = on_source_failure
        # The latest results pushed for external checks, read when the run started.
        self.pushed: PushedResults = pushed or {}

    def run(
        self,
        plans: list[EntityPlan],
        catalog: CatalogView,
        progress: Progress | None,
        finish: Finish[T],
    ) -> list[T]:
        """Evaluate the plans: `finish(plan, results)` for each, in plan order, the
        results in track order. `finish` is called as soon as a plan's results are all
        there, so that a large run can pack them rather than hold them all at once."""
        return asyncio.run(self.run_async(plans, catalog, progress, finish))

    async def run_async(
        self,
        plans: list[EntityPlan],
        catalog: CatalogView,
        progress: Progress | None,
        finish: Finish[T],
    ) -> list[T]:
        inputs = RunInputs(catalog, self.git_cache, self.github, self.on_source_failure)
        if self.git_cache is not None:
            # Every remote repository the run reads, fetched once before any check runs.
            await inputs.prefetch(
                p.entity
                for p in plans
                if any("repo" in c.check.inputs for t in p.tracks for c in t.checks)
            )
        semaphore = asyncio.Semaphore(self.concurrency)
        now = datetime.now(UTC)  # what a pushed result's age is measured against
        # Blocking checks get a pool of their own; it is not waited for at the end, so a
        # hung check cannot hold the run (its thread ends when its call returns).
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="check")
        steps_of: dict[tuple[int, ...], tuple[list[_Step], frozenset[str], bool]] = {}
        per_plan: list[T | asyncio.Task[T]] = []
        try:
            for plan in plans:
                key = tuple(id(track) for track in plan.tracks)
                prepared = steps_of.get(key)
                if prepared is None:
                    steps = [
                        _step(c, self.pushed, now) for track in plan.tracks for c in track.checks
                    ]
                    names = frozenset(n for s in steps for n in s.configured.check.inputs)
                    prepared = steps_of[key] = (steps, names, all(s.inline for s in steps))
                steps, names, inline = prepared
                available = inputs.for_entity(plan.entity, names)
                if inline:
                    per_plan.append(finish(plan, _evaluate_inline(steps, available)))
                    if progress:
                        progress(1)
                else:
                    evaluation = self._evaluate(
                        plan, steps, available, semaphore, pool, progress, finish
                    )
                    per_plan.append(asyncio.create_task(evaluation))
            return [await item if isinstance(item, asyncio.Task) else item for item in per_plan]
        finally:
            for item in per_plan:
                if isinstance(item, asyncio.Task):
                    item.cancel()
            await inputs.aclose()
            pool.shutdown(wait=False, cancel_futures=True)

    async def _evaluate(
        self,
        plan: EntityPlan,
        steps: list[_Step],
        available: dict[str, Any],
        semaphore: asyncio.Semaphore,
        pool: ThreadPoolExecutor,
        progress: Progress | None,
        finish: Finish[T],
    ) -> T:
        async with semaphore:
            results = []
            for step in steps:
                result = _missing_input(step, available)
                if result is None:
                    if step.inline:
                        result = _call_inline(step, available)
                    else:
                        result = await self._call_guarded(step, available, pool)
                if result.outcome is _FAIL and step.optional:
                    result = Result(_WARN, result.message, result.evidence)
                results.append(result)
        if progress:
            progress(1)
        return finish(plan, results)

    async def _call_guarded(
        self, step: _Step, available: dict[str, Any], pool: ThreadPoolExecutor
    ) -> Result:
        configured = step.configured
        check = configured.check
        timeout = check.timeout or self.timeout
        try:
            if check.is_async:
                value = await asyncio.wait_for(step.call(available), timeout)
            else:
                call = functools.partial(step.call, available)
                future = asyncio.get_running_loop().run_in_executor(pool, call)
                value = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return Result.error(
                f"Check {configured.id} did not finish within {timeout:g} "
                f"second{'' if timeout == 1 else 's'}.",
                timeout_seconds=timeout,
            )
        except Exception as error:
            return _crashed(configured, error)
        return _checked(configured, value)


def _evaluate_inline(steps: list[_Step], available: dict[str, Any]) -> list[Result]:
    # The hot loop of a large run: _call_inline written out in place.
    results = []
    append = results.append
    for step in steps:
        result = _missing_input(step, available) if step.io_inputs else None
        if result is None:
            try:
                result = step.call(available)
            except Exception as error:
                result = _crashed(step.configured, error)
            else:
                if (
                    type(result) is not Result
                    or type(result.message) is not str
                    or type(result.evidence) is not dict
                ):
                    result = _checked(step.configured, result)
        if result.outcome is _FAIL and step.optional:
            result = Result(_WARN, result.message, result.evidence)
        append(result)
    return results


_FAIL = Outcome.FAIL
_WARN = Outcome.WARN


def _missing_input(step: _Step, available: dict[str, Any]) -> Result | None:
    """An `unknown` Result when an input the check needs could not be built."""
    for name in step.io_inputs:
        value = available[name]
        if isinstance(value, InputUnavailable):
            return Result.unknown(f"The {_INPUT_NOUNS.get(name, name)} could not be read: {value}")
    return None


def _call_inline(step: _Step, available: dict[str, Any]) -> Result:
    try:
        value = step.call(available)
    except Exception as error:
        return _crashed(step.configured, error)
    return _checked(step.configured, value)


def _checked(configured: ConfiguredCheck, value: Any) -> Result:
    """`value` if it is a `Result` the store can keep (a sentence as text, evidence as a
    mapping), else an `error` result that says what the check returned."""
    if type(value) is Result:
        if isinstance(value.message, str) and isinstance(value.evidence, dict):
            return value
        return Result.error(
            f"Check {configured.id} returned a Result whose message is "
            f"{type(value.message).__name__} and evidence {type(value.evidence).__name__}, "
            "not text and a mapping.",
            message_type=type(value.message).__name__,
            evidence_type=type(value.evidence).__name__,
        )
    return Result.error(
        f"Check {configured.id} returned {type(value).__name__} instead of a Result.",
        returned=type(value).__name__,
    )


def _crashed(configured: ConfiguredCheck, error: Exception) -> Result:
    # The first line of the exception makes the sentence; the rest (a parser's context,
    # say) goes to the evidence.
    text = str(error).strip()
    if isinstance(error, InputUnavailable):  # data the check needed could not be read
        return Result.unknown(text, exception=type(error).__name__)
    first, _, rest = text.partition("\n")
    evidence = {"exception": type(error).__name__}
    if rest:
        evidence["detail"] = text
    return Result.error(
        f"Check {configured.id} crashed: {type(error).__name__}: {first}".rstrip(": "),
        **evidence,
    )
