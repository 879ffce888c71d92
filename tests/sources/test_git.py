"""Remote repositories as `repo` inputs, with real git over file://, git daemon and smart HTTP."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from scorecard.entity import Entity
from scorecard.registry import CheckRegistry
from scorecard.results import Outcome
from scorecard.runner import evaluate
from scorecard.sources.git import GitCache, GitLocation, parse_location
from scorecard.tracks import Track, load_track
from tests.serving import free_port

TRACK = """\
apiVersion: scorecard/v1
kind: Track
id: repos
title: Repository checks
levels:
  - id: bronze
    checks:
      - check: has_file
        id: has_dockerfile
        with: {path: Dockerfile}
      - check: has_file
        id: has_readme
        with: {path: README.md}
"""


def _git(*args: str, cwd: Path | None = None) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


def _commit(repo: Path, files: dict[str, str], message: str = "change") -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", message, cwd=repo)


def _origin(base: Path, name: str, files: dict[str, str]) -> Path:
    repo = base / name
    repo.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=repo)
    _commit(repo, files, "first")
    return repo


def _entity(name: str, location: str) -> Entity:
    return Entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name, "annotations": {"backstage.io/source-location": location}},
            "spec": {"owner": "team-a"},
        }
    )


@pytest.fixture
def track(tmp_path: Path, registry: CheckRegistry) -> Track:
    path = tmp_path / "repos.yaml"
    path.write_text(TRACK)
    return load_track(path, registry)


@pytest.fixture
def origins(tmp_path: Path) -> Path:
    base = tmp_path / "origins"
    _origin(base, "alpha", {"Dockerfile": "FROM x\n", "services/a/README.md": "# a\n"})
    _origin(base, "beta", {"README.md": "# beta\n"})
    return base


@pytest.fixture
def daemon(origins: Path) -> Iterator[str]:
    """`git daemon` serving the origins on loopback; yields the base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            f"--base-path={origins}",
            "--export-all",
            f"--port={port}",
            "--listen=127.0.0.1",
            str(origins),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.skip("git daemon did not start")
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


class GitHttpServer(ThreadingHTTPServer):
    """`git http-backend` as CGI behind a loopback HTTP/1.1 server (git's smart protocol).

    With `token` set, every request must carry `Authorization: Basic` with the token as
    its password (GitHub's `x-access-token:<token>`); else 401 and `WWW-Authenticate`.
    `seen` records (method, path, query, Authorization header) of each request.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, root: Path, home: Path, token: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _GitCgiHandler)
        self.root = root
        self.home = home  # an empty HOME: no user or system git configuration
        self.token = token
        self.seen: list[tuple[str, str, str, str | None]] = []
        self._seen_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, method: str, path: str, query: str, authorization: str | None) -> None:
        with self._seen_lock:
            self.seen.append((method, path, query, authorization))

    def fetches(self) -> Counter[str]:
        """Per repository, the fetches begun: one ref advertisement asked for each."""
        return Counter(
            path.removesuffix("/info/refs").strip("/")
            for method, path, query, _ in self.seen
            if method == "GET" and path.endswith("/info/refs") and "git-upload-pack" in query
        )


class _GitCgiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, chunked request bodies, 100-continue
    server: GitHttpServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: pytest captures nothing of it

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self) -> None:
        body = self._body()  # read before answering, so the connection stays usable
        path, _, query = self.path.partition("?")
        authorization = self.headers.get("authorization")
        self.server.record(self.command, unquote(path), query, authorization)
        token = self.server.token
        if token is not None:
            expected = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            if authorization != f"Basic {expected}":
                self._reply(
                    401,
                    [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Type", "text/plain")],
                    b"authentication required\n",
                )
                return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.server.home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": self.request_version,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),  # a chunked body was read whole
            "REMOTE_ADDR": self.client_address[0],
        }
        for name, value in self.headers.items():
            # Git-Protocol (protocol v2) and Content-Encoding (a gzipped request body,
            # which http-backend inflates itself) reach the backend as CGI variables.
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_AUTHORIZATION", "HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"):
                env[key] = value
        cgi = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60
        )
        head, separator, payload = cgi.stdout.partition(b"\r\n\r\n")
        if not separator:
            head, separator, payload = cgi.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":  # "Status: 404 Not Found" sets the status line
                status = int(value.split()[0])
            elif name and name.lower() not in ("content-length", "transfer-encoding"):
                headers.append((name, value.strip()))
        if cgi.returncode != 0 and not separator:
            status, headers, payload = 500, [("Content-Type", "text/plain")], cgi.stderr
        self._reply(status, headers, payload)


@pytest.fixture
def http_server(tmp_path: Path, origins: Path) -> Iterator[GitHttpServer]:
    """The origins served over git's smart HTTP protocol on loopback, without auth."""
    yield from _serve_http(tmp_path, origins, token=None)


