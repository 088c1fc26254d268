"""Notifications as effects: the routing table, stable keys, the sinks built from settings, and
one message through the outbox to a real SMTP server and to a real webhook receiver."""

from __future__ import annotations

import email
import email.policy
import importlib
import inspect
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from tests.actions.conftest import Clock
from tests.conformance.sink import make_entry
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver

from jikimi.actions.dispatcher import Dispatcher
from jikimi.actions.effects import idempotency_key
from jikimi.actions.notifications import NO_SINK_REASON, notification_effects
from jikimi.actions.outbox import OutboxEntry, OutboxStore
from jikimi.actions.sinks.base import Sink
from jikimi.actions.sinks.dry_run import DryRunSink
from jikimi.actions.sinks.email import EmailSink
from jikimi.actions.sinks.registry import build_sinks, configured_notifications
from jikimi.actions.sinks.webhook import SIGNATURE_HEADER, WebhookSink, verify_signature
from jikimi.cases.messages import Message, receipt_message
from jikimi.errors import SettingsError
from jikimi.settings import Settings
from jikimi.store.db import write_session

MESSAGE = receipt_message(
    to="notifier@example.org",
    language="en",
    kind="takedown_request",
    receipt="rcpt_00ff",
    notice_id=7,
    case_id=3,
    due_at=datetime(2026, 3, 9, 12, 0, tzinfo=UTC),
    missing=(),
    joined=False,
    already_removed=(),
    suspended=False,
)
TARGET = {"notice_id": 7}
ORIGIN = "notice:7"
SECRET = "notify-secret-0c1d2e3f4a5b"


def effect_for(mode: str, *, email: bool, notify_webhook: bool, message: Message = MESSAGE) -> Any:
    (effect,) = notification_effects(
        message,
        origin=ORIGIN,
        target=TARGET,
        mode=mode,
        email=email,
        notify_webhook=notify_webhook,
    )
    return effect


# (mode, email, notify_webhook) -> (sink, action, would_sink, reason)
ROUTES = [
    ("live", True, True, "email", "send_email", None, None),
    ("live", True, False, "email", "send_email", None, None),
    ("live", False, True, "notify_webhook", "notify", None, None),
    ("live", False, False, "dry_run", "notify", None, NO_SINK_REASON),
    ("dry_run", True, True, "dry_run", "send_email", "email", None),
    ("dry_run", True, False, "dry_run", "send_email", "email", None),
    ("dry_run", False, True, "dry_run", "notify", "notify_webhook", None),
    ("dry_run", False, False, "dry_run", "notify", None, NO_SINK_REASON),
]


@pytest.mark.parametrize(
    ("mode", "email", "notify_webhook", "sink", "action", "would_sink", "reason"), ROUTES
)
def test_routing(
    mode: str,
    email: bool,
    notify_webhook: bool,
    sink: str,
    action: str,
    would_sink: str | None,
    reason: str | None,
) -> None:
    effect = effect_for(mode, email=email, notify_webhook=notify_webhook)
    assert (effect.sink, effect.action) == (sink, action)
    assert effect.target == TARGET
    notes = {k: effect.payload.pop(k) for k in ("would_sink", "reason") if k in effect.payload}
    assert effect.payload == MESSAGE.as_dict()
    assert set(effect.payload) == {"kind", "to", "subject", "text", "language"}
    if sink == "dry_run":
        assert notes["would_sink"] == would_sink
        assert notes.get("reason") == reason
    else:
        assert notes == {}
    assert effect.idempotency_key == idempotency_key(ORIGIN, action, effect.sink, TARGET)


