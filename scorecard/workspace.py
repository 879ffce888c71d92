"""The workspace: which catalog, tracks, checks and database a command works on.

It comes from `scorecard.yaml` in the current folder (or `--config`); without one, the
bundled demo workspace is used. Relative paths in the file are relative to the file.
Command-line flags override it, and `SCORECARD_DATABASE_URL` overrides the database
(as `SCORECARD_GITHUB_API_URL` does `github.api_url`, when the GitHub client is built).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from scorecard.auth import DEFAULT_TOKEN_NAME, ApiToken, Role
from scorecard.catalog.backstage import BackstageSource
from scorecard.envvars import TOKEN_ENV
from scorecard.problems import ConfigError, Problem
from scorecard.sources.github import API_URL_ENV as GITHUB_API_URL_ENV
from scorecard.sources.github import DEFAULT_API_URL as GITHUB_API_URL
from scorecard.sources.github import TOKEN_ENV as GITHUB_TOKEN_ENV
from scorecard.tracks import FilterSets
from scorecard.yamlfile import YamlDocument, load_yaml

CONFIG_FILE = "scorecard.yaml"
DATABASE_ENV = "SCORECARD_DATABASE_URL"
BROKER_ENV = "SCORECARD_BROKER_URL"
DEFAULT_DATABASE = "sqlite:///scorecard.db"
DEMO_SOURCE = "the bundled demo workspace"
_PACKAGE = Path(__file__).resolve().parent
DEMO_DIR = _PACKAGE / "demo"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Paths = Annotated[list[str], BeforeValidator(_as_list)]


def _as_source_list(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


CatalogSources = Annotated[list[str | BackstageSource], BeforeValidator(_as_source_list)]


class GateEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: str = Field(description="A track id.")
    require: str = Field(description="The level the entity must reach on it.")


def _token_host(host: str) -> str:
    text = host.strip()
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        raise ValueError(f"{host!r} is not a host") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.path.strip("/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"{host!r} is not `host`, `host:port` or `http(s)://host:port`")
    return text


TokenHost = Annotated[str, AfterValidator(_token_host)]


class RepositoriesConfig(BaseModel):
    """`repositories:`: how remote source locations (GitHub, GitLab, any git) are read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cache: str = Field(".scorecard/repos", description="Folder of the shallow clones.")
    max_concurrent: int = Field(4, ge=1, le=64, description="Clones or fetches at once.")
    timeout: float = Field(120.0, gt=0, description="Seconds before a git command is abandoned.")
    max_cache_mb: float = Field(2048, gt=0, description="Least recently used clones go beyond.")
    token_env: str = Field(
        "SCORECARD_GIT_TOKEN", description="Environment variable holding an HTTPS git token."
    )
    token_hosts: list[TokenHost] = Field(
        ["github.com"],
        description="Hosts the token is sent to (`host[:port]`, over HTTPS; "
        "`http://host:port` for plain HTTP); any other host gets no token.",
    )
    local_roots: list[Annotated[str, Field(min_length=1)]] = Field(
        [],
        description="Folders outside the catalog that source locations, `file://` remotes "
        "and Location targets may name; catalog data reaches nothing else on this machine.",
    )


def _api_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(f"{url!r} is not an http(s) URL such as https://ghe.example.com/api/v3")
    return url.strip().rstrip("/")


class GitHubConfig(BaseModel):
    """`github:`: the GitHub API the `github` checks read. The token is never in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_url: Annotated[str, AfterValidator(_api_url)] = Field(
        GITHUB_API_URL,
        description=f"The REST API's base URL (GitHub Enterprise: https://HOST/api/v3); "
        f"{GITHUB_API_URL_ENV} wins over it.",
    )
    token_env: str = Field(
        GITHUB_TOKEN_ENV, description="Environment variable holding the GitHub token."
    )
    timeout: float = Field(10.0, gt=0, description="Seconds before a request gives up.")
    max_wait: float = Field(
        20.0, ge=0, description="Longest rate-limit wait in seconds; a longer one is unknown."
    )


class DatabaseConfig(BaseModel):
    """`database:` as a mapping, when more than its URL is set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(DEFAULT_DATABASE, description="A SQLAlchemy database URL.")
    auto_upgrade: bool = Field(
        True,
        description="Upgrade the schema when `serve` or `run` opens an older database; "
        "false: refuse it until `scorecard db upgrade` has run.",
    )


