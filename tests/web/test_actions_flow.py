"""From upload to platform: an item removed by policy reaches a fake Telegram Bot API and a
signed webhook through the service's outbox dispatcher, each effect exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support.fake_telegram import TOKEN, FakeTelegram, fake_telegram
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver
from tests.web.helpers import bearer, jpeg, wait_for

from jikimi.actions.sinks.webhook import SIGNATURE_HEADER, verify_signature
from jikimi.signals.registry import Registry
from jikimi.web.app import create_app
from jikimi.web.service import Service, ServiceOptions
from jikimi.workspace import Workspace

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
SECRET = "webhook-secret-for-tests"
CHAT = -1001234


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with fake_telegram() as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def settings_overrides(telegram: FakeTelegram, receiver: WebhookReceiver) -> dict[str, Any]:
    return {
        "actions_mode": "live",
        "telegram_bot_token": TOKEN,
        "telegram_api_url": telegram.url,
        "webhook_url": receiver.url,
        "webhook_secret": SECRET,
    }


def _send_banked_item(client: TestClient, service: Service, token: str) -> dict[str, Any]:
    image = jpeg(21)
    path = service.tmp / "known.jpg"
    path.write_bytes(image)
    pdq = service.check_pipeline.cascade.run(path).media.signals["pdq"].value
    path.unlink()
    service.ws.banks.create("auto", auto_action=True, actor="tester")
    service.ws.banks.add("auto", [("pdq", pdq)], actor="tester")
    service.refresh_matcher(force=True)
    meta = f'{{"platform": "telegram", "chat_id": "{CHAT}", "message_id": "77", "author_id": "9"}}'
    r = client.post(
        "/v1/items",
        data={"item": meta},
        files={"media": ("x.jpg", image, "image/jpeg")},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    assert r.json()["verdict"]["outcome"] == "remove"
    return r.json()


def test_a_removal_reaches_telegram_and_the_webhook_once(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    telegram: FakeTelegram,
    receiver: WebhookReceiver,
) -> None:
    telegram.add_message(CHAT, 77)
    body = _send_banked_item(client, service, tokens["platform"])
    dispatcher = service.dispatcher()
    assert dispatcher.run_once() >= 2
    assert dispatcher.run_once() == 0  # nothing delivered twice
    deletes = telegram.calls_of("deleteMessage")
    assert [(c.params["chat_id"], c.params["message_id"]) for c in deletes] == [(CHAT, 77)]
    assert (CHAT, 77) not in telegram.messages
    events = [r for r in receiver.requests if r.headers.get("jikimi-event") == "verdict"]
    assert len(events) == 1
    assert verify_signature(events[0].body, events[0].headers[SIGNATURE_HEADER.lower()], SECRET)
    event = events[0].json()
    assert event["payload"]["verdict"]["outcome"] == "remove"
    assert event["target"]["item_id"] == body["item_id"]
    counts = client.get("/v1/outbox", headers=bearer(tokens["admin"])).json()["counts"]
    assert {k: v for k, v in counts.items() if v} == {"delivered": counts["delivered"]}
    text = client.get("/metrics").text
    delivered = 'action="deleteMessage",outcome="delivered",sink="telegram"'
    assert f"jikimi_actions_total{{{delivered}}} 1.0" in text


def test_the_service_delivers_in_the_background_and_retries(
    ws: Workspace,
    registry: Registry,
    tokens: dict[str, str],
    telegram: FakeTelegram,
) -> None:
    ws.settings.outbox_backoff_seconds = 0.05
    telegram.add_message(CHAT, 77)
    telegram.fail("deleteMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    service = Service(ws, ServiceOptions(run_dispatcher=True, watch_seconds=0.2, registry=registry))
    with TestClient(create_app(service)) as client:
        assert service.matcher.loaded.wait(30)
        _send_banked_item(client, service, tokens["platform"])
        assert wait_for(lambda: (CHAT, 77) not in telegram.messages, timeout=15)
    assert len(telegram.calls_of("deleteMessage")) == 2  # the 429, then the delivery
