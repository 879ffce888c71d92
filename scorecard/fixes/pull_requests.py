"""Fixes as pull requests: one per GitHub repository, from the branch `scorecard/fixes`.

For each repository: read its default branch and that branch's commit, the open pull
request from `scorecard/fixes` (there is never more than one), and each file the plan
touches as the default branch has it. A file to create that already exists is skipped,
never overwritten; an edit is applied to the file's text. When nothing would change,
nothing is written.

A new pull request: the branch is made at the default branch's commit (or, left over
from an earlier one, moved back there), the files are written onto it with the contents
API and the pull request is opened. An open one is updated instead: GitHub closes a pull
request as merged the moment its head is moved to a commit the base has, so the files
are written onto a staging branch made at the default branch's commit, the pull
request's branch is moved to the staging branch's head in one step (the previous fix
commits are replaced, not piled on), the title and body are set and the staging branch
is deleted. A pull request whose title, body and files are already what would be
written is left alone ("unchanged").

A dry run only reads. Repositories are independent: any failure in one (a refusal, a
rate limit that would take too long, a bad path in the catalog data) is its outcome,
and the others go on.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from scorecard.fixes.model import FileChange
from scorecard.sources.github import FactUnavailable, GitHubClient

BRANCH = "scorecard/fixes"
# GitHub's owner and repository names; anything else in catalog data is refused before
# it reaches a URL ("." and ".." would be path segments a URL resolves away).
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class RemoteEdit:
    """A change to a file the repository has (catalog-info.yaml): its text → new text.
    `apply` may raise ValueError, which is the repository's failure."""

    path: str
    apply: Callable[[str], str]


@dataclass
class PullRequestPlan:
    """What one repository's pull request holds; `body` is Markdown."""

    owner: str
    repo: str
    title: str
    body: str
    files: list[FileChange] = field(default_factory=list)  # created; existing ones skipped
    edits: list[RemoteEdit] = field(default_factory=list)

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"


@dataclass
class PullRequestOutcome:
    repository: str  # "owner/repo"
    # "opened", "updated", "unchanged", "would open", "would update", "nothing to do",
    # "failed"
    action: str
    number: int | None = None
    url: str | None = None
    files: list[str] = field(default_factory=list)  # paths written (or that would be)
    skipped: list[str] = field(default_factory=list)  # paths left alone: they exist
    error: str | None = None


class PullRequestError(Exception):
    """A repository's pull request cannot be made; `str()` says why."""


async def open_pull_requests(
    client: GitHubClient,
    plans: Sequence[PullRequestPlan],
    *,
    dry_run: bool = False,
    branch: str = BRANCH,
    max_concurrent: int = 4,
) -> list[PullRequestOutcome]:
    """Open (or update) each plan's pull request; one outcome per plan, in order.

    A second plan for a repository is refused: one pull request per repository.
    """
    limit = asyncio.Semaphore(max(1, max_concurrent))
    planned: set[str] = set()

    async def one(plan: PullRequestPlan, first: bool) -> PullRequestOutcome:
        if not first:
            return PullRequestOutcome(
                plan.repository,
                "failed",
                error=f"{plan.repository} has more than one plan; scorecard opens one pull "
                "request per repository, so this one was left out.",
            )
        async with limit:
            return await _PullRequest(client, plan, branch, dry_run).run()

    firsts = []
    for plan in plans:
        key = plan.repository.lower()  # GitHub's names are case-insensitive
        firsts.append(key not in planned)
        planned.add(key)
    return list(await asyncio.gather(*map(one, plans, firsts)))


@dataclass(frozen=True)
class _Write:
    path: str
    content: bytes
    replaces: str | None  # the blob sha of the file it replaces


@dataclass(frozen=True)
class _Found:
    """A path that exists at a ref; `data` is None when it is not a readable file."""

    sha: str | None
    data: bytes | None
    not_editable: str = ""  # why `data` is None