class TokenConfig(BaseModel):
    """One entry of `tokens:`: an API token by name and role, its value in the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$",
        description="What logs and the audit log call the token's holder (e.g. `ci`).",
    )
    role: Role = Field(description="reader, runner or admin.")
    env: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding the token; unset, the token is off.",
    )


class ExemptionsConfig(BaseModel):
    """`exemptions:`: exemptions kept as code, and how long any exemption may last."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    files: Paths = Field([], description="Exemption files or folders (`kind: Exemption`).")
    max_days: int = Field(
        180, ge=1, le=3650, description="The longest an exemption may last, in days."
    )


EVENT_KINDS = (
    "certification.lost", "certification.gained", "check.failing", "exemption.expiring",
    "exemption.expired", "campaign.milestone_missed", "campaign.deadline_near",
    "campaign.deadline_missed", "campaign.done", "run.failed",
)  # fmt: skip


def _event_kind(value: str) -> str:
    if (
        value != "*"
        and value not in EVENT_KINDS
        and not any(
            kind.startswith(value.rstrip("*")) for kind in EVENT_KINDS if value.endswith(".*")
        )
    ):
        raise ValueError(
            f"unknown event {value!r}; known: {', '.join(EVENT_KINDS)}, "
            "or a prefix such as certification.*"
        )
    return value


class NotificationTarget(BaseModel):
    """Where messages go: an Apprise URL (slack://, msteams://, mailto://, json://, ...),
    best read from an environment variable, since it holds the secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    url_env: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Variable holding the URL."
    )
    url: str | None = Field(None, min_length=3, description="The URL itself (no secret in it).")


class NotificationRule(BaseModel):
    """Which events go to which targets: every filter given must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: list[Annotated[str, AfterValidator(_event_kind)]] = Field(
        min_length=1, description="Event kinds, `certification.*`, or `*`."
    )
    tracks: list[str] = Field([], description="Only events of these tracks.")
    campaigns: list[str] = Field([], description="Only events of these campaigns.")
    owners: list[str] = Field([], description="Only events of entities of these owners.")
    filter: FilterSets | None = Field(
        None, description="Only events of entities this catalog filter admits (as a track's)."
    )
    targets: list[str] = Field([], description="Target names.")
    to_owner: bool = Field(False, description="Also the owner's target (`owners:` mapping).")
    digest: bool = Field(False, description="One message per target per run.")


class NotificationsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: list[NotificationTarget] = []
    owners: dict[str, str] = Field({}, description="Owner ref → target name.")
    rules: list[NotificationRule] = []
    expiring_within_days: int = Field(7, ge=1, le=365)
    deadline_within_days: int = Field(7, ge=1, le=365)
    max_attempts: int = Field(8, ge=1, le=100, description="Tries before a delivery fails.")
    backoff_seconds: float = Field(5.0, gt=0, le=3600, description="First retry's wait; doubles.")


class FixesConfig(BaseModel):
    """`fixes:` — what `scorecard fix` renders its templates with, and where it pushes."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any] = Field(
        {},
        description="Values every fix template sees as `values` (license, copyright_holder, "
        "ci_system, codeowners, ...).",
    )
    branch: str = Field(
        "scorecard/fixes",
        pattern=r"^[A-Za-z0-9._/-]{1,100}$",
        description="The branch of the one pull request per repository.",
    )


class ExecutorConfig(BaseModel):
    """`executor:`: where runs are evaluated. `local` (the default) evaluates in the process
    that starts the run; `celery` splits each run into shards that `scorecard worker`
    processes evaluate, through a broker, into a shared PostgreSQL store."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "celery"] = Field("local", description="local or celery.")
    broker: str | None = Field(
        None, description=f"The Celery broker URL (amqp://… or redis://…); {BROKER_ENV} wins."
    )
    queue: str = Field(
        "scorecard", min_length=1, max_length=200, description="The queue shards go through."
    )
    shard_size: int = Field(200, ge=1, le=100_000, description="Entities per shard.")
    shard_attempts: int = Field(
        3, ge=1, le=20, description="Deliveries of a shard before it is given up on."
    )
    stall_timeout: float = Field(
        900.0, gt=0, description="Seconds without any shard finishing before a run fails."
    )

    @property
    def distributed(self) -> bool:
        return self.kind == "celery"