def _serve_http(tmp_path: Path, origins: Path, token: str | None) -> Iterator[GitHttpServer]:
    home = tmp_path / "server-home"
    home.mkdir(exist_ok=True)
    server = GitHttpServer(origins, home, token)
    thread = threading.Thread(target=server.serve_forever, name="git-http", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _outcomes(report) -> dict[tuple[str, str], Outcome]:  # type: ignore[no-untyped-def]
    return {(r.entity_ref.split("/")[-1], r.check_id): r.result.outcome for r in report.results}


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (
            "url:https://github.com/org/repo/tree/main/services/x",
            GitLocation("https://github.com/org/repo", "main", "services/x"),
        ),
        (
            "url:https://github.com/org/repo/blob/main/services/x/catalog-info.yaml",
            GitLocation("https://github.com/org/repo", "main", "services/x"),
        ),
        (
            "url:https://github.com/org/repo/tree/main/",
            GitLocation("https://github.com/org/repo", "main", ""),
        ),
        (
            "https://gitlab.com/group/sub/repo/-/tree/dev/a/b",
            GitLocation("https://gitlab.com/group/sub/repo", "dev", "a/b"),
        ),
        (
            "https://gitlab.com/group/repo/-/blob/dev/catalog-info.yaml",
            GitLocation("https://gitlab.com/group/repo", "dev", ""),
        ),
        (
            "url:https://bitbucket.org/ws/repo/src/main/svc/",
            GitLocation("https://bitbucket.org/ws/repo", "main", "svc"),
        ),
        ("https://git.example.com/x.git", GitLocation("https://git.example.com/x.git")),
        ("url:https://github.com/org/repo", GitLocation("https://github.com/org/repo")),
        ("ssh://git@host/org/repo.git", GitLocation("ssh://git@host/org/repo.git")),
        ("git@github.com:org/repo.git", GitLocation("git@github.com:org/repo.git")),
        ("file:///srv/git/repo", GitLocation("file:///srv/git/repo")),
        ("file:///srv/git/repo/-/tree/v1/sub", GitLocation("file:///srv/git/repo", "v1", "sub")),
        ("dir:.", None),
        ("file:./catalog-info.yaml", None),
    ],
)
def test_locations_are_parsed(location: str, expected: GitLocation | None) -> None:
    assert parse_location(location) == expected


@pytest.mark.parametrize("location", ["url:ftp://host/x", "mailto:a@b", "url:https:///x"])
def test_locations_that_are_not_git_are_refused(location: str) -> None:
    with pytest.raises(ValueError):
        parse_location(location)


