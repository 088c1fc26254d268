"""UserStore on SQLite and PostgreSQL: users, passwords, sign-in throttling, API tokens, the
token cache, and the custody events they leave (with the actor, without secrets)."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.accounts.conftest import PASSWORD, Clock, cheap_hasher

from jikimi.accounts.roles import Principal, Role
from jikimi.accounts.store import UserStore
from jikimi.errors import AccountError, AuthenticationFailed, UserExists, UserNotFound
from jikimi.evidence.custody import CustodyLog
from jikimi.store.models import ApiToken, CustodyEventRecord, User

TOKEN = re.compile(r"jkm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def _rows(sessions: sessionmaker[Session]) -> str:
    """Every cell of the users, tokens and custody tables, as one string to search."""
    cells: list[str] = []
    with sessions() as session:
        for model in (User, ApiToken, CustodyEventRecord):
            for row in session.scalars(select(model)):
                cells += [
                    json.dumps(getattr(row, c.key), default=str) for c in model.__mapper__.columns
                ]
    return "\n".join(cells)


def _other_process(store: UserStore, sessions: sessionmaker[Session], clock: Clock) -> UserStore:
    """A second store on the same database: another server process, with its own cache."""
    return UserStore(sessions, CustodyLog(sessions), clock=clock, hasher=cheap_hasher())


# -- users and passwords -------------------------------------------------------------------------


def test_add_keeps_an_argon2id_hash_not_the_password(
    users: UserStore, sessions: sessionmaker[Session]
) -> None:
    info = users.add("Alice", "moderator", password=PASSWORD, actor="root")
    assert (info.name, info.role, info.has_password, info.created_by) == (
        "alice",
        "moderator",
        True,
        "root",
    )
    assert info.created_at.utcoffset() is not None
    with sessions() as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in _rows(sessions)
    assert "password_hash" not in info.as_dict()
    assert users.get("ALICE") == info
    assert [u.name for u in users.list()] == ["alice"]


def test_login_ok_wrong_unknown_disabled(users: UserStore) -> None:
    users.add("alice", "child_safety", password=PASSWORD, actor="root")
    principal = users.login("alice", PASSWORD)
    assert principal == Principal(principal.user_id, "alice", Role.CHILD_SAFETY, None)
    assert users.login("Alice", PASSWORD).name == "alice"  # names are case-insensitive
    messages = set()
    for name, password in [("alice", PASSWORD + "x"), ("nobody", PASSWORD), ("alice", "")]:
        with pytest.raises(AuthenticationFailed) as failed:
            users.login(name, password)
        messages.add(str(failed.value))
    users.disable("alice", actor="root")
    with pytest.raises(AuthenticationFailed) as failed:
        users.login("alice", PASSWORD)
    messages.add(str(failed.value))
    assert len(messages) == 1, "every failure must read the same"
    assert PASSWORD not in messages.pop()


def test_throttling_locks_after_failures_and_unlocks_after_lockout(
    users: UserStore, clock: Clock, custody: CustodyLog
) -> None:
    users.add("alice", "moderator", password=PASSWORD, actor="root")
    for _ in range(3):  # max_failures=3
        with pytest.raises(AuthenticationFailed):
            users.login("alice", "wrong password!!")
    info = users.get("alice")
    assert info.failed_logins == 3
    assert info.locked_until is not None and (info.locked_until - clock.now).total_seconds() == 60
    with pytest.raises(AuthenticationFailed):
        users.login("alice", PASSWORD)  # right password, but locked
    clock.advance(seconds=59)
    with pytest.raises(AuthenticationFailed):
        users.login("alice", PASSWORD)
    assert users.get("alice").failed_logins == 3  # attempts while locked do not count
    clock.advance(seconds=2)
    assert users.login("alice", PASSWORD).name == "alice"
    after = users.get("alice")
    assert (after.failed_logins, after.locked_until) == (0, None)

    locks = [e for e in custody.events(subject="user:alice") if e.kind == "login.locked"]
    assert len(locks) == 1
    assert locks[0].actor == "system"
    assert locks[0].payload["failures"] == 3 and locks[0].payload["lockout_seconds"] == 60


def test_after_a_lock_each_failure_locks_again(users: UserStore, clock: Clock) -> None:
    users.add("alice", "moderator", password=PASSWORD, actor="root")
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            users.login("alice", "wrong password!!")
    clock.advance(seconds=61)
    with pytest.raises(AuthenticationFailed):
        users.login("alice", "wrong again, sorry")
    with pytest.raises(AuthenticationFailed):
        users.login("alice", PASSWORD)  # locked again by one more failure
    clock.advance(seconds=61)
    users.login("alice", PASSWORD)


def test_success_resets_the_count(users: UserStore) -> None:
    users.add("alice", "moderator", password=PASSWORD, actor="root")
    for _round in range(3):
        for _ in range(2):
            with pytest.raises(AuthenticationFailed):
                users.login("alice", "wrong password!!")
        users.login("alice", PASSWORD)
    assert users.get("alice").failed_logins == 0


def test_unknown_users_never_lock_and_cost_a_verification(users: UserStore) -> None:
    calls: list[str | None] = []
    real = users._passwords.verify

    def spy(stored: str | None, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    users._passwords.verify = spy  # type: ignore[method-assign]
    users.add("bot", "platform", password=None, actor="root")
    for name in ("nobody", "bot"):
        with pytest.raises(AuthenticationFailed):
            users.login(name, PASSWORD)
    assert calls == [None, None]  # the dummy hash, verified in full


def test_parallel_guesses_cannot_pass_the_limit(users: UserStore) -> None:
    """Attempts are counted before the slow verification: of 8 simultaneous guesses, only
    max_failures (3) are checked against the real hash; the rest hit the lock."""
    users.add("alice", "moderator", password=PASSWORD, actor="root")
    real_checks: list[str] = []
    verify = users._passwords.verify
    barrier = threading.Barrier(8)

    def spy(stored: str | None, password: str) -> bool:
        if stored is not None:
            real_checks.append(stored)
        return verify(stored, password)

    users._passwords.verify = spy  # type: ignore[method-assign]
    failures: list[Exception] = []

    def guess(i: int) -> None:
        barrier.wait()
        try:
            users.login("alice", f"guess number {i:04d}")
        except AuthenticationFailed as exc:
            failures.append(exc)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(failures) == 8
    assert len(real_checks) == 3
    with pytest.raises(AuthenticationFailed):
        users.login("alice", PASSWORD)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short pass", "too short"),
        ("a" * 40, "one character"),
        ("x" * 1025 + "y", "too long"),
        ("Alice.Example", "equals the user name"),
    ],
)
def test_weak_passwords_refused(users: UserStore, password: str, why: str) -> None:
    with pytest.raises(AccountError, match=why) as refused:
        users.add("alice.example", "moderator", password=password, actor="root")
    assert password not in str(refused.value)
    assert users.list() == []


def test_no_default_password(users: UserStore) -> None:
    for role in ("admin", "moderator", "auditor", "child_safety"):
        with pytest.raises(AccountError, match="needs a password"):
            users.add("alice", role, password=None, actor="root")
    assert users.list() == []


def test_platform_users_have_no_password(users: UserStore) -> None:
    info = users.add("bot", "platform", password=None, actor="root")
    assert not info.has_password
    with pytest.raises(AccountError, match="tokens only"):
        users.add("bot2", "platform", password=PASSWORD, actor="root")
    with pytest.raises(AccountError, match="tokens only"):
        users.set_password("bot", PASSWORD, actor="root")
    with pytest.raises(AuthenticationFailed):
        users.login("bot", "")


def test_duplicate_names_bad_names_and_roles(users: UserStore) -> None:
    users.add("alice", "auditor", password=PASSWORD, actor="root")
    with pytest.raises(UserExists):
        users.add("ALICE", "moderator", password=PASSWORD, actor="root")
    for bad in ("", " alice", "-x", "a b", "a" * 201, "élodie", "a\nb"):
        with pytest.raises(AccountError, match="user name"):
            users.add(bad, "moderator", password=PASSWORD, actor="root")
    with pytest.raises(AccountError, match="unknown role 'wizard'"):
        users.add("bob", "wizard", password=PASSWORD, actor="root")
    with pytest.raises(UserNotFound):
        users.get("bob")
    with pytest.raises(UserNotFound):
        users.disable("bob", actor="root")
    assert [u.name for u in users.list()] == ["alice"]


def test_set_password_replaces_and_unlocks(users: UserStore, custody: CustodyLog) -> None:
    users.add("alice", "investigator", password=PASSWORD, actor="root")
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            users.login("alice", "wrong password!!")
    users.set_password("alice", "a brand new passphrase", actor="admin1")
    with pytest.raises(AuthenticationFailed):
        users.login("alice", PASSWORD)
    assert users.login("alice", "a brand new passphrase").role is Role.INVESTIGATOR
    (changed,) = [e for e in custody.events() if e.kind == "user.password_changed"]
    assert (changed.actor, changed.payload) == ("admin1", {"unlocked": True})
    with pytest.raises(AccountError, match="too short"):
        users.set_password("alice", "short", actor="admin1")


def test_passwords_are_nfkc_normalised(users: UserStore) -> None:
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "fullwidth")  # U+FF46...
    users.add("alice", "moderator", password=fullwidth + " passphrase", actor="root")
    assert users.login("alice", "fullwidth passphrase").name == "alice"


def test_rehash_when_parameters_change(
    users: UserStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    users.add("alice", "moderator", password=PASSWORD, actor="root")
    stronger = UserStore(sessions, CustodyLog(sessions), clock=clock, hasher=cheap_hasher(2))

    def stored() -> str:
        with sessions() as session:
            return session.scalars(select(User.password_hash)).one() or ""

    assert ",t=1," in stored()
    stronger.login("alice", PASSWORD)
    assert ",t=2," in stored()
    stronger.login("alice", PASSWORD)  # and it still verifies
    users.login("alice", PASSWORD)  # an older process verifies the new hash too


# -- API tokens ----------------------------------------------------------------------------------


def test_token_is_shown_once_and_stored_hashed(
    users: UserStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    users.add("bot", "platform", password=None, actor="root")
    token, info = users.issue_token("bot", actor="root", label="ingest")
    assert TOKEN.fullmatch(token)
    assert token.split("_")[1] == info.prefix
    assert (info.user, info.label, info.state) == ("bot", "ingest", "active")
    assert info.expires_at is not None and (info.expires_at - clock.now).days == 30  # token_days
    with sessions() as session:
        row = session.scalars(select(ApiToken)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    dump = _rows(sessions)
    assert token not in dump and token.split("_", 2)[2] not in dump
    assert "token" not in json.dumps([t.as_dict() for t in users.tokens("bot")])

    principal = users.authenticate(token)
    assert principal == Principal(principal.user_id, "bot", Role.PLATFORM, row.id)
    assert users.tokens("bot")[0].last_used_at == clock.now


def test_token_days_and_label(users: UserStore, clock: Clock) -> None:
    users.add("bot", "platform", password=None, actor="root")
    _, info = users.issue_token("bot", actor="root", days=7)
    assert info.expires_at == clock.now.replace(day=8)
    assert info.label is None
    for days in (0, 3651):
        with pytest.raises(AccountError, match="1-3650"):
            users.issue_token("bot", actor="root", days=days)
    with pytest.raises(AccountError, match="control"):
        users.issue_token("bot", actor="root", label="a\x1b[31mred")
    with pytest.raises(UserNotFound):
        users.issue_token("nobody", actor="root")


def test_bad_tokens_fail(users: UserStore) -> None:
    users.add("bot", "platform", password=None, actor="root")
    token, _ = users.issue_token("bot", actor="root")
    prefix, secret = token[4:12], token[13:]
    other_secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    unknown_prefix = "0" * 8 if prefix != "0" * 8 else "1" * 8
    for bad in (
        f"jkm_{prefix}_{other_secret}",  # right prefix, wrong secret
        f"jkm_{unknown_prefix}_{secret}",
        token[:-1],
        token + "x",
        token.upper(),
        "",
        "Bearer " + token,
        "jkm_" + prefix,
        "x" * 10_000,
    ):
        with pytest.raises(AuthenticationFailed):
            users.authenticate(bad)
    assert users.authenticate(token).name == "bot"


def test_expired_token_fails_even_when_cached(users: UserStore, clock: Clock) -> None:
    users.add("bot", "platform", password=None, actor="root")
    token, _ = users.issue_token("bot", actor="root", days=1)
    clock.advance(days=1, seconds=-2)
    users.authenticate(token)  # cached now
    clock.advance(seconds=2)
    with pytest.raises(AuthenticationFailed):
        users.authenticate(token)
    assert users.tokens("bot")[0].state == "expired"


def test_revoked_token_fails_at_once_here_and_within_5s_elsewhere(
    users: UserStore, sessions: sessionmaker[Session], clock: Clock, custody: CustodyLog
) -> None:
    users.add("bot", "platform", password=None, actor="root")
    token, info = users.issue_token("bot", actor="root")
    keep, _ = users.issue_token("bot", actor="root")
    other = _other_process(users, sessions, clock)
    users.authenticate(token)
    other.authenticate(token)  # both caches hold it
    users.revoke_token(info.prefix, actor="admin1")
    with pytest.raises(AuthenticationFailed):
        users.authenticate(token)
    assert other.authenticate(token).name == "bot"  # the other process's cache, for now
    clock.advance(seconds=5)
    with pytest.raises(AuthenticationFailed):
        other.authenticate(token)
    assert users.authenticate(keep).name == "bot"  # only that token was revoked

    states = {t.prefix: (t.state, t.revoked_by) for t in users.tokens("bot")}
    assert states[info.prefix] == ("revoked", "admin1")
    with pytest.raises(AccountError, match="already revoked"):
        users.revoke_token(info.prefix, actor="admin1")
    with pytest.raises(AccountError, match="no token"):
        users.revoke_token("00000000" if info.prefix != "00000000" else "11111111", actor="x")
    with pytest.raises(AccountError, match="not a token prefix"):
        users.revoke_token("nothex!!", actor="x")
    (revoked,) = [e for e in custody.events(subject="user:bot") if e.kind == "token.revoked"]
    assert (revoked.actor, revoked.payload["prefix"]) == ("admin1", info.prefix)


def test_revoke_accepts_the_jkm_form(users: UserStore) -> None:
    users.add("bot", "platform", password=None, actor="root")
    token, info = users.issue_token("bot", actor="root")
    users.revoke_token(f"jkm_{info.prefix}", actor="root")
    with pytest.raises(AuthenticationFailed):
        users.authenticate(token)


def test_disabled_users_tokens_fail(users: UserStore, custody: CustodyLog) -> None:
    users.add("bot", "platform", password=None, actor="root")
    tokens = [users.issue_token("bot", actor="root")[0] for _ in range(2)]
    for token in tokens:
        users.authenticate(token)
    users.disable("bot", actor="admin1")
    for token in tokens:
        with pytest.raises(AuthenticationFailed):
            users.authenticate(token)
    assert {(t.state, t.revoked_by) for t in users.tokens("bot")} == {("revoked", "admin1")}
    info = users.get("bot")
    assert (info.disabled_by, info.disabled_at is not None) == ("admin1", True)
    with pytest.raises(AccountError, match="disabled"):
        users.issue_token("bot", actor="root")
    with pytest.raises(AccountError, match="disabled"):
        users.disable("bot", actor="root")
    (event,) = [e for e in custody.events(subject="user:bot") if e.kind == "user.disabled"]
    assert (event.actor, event.payload) == ("admin1", {"tokens_revoked": 2})


def test_last_used_written_at_most_once_a_minute(users: UserStore, clock: Clock) -> None:
    users.add("bot", "platform", password=None, actor="root")
    token, _ = users.issue_token("bot", actor="root")
    assert users.tokens("bot")[0].last_used_at is None
    first = clock.now
    users.authenticate(token)
    clock.advance(seconds=30)  # past the cache: read again, but no write
    users.authenticate(token)
    assert users.tokens("bot")[0].last_used_at == first
    clock.advance(seconds=31)
    users.authenticate(token)
    assert users.tokens("bot")[0].last_used_at == clock.now


def test_authenticate_is_cheap(users: UserStore) -> None:
    users.add("bot", "platform", password=None, actor="root")
    token, _ = users.issue_token("bot", actor="root")
    users.authenticate(token)
    n = 2_000
    start = time.perf_counter()
    for _ in range(n):
        users.authenticate(token)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 0.001, f"{per_call * 1e6:.0f} µs per cached check"


# -- audit ---------------------------------------------------------------------------------------


def test_audit_events_name_the_actor_and_hold_no_secret(
    users: UserStore, custody: CustodyLog, sessions: sessionmaker[Session]
) -> None:
    users.add("alice", "admin", password=PASSWORD, actor="root")
    users.add("bot", "platform", password=None, actor="alice")
    token, info = users.issue_token("bot", actor="alice", label="ingest")
    users.set_password("alice", "another long passphrase", actor="alice")
    users.revoke_token(info.prefix, actor="alice")
    users.disable("bot", actor="alice")
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            users.login("alice", "not the password")

    events = [(e.kind, e.subject, e.actor) for e in custody.events()]
    assert events == [
        ("user.created", "user:alice", "root"),
        ("user.created", "user:bot", "alice"),
        ("token.issued", "user:bot", "alice"),
        ("user.password_changed", "user:alice", "alice"),
        ("token.revoked", "user:bot", "alice"),
        ("user.disabled", "user:bot", "alice"),
        ("login.locked", "user:alice", "system"),
    ]
    issued = custody.events()[2].payload
    assert issued == {
        "prefix": info.prefix,
        "label": "ingest",
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
    }
    payloads = json.dumps([e.payload for e in custody.events()])
    for secret in (PASSWORD, "another long passphrase", token, token[13:], "$argon2"):
        assert secret not in payloads
    with sessions() as session:
        digest = session.scalars(select(ApiToken.token_hash)).one()
    assert digest not in payloads
    assert custody.verify().ok