class WorkspaceFile(BaseModel):
    """The schema of `scorecard.yaml`."""

    model_config = ConfigDict(extra="forbid")

    catalog: CatalogSources = Field(
        min_length=1,
        description="Catalog files, folders or globs, or {backstage: URL, token_env: VAR}.",
    )
    tracks: Paths = Field(["tracks"], description="Track files or folders.")
    checks: Paths = Field([], description="Folders of the platform team's own check modules.")
    database: str | DatabaseConfig = Field(
        DEFAULT_DATABASE, description="A SQLAlchemy database URL, or {url:, auto_upgrade:}."
    )
    concurrency: int = Field(16, ge=1, le=1024, description="Entities evaluated at once.")
    check_timeout: float = Field(30.0, gt=0, description="Seconds before a check is an error.")
    api_token: str | None = Field(
        None, min_length=16, description=f"Bearer token for writes; {TOKEN_ENV} wins over it."
    )
    public_reads: bool = Field(True, description="false: reads need the bearer token too.")
    tokens: list[TokenConfig] = Field(
        [], description="Named API tokens with roles, each read from an environment variable."
    )
    exemptions: ExemptionsConfig = Field(
        ExemptionsConfig(), description="Exemption files, and the longest an exemption lasts."
    )
    campaigns: Paths = Field([], description="Campaign files or folders (`kind: Campaign`).")
    notifications: NotificationsConfig = Field(
        NotificationsConfig(), description="Targets, owners' targets and routing rules."
    )
    public_url: str | None = Field(
        None, description="Where people reach this server; messages link to its pages."
    )
    reload_interval: float = Field(
        30.0, ge=0, description="Seconds between checks for changed tracks and checks; 0: off."
    )
    gate: list[GateEntry] = Field([], description="What `scorecard gate` requires by default.")
    repositories: RepositoriesConfig | None = Field(
        None, description="Clones of remote source locations; without it they are unknown."
    )
    github: GitHubConfig | None = Field(
        None, description="The GitHub API of the `github` checks; without it, the environment."
    )
    executor: ExecutorConfig = Field(
        ExecutorConfig(), description="local, or {kind: celery, broker:, shard_size:}."
    )
    fixes: FixesConfig = Field(
        FixesConfig(), description="`scorecard fix`: template values and the PR branch."
    )