class _PullRequest:
    """One repository's run; `written` and `skipped` grow as it goes."""

    def __init__(
        self, client: GitHubClient, plan: PullRequestPlan, branch: str, dry_run: bool
    ) -> None:
        self.client = client
        self.plan = plan
        self.branch = branch
        self.dry_run = dry_run
        self.name = plan.repository
        self.written: list[str] = []
        self.skipped: list[str] = []
        self.pull: dict[str, Any] | None = None

    def outcome(self, action: str, files: list[str] | None = None) -> PullRequestOutcome:
        pull = self.pull or {}
        number = pull.get("number")
        url = pull.get("html_url")
        return PullRequestOutcome(
            self.name,
            action,
            number if isinstance(number, int) else None,
            url if isinstance(url, str) else None,
            list(self.written if files is None else files),
            list(self.skipped),
        )

    async def run(self) -> PullRequestOutcome:
        try:
            return await self._run()
        except Exception as error:  # each repository fails alone, whatever went wrong
            failed = self.outcome("failed")
            if isinstance(error, (FactUnavailable, PullRequestError)):
                failed.error = str(error)
            else:
                failed.error = f"{self.name} failed: {type(error).__name__}: {error}"
            return failed

    async def _run(self) -> PullRequestOutcome:
        creates, edits = _targets(self.plan)
        base = await self._default_branch()
        base_sha = await self._branch_head(base)
        self.pull = await self._open_pull()
        writes = await self._changes(creates, edits, base, base_sha)
        if not writes:
            return self.outcome("nothing to do", [])
        paths = [write.path for write in writes]
        if self.pull is not None and await self._unchanged(writes):
            return self.outcome("unchanged", paths)
        if self.dry_run:
            return self.outcome("would update" if self.pull else "would open", paths)
        if self.pull is None:
            await self._branch_at(self.branch, base_sha, base)
            await self._write(self.branch, writes)
            self.pull = await self._open(base)
            return self.outcome("opened")
        staging = f"{self.branch}-next"
        await self._branch_at(staging, base_sha, base)
        head = await self._write(staging, writes)
        await self._move(self.branch, head)
        await self._edit_pull()
        await self._delete(staging)
        return self.outcome("updated")

    # --- reading -------------------------------------------------------------------------

    def _path(self, *segments: str) -> str:
        """An API path under the repository, each segment quoted."""
        quoted = (quote(segment, safe="") for segment in segments)
        return "/".join(
            ("/repos", quote(self.plan.owner, safe=""), quote(self.plan.repo, safe=""), *quoted)
        )

    async def _default_branch(self) -> str:
        reply = await self.client.get(self._path(), f"repository {self.name}")
        branch = _dig(reply.body, "default_branch")
        if not isinstance(branch, str) or not branch:
            raise PullRequestError(f"GitHub did not give the default branch of {self.name}.")
        return branch

    async def _branch_head(self, branch: str) -> str:
        path = self._path("git", "ref", "heads", *branch.split("/"))
        reply = await self.client.get(path, f"branch {branch} of {self.name}")
        sha = _dig(reply.body, "object", "sha")
        if not isinstance(sha, str) or not sha:
            raise PullRequestError(f"GitHub did not give the commit of {branch} in {self.name}.")
        return sha

    async def _open_pull(self) -> dict[str, Any] | None:
        """The open pull request from the branch, if there is one."""
        query = urlencode(
            {"state": "open", "head": f"{self.plan.owner}:{self.branch}", "per_page": 100}
        )
        pulls, _ = await self.client.get_list(
            f"{self._path('pulls')}?{query}", f"open pull requests of {self.name}"
        )
        for pull in pulls:
            head = _dig(pull, "head") or {}
            where = _dig(head, "repo", "full_name")
            if (
                isinstance(_dig(pull, "number"), int)
                and _dig(head, "ref") == self.branch
                and (not isinstance(where, str) or where.lower() == self.name.lower())
            ):
                return pull
        return None

    async def _read(self, path: str, ref: str, ref_name: str) -> _Found | None:
        """A path at a ref (a commit sha); None when it does not exist there."""
        reply = await self.client.get(
            f"{self._path('contents', *path.split('/'))}?ref={quote(ref, safe='')}",
            f"file {path} on {ref_name} of {self.name}",
            accept=(404,),
        )
        if reply.status == 404:
            return None
        body = reply.body
        if not isinstance(body, dict):
            return _Found(None, None, "it is a directory")
        sha = body.get("sha") if isinstance(body.get("sha"), str) else None
        if body.get("type") != "file":
            return _Found(sha, None, f"it is a {body.get('type') or 'thing other than a file'}")
        if body.get("encoding") != "base64" or not isinstance(body.get("content"), str):
            return _Found(sha, None, "GitHub does not give its content (files over 1 MB)")
        return _Found(sha, base64.b64decode(body["content"]))

    async def _changes(
        self,
        creates: dict[str, bytes],
        edits: dict[str, list[Callable[[str], str]]],
        base: str,
        base_sha: str,
    ) -> list[_Write]:
        """What would be written: files that do not exist yet, and edits that change."""
        writes = []
        for path, content in creates.items():
            if await self._read(path, base_sha, base) is not None:
                self.skipped.append(path)
            else:
                writes.append(_Write(path, content, None))
        for path, applies in edits.items():
            found = await self._read(path, base_sha, base)
            if found is None:
                raise PullRequestError(
                    f"{path} is not on {base} of {self.name}, so it cannot be edited."
                )
            if found.data is None or found.sha is None:
                raise PullRequestError(
                    f"{path} on {base} of {self.name} cannot be edited: {found.not_editable}."
                )
            try:
                text = found.data.decode("utf-8")
            except UnicodeDecodeError:
                raise PullRequestError(
                    f"{path} on {base} of {self.name} is not UTF-8 text, so it cannot be edited."
                ) from None
            edited = text
            for apply in applies:
                try:
                    edited = apply(edited)
                except ValueError as error:
                    raise PullRequestError(
                        f"The edit of {path} in {self.name} failed: {error}"
                    ) from None
            if edited != text:
                writes.append(_Write(path, edited.encode("utf-8"), found.sha))
        return writes

    async def _unchanged(self, writes: list[_Write]) -> bool:
        """Whether the open pull request already has this title, body and these files
        (and no others)."""
        pull = self.pull or {}
        if pull.get("title") != self.plan.title or (pull.get("body") or "") != self.plan.body:
            return False
        number = pull["number"]
        changed, complete = await self.client.get_list(
            f"{self._path('pulls', str(number), 'files')}?per_page=100",
            f"files of pull request #{number} in {self.name}",
        )
        names = {_dig(entry, "filename") for entry in changed}
        head = _dig(pull, "head", "sha")
        if not complete or names != {write.path for write in writes} or not isinstance(head, str):
            return False
        for write in writes:
            found = await self._read(write.path, head, self.branch)
            if found is None or found.data != write.content:
                return False
        return True

    # --- writing -------------------------------------------------------------------------

    async def _branch_at(self, branch: str, sha: str, base: str) -> None:
        """Make `branch` at commit `sha`, or move it there when it exists."""
        reply = await self.client.send(
            "POST",
            self._path("git", "refs"),
            f"creating the branch {branch} in {self.name}",
            json={"ref": f"refs/heads/{branch}", "sha": sha},
            accept=(422,),
        )
        if reply.status != 422:
            return
        message = str(_dig(reply.body, "message") or "")
        if "already exists" not in message.lower():
            raise PullRequestError(
                f"Creating the branch {branch} in {self.name} failed (HTTP 422: {message})."
            )
        await self.client.send(
            "PATCH",
            self._path("git", "refs", "heads", *branch.split("/")),
            f"resetting the branch {branch} in {self.name} to {base}",
            json={"sha": sha, "force": True},
        )

    async def _write(self, branch: str, writes: list[_Write]) -> str:
        """Write each file onto `branch` (a commit each); the branch's new head."""
        head = ""
        for write in writes:
            verb = "edit" if write.replaces else "add"
            payload: dict[str, Any] = {
                "message": f"scorecard fix: {verb} {write.path}",
                "content": base64.b64encode(write.content).decode("ascii"),
                "branch": branch,
            }
            if write.replaces:
                payload["sha"] = write.replaces
            reply = await self.client.send(
                "PUT",
                self._path("contents", *write.path.split("/")),
                f"writing {write.path} to {branch} in {self.name}",
                json=payload,
            )
            self.written.append(write.path)
            head = _dig(reply.body, "commit", "sha")
            if not isinstance(head, str) or not head:
                raise PullRequestError(
                    f"GitHub did not give the commit writing {write.path} in {self.name}."
                )
        return head

    async def _move(self, branch: str, sha: str) -> None:
        await self.client.send(
            "PATCH",
            self._path("git", "refs", "heads", *branch.split("/")),
            f"moving the branch {branch} in {self.name} to the new fix commits",
            json={"sha": sha, "force": True},
        )

    async def _delete(self, branch: str) -> None:
        await self.client.send(
            "DELETE",
            self._path("git", "refs", "heads", *branch.split("/")),
            f"deleting the branch {branch} in {self.name}",
        )

    async def _open(self, base: str) -> dict[str, Any]:
        reply = await self.client.send(
            "POST",
            self._path("pulls"),
            f"opening the pull request for {self.name}",
            json={
                "title": self.plan.title,
                "head": self.branch,
                "base": base,
                "body": self.plan.body,
            },
        )
        if not isinstance(_dig(reply.body, "number"), int):
            raise PullRequestError(
                f"GitHub did not give the number of the pull request for {self.name}."
            )
        return reply.body

    async def _edit_pull(self) -> None:
        number = (self.pull or {})["number"]
        reply = await self.client.send(
            "PATCH",
            self._path("pulls", str(number)),
            f"updating pull request #{number} of {self.name}",
            json={"title": self.plan.title, "body": self.plan.body},
        )
        if isinstance(reply.body, dict):
            self.pull = reply.body


