"""Remote git repositories as `repo` inputs: location parsing and a cache of shallow clones.

A location (`url:https://github.com/org/repo/tree/main/services/x`) names a clone URL, a
ref and a folder inside the repository. `GitCache.fetch_all` brings each distinct
(url, ref) up to date once — a shallow clone the first time, a shallow fetch afterwards —
with a bounded number of git processes at once, each under a timeout. A token is passed
to git in its environment as an HTTP header, never in a URL, an argument or a message, and
only to the hosts it is configured for (`token_hosts`): a location is catalog data, which
any team may write, so it must not be able to send the token to a host of its choosing,
nor to clone a repository of this machine's: a local remote (`file://`, a plain path) is
cloned only from the folders listed in `repositories.local_roots`.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit, urlunsplit

from scorecard.entity import Entity
from scorecard.inputs import MANAGED_BY_LOCATION, SOURCE_LOCATION
from scorecard.sources.roots import OUTSIDE, AllowedRoots, inside

DEFAULT_TOKEN_ENV = "SCORECARD_GIT_TOKEN"
DEFAULT_TOKEN_HOSTS = ("github.com",)
DEFAULT_MAX_BYTES = 2 << 30
_SCP_LIKE = re.compile(r"^(?P<user>[\w.-]+@)(?P<host>[\w.-]+):(?!//)(?P<path>.+)$")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
_REMOTE_SCHEMES = ("http", "https", "ssh", "git", "file")
_USED_MARK = ".scorecard-used"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What git may speak; remote helpers such as `ext::` (which runs a command) never.
_GIT_PROTOCOLS = "http:https:ssh:git:file"


@dataclass(frozen=True, slots=True)
class GitLocation:
    """Where an entity's files are: a clone URL, a ref (None: the default branch), a folder."""

    url: str
    ref: str | None = None
    subpath: str = ""

    @property
    def spec(self) -> tuple[str, str | None]:
        return (self.url, self.ref)


def parse_location(location: str) -> GitLocation | None:
    """The git location a Backstage location names; None for a local `dir:`/`file:` one.

    Understands `url:` prefixes, GitHub `/tree|blob/<ref>/<path>`, GitLab
    `/-/tree|blob/<ref>/<path>`, Bitbucket `/src/<ref>/<path>`, plain clone URLs
    (`https://host/x.git`, `ssh://`, `git://`, `file:///path`) and `git@host:org/repo.git`.
    A `blob` path names a file: its folder is the one read. Raises ValueError otherwise.
    """
    text = location.strip()
    kind, _, rest = text.partition(":")
    if kind in ("dir", "file") and not rest.startswith("//"):
        return None
    if kind == "url":
        text = rest.strip()
    scp = _SCP_LIKE.match(text)
    if scp and "://" not in text:
        return GitLocation(text.rstrip("/"))
    parts = urlsplit(text)
    if parts.scheme.lower() not in _REMOTE_SCHEMES or (parts.scheme != "file" and not parts.netloc):
        raise ValueError(f"{location!r} is not a git repository location")
    segments = [s for s in parts.path.split("/") if s]
    marker = _ref_marker(segments, web=parts.scheme.lower() in ("http", "https"))
    if marker is None:
        return GitLocation(urlunsplit(parts._replace(query="", fragment="")).rstrip("/"))
    start, kind_of_path = marker
    repo_path = "/" + "/".join(segments[:start])
    url = urlunsplit((parts.scheme, parts.netloc, repo_path, "", ""))
    after = segments[start + 1 :] if segments[start] != "-" else segments[start + 2 :]
    if kind_of_path == "src" and after[:1] in (["branch"], ["tag"], ["commit"]):
        after = after[1:]  # Gitea: /src/branch/<ref>/<path>
    if not after:
        return GitLocation(url)
    ref, path = after[0], after[1:]
    if kind_of_path == "blob" and path:
        path = path[:-1]
    subpath = PurePosixPath(*path).as_posix() if path else ""
    if ".." in PurePosixPath(subpath).parts:
        raise ValueError(f"{location!r} leaves its repository")
    return GitLocation(url, ref, "" if subpath == "." else subpath)


