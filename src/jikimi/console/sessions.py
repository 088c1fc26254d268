"""Console sign-in sessions, kept on the server.

The cookie holds a random token; the store keeps only its SHA-256, the user, the session's
CSRF token and its clock. A session ends on sign-out, when it has been idle too long, when it
is older than its lifetime, or when its user is disabled: all checked on every request, so a
disabled user is out at once (a signed cookie alone could not do that).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.accounts.roles import Principal, Role
from jikimi.evidence.custody import CustodyLog
from jikimi.store.db import write_session
from jikimi.store.models import ConsoleSession, User

__all__ = ["ConsoleSessions", "SignedIn"]

# Last-seen times are written at most this often: reading a page is not a write each time.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who is using the console: the principal, the form token and the language."""

    principal: Principal
    csrf: str
    locale: str
    session_id: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleSessions:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        custody: CustodyLog,
        *,
        lifetime: timedelta,
        idle: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._custody = custody
        self._lifetime = lifetime
        self._idle = idle
        self._clock = clock

    def start(self, who: Principal) -> str:
        """A new session for a signed-in user; the cookie token (shown here only)."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with write_session(self._sessions) as session:
            row = ConsoleSession(
                token_hash=_digest(token),
                user_id=who.user_id,
                csrf=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=now + self._lifetime,
            )
            session.add(row)
            session.flush()
            self._custody.append(
                "console.signed_in",
                f"user:{who.name}",
                {"session_id": row.id},
                actor=who.name,
                tool_version=__version__,
                session=session,
            )
        return token

    def resolve(self, token: str | None) -> SignedIn | None:
        """The live session behind a cookie token, or None (unknown, ended, expired, idle,
        or its user disabled)."""
        if not token or len(token) > 200:
            return None
        now = self._clock()
        with self._sessions() as session:
            found = session.execute(
                select(ConsoleSession, User)
                .join(User, User.id == ConsoleSession.user_id)
                .where(ConsoleSession.token_hash == _digest(token))
            ).one_or_none()
            if found is None:
                return None
            row, user = found
            live = (
                row.ended_at is None
                and row.expires_at > now
                and row.last_seen_at + self._idle > now
                and user.disabled_at is None
                and user.role in Role.__members__.values()
            )
            if not live:
                return None
            signed_in = SignedIn(
                Principal(user.id, user.name, Role(user.role)),
                row.csrf,
                user.locale or "en",
                row.id,
            )
            stale = row.last_seen_at + TOUCH_EVERY < now
        if stale:
            with write_session(self._sessions) as session:
                touched = session.get(ConsoleSession, signed_in.session_id)
                if touched is not None:
                    touched.last_seen_at = now
        return signed_in

    def end(self, token: str | None, *, actor: str) -> None:
        """Sign out: the session ends now."""
        if not token:
            return
        with write_session(self._sessions) as session:
            row = session.scalar(
                select(ConsoleSession).where(ConsoleSession.token_hash == _digest(token))
            )
            if row is None or row.ended_at is not None:
                return
            row.ended_at = self._clock()
            self._custody.append(
                "console.signed_out",
                f"user:{actor}",
                {"session_id": row.id},
                actor=actor,
                tool_version=__version__,
                session=session,
            )

    def set_locale(self, user_id: int, locale: str) -> None:
        with write_session(self._sessions) as session:
            user = session.get(User, user_id)
            if user is not None:
                user.locale = locale
