"""The dispatcher: claims due outbox rows, hands each to its sink, records what happened.

Retry schedule (docs/actions.md): after failed attempt ``n`` (1-based) the next one is due in
``min(backoff_max, backoff * 2**(n-1)) * (0.5 + rng()/2)`` seconds ("equal jitter", so many
failed effects do not retry in lock step); a sink's ``retry_after`` wins if it is longer. After
``max_attempts`` attempts, or at once on a permanent error, the row is ``dead``.

A dispatcher that dies between claim and record (crash, kill, ``KeyboardInterrupt`` out of a
sink) leaves the row ``delivering``; when its lease runs out any dispatcher claims it again with
the same idempotency key. A row whose attempts keep dying that way is dead after
``max_attempts`` claims, so one poisonous effect cannot stall the queue.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jikimi.actions.outbox import OutboxEntry, OutboxStore
from jikimi.actions.sinks.base import Sink
from jikimi.errors import SinkError

__all__ = [
    "OUTCOMES",
    "Dispatcher",
]

log = logging.getLogger(__name__)

OUTCOMES = ("delivered", "retry", "dead")


def _now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        store: OutboxStore,
        sinks: Mapping[str, Sink],
        *,
        max_attempts: int,
        backoff_seconds: float,
        backoff_max_seconds: float,
        lease_seconds: float,
        batch: int = 20,
        observe: Callable[[str, str, str], None] | None = None,
        clock: Callable[[], datetime] = _now,
        sleep: Callable[[float], None] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1 or batch < 1 or lease_seconds <= 0:
            raise ValueError("max_attempts and batch must be at least 1, lease_seconds above 0")
        self._store = store
        self._sinks = dict(sinks)
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._backoff_max = backoff_max_seconds
        self._lease = lease_seconds
        self._batch = batch
        self._observe = observe
        self._clock = clock
        self._sleep = sleep
        self._rng = rng

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before the next attempt, after ``attempts`` failed ones."""
        base = min(self._backoff_max, self._backoff * 2 ** max(attempts - 1, 0))
        delay = base * (0.5 + self._rng() / 2)
        if retry_after is not None and retry_after > delay:
            delay = retry_after
        return delay

    def run_once(self) -> int:
        """Claim one batch, deliver each entry, record each outcome; how many were handled."""
        entries = self._store.claim(limit=self._batch, lease_seconds=self._lease)
        for entry in entries:
            self._handle(entry)
        return len(entries)

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Dispatch until ``stop`` is set; waits ``poll_seconds`` when the queue is empty. A
        failing database is logged and retried, never fatal."""
        while not stop.is_set():
            try:
                handled = self.run_once()
            except Exception:
                log.exception("outbox dispatch failed; trying again in %.1f s", poll_seconds)
                handled = 0
            if handled < self._batch:
                self._wait(stop, poll_seconds)

    def _wait(self, stop: threading.Event, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            stop.wait(seconds)

    def _handle(self, entry: OutboxEntry) -> None:
        if entry.attempts > self._max_attempts:
            # Earlier claims never finished (their dispatchers died): stop trying.
            self._dead(entry, f"gave up after {entry.attempts - 1} attempts that did not finish")
            return
        sink = self._sinks.get(entry.sink)
        if sink is None:
            error = SinkError(
                f"no sink {entry.sink!r} is configured here (configured: "
                f"{', '.join(sorted(self._sinks)) or 'none'}); live sinks need "
                "actions_mode = live and their settings",
                retryable=True,
            )
            self._failure(entry, error)
            return
        started = time.monotonic()
        try:
            result = sink.deliver(entry)
        except SinkError as exc:
            self._failure(entry, exc)
            return
        except Exception as exc:  # a bug or an unexpected failure in the sink: retry it
            self._failure(entry, SinkError(f"{type(exc).__name__}: {exc}", retryable=True))
            return
        self._store.delivered(entry.id, _jsonable(result))
        log.info(
            "delivered outbox %s %s/%s in %.0f ms",
            entry.id,
            entry.sink,
            entry.action,
            (time.monotonic() - started) * 1000,
        )
        self._notify(entry, "delivered")

    def _failure(self, entry: OutboxEntry, exc: SinkError) -> None:
        message = str(exc) or type(exc).__name__
        if not exc.retryable:
            self._dead(entry, message)
            return
        if entry.attempts >= self._max_attempts:
            self._dead(entry, f"{message} (after {entry.attempts} attempts)")
            return
        wait = self.delay(entry.attempts, exc.retry_after)
        retry_at = self._clock() + timedelta(seconds=wait)
        self._store.failed(entry.id, message, retry_at=retry_at, attempt=entry.attempts)
        log.warning(
            "outbox %s %s/%s attempt %d failed, retrying in %.1f s: %s",
            entry.id,
            entry.sink,
            entry.action,
            entry.attempts,
            wait,
            message,
        )
        self._notify(entry, "retry")

    def _dead(self, entry: OutboxEntry, message: str) -> None:
        self._store.failed(entry.id, message, retry_at=None, attempt=entry.attempts)
        log.error("outbox %s %s/%s is dead: %s", entry.id, entry.sink, entry.action, message)
        self._notify(entry, "dead")

    def _notify(self, entry: OutboxEntry, outcome: str) -> None:
        if self._observe is None:
            return
        try:
            self._observe(entry.sink, entry.action, outcome)
        except Exception:  # metrics must never stop deliveries already recorded
            log.exception("outbox observer failed for %s/%s", entry.sink, entry.action)


def _jsonable(result: Any) -> dict[str, Any]:
    """A sink's result as stored: a JSON object (anything else is wrapped or stringified)."""
    if not isinstance(result, dict):
        result = {"result": result}
    try:
        return json.loads(json.dumps(result, default=str, allow_nan=False))
    except ValueError:  # NaN or Infinity somewhere: not storable as JSON on PostgreSQL
        return {"unserialisable": repr(result)[:2_000]}
