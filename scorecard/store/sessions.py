"""Sign-in sessions of the pages: random ids stored hashed, expiring, tied to the API token.

Signing in with the API token makes a session; the browser keeps only its id. Each
session carries `token_fingerprint(token)` of the token it was made with, and is valid
while it has not expired and the server's token still has that fingerprint.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine, delete, insert, or_, select
from sqlmodel import col

from scorecard.store.tables import SessionRecord

# Salt of the token fingerprint: fixed, so that every process of a deployment computes the
# same fingerprint for the same token.
_FINGERPRINT_SALT = b"scorecard sign-in session"

T = TypeVar("T")


def new_session_id() -> str:
    """A fresh opaque session id for a cookie: 32 random bytes, URL-safe text."""
    return secrets.token_urlsafe(32)


def hash_id(session_id: str) -> str:
    """What the table stores of a session id. Plain SHA-256 is enough: the id is random,
    so it cannot be guessed from its hash."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@functools.lru_cache(maxsize=64)
def token_fingerprint(token: str) -> str:
    """A fingerprint of the API token, stored with each session instead of the token.

    scrypt rather than a plain hash: an operator's token may be a guessable phrase, and a
    copy of the database must not let it be guessed quickly. It costs about 40 ms, once
    per token per process (remembered here).
    """
    derived = hashlib.scrypt(token.encode(), salt=_FINGERPRINT_SALT, n=2**14, r=8, p=1, dklen=32)
    return derived.hex()


def create(engine: Engine, fingerprint: str, now: datetime, lifetime: timedelta) -> str:
    """Store a new session of the token with `fingerprint`, valid from `now` for
    `lifetime`, and return its id (for the cookie; only its hash is stored)."""
    session_id = new_session_id()
    with engine.begin() as connection:
        connection.execute(
            insert(SessionRecord).values(
                id_hash=hash_id(session_id),
                token_fingerprint=fingerprint,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    return session_id


def lookup(
    engine: Engine, session_id: str, fingerprints: Mapping[str, T], now: datetime
) -> T | None:
    """What `fingerprints` holds for the token `session_id` was made with, if it is a
    stored session, not expired at `now`, of one of those tokens. One read by primary
    key, no write."""
    query = select(SessionRecord.token_fingerprint, SessionRecord.expires_at).where(
        col(SessionRecord.id_hash) == hash_id(session_id)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    made_with, expires_at = row
    if now >= expires_at:
        return None
    found = None
    for fingerprint, holder in fingerprints.items():
        if secrets.compare_digest(made_with, fingerprint) and found is None:
            found = holder
    return found


def revoke(engine: Engine, session_id: str) -> bool:
    """Delete the session `session_id`; whether there was one."""
    with engine.begin() as connection:
        deleted = connection.execute(
            delete(SessionRecord).where(col(SessionRecord.id_hash) == hash_id(session_id))
        )
    return deleted.rowcount > 0


def prune(engine: Engine, fingerprints: Collection[str], now: datetime) -> int:
    """Delete the sessions expired at `now` and those made with a token whose fingerprint
    is not in `fingerprints` (every session when it is empty: the server has no token),
    in one statement; how many there were."""
    query = delete(SessionRecord)
    if fingerprints:
        query = query.where(
            or_(
                col(SessionRecord.expires_at) <= now,
                col(SessionRecord.token_fingerprint).not_in(sorted(fingerprints)),
            )
        )
    with engine.begin() as connection:
        return connection.execute(query).rowcount
