"""The dispatcher: retry schedule, dead letters, observation, and restarts that lose and
duplicate nothing."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.actions.conftest import Clock
from tests.support.webhook_receiver import webhook_receiver

from jikimi.actions.dispatcher import Dispatcher
from jikimi.actions.effects import idempotency_key
from jikimi.actions.outbox import OutboxEntry, OutboxStore
from jikimi.actions.sinks.base import Sink
from jikimi.actions.sinks.webhook import WebhookSink
from jikimi.errors import SinkError
from jikimi.evidence.custody import CustodyLog
from jikimi.model import Effect
from jikimi.store.db import write_session


class ScriptedSink:
    """Answers from a script: a dict is a result, an exception is raised."""

    name = "scripted"

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.seen: list[OutboxEntry] = []

    def deliver(self, entry: OutboxEntry) -> dict[str, Any]:
        self.seen.append(entry)
        answer = self.script.pop(0) if self.script else {"ok": True}
        if isinstance(answer, BaseException):
            raise answer
        return answer


def effect(n: int = 1, sink: str = "scripted") -> Effect:
    target = {"platform": "test", "message_id": str(n)}
    return Effect(
        "remove_item", sink, target, idempotency_key(f"o{n}", "remove_item", sink, target), {"n": n}
    )


def enqueue(outbox: OutboxStore, sessions: sessionmaker[Session], *effects: Effect) -> list[int]:
    with write_session(sessions) as session:
        return outbox.enqueue(session, effects)


class Observed(list[tuple[str, str, str]]):
    def __call__(self, sink: str, action: str, outcome: str) -> None:
        self.append((sink, action, outcome))


def dispatcher(outbox: OutboxStore, clock: Clock, sinks: dict[str, Sink], **kw: Any) -> Dispatcher:
    options: dict[str, Any] = {
        "max_attempts": 5,
        "backoff_seconds": 2.0,
        "backoff_max_seconds": 10.0,
        "lease_seconds": 60.0,
        "clock": clock,
        "rng": lambda: 0.5,
    }
    options.update(kw)
    return Dispatcher(outbox, sinks, **options)


def test_delay_schedule_and_jitter_bounds(outbox: OutboxStore, clock: Clock) -> None:
    low = dispatcher(outbox, clock, {}, rng=lambda: 0.0)
    high = dispatcher(outbox, clock, {}, rng=lambda: 0.999999)
    assert [low.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert [round(high.delay(n), 3) for n in range(1, 6)] == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert low.delay(1, retry_after=30) == 30
    assert low.delay(3, retry_after=1) == 4.0


def test_backoff_schedule_then_dead(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock, custody: CustodyLog
) -> None:
    sink = ScriptedSink(*[SinkError("503 busy", retryable=True) for _ in range(5)])
    observed = Observed()
    d = dispatcher(outbox, clock, {"scripted": sink}, observe=observed)
    (entry_id,) = enqueue(outbox, sessions, effect())
    waits = []
    for attempt in range(1, 5):
        assert d.run_once() == 1
        entry = outbox.get(entry_id)
        assert (entry.state, entry.attempts) == ("pending", attempt)
        waits.append((entry.next_attempt_at - clock.now).total_seconds())
        clock.advance(waits[-1] - 0.001)
        assert d.run_once() == 0  # not due a millisecond early
        clock.advance(0.001)
    assert waits == [1.5, 3.0, 6.0, 7.5]  # (2, 4, 8, min(10, 16)) * 0.75 jitter
    assert d.run_once() == 1
    dead = outbox.get(entry_id)
    assert (dead.state, dead.attempts) == ("dead", 5)
    assert dead.last_error == "503 busy (after 5 attempts)"
    assert observed == [("scripted", "remove_item", "retry")] * 4 + [
        ("scripted", "remove_item", "dead")
    ]
    assert [e.kind for e in custody.events()][-1] == "outbox.dead"


def test_retry_after_wins_when_longer(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    sink = ScriptedSink(
        SinkError("429 slow down", retryable=True, retry_after=120),
        SinkError("429 slow down", retryable=True, retry_after=0.1),
    )
    d = dispatcher(outbox, clock, {"scripted": sink})
    (entry_id,) = enqueue(outbox, sessions, effect())
    d.run_once()
    assert outbox.get(entry_id).next_attempt_at == clock.now + timedelta(seconds=120)
    clock.advance(120)
    d.run_once()
    assert outbox.get(entry_id).next_attempt_at == clock.now + timedelta(seconds=3.0)


def test_permanent_error_is_dead_at_once(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    sink = ScriptedSink(SinkError("400 Bad Request: chat not found", retryable=False))
    observed = Observed()
    d = dispatcher(outbox, clock, {"scripted": sink}, observe=observed)
    (entry_id,) = enqueue(outbox, sessions, effect())
    d.run_once()
    entry = outbox.get(entry_id)
    assert (entry.state, entry.attempts) == ("dead", 1)
    assert entry.last_error == "400 Bad Request: chat not found"
    assert observed == [("scripted", "remove_item", "dead")]


def test_delivered_result_is_recorded_and_observed(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    observed = Observed()
    sink = ScriptedSink({"ok": True, "when": clock.now})  # not JSON: stored as a string
    d = dispatcher(outbox, clock, {"scripted": sink}, observe=observed)
    (entry_id,) = enqueue(outbox, sessions, effect())
    assert d.run_once() == 1
    entry = outbox.get(entry_id)
    assert entry.state == "delivered"
    assert entry.result == {"ok": True, "when": str(clock.now)}
    assert observed == [("scripted", "remove_item", "delivered")]


def test_unknown_sink_and_sink_bugs_are_retried(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    sink = ScriptedSink(RuntimeError("sink bug"))
    d = dispatcher(outbox, clock, {"scripted": sink})
    a, b = enqueue(outbox, sessions, effect(1), effect(2, sink="telegram"))
    d.run_once()
    assert outbox.get(a).state == "pending"
    assert outbox.get(a).last_error == "RuntimeError: sink bug"
    assert outbox.get(b).state == "pending"
    assert "no sink 'telegram' is configured" in (outbox.get(b).last_error or "")


def test_a_row_that_keeps_killing_dispatchers_ends_dead(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    sink = ScriptedSink(*[KeyboardInterrupt() for _ in range(3)])
    (entry_id,) = enqueue(outbox, sessions, effect())
    for _ in range(3):
        with pytest.raises(KeyboardInterrupt):
            dispatcher(outbox, clock, {"scripted": sink}, max_attempts=3).run_once()
        clock.advance(61)
    dispatcher(outbox, clock, {"scripted": sink}, max_attempts=3).run_once()
    entry = outbox.get(entry_id)
    assert entry.state == "dead"
    assert "did not finish" in (entry.last_error or "")
    assert len(sink.seen) == 3


class CrashAfterDelivery:
    """Delivers through the real webhook sink, then dies before the outcome is recorded."""

    name = "webhook"

    def __init__(self, inner: WebhookSink) -> None:
        self.inner = inner

    def deliver(self, entry: OutboxEntry) -> dict[str, Any]:
        self.inner.deliver(entry)
        raise KeyboardInterrupt  # the process is killed here


def test_restart_finishes_the_job_exactly_once(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock, custody: CustodyLog
) -> None:
    with webhook_receiver() as receiver, httpx.Client() as client:
        webhook = WebhookSink(receiver.url, "s3cret", client=client)
        ids = enqueue(outbox, sessions, *[effect(n, sink="webhook") for n in range(3)])
        first = dispatcher(outbox, clock, {"webhook": CrashAfterDelivery(webhook)})
        with pytest.raises(KeyboardInterrupt):
            first.run_once()  # killed after the receiver got effect 0, before recording it
        assert [outbox.get(i).state for i in ids] == ["delivering"] * 3

        second = dispatcher(outbox, clock, {"webhook": webhook})
        assert second.run_once() == 0  # the dead dispatcher's lease still holds
        clock.advance(60)
        assert second.run_once() == 3
        assert second.run_once() == 0
        clock.advance(86_400)
        assert second.run_once() == 0

    assert [outbox.get(i).state for i in ids] == ["delivered"] * 3
    assert [outbox.get(i).attempts for i in ids] == [2, 2, 2]
    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    expected = [outbox.get(i).idempotency_key for i in ids]
    assert keys == [expected[0], *expected]  # effect 0 twice with one key, nothing lost
    assert [r.headers["jikimi-attempt"] for r in receiver.requests] == ["1", "2", "2", "2"]
    assert receiver.requests[0].body == receiver.requests[1].body
    delivered = [e for e in custody.events() if e.kind == "outbox.delivered"]
    assert sorted(e.payload["outbox_id"] for e in delivered) == ids


def test_run_forever_drains_and_stops(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    stop = threading.Event()
    sink = ScriptedSink()
    ids = enqueue(outbox, sessions, *[effect(n) for n in range(5)])
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        stop.set()

    d = dispatcher(outbox, clock, {"scripted": sink}, batch=2, sleep=sleep)
    d.run_forever(stop, poll_seconds=0.25)
    assert [outbox.get(i).state for i in ids] == ["delivered"] * 5
    assert waits == [0.25]  # full batches go on at once; it waits only once the queue is dry


def test_run_forever_survives_a_failing_store(
    outbox: OutboxStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    calls = []

    class Broken:
        def claim(self, **kw: Any) -> list[OutboxEntry]:
            calls.append(kw)
            if len(calls) == 2:
                stop.set()
            raise ConnectionError("database went away")

    d = Dispatcher(
        Broken(),
        {},
        max_attempts=3,
        backoff_seconds=1,
        backoff_max_seconds=2,  # type: ignore[arg-type]
        lease_seconds=5,
        sleep=lambda s: None,
    )
    d.run_forever(stop, poll_seconds=0.01)
    assert len(calls) == 2
    assert "outbox dispatch failed" in caplog.text


def test_a_failing_observer_does_not_stop_the_batch(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    def observe(sink: str, action: str, outcome: str) -> None:
        raise RuntimeError("metrics backend down")

    ids = enqueue(outbox, sessions, effect(1), effect(2))
    d = dispatcher(outbox, clock, {"scripted": ScriptedSink()}, observe=observe)
    assert d.run_once() == 2
    assert [outbox.get(i).state for i in ids] == ["delivered", "delivered"]