def _dig(body: Any, *keys: str) -> Any:
    """body[key][key]..., or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _targets(
    plan: PullRequestPlan,
) -> tuple[dict[str, bytes], dict[str, list[Callable[[str], str]]]]:
    """The plan's files to create and edits by path, after refusing what catalog data
    should not name: a bad repository name, a path outside the work tree, two different
    contents for one file."""
    for name in (plan.owner, plan.repo):
        if not _NAME.fullmatch(name) or name in (".", ".."):
            raise PullRequestError(
                f"{plan.repository!r} is not a GitHub repository name, so no pull request is "
                "opened for it."
            )
    creates: dict[str, bytes] = {}
    for change in plan.files:
        content = change.content.encode("utf-8")
        path = _checked(change.path, plan)
        if creates.setdefault(path, content) != content:
            raise PullRequestError(
                f"Two fixes for {plan.repository} create {path} with different content."
            )
    edits: dict[str, list[Callable[[str], str]]] = {}
    for edit in plan.edits:
        path = _checked(edit.path, plan)
        if path in creates:
            raise PullRequestError(f"A fix for {plan.repository} both creates and edits {path}.")
        edits.setdefault(path, []).append(edit.apply)  # in order, each on the last's text
    return creates, edits


def _checked(path: str, plan: PullRequestPlan) -> str:
    """A relative POSIX path inside the work tree, or PullRequestError saying why not."""
    why = ""
    segments = path.split("/")
    if not path:
        why = "it is empty"
    elif path.startswith("/") or re.match(r"[A-Za-z]:", path):
        why = "it is absolute"
    elif "\\" in path or any(ord(character) < 32 for character in path):
        why = "it has a backslash or a control character"
    elif ".." in segments:
        why = "it leaves the repository (`..`)"
    elif any(segment.lower() == ".git" for segment in segments):
        why = "it is inside `.git/`"
    elif any(segment in ("", ".") for segment in segments):
        why = "it has an empty or `.` segment"
    if why:
        raise PullRequestError(
            f"The path {path!r} of the fix for {plan.repository} is refused: {why}."
        )
    return path
