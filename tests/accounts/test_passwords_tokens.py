"""Password rules, argon2id parameters, the token format and the token cache (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, Type
from tests.accounts.conftest import PASSWORD, cheap_hasher

from jikimi.accounts.passwords import Passwords, check_password
from jikimi.accounts.roles import Principal, Role
from jikimi.accounts.tokens import (
    TokenCache,
    digests_equal,
    new_token,
    parse_prefix,
    parse_token,
    token_digest,
)
from jikimi.errors import AccountError

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_default_hash_is_argon2id_rfc9106() -> None:
    passwords = Passwords()
    stored = passwords.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify(stored, PASSWORD)
    assert not passwords.verify(stored, PASSWORD + " ")
    assert not passwords.needs_rehash(stored)


def test_only_argon2id() -> None:
    with pytest.raises(AccountError, match="argon2id"):
        Passwords(PasswordHasher(type=Type.I, memory_cost=8, parallelism=1))


def test_verify_without_a_hash_or_with_garbage_fails() -> None:
    passwords = Passwords(cheap_hasher())
    assert not passwords.verify(None, PASSWORD)
    assert not passwords.verify("not a hash", PASSWORD)
    assert passwords.needs_rehash("not a hash")
    assert not passwords.verify(passwords.hash(PASSWORD), "y" * 5000)


def test_password_rules() -> None:
    assert check_password("twelve chars", name="bob") == "twelve chars"
    assert len(check_password("xy" * 512, name="bob")) == 1024
    for bad, why in [
        ("eleven char", "too short"),
        ("ab" * 513, "too long"),
        ("zzzzzzzzzzzzzzzz", "one character"),
        ("Bob.The.Builder", "user name"),
    ]:
        with pytest.raises(AccountError, match=why):
            check_password(bad, name="bob.the.builder")


def test_token_format() -> None:
    token, prefix = new_token()
    assert len(token) == 56 and token.startswith(f"jkm_{prefix}_")
    assert parse_token(token) == prefix
    assert new_token()[0] != token
    for bad in ("", token[:-1], token + "=", token.replace("jkm_", "jkx_"), None, 42):
        assert parse_token(bad) is None  # type: ignore[arg-type]
    assert parse_prefix(prefix) == prefix
    assert parse_prefix(f"  jkm_{prefix.upper()} ") == prefix
    assert parse_prefix("xyz") is None
    digest = token_digest(token)
    assert len(digest) == 64 and digests_equal(digest, token_digest(token))
    other = "B" if token.endswith("A") else "A"  # one character changed, never the same token
    assert not digests_equal(digest, token_digest(token[:-1] + other))


def _principal(user_id: int, token_id: int) -> Principal:
    return Principal(user_id, f"u{user_id}", Role.PLATFORM, token_id)


def test_cache_ttl_expiry_and_eviction() -> None:
    cache = TokenCache(ttl_seconds=5)
    gen = cache.generation
    cache.put("a", _principal(1, 10), NOW + timedelta(seconds=3), NOW, generation=gen)
    cache.put("b", _principal(1, 11), None, NOW, generation=gen)
    cache.put("c", _principal(2, 12), None, NOW, generation=gen)
    assert cache.get("a", NOW) == _principal(1, 10)
    assert cache.get("a", NOW + timedelta(seconds=3)) is None  # the token expired
    assert cache.get("b", NOW + timedelta(seconds=4.9)) is not None
    assert cache.get("b", NOW + timedelta(seconds=5)) is None  # the entry expired
    cache.put("b", _principal(1, 11), None, NOW, generation=gen)
    cache.evict(user_id=1)
    assert cache.get("b", NOW) is None and cache.get("c", NOW) is not None
    cache.evict(token_ids=[12])
    assert len(cache) == 0


def test_cache_refuses_a_read_older_than_an_eviction() -> None:
    cache = TokenCache()
    before = cache.generation
    cache.evict(token_ids=[10])  # a revocation lands while a check reads the database
    cache.put("a", _principal(1, 10), None, NOW, generation=before)
    assert cache.get("a", NOW) is None


def test_cache_is_bounded() -> None:
    cache = TokenCache(max_entries=3)
    for i in range(10):
        cache.put(str(i), _principal(i, i), None, NOW, generation=0)
    assert len(cache) == 3 and cache.get("9", NOW) is not None