@dataclass(frozen=True)
class Workspace:
    catalog: list[str | BackstageSource]
    tracks: list[Path]
    checks: list[Path]
    database: str
    concurrency: int = 16
    check_timeout: float = 30.0
    api_token: str | None = field(default=None, repr=False)
    public_reads: bool = True
    reload_interval: float = 30.0
    gate: tuple[tuple[str, str], ...] = ()  # (track id, required level)
    source: str = DEMO_SOURCE
    repositories: RepositoriesConfig | None = None  # cache, local_roots: absolute folders
    github: GitHubConfig | None = None
    auto_upgrade: bool = True  # database.auto_upgrade
    # `tokens:` as configured; their values are read from the environment by `api_tokens`.
    token_configs: tuple[TokenConfig, ...] = ()
    exemption_files: tuple[Path, ...] = ()
    exemption_max_days: int = 180
    campaign_files: tuple[Path, ...] = ()
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    public_url: str | None = None
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    fixes: FixesConfig = field(default_factory=FixesConfig)

    def api_tokens(self, environ: Mapping[str, str] | None = None) -> tuple[ApiToken, ...]:
        """The tokens the server accepts: `api_token` (or SCORECARD_API_TOKEN) as the
        admin `default`, and each named token whose variable is set."""
        environ = os.environ if environ is None else environ
        found = []
        if self.api_token:
            found.append(ApiToken(DEFAULT_TOKEN_NAME, Role.ADMIN, self.api_token))
        for config in self.token_configs:
            value = environ.get(config.env, "").strip()
            if value:
                found.append(ApiToken(config.name, config.role, value))
        return tuple(found)

    @property
    def is_demo(self) -> bool:
        return self.source == DEMO_SOURCE

    @property
    def local_roots(self) -> tuple[str, ...]:
        """`repositories.local_roots`: where catalog data may reach outside the catalog."""
        return tuple(self.repositories.local_roots) if self.repositories else ()

    @classmethod
    def load(cls, path: Path | None = None) -> Workspace:
        """`path`, else `./scorecard.yaml`, else the demo; environment variables win."""
        if path is None and Path(CONFIG_FILE).is_file():
            path = Path(CONFIG_FILE)
        workspace = cls.from_file(path) if path is not None else cls.demo()
        url = os.environ.get(DATABASE_ENV)
        token = os.environ.get(TOKEN_ENV)
        broker = os.environ.get(BROKER_ENV, "").strip()
        executor = workspace.executor
        if broker:
            # A broker named in the environment means the runs go to its workers.
            executor = executor.model_copy(update={"kind": "celery", "broker": broker})
        workspace = replace(
            workspace,
            database=url or workspace.database,
            api_token=token or workspace.api_token,
            executor=executor,
        )
        _check_executor(workspace)
        return workspace

    @classmethod
    def from_file(cls, path: Path) -> Workspace:
        if not path.is_file():
            raise ConfigError([Problem(str(path), "workspace file not found")])
        document = load_yaml(path)
        config: WorkspaceFile = document.validate(WorkspaceFile)
        _check_tokens(document, config)
        _check_notifications(document, config.notifications)
        base = path.parent
        database = config.database
        if isinstance(database, str):
            database = DatabaseConfig(url=database)
        repositories = config.repositories and config.repositories.model_copy(
            update={
                "cache": _relative(base, config.repositories.cache),
                "local_roots": _local_roots(document, base, config.repositories.local_roots),
            }
        )
        return cls(
            catalog=[_relative(base, p) if isinstance(p, str) else p for p in config.catalog],
            tracks=[Path(_relative(base, p)) for p in config.tracks],
            checks=[Path(_relative(base, p)) for p in config.checks],
            database=_sqlite_relative(base, database.url),
            concurrency=config.concurrency,
            check_timeout=config.check_timeout,
            api_token=config.api_token,
            public_reads=config.public_reads,
            reload_interval=config.reload_interval,
            gate=tuple((entry.track, entry.require) for entry in config.gate),
            source=str(path),
            repositories=repositories,
            github=config.github,
            auto_upgrade=database.auto_upgrade,
            token_configs=tuple(config.tokens),
            exemption_files=tuple(Path(_relative(base, p)) for p in config.exemptions.files),
            exemption_max_days=config.exemptions.max_days,
            campaign_files=tuple(Path(_relative(base, p)) for p in config.campaigns),
            notifications=config.notifications,
            public_url=config.public_url.rstrip("/") if config.public_url else None,
            executor=config.executor,
            fixes=config.fixes,
        )

    @classmethod
    def demo(cls) -> Workspace:
        return cls(
            catalog=[str(DEMO_DIR / "catalog" / "catalog-info.yaml")],
            tracks=[bundled_tracks()],
            checks=[DEMO_DIR / "checks"],
            campaign_files=(DEMO_DIR / "campaigns",),
            database=DEFAULT_DATABASE,
        )


