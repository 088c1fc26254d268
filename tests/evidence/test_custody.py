from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from jikimi.evidence.custody import CustodyLog
from jikimi.store.db import write_session
from jikimi.store.models import CustodyEventRecord


def _chain(sessions: sessionmaker[Session], n: int = 5) -> CustodyLog:
    log = CustodyLog(sessions)
    for i in range(1, n + 1):
        log.append(
            "test.event", f"item:{i}", {"i": i, "text": "명확"}, actor="alice", tool_version="t"
        )
    return log


def test_fresh_chain_verifies(sessions: sessionmaker[Session]) -> None:
    log = CustodyLog(sessions)
    assert log.verify().ok
    _chain(sessions)
    report = log.verify()
    assert report.ok, report.problems
    assert report.checked == 5
    events = log.events()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert events[0].at.utcoffset() is not None


def test_edited_payload_is_named(sessions: sessionmaker[Session]) -> None:
    log = _chain(sessions)
    with write_session(sessions) as s:
        s.execute(
            update(CustodyEventRecord).where(CustodyEventRecord.seq == 3).values(payload={"i": 9})
        )
    report = log.verify()
    assert not report.ok
    assert any(p.startswith("seq 3:") and "edited" in p for p in report.problems)


def test_deleted_middle_event_is_named(sessions: sessionmaker[Session]) -> None:
    log = _chain(sessions)
    with write_session(sessions) as s:
        s.execute(delete(CustodyEventRecord).where(CustodyEventRecord.seq == 3))
    report = log.verify()
    assert not report.ok
    assert any(p.startswith("seq 4:") and "missing" in p and "3" in p for p in report.problems)


def test_deleted_last_event_is_noticed(sessions: sessionmaker[Session]) -> None:
    log = _chain(sessions)
    with write_session(sessions) as s:
        s.execute(delete(CustodyEventRecord).where(CustodyEventRecord.seq == 5))
    report = log.verify()
    assert not report.ok
    assert any("seq 5" in p for p in report.problems)


def test_swapped_pair_is_named(sessions: sessionmaker[Session]) -> None:
    log = _chain(sessions)
    with write_session(sessions) as s:
        for old, new in ((2, -2), (3, 2), (-2, 3)):
            s.execute(
                update(CustodyEventRecord).where(CustodyEventRecord.seq == old).values(seq=new)
            )
    report = log.verify()
    assert not report.ok
    assert any(p.startswith("seq 2:") for p in report.problems)
    assert any(p.startswith("seq 3:") for p in report.problems)


def test_edited_hash_is_named(sessions: sessionmaker[Session]) -> None:
    log = _chain(sessions)
    with write_session(sessions) as s:
        s.execute(
            update(CustodyEventRecord).where(CustodyEventRecord.seq == 2).values(hash="f" * 64)
        )
    report = log.verify()
    assert not report.ok
    assert any(p.startswith("seq 2:") and "hash" in p for p in report.problems)
    assert any(p.startswith("seq 3:") and "prev_hash" in p for p in report.problems)


def test_append_joins_the_callers_transaction(sessions: sessionmaker[Session]) -> None:
    log = CustodyLog(sessions)
    with pytest.raises(RuntimeError), write_session(sessions) as s:
        log.append("a", "b", {}, actor="x", tool_version="t", session=s)
        raise RuntimeError("caller fails after appending")
    assert log.events() == []
    assert log.verify().ok
    event = log.append("a", "b", {"k": [1, 2]}, actor="x", tool_version="t")
    assert event.seq == 1


def test_concurrent_appenders_do_not_fork_the_chain(sessions: sessionmaker[Session]) -> None:
    log = CustodyLog(sessions)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(10):
                log.append("c", f"w{worker}", {"i": i}, actor="x", tool_version="t")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = log.verify()
    assert report.ok, report.problems
    assert report.checked == 40
