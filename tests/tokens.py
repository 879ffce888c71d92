"""Named tokens for tests of a served workspace: one of each role, made fresh and put in
the environment under a folder's own variable names (as a deployment gives them), the
`tokens:` block of a scorecard.yaml that names them, and HTTP clients that send one."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

ROLES = ("admin", "runner", "reader")
# Who holds each role's token in a deployment: the names the server reports (an
# exemption's `requested_by`, the audit log).
HOLDERS = {"admin": "release-admin", "runner": "ci", "reader": "dashboards"}


@dataclass(frozen=True)
class Tokens:
    admin: str
    runner: str
    reader: str

    @classmethod
    def made(cls) -> Tokens:
        return cls(*(secrets.token_urlsafe(24) for _ in ROLES))

    def values(self) -> list[str]:
        return [self.admin, self.runner, self.reader]


def variables(prefix: str) -> dict[str, str]:
    """The environment variable of each role's token: `{prefix}_ADMIN_TOKEN` and so on.
    Each folder has its own prefix, so that two servers' tokens never mix."""
    return {role: f"{prefix}_{role.upper()}_TOKEN" for role in ROLES}


def tokens_config(names: Mapping[str, str]) -> str:
    """The `tokens:` block of a scorecard.yaml: each role's token read from its variable."""
    listed = "".join(
        f"  - {{name: {HOLDERS[role]}, role: {role}, env: {variable}}}\n"
        for role, variable in names.items()
    )
    return f"tokens:\n{listed}"


@contextmanager
def tokens_in_environment(names: Mapping[str, str]) -> Iterator[Tokens]:
    """Fresh tokens in the environment until the block ends; then it is as it was."""
    made = Tokens.made()
    with pytest.MonkeyPatch.context() as patch:
        for role, variable in names.items():
            patch.setenv(variable, getattr(made, role))
        yield made


def tokens_fixture(names: Mapping[str, str]) -> Callable[[], Iterator[Tokens]]:
    """A session fixture `tokens`: fresh tokens in the environment for the whole session,
    as a deployment sets them before the servers start. Assign it in a conftest:
    `tokens = tokens_fixture(VARIABLES)`."""

    @pytest.fixture(scope="session", name="tokens")
    def fixture() -> Iterator[Tokens]:
        with tokens_in_environment(names) as made:
            yield made

    return fixture


def client(url: str, token: str | None = None) -> httpx.Client:
    """A client of the server at `url`, sending `token` as a bearer token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=20)