def _ref_marker(segments: list[str], *, web: bool) -> tuple[int, str] | None:
    """The index where the repository path ends and the kind of path after it."""
    for i in range(1, len(segments) - 1):
        if segments[i] == "-" and segments[i + 1] in ("tree", "blob"):
            return i, segments[i + 1]
    # GitHub, Bitbucket Cloud, Gitea: /<owner>/<repo>/<tree|blob|src>/<ref>/...
    if web and len(segments) > 2 and segments[2] in ("tree", "blob", "src"):
        return 2, segments[2]
    return None


def remote_location(entity: Entity) -> tuple[str, GitLocation] | None:
    """The entity's remote location (the annotation's text and its parse), if it reads one.

    The source location wins; without one, an entity read from a catalog file reads that
    file's folder, and only an entity without a file falls back to its managed-by location.
    Raises ValueError for a location that is neither local nor a git location.
    """
    for name in (SOURCE_LOCATION, MANAGED_BY_LOCATION):
        location = entity.annotations.get(name)
        if isinstance(location, str) and location.strip():
            parsed = parse_location(location)
            if parsed is not None:
                return location.strip(), parsed
            return None
        if entity.catalog_file:
            return None
    return None


def http_origin(url: str, default_scheme: str | None = None) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, lower-cased, without user or default port.

    `default_scheme` is assumed for a bare `host[:port]`. None for anything else.
    """
    text = url.strip()
    if default_scheme and "://" not in text:
        text = f"{default_scheme}://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The text without these secrets or the passwords of URLs in it."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _USERINFO.sub(r"\g<scheme>***@", text)


class GitError(Exception):
    pass


class GitCache:
    """Shallow clones of remote repositories in `folder`, one per (url, ref)."""

    # Clones being updated, across every cache object of the process (a server's runs).
    _locks: ClassVar[dict[Path, threading.Lock]] = {}
    _locks_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        folder: Path,
        *,
        max_concurrent: int = 4,
        timeout: float = 120.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        token: str | None = None,
        token_hosts: Iterable[str] = DEFAULT_TOKEN_HOSTS,
        local_roots: Iterable[str | Path] = (),
        git: str = "git",
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        # Folders whose repositories may be cloned as local remotes, and read in place.
        self.local_roots = AllowedRoots(local_roots).listed
        self.max_concurrent = max(1, max_concurrent)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._token = token
        # A bare host means https; `http://host:port` allows plain HTTP to that one.
        self._token_origins = frozenset(
            origin for origin in (http_origin(h, "https") for h in token_hosts) if origin
        )
        self.git = git
        self.on_failure = on_failure  # told "git" for each clone or fetch that fails
        self.clones = 0  # network operations, for tests and logs
        self.fetches = 0
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GitCache({str(self.folder)!r}, max_concurrent={self.max_concurrent})"

    @property
    def network_operations(self) -> int:
        return self.clones + self.fetches

    def path_for(self, url: str, ref: str | None) -> Path:
        digest = sha256(f"{url}\0{ref or ''}".encode()).hexdigest()[:24]
        return self.folder / digest

    def fetch_all(
        self, specs: Iterable[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], Path | str]:
        """Bring each distinct (url, ref) up to date once: its clone's folder, or why not."""
        distinct = list(dict.fromkeys(specs))
        if not distinct:
            return {}
        self.folder.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(self.max_concurrent, thread_name_prefix="git") as pool:
            outcomes = list(pool.map(self._update, distinct))
        results = dict(zip(distinct, outcomes, strict=True))
        self._evict(keep={p for p in outcomes if isinstance(p, Path)})
        return results

    def _update(self, spec: tuple[str, str | None]) -> Path | str:
        url, ref = spec
        local = _local_path(url)
        # A relative path would be relative to wherever git runs: never a listed root.
        if local is not None and not all(
            os.path.isabs(p) and inside(p, self.local_roots) for p in local
        ):
            return f"it {OUTSIDE}"
        target = self.path_for(url, ref)
        with self._lock_for(target):
            try:
                if (target / ".git").is_dir():
                    self._count("fetches")
                    self._fetch(target, url, ref)
                else:
                    self._count("clones")
                    self._clone(target, url, ref)
            except GitError as error:
                if self.on_failure is not None:
                    self.on_failure("git")
                reason = redact(str(error), self._secrets())
                if self._token and http_origin(url) and self._token_origin(url) is None:
                    hosts = ", ".join(sorted(self._token_origins)) or "none"
                    reason += f" (the git token is sent only to repositories.token_hosts: {hosts})"
                return reason
            (target / ".git" / _USED_MARK).touch()
            return target

    def _clone(self, target: Path, url: str, ref: str | None) -> None:
        # Into a folder of its own first: a failed or interrupted clone leaves no half
        # clone where the next run would take it for a cached one.
        staging = self.folder / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
        try:
            if ref is not None and (_FULL_SHA.match(ref) or ref.startswith("refs/")):
                # `clone --branch` takes a branch or tag name only; any other ref is fetched.
                self._clone_by_fetch(staging, url, ref)
            else:
                self._clone_branch(staging, url, ref)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _clone_branch(self, staging: Path, url: str, ref: str | None) -> None:
        """The default branch, or a branch or tag: one `git clone`, as a person would run it.

        One git process where init, remote, fetch, reset and clean take six: on a cold
        cache of many small repositories, starting processes is most of the time.
        """
        branch = ["--branch", ref] if ref else []
        try:
            self._git(
                None,
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--no-tags",
                "--single-branch",
                *branch,
                "--",
                url,
                str(staging),
                remote=url,
            )
        except GitError as error:
            # Not a branch or a tag; `git fetch` resolves more names (`pull/1/head` is
            # refs/pull/1/head), so it is asked before the ref is called missing.
            if not ref or "not found in upstream" not in str(error):
                raise
            shutil.rmtree(staging, ignore_errors=True)
            self._clone_by_fetch(staging, url, ref)

    def _clone_by_fetch(self, staging: Path, url: str, ref: str) -> None:
        self._git(None, "init", "--quiet", str(staging))
        self._git(staging, "remote", "add", "origin", url)
        self._fetch(staging, url, ref)

    def _fetch(self, folder: Path, url: str, ref: str | None) -> None:
        self._git(folder, "remote", "set-url", "origin", url)
        self._git(
            folder,
            "fetch",
            "--quiet",
            "--depth",
            "1",
            "--no-tags",
            "origin",
            ref or "HEAD",
            remote=url,
        )
        self._git(folder, "reset", "--quiet", "--hard", "FETCH_HEAD")
        self._git(folder, "clean", "--quiet", "-ffdx")

    def _git(self, folder: Path | None, *args: str, remote: str | None = None) -> str:
        """Run git in `folder`; `remote` is the URL a network command talks to."""
        command = [self.git] if folder is None else [self.git, "-C", str(folder)]
        command += args
        env = self._environment(remote)
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            errors="replace",
            start_new_session=True,  # a timeout ends git and its helpers together
        )
        try:
            out, err = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            message = f"git {args[0]} did not finish within {self.timeout:g} seconds"
            raise GitError(message) from None
        if process.returncode != 0:
            lines = [line.strip() for line in err.splitlines() if line.strip()]
            detail = "; ".join(lines[-3:]) or f"exit status {process.returncode}"
            raise GitError(f"git {args[0]} failed: {detail}")
        return out

    def _environment(self, remote: str | None) -> dict[str, str]:
        env = dict(os.environ)
        env["LC_ALL"] = "C"  # messages in English: the cache reads some of them
        env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a password nobody will type
        env["GIT_ASKPASS"] = "true"
        env["GIT_ALLOW_PROTOCOL"] = _GIT_PROTOCOLS
        env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        origin = self._token_origin(remote) if remote and self._token else None
        if origin is not None:
            # Only to a host the token is for, and through the environment: never in the
            # command line (visible to other users), the URL or .git/config.
            credentials = base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
            index = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
            env["GIT_CONFIG_COUNT"] = str(index + 1)
            env[f"GIT_CONFIG_KEY_{index}"] = f"http.{origin}/.extraHeader"
            env[f"GIT_CONFIG_VALUE_{index}"] = f"Authorization: Basic {credentials}"
        return env

    def _token_origin(self, url: str) -> str | None:
        """The URL's origin when the token is for it; else None."""
        origin = http_origin(url)
        return origin if origin in self._token_origins else None

    def _secrets(self) -> list[str]:
        if not self._token:
            return []
        encoded = base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
        return [encoded, self._token]

    def _count(self, name: str) -> None:
        with self._count_lock:
            setattr(self, name, getattr(self, name) + 1)

    @classmethod
    def _lock_for(cls, target: Path) -> threading.Lock:
        with cls._locks_guard:
            return cls._locks.setdefault(target.resolve(), threading.Lock())

    def _evict(self, keep: set[Path]) -> None:
        """Remove least recently used clones until the cache fits in max_bytes."""
        entries = []
        total = 0
        for child in self.folder.iterdir():
            if not child.is_dir() or child.name.startswith(".tmp-"):
                continue
            size = _size(child)
            total += size
            mark = child / ".git" / _USED_MARK
            used = mark.stat().st_mtime if mark.exists() else 0.0
            entries.append((used, child, size))
        for _, child, size in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            lock = self._lock_for(child)
            if child in keep or not lock.acquire(blocking=False):
                continue
            try:
                shutil.rmtree(child, ignore_errors=True)
                total -= size
            finally:
                lock.release()