def test_keys_are_stable_and_distinct() -> None:
    live = effect_for("live", email=True, notify_webhook=False)
    assert (
        live.idempotency_key == effect_for("live", email=True, notify_webhook=False).idempotency_key
    )
    korean = receipt_message(**{**_receipt_args(), "language": "ko"})
    # The key names what asked and for whom, not the words: a re-rendered message is the same.
    assert effect_for("live", email=True, notify_webhook=False, message=korean).idempotency_key == (
        live.idempotency_key
    )
    others = {
        notification_effects(
            MESSAGE, origin="notice:8", target=TARGET, mode="live", email=True, notify_webhook=False
        )[0].idempotency_key,
        notification_effects(
            MESSAGE,
            origin=ORIGIN,
            target={"notice_id": 8},
            mode="live",
            email=True,
            notify_webhook=False,
        )[0].idempotency_key,
        effect_for("dry_run", email=True, notify_webhook=False).idempotency_key,
        effect_for("live", email=False, notify_webhook=True).idempotency_key,
    }
    assert live.idempotency_key not in others and len(others) == 4


def _receipt_args() -> dict[str, Any]:
    return {
        "to": MESSAGE.to,
        "kind": "takedown_request",
        "receipt": "rcpt_00ff",
        "notice_id": 7,
        "case_id": 3,
        "due_at": datetime(2026, 3, 9, 12, 0, tzinfo=UTC),
    }


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        effect_for("loud", email=True, notify_webhook=False)
    with pytest.raises(ValueError, match="origin"):
        notification_effects(
            MESSAGE, origin="", target=TARGET, mode="live", email=True, notify_webhook=False
        )


def test_an_unrouted_message_is_recorded_with_the_reason() -> None:
    effect = effect_for("live", email=False, notify_webhook=False)
    result = DryRunSink().deliver(_entry(effect))
    assert result["reason"] == NO_SINK_REASON
    assert result["would"]["sink"] is None
    assert result["would"]["payload"] == MESSAGE.as_dict()


def _entry(effect: Any) -> OutboxEntry:
    return make_entry(effect.action, effect.sink, effect.target, effect.payload, origin=ORIGIN)


# -- settings ------------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"JIKIMI_{name.upper()}", raising=False)
    monkeypatch.setenv("JIKIMI_HOME", str(tmp_path))

    def make(**values: Any) -> Settings:
        return Settings(home=tmp_path, **values)

    return make


SMTP_SETTINGS = {"smtp_host": "smtp.example.org", "smtp_from": "notices@example.org"}
NOTIFY_SETTINGS = {
    "notify_webhook_url": "https://hooks.example.org/n",
    "notify_webhook_secret": SECRET,
}


def test_configured_notifications(settings: Any) -> None:
    assert configured_notifications(settings()) == {
        "mode": "dry_run",
        "email": False,
        "notify_webhook": False,
    }
    both = settings(actions_mode="live", **SMTP_SETTINGS, **NOTIFY_SETTINGS)
    assert configured_notifications(both) == {"mode": "live", "email": True, "notify_webhook": True}
    (effect,) = notification_effects(
        MESSAGE, origin=ORIGIN, target=TARGET, **configured_notifications(both)
    )
    assert effect.sink == "email"