def _check_executor(workspace: Workspace) -> None:
    """The celery executor needs a broker, and a database every worker can reach."""
    executor = workspace.executor
    if not executor.distributed:
        return
    problems = []
    if not executor.broker:
        problems.append(
            Problem(
                workspace.source,
                key="executor.broker",
                message=f"the celery executor needs a broker URL (amqp://… or redis://…): set "
                f"executor.broker or {BROKER_ENV}",
            )
        )
    if workspace.database.startswith("sqlite"):
        problems.append(
            Problem(
                workspace.source,
                key="database",
                message="the celery executor needs a database every worker reaches: SQLite is a "
                f"file on one machine; set database (or {DATABASE_ENV}) to a postgresql:// "
                "URL, or use executor.kind local",
            )
        )
    if problems:
        raise ConfigError(problems)


def bundled_tracks() -> Path:
    """The default tracks: beside the package in a wheel, at the top of a source checkout."""
    installed = DEMO_DIR / "tracks"
    return installed if installed.is_dir() else _PACKAGE.parent / "tracks"


def _relative(base: Path, path: str) -> str:
    return path if Path(path).is_absolute() else str(base / path)


def _check_tokens(document: YamlDocument, config: WorkspaceFile) -> None:
    """Token names are unique, `default` is SCORECARD_API_TOKEN's, and a token is never
    written in the file (`api_token` is the one exception, kept for older files)."""
    problems = []
    seen: set[str] = set()
    for index, token in enumerate(config.tokens):
        if token.name == DEFAULT_TOKEN_NAME:
            problems.append(
                document.problem(
                    ("tokens", index, "name"),
                    f"`{DEFAULT_TOKEN_NAME}` is the name of {TOKEN_ENV}'s token; choose another",
                )
            )
        elif token.name in seen:
            problems.append(
                document.problem(("tokens", index, "name"), f"token {token.name!r} is listed twice")
            )
        seen.add(token.name)
    if problems:
        raise ConfigError(problems)


def _check_notifications(document: YamlDocument, config: NotificationsConfig) -> None:
    """Targets are named once, with exactly one of `url` and `url_env`, and rules and the
    owners' mapping name only targets that exist."""
    problems = []
    names: set[str] = set()
    for index, target in enumerate(config.targets):
        loc = ("notifications", "targets", index)
        if target.name in names:
            problems.append(
                document.problem((*loc, "name"), f"target {target.name!r} is listed twice")
            )
        names.add(target.name)
        if (target.url is None) == (target.url_env is None):
            problems.append(document.problem(loc, "give exactly one of `url` and `url_env`"))
    for index, rule in enumerate(config.rules):
        for position, name in enumerate(rule.targets):
            if name not in names:
                problems.append(
                    document.problem(
                        ("notifications", "rules", index, "targets", position),
                        f"no target {name!r}; targets: {', '.join(sorted(names)) or 'none'}",
                    )
                )
        if not rule.targets and not rule.to_owner:
            problems.append(
                document.problem(("notifications", "rules", index), "the rule sends to no target")
            )
    for owner, name in config.owners.items():
        if name not in names:
            problems.append(
                document.problem(
                    ("notifications", "owners", owner),
                    f"no target {name!r}; targets: {', '.join(sorted(names)) or 'none'}",
                )
            )
    if problems:
        raise ConfigError(problems)


def _local_roots(document: YamlDocument, base: Path, roots: list[str]) -> list[str]:
    """The listed roots as absolute folders; one that is not a folder, or that would let
    catalog data reach every file, is a configuration error."""
    absolute = [_relative(base, root) for root in roots]
    problems = []
    for index, root in enumerate(absolute):
        loc = ("repositories", "local_roots", index)
        if not Path(root).is_dir():
            problems.append(document.problem(loc, f"{root} is not a folder"))
        elif Path(os.path.realpath(root)).parent == Path(os.path.realpath(root)):
            problems.append(
                document.problem(
                    loc, f"{root} is the file system root: every file would be allowed"
                )
            )
    if problems:
        raise ConfigError(problems)
    return absolute


def _sqlite_relative(base: Path, url: str) -> str:
    # `sqlite:///x.db` is relative to the working directory in SQLAlchemy; in a workspace
    # file it is relative to the file, like every other path there.
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(base / url[len(prefix) :])
    return url
