from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from jikimi.store.leases import Leases, process_holder

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_one_holder_at_a_time_until_the_lease_expires(sessions: sessionmaker[Session]) -> None:
    leases = Leases(sessions)
    assert leases.claim("job", "a", now=T0, seconds=60)
    assert not leases.claim("job", "b", now=T0 + timedelta(seconds=59), seconds=60)
    assert leases.holder("job", now=T0 + timedelta(seconds=59)) == "a"
    assert leases.claim("job", "a", now=T0 + timedelta(seconds=59), seconds=60)  # renewed
    assert not leases.claim("job", "b", now=T0 + timedelta(seconds=100), seconds=60)
    assert leases.claim("job", "b", now=T0 + timedelta(seconds=119), seconds=60)
    assert leases.holder("job", now=T0 + timedelta(seconds=120)) == "b"
    assert leases.claim("other-job", "a", now=T0, seconds=60)  # leases are per job


def test_a_released_lease_is_taken_over_at_once(sessions: sessionmaker[Session]) -> None:
    leases = Leases(sessions)
    assert leases.claim("job", "a", now=T0, seconds=3600)
    leases.release("job", "b", now=T0)  # not b's to release
    assert not leases.claim("job", "b", now=T0 + timedelta(seconds=1), seconds=60)
    leases.release("job", "a", now=T0 + timedelta(seconds=1))
    assert leases.holder("job", now=T0 + timedelta(seconds=1)) is None
    assert leases.claim("job", "b", now=T0 + timedelta(seconds=1), seconds=60)


def test_processes_claiming_at_once_get_one_winner(sessions: sessionmaker[Session]) -> None:
    holders = [process_holder() for _ in range(8)]
    assert len(set(holders)) == 8
    leases = Leases(sessions)
    barrier = threading.Barrier(len(holders))
    won: list[str] = []
    errors: list[BaseException] = []

    def claim(holder: str) -> None:
        barrier.wait()
        try:
            if leases.claim("job", holder, now=T0, seconds=60):
                won.append(holder)
        except BaseException as exc:  # a lost race must be an answer, not an error
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(h,)) for h in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(won) == 1
    assert leases.holder("job", now=T0) == won[0]
