"""Fixtures for the action tests: a settable clock and an outbox on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jikimi.actions.outbox import OutboxStore
from jikimi.evidence.custody import CustodyLog


class Clock:
    """A clock tests move by hand (timezone-aware UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def custody(sessions: sessionmaker[Session]) -> CustodyLog:
    return CustodyLog(sessions)


@pytest.fixture
def outbox(sessions: sessionmaker[Session], custody: CustodyLog, clock: Clock) -> OutboxStore:
    return OutboxStore(sessions, custody, clock=clock)