def test_build_sinks_adds_the_notification_sinks_in_live_mode_only(settings: Any) -> None:
    assert set(build_sinks(settings(**SMTP_SETTINGS, **NOTIFY_SETTINGS))) == {"dry_run"}
    with httpx.Client() as client:
        live = build_sinks(
            settings(actions_mode="live", **SMTP_SETTINGS, **NOTIFY_SETTINGS), client=client
        )
    assert set(live) == {"dry_run", "email", "notify_webhook"}
    assert isinstance(live["email"], EmailSink)
    assert isinstance(live["notify_webhook"], WebhookSink)
    assert all(name == sink.name for name, sink in live.items())
    assert WebhookSink.name == "webhook"  # the platform webhook keeps its name


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"smtp_host": "smtp.example.org"}, "smtp_from"),
        ({**SMTP_SETTINGS, "smtp_from": "Notices <n@example.org>"}, "smtp_from"),
        ({**SMTP_SETTINGS, "smtp_username": "u"}, "together"),
        ({**SMTP_SETTINGS, "smtp_password": "p" * 12}, "together"),
        (
            {**SMTP_SETTINGS, "smtp_security": "none", "smtp_username": "u", "smtp_password": "pw"},
            "unencrypted",
        ),
        ({"notify_webhook_url": "https://hooks.example.org/n"}, "notify_webhook_secret"),
        (
            {"notify_webhook_url": "hooks.example.org/tok3n", "notify_webhook_secret": SECRET},
            "https",
        ),
    ],
)
def test_notification_settings_are_checked(
    settings: Any, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        configured_notifications(settings(**values))
    assert "tok3n" not in str(caught.value) and "p" * 12 not in str(caught.value)
    with pytest.raises(SettingsError):
        build_sinks(settings(actions_mode="live", **values))


def test_a_local_relay_may_go_without_tls(settings: Any) -> None:
    relay = settings(
        actions_mode="live",
        smtp_host="127.0.0.1",
        smtp_port=2525,
        smtp_security="none",
        smtp_from="n@example.org",
        smtp_username="u",
        smtp_password="pw",
    )
    assert configured_notifications(relay)["email"] is True
    assert "email" in build_sinks(relay)


# -- through the outbox ---------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd's readiness check needs a real port number
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _deliver(outbox: OutboxStore, sessions: Any, clock: Clock, sinks: dict[str, Sink]) -> int:
    effects = notification_effects(
        MESSAGE,
        origin=ORIGIN,
        target=TARGET,
        mode="live",
        email="email" in sinks,
        notify_webhook="notify_webhook" in sinks,
    )
    with write_session(sessions) as session:
        (row,) = outbox.enqueue(session, effects)
    with write_session(sessions) as session:  # the same notification again: no second row
        assert outbox.enqueue(session, effects) == [row]
    Dispatcher(
        outbox,
        sinks,
        max_attempts=1,
        backoff_seconds=1,
        backoff_max_seconds=1,
        lease_seconds=30,
        clock=clock,
    ).run_once()
    return row


def test_a_receipt_by_email_through_the_outbox(
    outbox: OutboxStore, sessions: Any, clock: Clock, relay: tuple[int, Inbox]
) -> None:
    port, inbox = relay
    sink = EmailSink("127.0.0.1", port=port, sender="notices@example.org", security="none")
    row = _deliver(outbox, sessions, clock, {"email": sink})
    entry = outbox.get(row)
    assert entry.state == "delivered"
    assert entry.result == {
        "sent_to_domain": "example.org",
        "message_id": f"<jikimi.{entry.idempotency_key}@example.org>",
    }
    (received,) = inbox.messages
    assert received["To"] == MESSAGE.to and received["Subject"] == MESSAGE.subject
    assert "rcpt_00ff" in received.get_content()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r


def test_a_receipt_by_the_notify_webhook_through_the_outbox(
    outbox: OutboxStore, sessions: Any, clock: Clock, receiver: WebhookReceiver
) -> None:
    with httpx.Client() as client:
        sink = WebhookSink(receiver.url, SECRET, client=client, name="notify_webhook")
        row = _deliver(outbox, sessions, clock, {"notify_webhook": sink})
    assert outbox.get(row).state == "delivered"
    (request,) = receiver.requests
    assert verify_signature(request.body, request.headers[SIGNATURE_HEADER.lower()], SECRET)
    assert request.headers["jikimi-event"] == "notify"
    body = request.json()
    assert isinstance(body, dict)
    assert body["payload"] == MESSAGE.as_dict()
    assert body["target"] == TARGET
    assert body["id"] == request.headers["idempotency-key"]


@pytest.mark.parametrize("name", ["jikimi.actions.notifications", "jikimi.actions.sinks.email"])
def test_all_is_the_public_api(name: str) -> None:
    module = importlib.import_module(name)
    defined = {
        n
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == name
    }
    assert defined and defined <= set(module.__all__)
    assert all(hasattr(module, n) for n in module.__all__)
