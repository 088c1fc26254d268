"""The Telegram sink against a fake Bot API on loopback that speaks the real wire format."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.actions.conftest import Clock
from tests.conformance.sink import SinkConformance, make_entry
from tests.support.fake_telegram import BOT_ID, TOKEN, FakeTelegram, fake_telegram

from jikimi.actions.dispatcher import Dispatcher
from jikimi.actions.effects import RESTRICTED_PERMISSIONS, WARNING_TEXT, Target, effects_for
from jikimi.actions.outbox import OutboxEntry, OutboxStore
from jikimi.actions.sinks.telegram import TelegramSink
from jikimi.errors import SinkError
from jikimi.evidence.custody import CustodyLog
from jikimi.model import Reason, Verdict
from jikimi.store.db import write_session

CHAT = -1001234567890
TARGET = {"platform": "telegram", "chat_id": str(CHAT), "message_id": "42", "author_id": "777"}


def entry(method: str, **params: Any) -> OutboxEntry:
    return make_entry(method, "telegram", TARGET, {"chat_id": CHAT, **params})


def delete(message_id: int = 42) -> OutboxEntry:
    return entry("deleteMessage", message_id=message_id)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with fake_telegram() as f:
        yield f


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


@pytest.fixture
def sink(fake: FakeTelegram, client: httpx.Client) -> TelegramSink:
    return TelegramSink(TOKEN, api_url=fake.url, client=client)


class TestTelegramConformance(SinkConformance):
    name = "telegram"

    @pytest.fixture
    def sink(self, fake: FakeTelegram, client: httpx.Client) -> Iterator[TelegramSink]:
        self.fake = fake
        yield TelegramSink(TOKEN, api_url=fake.url, client=client)

    def deliverable(self, sink: Any) -> list[OutboxEntry]:
        self.fake.add_message(CHAT, 42)
        return [
            delete(42),
            entry("banChatMember", user_id=777),
            entry("restrictChatMember", user_id=777, permissions=dict(RESTRICTED_PERMISSIONS)),
            entry("sendMessage", text=WARNING_TEXT),
        ]

    def arrange_retryable(self, sink: Any) -> OutboxEntry:
        self.fake.fail("banChatMember", 429, "Too Many Requests: retry after 5", retry_after=5)
        return entry("banChatMember", user_id=777)

    def arrange_permanent(self, sink: Any) -> OutboxEntry:
        self.fake.fail(
            "banChatMember",
            400,
            "Bad Request: not enough rights to restrict/unrestrict chat member",
        )
        return entry("banChatMember", user_id=777)

    def secrets(self) -> list[str]:
        return [TOKEN, TOKEN.split(":", 1)[1]]


def test_effects_reach_the_bot_api_with_its_parameters(
    fake: FakeTelegram, sink: TelegramSink
) -> None:
    verdict = Verdict(
        "remove",
        (Reason("bank-match", "remove"),),
        "p1",
        True,
        actions=("delete_message", "ban_author", "restrict_author", "warn_chat"),
    )
    target = Target("telegram", chat_id=str(CHAT), message_id="42", author_id="777")
    effects = effects_for(
        verdict, target, mode="live", webhook=False, telegram=True, origin="verdict:1"
    )
    fake.add_message(CHAT, 42)
    results = [sink.deliver(make_entry(e.action, e.sink, e.target, e.payload)) for e in effects]
    assert [c.method for c in fake.calls] == [
        "deleteMessage",
        "banChatMember",
        "restrictChatMember",
        "sendMessage",
    ]
    assert all(c.content_type == "application/json" for c in fake.calls)
    params = {c.method: c.params for c in fake.calls}
    assert params["deleteMessage"] == {"chat_id": CHAT, "message_id": 42}
    assert params["banChatMember"] == {"chat_id": CHAT, "user_id": 777}
    restrict = params["restrictChatMember"]
    assert (restrict["chat_id"], restrict["user_id"]) == (CHAT, 777)
    assert restrict["permissions"]["can_send_messages"] is False
    assert set(restrict["permissions"].values()) == {False}
    assert params["sendMessage"] == {"chat_id": CHAT, "text": WARNING_TEXT}
    assert (CHAT, 42) not in fake.messages
    assert (CHAT, 777) in fake.banned
    assert fake.restricted[(CHAT, 777)] == RESTRICTED_PERMISSIONS
    assert results[:3] == [
        {"method": "deleteMessage", "result": True},
        {"method": "banChatMember", "result": True},
        {"method": "restrictChatMember", "result": True},
    ]
    sent = results[3]["result"]
    assert sent["message_id"] == fake.sent[0]["message_id"] and sent["chat_id"] == CHAT
    assert "title" not in json.dumps(results[3])  # the chat's details are not kept


def test_deleting_a_message_already_gone_is_delivered(
    fake: FakeTelegram, sink: TelegramSink
) -> None:
    result = sink.deliver(delete(99))
    assert result == {
        "method": "deleteMessage",
        "result": True,
        "already_gone": "Bad Request: message to delete not found",
    }


@pytest.mark.parametrize(
    ("method", "code", "description", "retryable"),
    [
        ("deleteMessage", 400, "Bad Request: message can't be deleted", False),
        ("banChatMember", 400, "Bad Request: user not found", False),
        ("banChatMember", 403, "Forbidden: bot was kicked from the supergroup chat", False),
        ("sendMessage", 403, "Forbidden: bot is not a member of the supergroup chat", False),
        ("sendMessage", 500, "Internal Server Error", True),
        ("sendMessage", 502, "Bad Gateway", True),
    ],
)
def test_error_mapping(
    fake: FakeTelegram,
    sink: TelegramSink,
    method: str,
    code: int,
    description: str,
    retryable: bool,
) -> None:
    fake.add_message(CHAT, 42)
    fake.fail(method, code, description)
    params = {
        "deleteMessage": {"message_id": 42},
        "banChatMember": {"user_id": 777},
        "sendMessage": {"text": "x"},
    }[method]
    with pytest.raises(SinkError) as caught:
        sink.deliver(entry(method, **params))
    assert caught.value.retryable is retryable
    assert str(caught.value) == f"telegram {method}: {code} {description}"


def test_429_carries_retry_after(fake: FakeTelegram, sink: TelegramSink) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 17", retry_after=17)
    with pytest.raises(SinkError) as caught:
        sink.deliver(entry("sendMessage", text="x"))
    assert (caught.value.retryable, caught.value.retry_after) == (True, 17.0)


def test_a_migrated_group_says_where_it_went(fake: FakeTelegram, sink: TelegramSink) -> None:
    fake.fail(
        "banChatMember",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        parameters={"migrate_to_chat_id": -1009999},
    )
    with pytest.raises(SinkError, match="now chat -1009999") as caught:
        sink.deliver(entry("banChatMember", user_id=1))
    assert not caught.value.retryable


def test_a_non_bot_api_answer(fake: FakeTelegram, sink: TelegramSink) -> None:
    fake.answer_raw("sendMessage", 502, b"<html>502 Bad Gateway</html>")
    with pytest.raises(SinkError, match="without a Bot API answer") as caught:
        sink.deliver(entry("sendMessage", text="x"))
    assert caught.value.retryable


def test_wrong_token_is_permanent_and_never_printed(
    fake: FakeTelegram, client: httpx.Client
) -> None:
    wrong = "987654321:AAWrongTokenWrongTokenWrongToken123"
    sink = TelegramSink(wrong, api_url=fake.url, client=client)
    with pytest.raises(SinkError) as caught:
        sink.deliver(delete())
    assert str(caught.value) == "telegram deleteMessage: 401 Unauthorized"
    assert not caught.value.retryable
    assert wrong not in repr(caught.value) and wrong not in repr(sink)


def test_unreachable_api_is_retryable_without_the_token(client: httpx.Client) -> None:
    closed = FakeTelegram()
    url = closed.url
    closed.stop()
    sink = TelegramSink(TOKEN, api_url=url, client=client)
    with pytest.raises(SinkError) as caught:
        sink.deliver(delete())
    assert caught.value.retryable
    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_methods_outside_the_list_are_refused_before_any_request(
    fake: FakeTelegram, sink: TelegramSink
) -> None:
    with pytest.raises(SinkError, match="not a Bot API method") as caught:
        sink.deliver(entry("leaveChat"))
    assert not caught.value.retryable
    assert fake.calls == []


def test_get_me_and_the_fake_servers_envelope(fake: FakeTelegram, sink: TelegramSink) -> None:
    me = sink.call("getMe")
    assert me["id"] == BOT_ID and me["is_bot"] is True
    with httpx.Client() as raw:
        missing = raw.post(f"{fake.url}/bot{TOKEN}/noSuchMethod", json={})
        assert missing.status_code == 404
        assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        empty = raw.post(f"{fake.url}/bot{TOKEN}/sendMessage", json={"chat_id": CHAT})
        assert empty.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message text is empty",
        }
        form = raw.post(f"{fake.url}/bot{TOKEN}/getMe", data={"x": "1"})
        assert form.json()["ok"] is True


def test_the_token_never_leaks_through_a_whole_dispatch(
    fake: FakeTelegram,
    client: httpx.Client,
    outbox: OutboxStore,
    sessions: sessionmaker[Session],
    custody: CustodyLog,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sink = TelegramSink(TOKEN, api_url=fake.url, client=client)
    verdict = Verdict(
        "remove",
        (Reason("bank-match", "remove"),),
        "p1",
        True,
        actions=("delete_message", "ban_author", "restrict_author", "warn_chat"),
    )
    target = Target("telegram", chat_id=str(CHAT), message_id="42", author_id="777")
    with write_session(sessions) as session:
        ids = outbox.enqueue(
            session,
            effects_for(
                verdict, target, mode="live", webhook=False, telegram=True, origin="verdict:9"
            ),
        )
    fake.add_message(CHAT, 42)
    fake.fail("banChatMember", 429, "Too Many Requests: retry after 3", retry_after=3)
    fake.fail("restrictChatMember", 400, "Bad Request: not enough rights")
    fake.fail("sendMessage", 502, "Bad Gateway")
    d = Dispatcher(
        outbox,
        {"telegram": sink},
        max_attempts=3,
        backoff_seconds=1,
        backoff_max_seconds=10,
        lease_seconds=60,
        clock=clock,
        rng=lambda: 0.0,
    )
    d.run_once()
    clock.advance(3)
    d.run_once()
    states = {outbox.get(i).action: outbox.get(i).state for i in ids}
    assert states == {
        "deleteMessage": "delivered",
        "banChatMember": "delivered",
        "restrictChatMember": "dead",
        "sendMessage": "delivered",
    }
    recorded = [
        json.dumps([e.last_error, e.result, e.payload, e.target], default=str)
        for e in outbox.list()
    ]
    recorded += [json.dumps(e.payload) for e in custody.events()]
    recorded += [r.getMessage() for r in caplog.records]
    assert any("HTTP Request: POST" in r.getMessage() for r in caplog.records)
    secret_part = TOKEN.split(":", 1)[1]
    assert not [text for text in recorded if secret_part in text]


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="token"):
        TelegramSink("")
    with pytest.raises(ValueError, match="https://"):
        TelegramSink(TOKEN, api_url="api.telegram.org")
