"""Conformance base class for action sinks (STYLE.md: one base test class per protocol).

A sink's tests subclass :class:`SinkConformance`, override the ``sink`` fixture (a sink wired
to a real loopback server where it has one) and supply known-answer entries and the failures
they can arrange; every test below then runs against it. The contract (docs/actions.md): a sink
declares a stable ``name``; ``deliver`` makes one attempt and returns a JSON object, or raises
:class:`SinkError` saying whether a retry could help; delivering the same entry again is
harmless (at-least-once delivery); secrets never appear in a result, an error or a log line.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from jikimi.actions.effects import idempotency_key
from jikimi.actions.outbox import OutboxEntry
from jikimi.actions.sinks.base import Sink
from jikimi.errors import SinkError

_IDS = itertools.count(1)


def make_entry(
    action: str,
    sink: str,
    target: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    *,
    attempts: int = 1,
    origin: str = "test",
) -> OutboxEntry:
    """A claimed outbox entry as a dispatcher hands it to a sink (tests only)."""
    target = target or {"platform": "test"}
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    return OutboxEntry(
        id=next(_IDS),
        idempotency_key=idempotency_key(origin, action, sink, target),
        action=action,
        sink=sink,
        target=target,
        payload=payload or {},
        state="delivering",
        attempts=attempts,
        next_attempt_at=now,
        last_error=None,
        result=None,
        item_id=None,
        created_at=now,
        delivered_at=None,
    )


class SinkConformance:
    """Tests every sink must pass. Subclasses set ``name``, override the ``sink`` fixture and
    implement :meth:`deliverable`; :meth:`arrange_retryable` / :meth:`arrange_permanent` return
    an entry that will fail that way (after scripting the server), or ``None`` when the sink
    cannot fail so; :meth:`secrets` lists strings that must never leak."""

    name: ClassVar[str]

    @pytest.fixture
    def sink(self) -> Iterator[Sink]:
        raise NotImplementedError
        yield  # pragma: no cover

    def deliverable(self, sink: Any) -> list[OutboxEntry]:
        raise NotImplementedError

    def arrange_retryable(self, sink: Any) -> OutboxEntry | None:
        return None

    def arrange_permanent(self, sink: Any) -> OutboxEntry | None:
        return None

    def secrets(self) -> list[str]:
        return []

    # -- the contract ---------------------------------------------------------------------

    def test_declares_its_name(self, sink: Any) -> None:
        assert isinstance(sink, Sink)
        assert sink.name == self.name
        assert sink.name == sink.name.strip().lower() and sink.name

    def test_deliver_returns_a_json_object(self, sink: Any) -> None:
        entries = self.deliverable(sink)
        assert entries, "no deliverable known answers: the list was filtered to nothing"
        for entry in entries:
            result = sink.deliver(entry)
            assert isinstance(result, dict), entry.action
            assert json.loads(json.dumps(result, allow_nan=False)) == result

    def test_delivering_again_is_harmless(self, sink: Any) -> None:
        for entry in self.deliverable(sink):
            first = sink.deliver(entry)
            again = sink.deliver(entry)
            assert isinstance(first, dict) and isinstance(again, dict), entry.action

    def test_retryable_failure_is_a_retryable_sink_error(self, sink: Any) -> None:
        entry = self.arrange_retryable(sink)
        if entry is None:
            pytest.skip(f"the {self.name} sink has no retryable failure")
        with pytest.raises(SinkError) as caught:
            sink.deliver(entry)
        assert caught.value.retryable is True
        assert str(caught.value), "a failure says what went wrong"

    def test_permanent_failure_is_not_retryable(self, sink: Any) -> None:
        entry = self.arrange_permanent(sink)
        if entry is None:
            pytest.skip(f"the {self.name} sink has no permanent failure")
        with pytest.raises(SinkError) as caught:
            sink.deliver(entry)
        assert caught.value.retryable is False
        assert str(caught.value)

    def test_secrets_never_leak(self, sink: Any, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        seen: list[str] = [repr(sink)]
        for entry in self.deliverable(sink):
            seen.append(json.dumps(sink.deliver(entry)))
        for arrange in (self.arrange_retryable, self.arrange_permanent):
            entry = arrange(sink)
            if entry is None:
                continue
            with pytest.raises(SinkError) as caught:
                sink.deliver(entry)
            seen += [str(caught.value), repr(caught.value)]
            assert caught.value.__cause__ is None or not self.secrets()
        seen += [r.getMessage() for r in caplog.records]
        for secret in self.secrets():
            assert secret
            leaks = [text for text in seen if secret in text]
            assert not leaks, f"a secret leaked: {leaks[:1]}"
