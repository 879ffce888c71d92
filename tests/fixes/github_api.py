"""A fake GitHub REST API on loopback, for the pull requests `scorecard fix` opens.

A real HTTP server (a Starlette app under uvicorn, in a thread) holding repositories in
memory: commits (each a snapshot of the files and its parent), branches pointing at
commits, and pull requests. It speaks GitHub's shapes and status codes for the endpoints
scorecard uses — the repository, git refs (read, create, move, delete), file contents
(read at a ref, create or replace on a branch) and pulls (list, open, edit, files) — and
plays GitHub's rules that matter to a client: 422 for a ref that exists, the blob `sha`
required to replace a file (422 when missing, 409 when stale), a pull request closed as
merged when its head is moved to a commit the base already has.

`fake.add_repository("acme/payments", {"catalog-info.yaml": "..."})` seeds one (on
`main`); `fake.fault("acme/payments", RATE_LIMITED)` makes it answer 403 like GitHub
does; `fake.reset()` forgets everything. The `fake_github` fixture of
tests/fixes/conftest.py gives a reset one per test.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import socket
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scorecard.sources.github import GitHubClient

DOCS = "https://docs.github.com/rest"
LOGIN = "scorecard-bot"  # the user the token belongs to


@dataclass(frozen=True)
class Fault:
    """An answer a repository gives instead of serving a request."""

    status: int
    message: str
    rate_limited: bool = False  # with the headers of a spent primary limit


# The primary limit spent, resetting in an hour: what GitHub answers a token that has used
# its requests (the limit is per token; the fake plays it per repository to be selective).
RATE_LIMITED = Fault(
    403,
    "API rate limit exceeded for installation ID 1. If you reach out to GitHub Support for "
    "help, please include the request ID 0000:0000:0000:0000:00000000.",
    rate_limited=True,
)
# A GitHub App token without the permission the request needs.
FORBIDDEN = Fault(403, "Resource not accessible by integration")


def blob_sha(content: bytes) -> str:
    """The git blob sha of a file's content, which GitHub gives as a file's `sha`."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass(frozen=True)
class Commit:
    sha: str
    parent: str | None
    files: dict[str, bytes]
    message: str


@dataclass
class PullRequest:
    number: int
    title: str
    body: str | None
    head: str  # branch names, in the same repository
    base: str
    state: str = "open"
    merged: bool = False


@dataclass
class FakeRepository:
    """One repository: read its state in assertions, or change it to set a scene."""

    owner: str
    name: str
    default_branch: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name → commit sha
    pulls: list[PullRequest] = field(default_factory=list)
    fault: Fault | None = None
    fault_methods: frozenset[str] = frozenset()
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def files(self, branch: str | None = None) -> dict[str, bytes]:
        """The files on a branch (the default branch when None)."""
        return dict(self.commits[self.branches[branch or self.default_branch]].files)

    def text(self, path: str, branch: str | None = None) -> str:
        return self.files(branch)[path].decode()

    def history(self, branch: str | None = None) -> list[Commit]:
        """The commits of a branch, newest first."""
        found, sha = [], self.branches[branch or self.default_branch]
        while sha is not None:
            found.append(self.commits[sha])
            sha = self.commits[sha].parent
        return found

    def ahead(self, branch: str, base: str | None = None) -> list[Commit]:
        """The commits on `branch` that `base` (the default branch) does not have."""
        have = {commit.sha for commit in self.history(base)}
        return [commit for commit in self.history(branch) if commit.sha not in have]

    def open_pulls(self) -> list[PullRequest]:
        return [pull for pull in self.pulls if pull.state == "open"]

    def commit(self, branch: str, files: dict[str, bytes], message: str) -> Commit:
        """A commit of `files` on top of `branch` (made when missing, from nothing)."""
        parent = self.branches.get(branch)
        digest = hashlib.sha1(f"{parent}\n{message}\n{sorted(files.items())}".encode())
        digest.update(str(len(self.commits)).encode())  # two equal commits differ
        made = Commit(digest.hexdigest(), parent, dict(files), message)
        self.commits[made.sha] = made
        self.branches[branch] = made.sha
        return made

    def contains(self, ancestor: str, sha: str) -> bool:
        """Whether commit `ancestor` is `sha` or one of its ancestors."""
        at: str | None = sha
        while at is not None:
            if at == ancestor:
                return True
            at = self.commits[at].parent
        return False

    def merge_base(self, head: str, base: str) -> str | None:
        have = {commit.sha for commit in self.history(base)}
        at: str | None = self.branches[head]
        while at is not None and at not in have:
            at = self.commits[at].parent
        return at