def _local_path(url: str) -> list[str] | None:
    """The folders a git remote names on this machine (as written and percent-decoded),
    or None for a network remote."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        # `file://host/x` is no host git would ask: read it as the path it may become.
        host = "" if parts.netloc.lower() in ("", "localhost") else parts.netloc
        path = host + parts.path
    elif "://" in url or _SCP_LIKE.match(url):
        return None
    else:
        path = url  # a plain path, as git takes one
    return [path, unquote(path)]


def _size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()


def allowed_roots(cache: GitCache | None) -> AllowedRoots:
    """The roots a run's local source locations may lie in: with a cache, its folder and
    `repositories.local_roots` besides each catalog file's own. A fresh memo per run."""
    if cache is None:
        return AllowedRoots()
    return AllowedRoots(cache.local_roots, cache=cache.folder)


def git_cache_from(
    settings: Any,
    environ: Mapping[str, str] | None = None,
    on_failure: Callable[[str], None] | None = None,
) -> GitCache | None:
    """The cache a workspace's `repositories:` settings describe; None without them."""
    if settings is None:
        return None
    environ = os.environ if environ is None else environ
    return GitCache(
        Path(settings.cache),
        max_concurrent=settings.max_concurrent,
        timeout=settings.timeout,
        max_bytes=int(settings.max_cache_mb * (1 << 20)),
        token=environ.get(settings.token_env) or None,
        token_hosts=settings.token_hosts,
        on_failure=on_failure,
        local_roots=settings.local_roots,
    )


__all__ = [
    "DEFAULT_TOKEN_ENV",
    "DEFAULT_TOKEN_HOSTS",
    "GitCache",
    "GitLocation",
    "allowed_roots",
    "git_cache_from",
    "http_origin",
    "parse_location",
    "redact",
    "remote_location",
]
