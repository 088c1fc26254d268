"""API tokens: format, digests and the per-process cache of recent successful checks.

A token is ``jkm_<prefix>_<secret>``: ``prefix`` is 8 lowercase hex digits, public, kept in the
clear to find the row and to name the token in lists; ``secret`` is
``secrets.token_urlsafe(32)`` (256 random bits, 43 characters). Only the SHA-256 hex digest of
the whole token is stored: with 256 random bits a fast hash is enough (no dictionary to attack,
unlike passwords), and it keeps every API request cheap. Digests are compared with
:func:`hmac.compare_digest`.

The cache maps a token's digest to the principal it authenticated, for ``ttl`` seconds (5 by
default). It holds successes only, so a flood of bad tokens cannot fill it. A revocation or a
disabled user in this process evicts at once; another process (another server worker) keeps
accepting a cached token for at most ``ttl`` seconds more.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from jikimi.accounts.roles import Principal

__all__ = [
    "TOKEN_MAX_LENGTH",
    "TOKEN_SCHEME",
    "TokenCache",
    "digests_equal",
    "new_token",
    "parse_prefix",
    "parse_token",
    "token_digest",
]

TOKEN_SCHEME = "jkm"
_TOKEN = re.compile(r"jkm_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
_PREFIX = re.compile(r"(?:jkm_)?([0-9a-f]{8})")
TOKEN_MAX_LENGTH = 56  # len("jkm_") + 8 + len("_") + 43


def new_token() -> tuple[str, str]:
    """A fresh ``(token, prefix)``."""
    prefix = secrets.token_hex(4)
    return f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def parse_token(token: str) -> str | None:
    """The prefix of a well-formed token, else None (no lookup is worth making)."""
    if not isinstance(token, str) or len(token) != TOKEN_MAX_LENGTH:
        return None
    match = _TOKEN.fullmatch(token)
    return match.group(1) if match else None


def parse_prefix(text: str) -> str | None:
    """A prefix as typed by an operator: ``abcd1234`` or ``jkm_abcd1234``."""
    match = _PREFIX.fullmatch(text.strip().lower())
    return match.group(1) if match else None


def token_digest(token: str) -> str:
    """SHA-256 of the whole token, 64 lowercase hex digits."""
    return hashlib.sha256(token.encode()).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    expires_at: datetime | None
    valid_until: datetime


class TokenCache:
    """Recent successful token checks, keyed by token digest; thread-safe."""

    def __init__(self, ttl_seconds: float = 5.0, max_entries: int = 4096) -> None:
        self._ttl = timedelta(seconds=ttl_seconds)
        self._max = max_entries
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        # Bumped by every eviction: a check that read the database before an eviction must
        # not cache what it read after it (it may be the revoked token).
        self.generation = 0

    def get(self, digest: str, now: datetime) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry.valid_until <= now or (entry.expires_at is not None and entry.expires_at <= now):
            with self._lock:
                if self._entries.get(digest) is entry:
                    del self._entries[digest]
            return None
        return entry.principal

    def put(
        self,
        digest: str,
        principal: Principal,
        expires_at: datetime | None,
        now: datetime,
        *,
        generation: int,
    ) -> None:
        """Cache a success read from the database while ``generation`` was current."""
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self._max:
                self._entries = {d: e for d, e in self._entries.items() if e.valid_until > now}
                if len(self._entries) >= self._max:
                    self._entries.pop(next(iter(self._entries)))
            self._entries[digest] = _Entry(principal, expires_at, now + self._ttl)

    def evict(self, *, token_ids: Iterable[int] = (), user_id: int | None = None) -> None:
        """Forget the given tokens and every token of ``user_id``."""
        ids = set(token_ids)
        with self._lock:
            self.generation += 1
            self._entries = {
                d: e
                for d, e in self._entries.items()
                if e.principal.token_id not in ids and e.principal.user_id != user_id
            }

    def __len__(self) -> int:
        return len(self._entries)