@pytest.mark.parametrize("served", ["file", "daemon", "http"])
def test_one_fetch_per_repository_per_run_then_reuse_and_refresh(
    served: str, tmp_path: Path, origins: Path, track: Track, request: pytest.FixtureRequest
) -> None:
    server: GitHttpServer | None = None
    if served == "file":
        base = f"file://{origins}"
    elif served == "daemon":
        base = request.getfixturevalue("daemon")
    else:
        server = request.getfixturevalue("http_server")
        base = server.url

    def served_fetches() -> dict[str, int]:
        """Fetches the HTTP server saw since the last call (what the network did)."""
        if server is None:
            return {}
        counted = dict(server.fetches())
        server.seen.clear()
        return counted

    one_each = {} if server is None else {"alpha": 1, "beta": 1}
    entities = [
        _entity("a-root", f"url:{base}/alpha/-/tree/main/"),
        _entity("a-root-again", f"url:{base}/alpha/-/tree/main"),
        _entity("a-service", f"url:{base}/alpha/-/blob/main/services/a/catalog-info.yaml"),
        _entity("b", f"url:{base}/beta"),
        _entity("b-again", f"url:{base}/beta"),
    ]
    cache = GitCache(tmp_path / "cache", max_concurrent=2, timeout=30, local_roots=[origins])

    report = evaluate(entities, [track], git_cache=cache)
    outcomes = _outcomes(report)
    assert (cache.clones, cache.fetches) == (2, 0)  # alpha@main and beta@default, once each
    assert served_fetches() == one_each
    assert outcomes["a-root", "has_dockerfile"] is Outcome.PASS
    assert outcomes["a-root-again", "has_dockerfile"] is Outcome.PASS
    assert outcomes["a-service", "has_readme"] is Outcome.PASS
    assert outcomes["a-service", "has_dockerfile"] is Outcome.FAIL
    assert outcomes["b", "has_readme"] is Outcome.PASS
    assert outcomes["b", "has_dockerfile"] is Outcome.FAIL
    missing = next(
        r
        for r in report.results
        if r.check_id == "has_dockerfile" and r.entity_ref.split("/")[-1] == "b"
    )
    assert "beta" in missing.result.message  # the repository's name, not the cache folder's

    # The next run reuses the clones: a fetch each, no clone; nothing changed upstream.
    cache = GitCache(tmp_path / "cache", max_concurrent=2, timeout=30, local_roots=[origins])
    assert _outcomes(evaluate(entities, [track], git_cache=cache)) == outcomes
    assert (cache.clones, cache.fetches) == (0, 2)
    assert served_fetches() == one_each

    # A new commit upstream is seen by the next run's fetch.
    _commit(origins / "beta", {"Dockerfile": "FROM y\n"})
    cache = GitCache(tmp_path / "cache", timeout=30, local_roots=[origins])
    refreshed = _outcomes(evaluate(entities, [track], git_cache=cache))
    assert refreshed["b", "has_dockerfile"] is Outcome.PASS
    assert refreshed["b-again", "has_dockerfile"] is Outcome.PASS
    assert (cache.clones, cache.fetches) == (0, 2)
    assert served_fetches() == one_each


def test_an_unreachable_remote_is_unknown_with_the_reason(tmp_path: Path, track: Track) -> None:
    port = free_port()  # nothing listens on it
    token = "fake-token-0123456789abcdef"
    entities = [
        _entity("down", f"url:http://127.0.0.1:{port}/org/repo.git"),
        _entity("also-down", f"url:git://127.0.0.1:{port}/repo"),
    ]
    cache = GitCache(tmp_path / "cache", timeout=20, token=token)
    report = evaluate(entities, [track], git_cache=cache)
    assert cache.network_operations == 2
    assert len(report.results) == 4
    for result in report.results:
        assert result.result.outcome is Outcome.UNKNOWN
        assert f"127.0.0.1:{port}" in result.result.message
        assert "could not be fetched" in result.result.message
        assert token not in result.result.message
        assert token not in str(result.result.evidence)
    assert not list((tmp_path / "cache").iterdir()), "a failed clone leaves nothing behind"


