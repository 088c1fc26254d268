"""The dry-run sink (conformance, what it records) and building the sinks from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.actions.conftest import Clock
from tests.conformance.sink import SinkConformance, make_entry

from jikimi.actions.dispatcher import Dispatcher
from jikimi.actions.effects import Target, effects_for
from jikimi.actions.outbox import OutboxEntry, OutboxStore
from jikimi.actions.sinks.dry_run import DryRunSink
from jikimi.actions.sinks.registry import build_sinks, configured
from jikimi.actions.sinks.telegram import TelegramSink
from jikimi.actions.sinks.webhook import WebhookSink
from jikimi.errors import SettingsError
from jikimi.model import Reason, Verdict
from jikimi.settings import Settings
from jikimi.store.db import write_session

VERDICT = Verdict(
    "remove",
    (Reason("bank-match", "remove"),),
    "p1",
    True,
    actions=("delete_message", "ban_author"),
)
TARGET = Target("telegram", chat_id="-100", message_id="5", author_id="6")


class TestDryRunConformance(SinkConformance):
    name = "dry_run"

    @pytest.fixture
    def sink(self) -> Any:
        yield DryRunSink()

    def deliverable(self, sink: Any) -> list[OutboxEntry]:
        effects = effects_for(
            VERDICT, TARGET, mode="dry_run", webhook=True, telegram=True, origin="verdict:1"
        )
        return [make_entry(e.action, e.sink, e.target, e.payload) for e in effects]


def test_dry_run_records_what_would_have_been_done(
    outbox: OutboxStore, sessions: sessionmaker[Session], clock: Clock
) -> None:
    effects = effects_for(
        VERDICT, TARGET, mode="dry_run", webhook=True, telegram=True, origin="verdict:1"
    )
    with write_session(sessions) as session:
        ids = outbox.enqueue(session, effects)
    Dispatcher(
        outbox,
        {"dry_run": DryRunSink()},
        max_attempts=1,
        backoff_seconds=1,
        backoff_max_seconds=1,
        lease_seconds=10,
        clock=clock,
    ).run_once()
    first = outbox.get(ids[0])
    assert first.state == "delivered"
    assert first.result == {
        "dry_run": True,
        "would": {
            "sink": "telegram",
            "action": "deleteMessage",
            "target": TARGET.as_dict(),
            "payload": {"chat_id": -100, "message_id": 5},
        },
    }
    assert [outbox.get(i).result["would"]["sink"] for i in ids] == [  # type: ignore[index]
        "telegram",
        "telegram",
        "webhook",
    ]


def test_unrouted_effects_say_why() -> None:
    effects = effects_for(VERDICT, TARGET, mode="live", webhook=False, telegram=False, origin="o")
    result = DryRunSink().deliver(
        make_entry(effects[0].action, effects[0].sink, effects[0].target, effects[0].payload)
    )
    assert result["reason"] == "no sink configured"
    assert result["would"]["sink"] is None


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JIKIMI_HOME", str(tmp_path))
    for name in ("ACTIONS_MODE", "WEBHOOK_URL", "WEBHOOK_SECRET", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(f"JIKIMI_{name}", raising=False)

    def make(**values: Any) -> Settings:
        return Settings(home=tmp_path, **values)

    return make


def test_build_sinks_by_mode(settings: Any) -> None:
    full = {
        "webhook_url": "https://hooks.example.test/j",
        "webhook_secret": "s" * 32,
        "telegram_bot_token": "1:abc",
    }
    assert set(build_sinks(settings())) == {"dry_run"}
    assert set(build_sinks(settings(**full))) == {"dry_run"}  # dry_run is the default mode
    live = build_sinks(settings(actions_mode="live", **full))
    assert set(live) == {"dry_run", "webhook", "telegram"}
    assert isinstance(live["webhook"], WebhookSink)
    assert isinstance(live["telegram"], TelegramSink)
    assert all(name == sink.name for name, sink in live.items())
    only_hook = build_sinks(
        settings(actions_mode="live", webhook_url=full["webhook_url"], webhook_secret="k" * 32)
    )
    assert set(only_hook) == {"dry_run", "webhook"}


def test_configured_feeds_effects_for(settings: Any) -> None:
    assert configured(settings()) == {"mode": "dry_run", "webhook": False, "telegram": False}
    s = settings(actions_mode="live", telegram_bot_token="1:abc")
    options = configured(s)
    assert options == {"mode": "live", "webhook": False, "telegram": True}
    effects = effects_for(VERDICT, TARGET, origin="o", **options)
    assert [e.sink for e in effects] == ["telegram", "telegram"]


def test_a_webhook_without_a_secret_is_refused(settings: Any) -> None:
    with pytest.raises(SettingsError, match="webhook_secret"):
        build_sinks(settings(actions_mode="live", webhook_url="https://h.example.test/x?t=1"))
    with pytest.raises(SettingsError, match="https://") as caught:
        build_sinks(settings(webhook_url="hooks.example.test/tok3n", webhook_secret="k" * 32))
    assert "tok3n" not in str(caught.value)
