"""Users, sign-in with throttling, and API tokens, kept in the store.

- Passwords: argon2id (:mod:`jikimi.accounts.passwords`); there is no default password, and a
  ``platform`` user (a machine) has none at all and uses tokens only.
- Sign-in throttling: every attempt on a live account first counts a failure
  (``failed_logins``), in its own short transaction, and only then verifies the password
  outside any transaction (argon2 is slow and must not hold SQLite's write lock). Reaching
  ``max_failures`` locks the account for ``lockout_seconds`` (``locked_until``); a success
  clears both. Counting first means parallel guesses cannot slip past the limit. After a lock
  runs out, the count is still at the limit, so each further failure locks again at once: one
  guess per lockout until someone signs in or an admin sets a new password. Unknown, disabled,
  password-less and locked accounts cost the same argon2 verification (against a dummy hash)
  and fail with the same message, so neither timing nor text tells them apart.
- API tokens (:mod:`jikimi.accounts.tokens`): shown once, stored as a SHA-256 digest,
  compared in constant time, always with an expiry, revocable; disabling a user revokes all of
  its tokens. :meth:`UserStore.authenticate` runs on every API request: it keeps successes in
  a small per-process cache for ``cache_seconds`` (5), writes ``last_used_at`` at most once a
  minute per token, and costs one indexed read otherwise.

Every change appends a custody event with the actor in the same transaction, subject
``user:<name>``: ``user.created``, ``user.disabled``, ``user.password_changed``,
``token.issued``, ``token.revoked``, and ``login.locked`` (actor ``system``) when a lock starts.
No payload, log line or error message holds a password, a password hash or a token.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.accounts.passwords import Passwords, check_password
from jikimi.accounts.roles import Principal, Role, parse_role
from jikimi.accounts.tokens import (
    TokenCache,
    digests_equal,
    new_token,
    parse_prefix,
    parse_token,
    token_digest,
)
from jikimi.errors import AccountError, AuthenticationFailed, UserExists, UserNotFound
from jikimi.evidence.custody import CustodyLog
from jikimi.store.db import write_session
from jikimi.store.models import ApiToken, User, utcnow

__all__ = ["SYSTEM_ACTOR", "TokenInfo", "UserInfo", "UserStore"]

SYSTEM_ACTOR = "system"
LAST_USED_EVERY = timedelta(seconds=60)
MAX_TOKEN_DAYS = 3650
_NAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,199}")
_NO_DIGEST = "0" * 64
_ROLES = frozenset(r.value for r in Role)
_LOGIN_FAILED = (
    "sign-in failed: wrong user name or password, or the account is disabled or locked after "
    "too many failures; wait and try again, or ask an admin"
)
_TOKEN_FAILED = (
    "API token refused: malformed, unknown, revoked or expired, or its user is disabled; ask "
    "an admin for a new one (`jikimi user token NAME`)"
)

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as lists show it: never the password or its hash."""

    name: str
    role: str
    has_password: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    disabled_by: str | None
    failed_logins: int
    locked_until: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, times as ISO 8601."""
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as lists show it: the public prefix, never the token or its digest. ``state``
    is ``active``, ``expired`` or ``revoked`` when the info was made."""

    prefix: str
    user: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    state: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, times as ISO 8601."""
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class _Attempt:
    user_id: int
    name: str
    role: Role
    password_hash: str
    failures: int
    locks_until: datetime | None  # set when this attempt's failure starts a lock


def _user_info(user: User) -> UserInfo:
    return UserInfo(
        name=user.name,
        role=user.role,
        has_password=user.password_hash is not None,
        created_at=user.created_at,
        created_by=user.created_by,
        disabled_at=user.disabled_at,
        disabled_by=user.disabled_by,
        failed_logins=user.failed_logins,
        locked_until=user.locked_until,
    )


def _token_info(token: ApiToken, user: str, now: datetime) -> TokenInfo:
    if token.revoked_at is not None:
        state = "revoked"
    elif token.expires_at is not None and token.expires_at <= now:
        state = "expired"
    else:
        state = "active"
    return TokenInfo(
        prefix=token.prefix,
        user=user,
        label=token.label,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
        revoked_by=token.revoked_by,
        state=state,
    )


def _key(name: str) -> str:
    """Names are case-insensitive: stored and looked up in lowercase."""
    return name.lower() if isinstance(name, str) else ""


def _valid_name(name: str) -> str:
    key = _key(name)
    if not _NAME.fullmatch(key):
        raise AccountError(
            f"user name {name!r} must be 1-200 characters of a-z, 0-9, '.', '_', '@', '+', "
            "'-', starting with a letter or digit"
        )
    return key


def _label(label: str | None) -> str | None:
    if label is None or not label.strip():
        return None
    label = label.strip()
    if len(label) > 200 or any(unicodedata.category(c) == "Cc" for c in label):
        raise AccountError("token label must be at most 200 characters, without control codes")
    return label


def _subject(name: str) -> str:
    return f"user:{name}"


class UserStore:
    """Users, sign-in and API tokens. One instance per process: it holds the token cache."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        custody: CustodyLog,
        *,
        max_failures: int = 5,
        lockout_seconds: int = 300,
        token_days: int = 90,
        clock: Clock = utcnow,
        hasher: PasswordHasher | None = None,
        cache_seconds: float = 5.0,
    ) -> None:
        if max_failures < 1 or lockout_seconds < 1 or not 1 <= token_days <= MAX_TOKEN_DAYS:
            raise AccountError(
                f"max_failures and lockout_seconds must be at least 1 and token_days 1-"
                f"{MAX_TOKEN_DAYS} (got {max_failures}, {lockout_seconds}, {token_days})"
            )
        self._sessions = sessions
        self._custody = custody
        self._max_failures = max_failures
        self._lockout = timedelta(seconds=lockout_seconds)
        self._token_days = token_days
        self._clock = clock
        self._passwords = Passwords(hasher)
        self._cache = TokenCache(cache_seconds)

    def _event(
        self, session: Session, kind: str, name: str, payload: dict[str, Any], actor: str
    ) -> None:
        self._custody.append(
            kind, _subject(name), payload, actor=actor, tool_version=__version__, session=session
        )

    @staticmethod
    def _user(session: Session, name: str, *, for_update: bool = False) -> User:
        query = select(User).where(User.name == _key(name))
        if for_update:
            query = query.with_for_update()
        user = session.scalars(query).one_or_none()
        if user is None:
            raise UserNotFound(f"no user named {name!r}; see `jikimi user list`")
        return user

    @staticmethod
    def _live(user: User) -> User:
        if user.disabled_at is not None:
            raise AccountError(
                f"user {user.name} was disabled on {user.disabled_at:%Y-%m-%d} by "
                f"{user.disabled_by}; add a new user instead"
            )
        return user

    # -- users ---------------------------------------------------------------------------------

    def add(self, name: str, role: str, *, password: str | None, actor: str) -> UserInfo:
        """Add a user. Every role but ``platform`` needs a password (checked by
        :func:`~jikimi.accounts.passwords.check_password`); ``platform`` takes none."""
        key = _valid_name(name)
        parsed = parse_role(role)
        if parsed is Role.PLATFORM:
            if password is not None:
                raise AccountError(
                    "a platform user is a machine: it uses API tokens only, add it without a "
                    "password and issue a token (`jikimi user token NAME`)"
                )
            hashed = None
        elif password is None:
            raise AccountError(
                f"a {parsed} user needs a password (there is no default password): pass one "
                "with --password-stdin or type it at the prompt"
            )
        else:
            hashed = self._passwords.hash(check_password(password, name=key))
        exists = UserExists(f"a user named {key!r} exists; pick another name")
        try:
            with write_session(self._sessions) as session:
                if session.scalar(select(User.id).where(User.name == key)) is not None:
                    raise exists
                user = User(
                    name=key,
                    role=parsed.value,
                    password_hash=hashed,
                    failed_logins=0,
                    created_at=self._clock(),
                    created_by=actor,
                )
                session.add(user)
                session.flush()
                payload = {"role": parsed.value, "password": hashed is not None}
                self._event(session, "user.created", key, payload, actor)
                return _user_info(user)
        except IntegrityError:  # a concurrent add of the same name (PostgreSQL)
            raise exists from None

    def list(self) -> list[UserInfo]:
        """Every user, disabled ones included, by name."""
        with self._sessions() as session:
            return [_user_info(u) for u in session.scalars(select(User).order_by(User.name))]

    def get(self, name: str) -> UserInfo:
        with self._sessions() as session:
            return _user_info(self._user(session, name))

    def disable(self, name: str, *, actor: str) -> None:
        """Disable the user (the row stays) and revoke every token it holds."""
        now = self._clock()
        with write_session(self._sessions) as session:
            user = self._live(self._user(session, name, for_update=True))
            user.disabled_at = now
            user.disabled_by = actor
            revoked = session.execute(
                update(ApiToken)
                .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=actor)
                .execution_options(synchronize_session=False)
            ).rowcount
            self._event(session, "user.disabled", user.name, {"tokens_revoked": revoked}, actor)
            user_id = user.id
        self._cache.evict(user_id=user_id)

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        """Set a new password; this also lifts a sign-in lock."""
        with self._sessions() as session:
            user = self._live(self._user(session, name))
            if user.role == Role.PLATFORM:
                raise AccountError("a platform user uses API tokens only and has no password")
            key = user.name
        hashed = self._passwords.hash(check_password(password, name=key))
        with write_session(self._sessions) as session:
            user = self._live(self._user(session, key, for_update=True))
            was_locked = user.locked_until is not None and user.locked_until > self._clock()
            user.password_hash = hashed
            user.failed_logins = 0
            user.locked_until = None
            self._event(session, "user.password_changed", key, {"unlocked": was_locked}, actor)

    # -- sign-in -------------------------------------------------------------------------------

    def login(self, name: str, password: str) -> Principal:
        """The signed-in principal, or :class:`~jikimi.errors.AuthenticationFailed` with one
        message for every reason."""
        now = self._clock()
        attempt = self._start_attempt(_key(name), now)
        if attempt is None:
            self._passwords.verify(None, password)
            raise AuthenticationFailed(_LOGIN_FAILED)
        if self._passwords.verify(attempt.password_hash, password):
            self._succeed(attempt, password)
            return Principal(attempt.user_id, attempt.name, attempt.role)
        if attempt.locks_until is not None:
            with write_session(self._sessions) as session:
                payload = {
                    "failures": attempt.failures,
                    "locked_until": attempt.locks_until.isoformat(),
                    "lockout_seconds": int(self._lockout.total_seconds()),
                }
                self._event(session, "login.locked", attempt.name, payload, SYSTEM_ACTOR)
        raise AuthenticationFailed(_LOGIN_FAILED)

    @staticmethod
    def _can_try(user: User | None, now: datetime) -> bool:
        return (
            user is not None
            and user.disabled_at is None
            and user.password_hash is not None
            and user.role in _ROLES
            and (user.locked_until is None or user.locked_until <= now)
        )

    def _start_attempt(self, key: str, now: datetime) -> _Attempt | None:
        """Count the attempt as a failure up front (see the module doc); None if the account
        cannot sign in now. Reads first, so unknown names never take the write lock."""
        with self._sessions() as session:
            user = session.scalars(select(User).where(User.name == key)).one_or_none()
            if not self._can_try(user, now):
                return None
        with write_session(self._sessions) as session:
            user = session.scalars(
                select(User).where(User.name == key).with_for_update()
            ).one_or_none()
            if user is None or user.password_hash is None or not self._can_try(user, now):
                return None
            user.failed_logins += 1
            locks = user.failed_logins >= self._max_failures
            if locks:
                user.locked_until = now + self._lockout
            return _Attempt(
                user.id,
                user.name,
                Role(user.role),
                user.password_hash,
                user.failed_logins,
                user.locked_until if locks else None,
            )

    def _succeed(self, attempt: _Attempt, password: str) -> None:
        rehashed = (
            self._passwords.hash(password)
            if self._passwords.needs_rehash(attempt.password_hash)
            else None
        )
        with write_session(self._sessions) as session:
            user = session.get(User, attempt.user_id, with_for_update=True)
            # Disabled, or given a new password, while the old one was being verified.
            if (
                user is None
                or user.disabled_at is not None
                or user.password_hash != attempt.password_hash
            ):
                raise AuthenticationFailed(_LOGIN_FAILED)
            user.failed_logins = 0
            user.locked_until = None
            if rehashed is not None:
                user.password_hash = rehashed

    # -- API tokens ----------------------------------------------------------------------------

    def issue_token(
        self, name: str, *, actor: str, label: str | None = None, days: int | None = None
    ) -> tuple[str, TokenInfo]:
        """A new token for the user and its info. The token is returned here only: it cannot
        be shown again (only its digest is kept)."""
        days = self._token_days if days is None else days
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise AccountError(f"token lifetime {days} days must be 1-{MAX_TOKEN_DAYS}")
        label = _label(label)
        now = self._clock()
        expires = now + timedelta(days=days)
        with write_session(self._sessions) as session:
            user = self._live(self._user(session, name, for_update=True))
            token, prefix = new_token()
            while session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)):
                token, prefix = new_token()  # a 32-bit prefix collides rarely, but it can
            row = ApiToken(
                user_id=user.id,
                prefix=prefix,
                token_hash=token_digest(token),
                label=label,
                created_at=now,
                expires_at=expires,
            )
            session.add(row)
            session.flush()
            payload = {"prefix": prefix, "label": label, "expires_at": expires.isoformat()}
            self._event(session, "token.issued", user.name, payload, actor)
            return token, _token_info(row, user.name, now)

    def tokens(self, name: str) -> list[TokenInfo]:
        """Every token of the user, revoked and expired ones included, oldest first."""
        now = self._clock()
        with self._sessions() as session:
            user = self._user(session, name)
            rows = session.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == user.id)
                .order_by(ApiToken.created_at, ApiToken.id)
            )
            return [_token_info(t, user.name, now) for t in rows]

    def revoke_token(self, prefix: str, *, actor: str) -> None:
        """Revoke the token with this prefix (``abcd1234`` or ``jkm_abcd1234``)."""
        parsed = parse_prefix(prefix)
        if parsed is None:
            raise AccountError(
                f"{prefix!r} is not a token prefix: 8 hex digits, as `jikimi user tokens NAME` "
                "shows"
            )
        with write_session(self._sessions) as session:
            found = session.execute(
                select(ApiToken, User.name)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.prefix == parsed)
                .with_for_update()
            ).one_or_none()
            if found is None:
                raise AccountError(f"no token with prefix {parsed}; see `jikimi user tokens NAME`")
            token, owner = found
            if token.revoked_at is not None:
                raise AccountError(
                    f"token {parsed} was already revoked on {token.revoked_at:%Y-%m-%d} by "
                    f"{token.revoked_by}"
                )
            token.revoked_at = self._clock()
            token.revoked_by = actor
            payload = {"prefix": parsed, "label": token.label}
            self._event(session, "token.revoked", owner, payload, actor)
            token_id = token.id
        self._cache.evict(token_ids=[token_id])

    def cached_principal(self, token: str) -> Principal | None:
        """The principal of a token checked within the last few seconds, from memory only
        (no database, cheap enough for an event loop); ``None``: call :meth:`authenticate`."""
        if parse_token(token) is None:
            return None
        return self._cache.get(token_digest(token), self._clock())

    def authenticate(self, token: str) -> Principal:
        """The principal holding ``token``, or :class:`~jikimi.errors.AuthenticationFailed`
        (malformed, unknown prefix, wrong secret, revoked, expired, disabled user)."""
        prefix = parse_token(token)
        if prefix is None:
            raise AuthenticationFailed(_TOKEN_FAILED)
        digest = token_digest(token)
        now = self._clock()
        cached = self._cache.get(digest, now)
        if cached is not None:
            return cached
        generation = self._cache.generation
        with self._sessions() as session:
            row = session.execute(
                select(
                    ApiToken.id,
                    ApiToken.token_hash,
                    ApiToken.expires_at,
                    ApiToken.revoked_at,
                    ApiToken.last_used_at,
                    User.id.label("user_id"),
                    User.name,
                    User.role,
                    User.disabled_at,
                )
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.prefix == prefix)
            ).one_or_none()
        # Compare even for an unknown prefix, so both cases take the same path.
        if not digests_equal(_NO_DIGEST if row is None else row.token_hash, digest) or row is None:
            raise AuthenticationFailed(_TOKEN_FAILED)
        if (
            row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
            or row.disabled_at is not None
            or row.role not in _ROLES
        ):
            raise AuthenticationFailed(_TOKEN_FAILED)
        principal = Principal(row.user_id, row.name, Role(row.role), token_id=row.id)
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            self._touch(row.id, now)
        self._cache.put(digest, principal, row.expires_at, now, generation=generation)
        return principal

    def _touch(self, token_id: int, now: datetime) -> None:
        """Record use, at most once a minute per token, even across processes."""
        with self._sessions() as session:
            session.execute(
                update(ApiToken)
                .where(
                    ApiToken.id == token_id,
                    or_(
                        ApiToken.last_used_at.is_(None),
                        ApiToken.last_used_at <= now - LAST_USED_EVERY,
                    ),
                )
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
            session.commit()
