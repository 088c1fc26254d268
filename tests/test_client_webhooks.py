"""Decisions flow back to the platform: a reviewer's removal of an item the platform ingested
through the client arrives at the platform's webhook, signed, and the client's
verify_webhook accepts it and refuses altered or replayed copies."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver
from tests.test_client import RULING
from tests.web.helpers import jpeg

from jikimi.client import InvalidWebhook, Item, JikimiClient, verify_webhook
from jikimi.web.service import Service
from jikimi.webhook_signature import sign

SECRET = "platform-webhook-secret"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def settings_overrides(receiver: WebhookReceiver) -> dict[str, Any]:
    return {"actions_mode": "live", "webhook_url": receiver.url, "webhook_secret": SECRET}


def _bank_for_review(service: Service, image: bytes) -> None:
    path = service.tmp / "known.jpg"
    path.write_bytes(image)
    pdq = service.check_pipeline.cascade.run(path).media.signals["pdq"].value
    path.unlink()
    service.ws.banks.create("needs-review", actor="tester")  # not trusted to act alone
    service.ws.banks.add("needs-review", [("pdq", pdq)], actor="tester")
    service.refresh_matcher(force=True)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_reviewers_removal_reaches_the_platforms_webhook_signed(
    client: TestClient, service: Service, tokens: dict[str, str], receiver: WebhookReceiver
) -> None:
    image = jpeg(41)
    _bank_for_review(service, image)
    platform = JikimiClient("http://testserver", tokens["platform"], http=client)
    ingested = platform.ingest(
        Item(platform="web", chat_id="album-7", message_id="p-1", external_id="up-1"),
        [("upload.jpg", image)],
    )
    assert ingested.verdict["outcome"] == "review" and ingested.case_id

    moderator = JikimiClient("http://testserver", tokens["moderator"], http=client)
    moderator.decide(ingested.case_id, **RULING)
    service.dispatcher().run_once()

    events = [
        verify_webhook(r.body, r.headers.get("jikimi-signature"), SECRET) for r in receiver.requests
    ]
    removals = [e for e in events if e["event"] == "remove_item"]
    assert [e["target"]["item_id"] for e in removals] == [ingested.item_id]
    assert removals[0]["target"]["message_id"] == "p-1"
    assert {e["event"] for e in events} >= {"verdict", "remove_item"}
    [delivery] = [r for r in receiver.requests if r.headers["jikimi-event"] == "remove_item"]
    assert delivery.headers["idempotency-key"] == removals[0]["id"]


def test_verify_webhook_refuses_altered_replayed_and_unsigned_requests() -> None:
    body = b'{"event":"remove_item","id":"k1","payload":{},"target":{}}'
    now = int(time.time())
    assert verify_webhook(body, sign(body, SECRET, now), SECRET)["id"] == "k1"
    with pytest.raises(InvalidWebhook, match="does not sign"):
        verify_webhook(body.replace(b"k1", b"k2"), sign(body, SECRET, now), SECRET)
    with pytest.raises(InvalidWebhook, match="does not sign"):
        verify_webhook(body, sign(body, "another-secret", now), SECRET)
    with pytest.raises(InvalidWebhook, match="does not sign"):
        verify_webhook(body, sign(body, SECRET, now - 3600), SECRET)  # a replay
    with pytest.raises(InvalidWebhook, match="no Jikimi-Signature"):
        verify_webhook(body, None, SECRET)
    with pytest.raises(InvalidWebhook, match="not a JSON object"):
        verify_webhook(b"[1]", sign(b"[1]", SECRET, now), SECRET)


def test_the_example_receiver_acts_once_per_event_and_refuses_forgeries() -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "platform_webhook.py"
    spec = importlib.util.spec_from_file_location("platform_webhook", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    acted: list[str] = []
    receiver = example.Receiver(SECRET, lambda event: acted.append(event["id"]))
    body = b'{"event":"remove_item","id":"k9","payload":{},"target":{}}'
    signature = sign(body, SECRET, int(time.time()))

    assert receiver.handle(body, signature) == (200, "handled")
    assert receiver.handle(body, signature) == (200, "already handled")  # a redelivery
    status, text = receiver.handle(body, sign(body, "guess", int(time.time())))
    assert status == 400 and "refused" in text
    assert acted == ["k9"]