class FakeGitHub:
    """The server and its repositories; `url` is the API's base URL once started."""

    def __init__(self) -> None:
        self.repositories: dict[str, FakeRepository] = {}  # "owner/name", lower case
        self.lock = threading.Lock()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.url = ""

    # --- setting the scene ---------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.repositories.clear()

    def add_repository(
        self,
        full_name: str,
        files: dict[str, str | bytes] | None = None,
        *,
        default_branch: str = "main",
    ) -> FakeRepository:
        """A repository whose default branch has one commit of `files`."""
        owner, _, name = full_name.partition("/")
        repository = FakeRepository(owner, name, default_branch)
        encoded = {
            path: content.encode() if isinstance(content, str) else content
            for path, content in (files or {}).items()
        }
        repository.commit(default_branch, encoded, "Initial commit")
        with self.lock:
            self.repositories[full_name.lower()] = repository
        return repository

    def repository(self, full_name: str) -> FakeRepository:
        return self.repositories[full_name.lower()]

    def fault(self, full_name: str, fault: Fault | None, methods: Iterable[str] = ()) -> None:
        """Answer the repository's requests (only those of `methods`, when given) with
        `fault`; None serves them again."""
        with self.lock:
            repository = self.repository(full_name)
            repository.fault = fault
            repository.fault_methods = frozenset(method.upper() for method in methods)

    def client(self, **options: Any) -> GitHubClient:
        """A client of this server, as scorecard builds one for api.github.com."""
        return GitHubClient(self.url, "ghp_fake", **options)

    # --- serving -------------------------------------------------------------------------

    def start(self, timeout: float = 10) -> FakeGitHub:
        listener = socket.socket()
        # Connections accepted from a socket handed to uvicorn inherit its options, and
        # without this one each answer waits out a delayed ACK (40 ms).
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        app = Starlette(routes=self._routes(), exception_handlers={404: _not_found})
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [listener]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake GitHub did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(10)

    def _routes(self) -> list[Route]:
        repo = "/repos/{owner}/{repo}"
        return [
            Route(repo, self._serve(self.get_repository), methods=["GET"]),
            Route(f"{repo}/git/ref/{{ref:path}}", self._serve(self.get_ref), methods=["GET"]),
            Route(f"{repo}/git/refs", self._serve(self.create_ref), methods=["POST"]),
            Route(
                f"{repo}/git/refs/{{ref:path}}",
                self._serve(self.change_ref),
                methods=["PATCH", "DELETE"],
            ),
            Route(
                f"{repo}/contents/{{path:path}}",
                self._serve(self.contents),
                methods=["GET", "PUT"],
            ),
            Route(f"{repo}/pulls", self._serve(self.pulls), methods=["GET", "POST"]),
            Route(
                f"{repo}/pulls/{{number:int}}",
                self._serve(self.pull),
                methods=["GET", "PATCH"],
            ),
            Route(
                f"{repo}/pulls/{{number:int}}/files",
                self._serve(self.pull_files),
                methods=["GET"],
            ),
        ]

    def _serve(
        self, handler: Callable[[FakeRepository, Request, Any], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint of a repository: found (else 404), logged, faulted when set."""

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return _error(400, "Problems parsing JSON")
            params = request.path_params
            with self.lock:
                name = f"{params['owner']}/{params['repo']}".lower()
                repository = self.repositories.get(name)
                if repository is None:
                    return _error(404, "Not Found")
                query = f"?{request.url.query}" if request.url.query else ""
                repository.requests.append((request.method, request.url.path + query))
                fault = repository.fault
                if fault and (
                    not repository.fault_methods or request.method in repository.fault_methods
                ):
                    return _fault(fault)
                return handler(repository, request, body)

        return endpoint

    # --- endpoints -----------------------------------------------------------------------

    def get_repository(self, repo: FakeRepository, request: Request, body: Any) -> Response:
        return JSONResponse(
            {
                "id": zlib.crc32(repo.full_name.encode()),
                "name": repo.name,
                "full_name": repo.full_name,
                "owner": {"login": repo.owner, "type": "Organization"},
                "private": True,
                "html_url": f"{self.url}/{repo.full_name}",
                "url": f"{self.url}/repos/{repo.full_name}",
                "default_branch": repo.default_branch,
                "permissions": {"admin": False, "push": True, "pull": True},
            }
        )

    def _ref(self, repo: FakeRepository, branch: str) -> dict[str, Any]:
        sha = repo.branches[branch]
        api = f"{self.url}/repos/{repo.full_name}"
        return {
            "ref": f"refs/heads/{branch}",
            "node_id": f"REF_{branch}",
            "url": f"{api}/git/refs/heads/{branch}",
            "object": {"sha": sha, "type": "commit", "url": f"{api}/git/commits/{sha}"},
        }

    def get_ref(self, repo: FakeRepository, request: Request, body: Any) -> Response:
        ref = request.path_params["ref"]
        branch = ref.removeprefix("heads/")
        if not ref.startswith("heads/") or branch not in repo.branches:
            return _error(404, "Not Found")
        return JSONResponse(self._ref(repo, branch))

    def create_ref(self, repo: FakeRepository, request: Request, body: Any) -> Response:
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not isinstance(sha, str):
            return _error(422, 'Invalid request.\n\n"ref", "sha" weren\'t supplied.')
        if not ref.startswith("refs/heads/") or not ref.removeprefix("refs/heads/"):
            return _error(422, "Reference name must start with 'refs/' and have two slashes.")
        branch = ref.removeprefix("refs/heads/")
        if branch in repo.branches:
            return _error(422, "Reference already exists")
        if any(
            other.startswith(f"{branch}/") or branch.startswith(f"{other}/")
            for other in repo.branches
        ):
            return _error(422, f"Reference cannot be created: {ref} conflicts with a branch")
        if sha not in repo.commits:
            return _error(422, "Object does not exist")
        repo.branches[branch] = sha
        return JSONResponse(self._ref(repo, branch), status_code=201)

    def change_ref(self, repo: FakeRepository, request: Request, body: Any) -> Response:
        ref = request.path_params["ref"]
        branch = ref.removeprefix("heads/")
        if not ref.startswith("heads/") or branch not in repo.branches:
            return _error(422, "Reference does not exist")
        if request.method == "DELETE":
            del repo.branches[branch]
            for pull in repo.open_pulls():
                if branch in (pull.head, pull.base):
                    pull.state = "closed"
            return Response(status_code=204)
        sha = body.get("sha")
        if not isinstance(sha, str):
            return _error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if sha not in repo.commits:
            return _error(422, "Object does not exist")
        if body.get("force") is not True and not repo.contains(repo.branches[branch], sha):
            return _error(422, "Update is not a fast forward")
        repo.branches[branch] = sha
        self._close_merged(repo)
        return JSONResponse(self._ref(repo, branch))

    def _close_merged(self, repo: FakeRepository) -> None:
        """GitHub marks a pull request merged (and closes it) once its base branch has
        its head commit — which a head moved back to the base's commit is."""
        for pull in repo.open_pulls():
            if pull.base in repo.branches and repo.contains(
                repo.branches[pull.head], repo.branches[pull.base]
            ):
                pull.state, pull.merged = "closed", True

    def _content(self, repo: FakeRepository, path: str, data: bytes, ref: str) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}"
        sha = blob_sha(data)
        return {
            "type": "file",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "size": len(data),
            "url": f"{api}/contents/{path}?ref={ref}",
            "html_url": f"{self.url}/{repo.full_name}/blob/{ref}/{path}",
            "git_url": f"{api}/git/blobs/{sha}",
            "download_url": f"{self.url}/raw/{repo.full_name}/{ref}/{path}",
            "_links": {"self": f"{api}/contents/{path}?ref={ref}"},
        }

    def contents(self, repo: FakeRepository, request: Request, body: Any) -> Response:
        path = request.path_params["path"]
        if request.method == "PUT":
            return self._put_contents(repo, path, body)
        ref = request.query_params.get("ref") or repo.default_branch
        sha = repo.branches.get(ref, ref)
        if sha not in repo.commits:
            return _error(404, f"No commit found for the ref {ref}")
        files = repo.commits[sha].files
        if path in files:
            data = files[path]
            encoded = base64.encodebytes(data).decode()  # GitHub wraps the base64 in lines
            return JSONResponse(
                {**self._content(repo, path, data, ref), "encoding": "base64", "content": encoded}
            )
        inside = sorted(p for p in files if p.startswith(f"{path}/"))
        if not inside:
            return _error(404, "Not Found")
        entries: dict[str, dict[str, Any]] = {}
        for found in inside:
            name = found[len(path) + 1 :].split("/", 1)[0]
            if "/" in found[len(path) + 1 :]:
                entries.setdefault(name, {"type": "dir", "name": name, "path": f"{path}/{name}"})
            else:
                entries[name] = self._content(repo, found, files[found], ref)
        return JSONResponse(list(entries.values()))

    def _put_contents(self, repo: FakeRepository, path: str, body: Any) -> Response:
        for needed in ("message", "content"):
            if not isinstance(body.get(needed), str):
                return _error(422, f'Invalid request.\n\n"{needed}" wasn\'t supplied.')
        branch = body.get("branch") or repo.default_branch
        if branch not in repo.branches:
            return _error(404, f"Branch {branch} not found")
        try:
            data = base64.b64decode(body["content"], validate=True)
        except (binascii.Error, ValueError):
            return _error(422, "content is not valid Base64")
        files = repo.files(branch)
        if path in files:
            given = body.get("sha")
            if not isinstance(given, str):
                return _error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
            if given != blob_sha(files[path]):
                return _error(409, f"{path} does not match {given}")
        created = path not in files
        made = repo.commit(branch, {**files, path: data}, body["message"])
        api = f"{self.url}/repos/{repo.full_name}"
        commit = {
            "sha": made.sha,
            "url": f"{api}/git/commits/{made.sha}",
            "html_url": f"{self.url}/{repo.full_name}/commit/{made.sha}",
            "message": made.message,
            "author": {"name": LOGIN, "email": f"{LOGIN}@users.noreply.github.com"},
            "committer": {"name": LOGIN, "email": f"{LOGIN}@users.noreply.github.com"},
            "parents": [{"sha": made.parent, "url": f"{api}/git/commits/{made.parent}"}],
        }
        return JSONResponse(
            {"content": self._content(repo, path, data, branch), "commit": commit},
            status_code=201 if created else 200,
        )

    def _pull(self, repo: FakeRepository, pull: PullRequest) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}"
        web = f"{self.url}/{repo.full_name}"

        def end(branch: str) -> dict[str, Any]:
            return {
                "label": f"{repo.owner}:{branch}",
                "ref": branch,
                "sha": repo.branches.get(branch),
                "repo": {"full_name": repo.full_name, "name": repo.name},
            }

        return {
            "url": f"{api}/pulls/{pull.number}",
            "id": 1000 + pull.number,
            "number": pull.number,
            "html_url": f"{web}/pull/{pull.number}",
            "state": pull.state,
            "title": pull.title,
            "body": pull.body,
            "user": {"login": LOGIN},
            "draft": False,
            "merged_at": "2024-01-01T00:00:00Z" if pull.merged else None,
            "head": end(pull.head),
            "base": end(pull.base),
        }

    def pulls(self, repo: FakeRepository, request: Request, body: Any) -> Response:
        if request.method == "POST":
            return self._open_pull(repo, body)
        state = request.query_params.get("state", "open")
        found = [pull for pull in repo.pulls if state == "all" or pull.state == state]
        if head := request.query_params.get("head"):
            owner, _, branch = head.rpartition(":")
            if owner.lower() != repo.owner.lower():
                found = []
            found = [pull for pull in found if pull.head == branch]
        if base := request.query_params.get("base"):
            found = [pull for pull in found if pull.base == base]
        return JSONResponse([self._pull(repo, pull) for pull in reversed(found)])

    def _open_pull(self, repo: FakeRepository, body: Any) -> Response:
        head, base, title = body.get("head"), body.get("base"), body.get("title")
        if not all(isinstance(value, str) for value in (head, base, title)):
            return _error(422, 'Invalid request.\n\n"head", "base", "title" are required.')
        owner, _, branch = head.rpartition(":")
        if (owner and owner.lower() != repo.owner.lower()) or branch not in repo.branches:
            return _validation({"resource": "PullRequest", "field": "head", "code": "invalid"})
        if base not in repo.branches:
            return _validation({"resource": "PullRequest", "field": "base", "code": "invalid"})
        for pull in repo.open_pulls():
            if pull.head == branch and pull.base == base:
                message = f"A pull request already exists for {repo.owner}:{branch}."
                return _validation(
                    {"resource": "PullRequest", "code": "custom", "message": message}
                )
        if repo.contains(repo.branches[branch], repo.branches[base]):
            message = f"No commits between {base} and {branch}"
            return _validation({"resource": "PullRequest", "code": "custom", "message": message})
        number = len(repo.pulls) + 1  # numbered per repository, as GitHub does
        pull = PullRequest(number, title, body.get("body"), branch, base)
        repo.pulls.append(pull)
        return JSONResponse(self._pull(repo, pull), status_code=201)

    def _numbered(self, repo: FakeRepository, request: Request) -> PullRequest | None:
        number = request.path_params["number"]
        return next((pull for pull in repo.pulls if pull.number == number), None)

    def pull(self, repo: FakeRepository, request: Request, body: Any) -> Response:
        pull = self._numbered(repo, request)
        if pull is None:
            return _error(404, "Not Found")
        if request.method == "PATCH":
            if isinstance(body.get("title"), str):
                pull.title = body["title"]
            if "body" in body:
                pull.body = body["body"]
            if body.get("state") in ("open", "closed"):
                pull.state = body["state"]
        return JSONResponse(self._pull(repo, pull))

    def pull_files(self, repo: FakeRepository, request: Request, body: Any) -> Response:
        """The files a pull request changes: its head against the merge base."""
        pull = self._numbered(repo, request)
        if pull is None:
            return _error(404, "Not Found")
        if pull.head not in repo.branches or pull.base not in repo.branches:
            return JSONResponse([])
        merge_base = repo.merge_base(pull.head, pull.base)
        before = repo.commits[merge_base].files if merge_base else {}
        after = repo.files(pull.head)
        changed = []
        for path in sorted(before.keys() | after.keys()):
            if before.get(path) == after.get(path):
                continue
            status = (
                "added" if path not in before else "removed" if path not in after else "modified"
            )
            data = after.get(path, b"")
            changed.append(
                {
                    "sha": blob_sha(data),
                    "filename": path,
                    "status": status,
                    "additions": data.count(b"\n"),
                    "deletions": before.get(path, b"").count(b"\n"),
                    "changes": data.count(b"\n") + before.get(path, b"").count(b"\n"),
                }
            )
        return JSONResponse(changed)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"message": message, "documentation_url": DOCS, "status": str(status)}, status_code=status
    )


def _validation(error: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        {
            "message": "Validation Failed",
            "errors": [error],
            "documentation_url": DOCS,
            "status": "422",
        },
        status_code=422,
    )


def _fault(fault: Fault) -> JSONResponse:
    response = _error(fault.status, fault.message)
    if fault.rate_limited:
        response.headers.update(
            {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": str(int(time.time()) + 3600),
                "x-ratelimit-resource": "core",
            }
        )
    return response


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(404, "Not Found")
