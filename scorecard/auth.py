"""Who is asking: named API tokens, each with a role.

`scorecard.yaml` lists tokens by name and role, each read from an environment variable
(the token is never in the file); `SCORECARD_API_TOKEN` is an admin token named
`default`. A request is known by its token's name, which is what logs and the audit log
record, never the token.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """What a token may do; each role may do what the ones before it may."""

    # Reads, when `public_reads: false`.
    READER = "reader"
    # Also starts runs and requests exemptions (CI, schedulers elsewhere).
    RUNNER = "runner"
    # Also reloads, and approves, denies and revokes exemptions.
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        return _RANK[self] >= _RANK[needed]


_RANK = {Role.READER: 0, Role.RUNNER: 1, Role.ADMIN: 2}

DEFAULT_TOKEN_NAME = "default"


@dataclass(frozen=True, slots=True)
class Principal:
    """A token as a request is known by: its name and role."""

    name: str
    role: Role

    def may(self, needed: Role) -> bool:
        return self.role.allows(needed)


@dataclass(frozen=True, slots=True)
class ApiToken:
    name: str
    role: Role
    value: str = field(repr=False)

    @property
    def principal(self) -> Principal:
        return Principal(self.name, self.role)


class TokenSet:
    """The tokens a server accepts."""

    def __init__(self, tokens: Iterable[ApiToken] = ()) -> None:
        self.tokens = tuple(tokens)

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def authenticate(self, presented: str) -> Principal | None:
        """The principal whose token `presented` is, or None. Every token is compared, in
        constant time, so that neither a token nor which one matched shows in the time
        the answer takes."""
        found = None
        given = presented.encode()
        for token in self.tokens:
            if secrets.compare_digest(given, token.value.encode()) and found is None:
                found = token.principal
        return found

    def named(self, name: str) -> ApiToken | None:
        return next((t for t in self.tokens if t.name == name), None)
