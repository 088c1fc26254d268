"""Fixtures for account tests: a cheap argon2id hasher, a clock the test moves, a UserStore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from jikimi.accounts.store import UserStore
from jikimi.evidence.custody import CustodyLog

PASSWORD = "correct horse battery staple"


def cheap_hasher(time_cost: int = 1) -> PasswordHasher:
    """argon2id with tiny costs: the store's logic, not argon2's, is under test."""
    return PasswordHasher(time_cost=time_cost, memory_cost=8, parallelism=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def custody(sessions: sessionmaker[Session]) -> CustodyLog:
    return CustodyLog(sessions)


@pytest.fixture
def users(sessions: sessionmaker[Session], custody: CustodyLog, clock: Clock) -> UserStore:
    return UserStore(
        sessions,
        custody,
        max_failures=3,
        lockout_seconds=60,
        token_days=30,
        clock=clock,
        hasher=cheap_hasher(),
    )
