from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jikimi.errors import CustodyError
from jikimi.store.leases import Leases
from jikimi.web.periodic import PeriodicJob, run_periodically, run_round

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


def test_only_the_lease_holder_runs_and_another_takes_over_when_it_lapses(
    sessions: sessionmaker[Session],
) -> None:
    leases, clock, ran = Leases(sessions), Clock(), []
    job_a = PeriodicJob("job", 60, lambda: ran.append("a") or None)
    job_b = PeriodicJob("job", 60, lambda: ran.append("b") or None)
    assert run_round(job_a, leases, "a", clock)
    assert not run_round(job_b, leases, "b", clock)
    clock.at += timedelta(seconds=60)
    assert run_round(job_a, leases, "a", clock)  # renewed
    assert not run_round(job_b, leases, "b", clock)
    clock.at += timedelta(seconds=job_a.lease_seconds)  # a died: its lease lapsed
    assert run_round(job_b, leases, "b", clock)
    assert ran == ["a", "a", "b"]


def test_a_failing_round_is_logged_and_the_next_one_runs(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    rounds: list[int] = []

    def flaky() -> str | None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise CustodyError("seq 2 does not verify")
        if len(rounds) == 2:
            raise RuntimeError("database busy")
        return "anchored seq 1..3"

    leases, clock = Leases(sessions), Clock()
    job = PeriodicJob("job", 0.01, flaky)
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="jikimi.periodic")
    thread = threading.Thread(target=run_periodically, args=(job, stop, leases, "a", clock))
    thread.start()
    try:
        for _ in range(3000):
            if len(rounds) >= 3:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert len(rounds) >= 3
    messages = [r.getMessage() for r in caplog.records]
    assert any("seq 2 does not verify" in m for m in messages)
    assert any("database busy" in (r.exc_text or "") for r in caplog.records)
    assert "job: anchored seq 1..3" in messages
    assert leases.holder("job", now=clock()) is None  # let go on stop


def test_a_store_that_cannot_be_reached_skips_the_round(
    sessions: sessionmaker[Session],
) -> None:
    class Down(Leases):
        def claim(self, name: str, holder: str, *, now: datetime, seconds: float) -> bool:
            raise OSError("connection refused")

    ran: list[str] = []
    job = PeriodicJob("job", 60, lambda: ran.append("x") or None)
    assert not run_round(job, Down(sessions), "a", Clock())
    assert ran == []


def test_a_round_runs_soon_after_start_then_the_lease_is_only_renewed(
    sessions: sessionmaker[Session],
) -> None:
    leases, clock, ran = Leases(sessions), Clock(), []
    job = PeriodicJob("daily", 24 * 3600, lambda: ran.append("x") or None, tick_seconds=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=run_periodically, args=(job, stop, leases, "a", clock))
    thread.start()
    try:
        for _ in range(3000):
            if ran:
                break
            stop.wait(0.01)
        assert ran == ["x"]  # not a day after start
        clock.at += timedelta(seconds=10 * job.lease_seconds)
        stop.wait(0.2)  # many ticks: the lease renewed at the new time, no second round
        assert leases.holder("daily", now=clock()) == "a"
        assert ran == ["x"]
    finally:
        stop.set()
        thread.join(10)
