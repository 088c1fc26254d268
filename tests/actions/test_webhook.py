"""The webhook sink against a real HTTP receiver on loopback: signature, outcomes, retries."""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.actions.conftest import Clock
from tests.conformance.sink import SinkConformance, make_entry
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver

from jikimi.actions.dispatcher import Dispatcher
from jikimi.actions.effects import Target, effects_for
from jikimi.actions.outbox import OutboxEntry, OutboxStore
from jikimi.actions.sinks.webhook import (
    SIGNATURE_HEADER,
    WebhookSink,
    sign,
    verify_signature,
    webhook_body,
)
from jikimi.errors import SinkError
from jikimi.model import Reason, Verdict
from jikimi.store.db import write_session

SECRET = "whsec-4f1b2c3d-long-random-value"
URL_TOKEN = "hooktoken-9a8b7c6d5e"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "actions.md"


def remove_entry(n: int = 1) -> OutboxEntry:
    return make_entry(
        "remove_item",
        "webhook",
        {"platform": "discord", "message_id": str(n)},
        {"outcome": "remove", "rules": ["bank-match"]},
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


class TestWebhookConformance(SinkConformance):
    name = "webhook"

    @pytest.fixture
    def sink(self, receiver: WebhookReceiver, client: httpx.Client) -> Iterator[WebhookSink]:
        self.receiver = receiver
        yield WebhookSink(f"{receiver.url}?token={URL_TOKEN}", SECRET, client=client)

    def deliverable(self, sink: Any) -> list[OutboxEntry]:
        return [
            remove_entry(),
            make_entry(
                "verdict",
                "webhook",
                {"platform": "telegram", "chat_id": "-1"},
                {"verdict": {"outcome": "review"}},
            ),
        ]

    def arrange_retryable(self, sink: Any) -> OutboxEntry:
        self.receiver.respond(503, b"busy")
        return remove_entry()

    def arrange_permanent(self, sink: Any) -> OutboxEntry:
        self.receiver.respond(400, {"error": "unknown message"})
        return remove_entry()

    def secrets(self) -> list[str]:
        return [SECRET, URL_TOKEN]


def test_delivery_is_signed_and_verifies(receiver: WebhookReceiver, client: httpx.Client) -> None:
    sink = WebhookSink(receiver.url, SECRET, client=client, clock=lambda: 1_700_000_000.4)
    entry = remove_entry()
    result = sink.deliver(entry)
    assert result == {"status": 200, "response": {"received": True}}
    (request,) = receiver.requests
    assert request.path == "/hooks/jikimi"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == entry.idempotency_key
    assert request.headers["jikimi-event"] == "remove_item"
    header = request.headers[SIGNATURE_HEADER.lower()]
    assert re.fullmatch(r"t=1700000000,v1=[0-9a-f]{64}", header)
    assert request.body == webhook_body(entry)
    assert request.json() == {
        "id": entry.idempotency_key,
        "event": "remove_item",
        "created_at": entry.created_at.isoformat(timespec="microseconds"),
        "target": entry.target,
        "payload": entry.payload,
    }
    now = 1_700_000_000 + 299
    assert verify_signature(request.body, header, SECRET, now=now)
    # the signature is HMAC-SHA256 over "<t>." + body, as documented
    expected = hmac.new(SECRET.encode(), b"1700000000." + request.body, hashlib.sha256)
    assert header.endswith(expected.hexdigest())


def test_refused_signatures() -> None:
    body = b'{"id":"k","event":"verdict"}'
    header = sign(body, SECRET, 1_700_000_000)
    now = 1_700_000_010
    assert verify_signature(body, header, SECRET, now=now)
    assert not verify_signature(body + b" ", header, SECRET, now=now)  # tampered body
    assert not verify_signature(body.replace(b"verdict", b"remove"), header, SECRET, now=now)
    assert not verify_signature(body, header, "wrong-secret", now=now)
    assert not verify_signature(body, header, SECRET, now=1_700_000_000 + 301)  # too old
    assert not verify_signature(body, header, SECRET, now=1_700_000_000 - 301)  # from the future
    assert verify_signature(body, header, SECRET, now=1_700_000_000 + 3000, tolerance_seconds=3600)
    forged_time = header.replace("t=1700000000", "t=1700000009")  # a replay with a new time
    assert not verify_signature(body, forged_time, SECRET, now=now)
    for bad in ("", "t=1700000000", "v1=" + "0" * 64, "t=x,v1=00", "garbage", "t=1,v1"):
        assert not verify_signature(body, bad, SECRET, now=now), bad
    rotated = f"{header},v1={'0' * 64}"  # several signatures: any one valid suffices
    assert verify_signature(body, rotated, SECRET, now=now)


def test_documented_receiver_recipe_verifies(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    """docs/actions.md's Python recipe, run as written, against a real delivery."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    assert len(blocks) == 1
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], "docs/actions.md", "exec"), namespace)
    verify = namespace["verify"]
    WebhookSink(receiver.url, SECRET, client=client).deliver(remove_entry())
    (request,) = receiver.requests
    header = request.headers["jikimi-signature"]
    assert verify(request.body, header, SECRET)
    assert not verify(request.body + b"x", header, SECRET)
    assert not verify(request.body, header, "other")
    old = sign(request.body, SECRET, int(time.time()) - 301)
    assert not verify(request.body, old, SECRET)


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (500, {}, True, None),
        (502, {}, True, None),
        (503, {"Retry-After": "7"}, True, 7.0),
        (408, {}, True, None),
        (429, {"Retry-After": "30"}, True, 30.0),
        (400, {}, False, None),
        (401, {}, False, None),
        (404, {}, False, None),
        (410, {}, False, None),
        (302, {"Location": "http://127.0.0.1:1/elsewhere"}, False, None),
    ],
)
def test_status_mapping(
    receiver: WebhookReceiver,
    client: httpx.Client,
    status: int,
    headers: dict[str, str],
    retryable: bool,
    retry_after: float | None,
) -> None:
    receiver.respond(status, b"nope", headers)
    with pytest.raises(SinkError) as caught:
        WebhookSink(receiver.url, SECRET, client=client).deliver(remove_entry())
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert str(status) in str(caught.value)
    assert len(receiver.requests) == 1  # redirects are not followed


def test_retry_after_as_an_http_date(receiver: WebhookReceiver, client: httpx.Client) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    receiver.respond(429, b"", {"Retry-After": when})
    with pytest.raises(SinkError) as caught:
        WebhookSink(receiver.url, SECRET, client=client).deliver(remove_entry())
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 121


def test_unreachable_and_slow_receivers_are_retryable(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    closed = WebhookReceiver()
    url = closed.url
    closed.stop()  # nothing listens there any more
    with pytest.raises(SinkError) as caught:
        WebhookSink(url, SECRET, client=client).deliver(remove_entry())
    assert caught.value.retryable and url not in str(caught.value)
    receiver.respond(200, {"late": True}, delay=1.0)
    with pytest.raises(SinkError, match="no answer within") as slow:
        WebhookSink(receiver.url, SECRET, client=client, timeout=0.2).deliver(remove_entry())
    assert slow.value.retryable


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="https://"):
        WebhookSink("ftp://x", SECRET)
    with pytest.raises(ValueError, match="secret"):
        WebhookSink("https://example.invalid/hook", "")


def _dispatch_setup(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock, sink: WebhookSink
) -> tuple[Dispatcher, list[int]]:
    verdict = Verdict(
        "remove", (Reason("bank-match", "remove"),), "p1", True, actions=("delete_message",)
    )
    effects = effects_for(
        verdict,
        Target("discord", message_id="m1"),
        mode="live",
        webhook=True,
        telegram=False,
        origin="verdict:1",
    )
    with write_session(sessions) as session:
        ids = outbox.enqueue(session, effects)
    d = Dispatcher(
        outbox,
        {"webhook": sink},
        max_attempts=3,
        backoff_seconds=1,
        backoff_max_seconds=60,
        lease_seconds=60,
        clock=clock,
        rng=lambda: 1.0,
    )
    return d, ids


def test_500_then_200_is_retried_with_the_same_key_and_body(
    outbox: OutboxStore,
    sessions: sessionmaker[Session],
    clock: Clock,
    receiver: WebhookReceiver,
    client: httpx.Client,
) -> None:
    receiver.respond(500, b"oops")
    receiver.respond(500, b"oops")
    d, ids = _dispatch_setup(
        outbox, sessions, clock, WebhookSink(receiver.url, SECRET, client=client)
    )
    d.run_once()  # remove_item and verdict: both 500
    assert [outbox.get(i).state for i in ids] == ["pending", "pending"]
    clock.advance(1)
    d.run_once()
    assert [outbox.get(i).state for i in ids] == ["delivered", "delivered"]
    assert [r.headers["jikimi-event"] for r in receiver.requests] == [
        "remove_item",
        "verdict",
        "remove_item",
        "verdict",
    ]
    assert receiver.requests[0].body == receiver.requests[2].body
    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    assert keys[0] == keys[2] and keys[1] == keys[3] and keys[0] != keys[1]
    notification = json.loads(receiver.requests[3].body)
    assert notification["payload"]["verdict"]["outcome"] == "remove"
    assert notification["target"] == {"platform": "discord", "message_id": "m1"}


def test_400_is_dead_and_429_waits(
    outbox: OutboxStore,
    sessions: sessionmaker[Session],
    clock: Clock,
    receiver: WebhookReceiver,
    client: httpx.Client,
) -> None:
    receiver.respond(400, b"bad event")
    receiver.respond(429, b"", {"Retry-After": "45"})
    d, (remove_id, verdict_id) = _dispatch_setup(
        outbox, sessions, clock, WebhookSink(receiver.url, SECRET, client=client)
    )
    d.run_once()
    dead = outbox.get(remove_id)
    assert (dead.state, dead.attempts) == ("dead", 1)
    assert dead.last_error is not None and dead.last_error.startswith("webhook answered 400")
    waiting = outbox.get(verdict_id)
    assert waiting.state == "pending"
    assert (waiting.next_attempt_at - clock.now).total_seconds() == 45