def test_credentials_never_appear_in_messages(tmp_path: Path) -> None:
    token = "s3cret-token-value-abcdef"
    port = free_port()
    cache = GitCache(tmp_path / "cache", timeout=20, token=token)
    spec = (f"http://user:{token}@127.0.0.1:{port}/x.git", None)
    (reason,) = cache.fetch_all([spec]).values()
    assert isinstance(reason, str) and reason
    assert token not in reason


def test_without_a_cache_remote_locations_are_unknown(track: Track) -> None:
    report = evaluate([_entity("x", "url:https://github.com/org/repo")], [track])
    for result in report.results:
        assert result.result.outcome is Outcome.UNKNOWN
        assert "remote repositories are not configured" in result.result.message


def test_the_cache_evicts_least_recently_used_clones(tmp_path: Path, origins: Path) -> None:
    # Every clone is too big to keep.
    cache = GitCache(tmp_path / "cache", max_bytes=1, local_roots=[origins])
    first = cache.fetch_all([(f"file://{origins}/alpha", None)])
    second = cache.fetch_all([(f"file://{origins}/beta", None)])
    alpha, beta = next(iter(first.values())), next(iter(second.values()))
    assert isinstance(alpha, Path) and isinstance(beta, Path)
    assert not alpha.exists(), "the least recently used clone is evicted"
    assert beta.is_dir(), "a clone the current fetch returned is kept"


def test_the_workspace_file_configures_the_cache(tmp_path: Path) -> None:
    from scorecard.sources.git import git_cache_from
    from scorecard.workspace import Workspace

    path = tmp_path / "scorecard.yaml"
    path.write_text("catalog: [catalog/]\n")
    assert git_cache_from(Workspace.from_file(path).repositories) is None
    path.write_text("catalog: [catalog/]\nrepositories: {max_concurrent: 2, token_env: MY_TOKEN}\n")
    settings = Workspace.from_file(path).repositories
    cache = git_cache_from(settings, {"MY_TOKEN": "t" * 20})
    assert cache is not None
    assert cache.folder == tmp_path / ".scorecard" / "repos"
    assert (cache.max_concurrent, cache.timeout, cache.max_bytes) == (2, 120.0, 2048 << 20)
    assert settings is not None and settings.token_hosts == ["github.com"]
    assert "t" * 20 not in repr(cache)


PRIVATE_TOKEN = "ghs_" + "Pr1vateT0ken" * 3


@pytest.fixture
def private_server(tmp_path: Path, origins: Path) -> Iterator[GitHttpServer]:
    """The origins over smart HTTP, answering 401 to a request without PRIVATE_TOKEN."""
    yield from _serve_http(tmp_path, origins, token=PRIVATE_TOKEN)


def _files_containing(folder: Path, secrets: list[str]) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [path for secret in secrets if secret.encode() in data]
    return found


