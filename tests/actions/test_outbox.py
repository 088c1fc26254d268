"""The outbox on SQLite and PostgreSQL: transactional enqueue, idempotency, leases, admin."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.actions.conftest import Clock

from jikimi.actions.effects import idempotency_key
from jikimi.actions.outbox import STATES, OutboxStore
from jikimi.errors import OutboxError
from jikimi.evidence.custody import CustodyLog
from jikimi.model import Effect
from jikimi.store.db import write_session
from jikimi.store.models import Item, OutboxRecord


def effect(n: int = 1, action: str = "deleteMessage", sink: str = "telegram") -> Effect:
    target = {"platform": "telegram", "chat_id": "-100", "message_id": str(n)}
    return Effect(
        action=action,
        sink=sink,
        target=target,
        idempotency_key=idempotency_key(f"verdict:{n}", action, sink, target),
        payload={"chat_id": -100, "message_id": n},
    )


def enqueue(outbox: OutboxStore, sessions: sessionmaker[Session], *effects: Effect) -> list[int]:
    with write_session(sessions) as session:
        return outbox.enqueue(session, effects)


def rows(sessions: sessionmaker[Session]) -> list[OutboxRecord]:
    with sessions() as session:
        return list(session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))


def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(
    outbox: OutboxStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), write_session(sessions) as session:
        ids = outbox.enqueue(session, [effect(1), effect(2)])
        assert len(ids) == 2
        raise Boom
    assert rows(sessions) == []
    assert custody.events() == []
    assert custody.verify().ok


def test_enqueue_commits_with_the_callers_transaction(
    outbox: OutboxStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    with write_session(sessions) as session:
        item = Item(platform="telegram", chat_id="-100", message_id="1", meta={}, submitted_by="t")
        session.add(item)
        session.flush()
        (entry_id,) = outbox.enqueue(session, [effect(1)], item_id=item.id)
    entry = outbox.get(entry_id)
    assert (entry.state, entry.attempts, entry.item_id) == ("pending", 0, item.id)
    assert entry.payload == {"chat_id": -100, "message_id": 1}
    (event,) = custody.events(subject=f"item:{item.id}")
    assert event.kind == "outbox.enqueued"
    assert event.payload["idempotency_key"] == entry.idempotency_key


def test_the_same_effect_twice_is_one_row(
    outbox: OutboxStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    first = enqueue(outbox, sessions, effect(1), effect(2))
    again = enqueue(outbox, sessions, effect(2), effect(1), effect(3))
    assert again[:2] == [first[1], first[0]]
    within = enqueue(outbox, sessions, effect(4), effect(4))
    assert within[0] == within[1]
    assert len(rows(sessions)) == 4
    assert len([e for e in custody.events() if e.kind == "outbox.enqueued"]) == 4
    assert enqueue(outbox, sessions) == []


def test_claim_delivered_and_failed(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock, custody: CustodyLog
) -> None:
    a, b = enqueue(outbox, sessions, effect(1), effect(2))
    claimed = outbox.claim(limit=10, lease_seconds=30)
    assert [e.id for e in claimed] == [a, b]
    assert all(e.state == "delivering" and e.attempts == 1 for e in claimed)
    assert claimed[0].lease_until == clock.now + timedelta(seconds=30)
    assert outbox.claim(limit=10, lease_seconds=30) == []  # leased: nobody else gets them

    outbox.delivered(a, {"ok": True})
    done = outbox.get(a)
    assert (done.state, done.result, done.delivered_at) == ("delivered", {"ok": True}, clock.now)
    outbox.delivered(a, {"ok": "again"})  # a second report is a no-op
    assert outbox.get(a).result == {"ok": True}

    retry_at = clock.now + timedelta(seconds=60)
    outbox.failed(b, "telegram deleteMessage: 502 Bad Gateway", retry_at=retry_at)
    waiting = outbox.get(b)
    assert (waiting.state, waiting.next_attempt_at) == ("pending", retry_at)
    assert waiting.last_error == "telegram deleteMessage: 502 Bad Gateway"
    assert outbox.claim(limit=10, lease_seconds=30) == []  # not due yet
    clock.advance(60)
    (again,) = outbox.claim(limit=10, lease_seconds=30)
    assert (again.id, again.attempts) == (b, 2)
    outbox.failed(b, "400 Bad Request: chat not found", retry_at=None)
    assert outbox.get(b).state == "dead"
    kinds = [e.kind for e in custody.events()]
    assert kinds.count("outbox.delivered") == 1 and kinds.count("outbox.dead") == 1
    assert custody.verify().ok


def test_failed_refuses_rows_that_are_not_claimed(
    outbox: OutboxStore, sessions: sessionmaker[Session]
) -> None:
    (a,) = enqueue(outbox, sessions, effect(1))
    with pytest.raises(OutboxError, match="not delivering"):
        outbox.failed(a, "x", retry_at=None)
    with pytest.raises(OutboxError, match="no outbox row"):
        outbox.get(99_999)


def test_a_stale_failure_never_undoes_a_delivery_or_a_newer_claim(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    (a,) = enqueue(outbox, sessions, effect(1))
    (first,) = outbox.claim(limit=1, lease_seconds=10)
    clock.advance(11)
    (second,) = outbox.claim(limit=1, lease_seconds=10)  # the first dispatcher looked dead
    outbox.failed(a, "slow dispatcher's late failure", retry_at=None, attempt=first.attempts)
    assert outbox.get(a).state == "delivering"  # ignored: the second claim owns the row
    outbox.delivered(a, {"ok": True})
    outbox.failed(a, "late", retry_at=None, attempt=second.attempts)
    assert outbox.get(a).state == "delivered"


def test_lease_expiry_redelivers_the_same_row(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    """A dispatcher that claims and dies: after the lease, the row comes back, once."""
    (a,) = enqueue(outbox, sessions, effect(1))
    (crashed,) = outbox.claim(limit=5, lease_seconds=60)
    clock.advance(59)
    assert outbox.claim(limit=5, lease_seconds=60) == []
    clock.advance(1)
    (recovered,) = outbox.claim(limit=5, lease_seconds=60)
    assert recovered.id == crashed.id == a
    assert recovered.attempts == 2
    assert recovered.idempotency_key == crashed.idempotency_key
    outbox.delivered(a, {"ok": True})
    clock.advance(3600)
    assert outbox.claim(limit=5, lease_seconds=60) == []
    assert len(rows(sessions)) == 1


def test_claim_honours_limit_and_order(
    outbox: OutboxStore, sessions: sessionmaker[Session]
) -> None:
    ids = enqueue(outbox, sessions, *[effect(n) for n in range(1, 8)])
    first = outbox.claim(limit=3, lease_seconds=30)
    second = outbox.claim(limit=10, lease_seconds=30)
    assert [e.id for e in first] == ids[:3]
    assert [e.id for e in second] == ids[3:]


@pytest.mark.postgres
def test_concurrent_claimers_never_share_a_row(postgres_database: str, clock: Clock) -> None:
    from jikimi.store.db import make_engine, make_sessions, migrate

    engine = make_engine(postgres_database)
    try:
        migrate(engine)
        sessions = make_sessions(engine)
        store = OutboxStore(sessions, clock=clock)
        total = 120
        enqueue(store, sessions, *[effect(n) for n in range(total)])
        claimed: list[list[int]] = [[] for _ in range(4)]
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                barrier.wait()
                while batch := store.claim(limit=3, lease_seconds=300):
                    claimed[n].extend(e.id for e in batch)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors
        everything = [i for part in claimed for i in part]
        assert len(everything) == total
        assert len(set(everything)) == total
        assert sum(1 for part in claimed if part) >= 2, "the claimers did not overlap"
    finally:
        engine.dispose()


def test_concurrent_claimers_on_sqlite_never_share_a_row(tmp_path, clock: Clock) -> None:
    from jikimi.store.db import make_engine, make_sessions, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        migrate(engine)
        sessions = make_sessions(engine)
        store = OutboxStore(sessions, clock=clock)
        enqueue(store, sessions, *[effect(n) for n in range(40)])
        claimed: list[int] = []
        lock = threading.Lock()

        def worker() -> None:
            while batch := store.claim(limit=2, lease_seconds=300):
                with lock:
                    claimed.extend(e.id for e in batch)

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 40
    finally:
        engine.dispose()


def _dead(outbox: OutboxStore, sessions: sessionmaker[Session], n: int) -> int:
    (entry_id,) = enqueue(outbox, sessions, effect(n))
    outbox.claim(limit=10, lease_seconds=30)
    outbox.failed(entry_id, "403 Forbidden: bot was kicked from the supergroup chat", retry_at=None)
    return entry_id


def test_retry_puts_a_dead_row_back(
    outbox: OutboxStore, sessions: sessionmaker[Session], custody: CustodyLog, clock: Clock
) -> None:
    a = _dead(outbox, sessions, 1)
    clock.advance(5)
    outbox.retry(a, actor="alice")
    entry = outbox.get(a)
    assert (entry.state, entry.attempts, entry.next_attempt_at) == ("pending", 0, clock.now)
    (again,) = outbox.claim(limit=1, lease_seconds=30)
    assert (again.id, again.attempts) == (a, 1)
    with pytest.raises(OutboxError, match="only a dead row"):
        outbox.retry(a, actor="alice")
    (event,) = [e for e in custody.events() if e.kind == "outbox.retried"]
    assert event.actor == "alice" and event.subject == f"outbox:{a}"
    assert event.payload["last_error"].startswith("403")


def test_drop_is_final_and_audited(
    outbox: OutboxStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    a = _dead(outbox, sessions, 1)
    with pytest.raises(OutboxError, match="reason"):
        outbox.drop(a, reason=" ", actor="bob")
    outbox.drop(a, reason="chat deleted by its owner", actor="bob")
    entry = outbox.get(a)
    assert entry.state == "dropped"
    assert entry.last_error == "dropped by bob: chat deleted by its owner"
    assert entry.result is not None
    assert entry.result["dropped"]["reason"] == "chat deleted by its owner"
    with pytest.raises(OutboxError):
        outbox.retry(a, actor="bob")
    with pytest.raises(OutboxError):
        outbox.drop(a, reason="again", actor="bob")
    (b,) = enqueue(outbox, sessions, effect(2))  # a pending effect can be cancelled too
    outbox.drop(b, reason="wrong verdict", actor="bob")
    assert outbox.claim(limit=5, lease_seconds=30) == []
    (c,) = enqueue(outbox, sessions, effect(3))
    outbox.claim(limit=5, lease_seconds=30)
    with pytest.raises(OutboxError, match="delivering"):
        outbox.drop(c, reason="too late", actor="bob")
    events = [e for e in custody.events() if e.kind == "outbox.dropped"]
    assert [e.payload["was"] for e in events] == ["dead", "pending"]
    assert all(e.actor == "bob" for e in events)


def test_list_and_counts(outbox: OutboxStore, sessions: sessionmaker[Session]) -> None:
    assert outbox.counts() == dict.fromkeys(STATES, 0)
    ids = enqueue(outbox, sessions, effect(1), effect(2), effect(3))
    dead = _dead(outbox, sessions, 4)
    counts = outbox.counts()
    assert counts["dead"] == 1 and counts["delivering"] == 3 and counts["pending"] == 0
    assert [e.id for e in outbox.list(state="dead")] == [dead]
    assert [e.id for e in outbox.list(limit=2)] == ids[:2]
    assert [e.id for e in outbox.list(after_id=ids[1])] == [ids[2], dead]
    with pytest.raises(OutboxError, match="unknown outbox state"):
        outbox.list(state="lost")