def test_an_http_token_reaches_its_host_as_a_header_and_nowhere_else(
    tmp_path: Path,
    private_server: GitHttpServer,
    track: Track,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from scorecard.sources.git import git_cache_from
    from scorecard.workspace import Workspace

    if "127.0.0.1" not in {a[4][0] for a in socket.getaddrinfo("localhost", None)}:
        pytest.skip("localhost does not name 127.0.0.1 here")
    server = private_server
    port = urlsplit(server.url).port
    encoded = base64.b64encode(f"x-access-token:{PRIVATE_TOKEN}".encode()).decode()
    secrets = [PRIVATE_TOKEN, encoded]
    commands: list[list[str]] = []
    popen = subprocess.Popen

    def recording_popen(args, *rest, **kwargs):  # type: ignore[no-untyped-def]
        commands.append([str(a) for a in args])
        return popen(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    caplog.set_level("DEBUG")

    # The token is configured as `repositories:` configures it: the variable's name in
    # the file, the value in the environment, the hosts it is for.
    workspace = tmp_path / "scorecard.yaml"
    workspace.write_text(
        "catalog: [catalog/]\n"
        "repositories:\n"
        "  token_env: TEST_GIT_TOKEN\n"
        f"  token_hosts: ['http://127.0.0.1:{port}']\n"
    )
    settings = Workspace.from_file(workspace).repositories
    # Same server, other host name: a catalog entry must not send the token elsewhere.
    entities = [
        _entity("private", f"url:{server.url}/alpha/-/tree/main/services/a"),
        _entity("elsewhere", f"url:http://localhost:{port}/beta"),
    ]
    cache = git_cache_from(settings, {"TEST_GIT_TOKEN": PRIVATE_TOKEN})
    assert cache is not None
    report = evaluate(entities, [track], git_cache=cache)
    outcomes = _outcomes(report)
    assert outcomes["private", "has_readme"] is Outcome.PASS
    assert outcomes["private", "has_dockerfile"] is Outcome.FAIL
    assert (cache.clones, cache.fetches) == (2, 0)
    # One fetch of alpha; beta's 401 is asked once more with askpass's empty credentials.
    assert server.fetches()["alpha"] == 1

    # Every request for alpha carried the token as a header; beta's never did.
    alpha = [auth for _, path, _, auth in server.seen if path.startswith("/alpha/")]
    beta = [auth for _, path, _, auth in server.seen if path.startswith("/beta/")]
    assert alpha and all(auth == f"Basic {encoded}" for auth in alpha)
    assert beta and not any(auth and encoded in auth for auth in beta)
    elsewhere = next(r.result for r in report.results if r.entity_ref.endswith("/elsewhere"))
    assert elsewhere.outcome is Outcome.UNKNOWN
    assert f"http://localhost:{port}/beta could not be fetched" in elsewhere.message
    assert f"token_hosts: http://127.0.0.1:{port}" in elsewhere.message

    # The next run reuses the clone and sends the token again with its one fetch.
    server.seen.clear()
    cache = git_cache_from(settings, {"TEST_GIT_TOKEN": PRIVATE_TOKEN})
    assert cache is not None
    again = evaluate(entities[:1], [track], git_cache=cache)
    assert _outcomes(again) == {k: v for k, v in outcomes.items() if k[0] == "private"}
    assert (cache.clones, cache.fetches) == (0, 1)
    assert server.fetches() == {"alpha": 1}
    assert all(auth == f"Basic {encoded}" for *_, auth in server.seen)

    # Nowhere on this side: not in the clone's remote URL or any file of the cache, not
    # on a command line, not in a result, a log record or the output.
    clone = cache.path_for(f"{server.url}/alpha", "main")
    remote = _git("config", "--get", "remote.origin.url", cwd=clone).strip()
    assert remote == f"{server.url}/alpha"
    assert not _files_containing(cache.folder, secrets)
    assert commands and not [c for c in commands if any(s in " ".join(c) for s in secrets)]
    results = report.results + again.results
    everything = [r.result.message + repr(r.result.evidence) for r in results]
    captured = capfd.readouterr()
    for secret in secrets:
        assert not [text for text in everything if secret in text]
        assert secret not in caplog.text
        assert secret not in captured.out + captured.err
        assert secret not in repr(cache)


@pytest.mark.parametrize("token", [None, "ghs_wrongWrongWrong0123456789"])
def test_a_missing_or_wrong_http_token_is_unknown_with_the_reason(
    token: str | None, tmp_path: Path, private_server: GitHttpServer, track: Track
) -> None:
    server = private_server
    port = urlsplit(server.url).port
    cache = GitCache(
        tmp_path / "cache", timeout=30, token=token, token_hosts=[f"http://127.0.0.1:{port}"]
    )
    report = evaluate([_entity("private", f"url:{server.url}/alpha")], [track], git_cache=cache)
    assert server.seen, "the server was asked"
    for result in report.results:
        assert result.result.outcome is Outcome.UNKNOWN
        assert f"{server.url}/alpha could not be fetched" in result.result.message
        assert "Authentication failed" in result.result.message
        if token:
            encoded = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            assert token not in result.result.message
            assert encoded not in result.result.message
    if token:  # it was sent, as a header, and refused
        sent = {base64.b64decode(auth.split()[1]).decode() for *_, auth in server.seen if auth}
        assert f"x-access-token:{token}" in sent
    assert not list((tmp_path / "cache").iterdir()), "a refused clone leaves nothing behind"


@pytest.mark.parametrize(
    ("url", "gets_token"),
    [
        ("https://github.com/org/repo", True),
        ("https://GitHub.com:443/org/repo.git", True),
        ("https://someone@github.com/org/repo", True),
        ("http://github.com/org/repo", False),  # not in clear text unless configured
        ("https://github.com.evil.example/org/repo", False),
        ("https://evil.example/github.com/org/repo", False),
        ("https://github.com:8443/org/repo", False),
        ("https://ghe.example.com:8443/org/repo", True),
        ("https://ghe.example.com/org/repo", False),
        ("http://127.0.0.1:8080/repo", True),
        ("https://127.0.0.1:8080/repo", False),
        ("ssh://git@github.com/org/repo.git", False),
        ("git://github.com/org/repo.git", False),
    ],
)
def test_the_token_is_only_for_its_hosts(url: str, gets_token: bool) -> None:
    hosts = ["github.com", "ghe.example.com:8443", "http://127.0.0.1:8080"]
    cache = GitCache(Path("unused"), token="t" * 20, token_hosts=hosts)
    assert (cache._token_origin(url) is not None) is gets_token


def test_a_token_host_that_is_not_one_names_its_place(tmp_path: Path) -> None:
    from scorecard.problems import ConfigError
    from scorecard.workspace import Workspace

    path = tmp_path / "scorecard.yaml"
    path.write_text(
        "catalog: [catalog/]\nrepositories:\n  token_hosts: [github.com, github.com/org]\n"
    )
    with pytest.raises(ConfigError) as caught:
        Workspace.from_file(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:3:29: repositories.token_hosts[1]: 'github.com/org' is not `host`, "
        "`host:port` or `http(s)://host:port`"
    ]


def test_a_clone_at_a_branch_a_tag_a_commit_or_a_full_ref(tmp_path: Path) -> None:
    """Branches and tags are cloned directly; a commit or a `refs/` name is fetched; each
    checks out what it names, on the first run and on the refresh of the next."""
    origin = tmp_path / "origin"
    origin.mkdir()
    _git("init", "-q", "-b", "main", cwd=origin)
    _commit(origin, {"VERSION": "1\n"})
    first = _git("rev-parse", "HEAD", cwd=origin).strip()
    _git("tag", "v1", cwd=origin)
    _git("checkout", "-q", "-b", "release", cwd=origin)
    _commit(origin, {"VERSION": "release\n"})
    _git("checkout", "-q", "main", cwd=origin)
    _commit(origin, {"VERSION": "2\n"})
    url = f"file://{origin}"
    expected = {
        None: "2\n",
        "main": "2\n",
        "release": "release\n",
        "v1": "1\n",
        first: "1\n",
        "refs/heads/release": "release\n",
    }
    for run in range(2):
        cache = GitCache(tmp_path / "cache", local_roots=[origin])
        fetched = cache.fetch_all([(url, ref) for ref in [*expected, "no-such-ref"]])
        for ref, text in expected.items():
            clone = fetched[url, ref]
            assert isinstance(clone, Path), f"{ref}: {clone}"
            assert (clone / "VERSION").read_text() == text, ref
        assert isinstance(fetched[url, "no-such-ref"], str)
        assert "no-such-ref" in fetched[url, "no-such-ref"]
        # A cold cache clones each; the next run refreshes each clone it kept.
        operations = (cache.clones, cache.fetches)
        assert operations == ((len(expected) + 1, 0) if run == 0 else (1, len(expected)))
