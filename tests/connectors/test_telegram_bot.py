"""The Telegram moderation bot end to end against a fake Bot API on loopback: updates in,
items and cases recorded, effects out through the outbox to the same fake."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.support.fake_telegram import (
    BOT_ID,
    BOT_USERNAME,
    GROUP,
    MEMBER,
    TOKEN,
    FakeTelegram,
    document,
    fake_telegram,
    message,
    photo,
)
from tests.web.helpers import jpeg, wait_for

from jikimi.actions.effects import Target, effects_for
from jikimi.connectors.telegram_api import ALLOWED_UPDATES, BotApi, RetryPolicy
from jikimi.connectors.telegram_bot import (
    REPORT_USAGE,
    BotIdentity,
    TelegramBot,
    checkpoint_name,
)
from jikimi.connectors.telegram_runtime import Deliveries
from jikimi.connectors.telegram_update import (
    RawUpdate,
    author_of,
    external_id,
    is_report,
    media_of,
    message_link,
    post_of,
    updates_of,
)
from jikimi.connectors.telegram_webhook import SECRET_HEADER, WEBHOOK_PATH, WebhookServer
from jikimi.errors import BotApiError
from jikimi.model import Reason, Verdict
from jikimi.policy.holder import PolicyHolder
from jikimi.store.models import Item, ItemLink
from jikimi.web.service import Service

CHAT_ID = GROUP["id"]
REPORTER = {"id": 888, "is_bot": False, "first_name": "Ara"}
ME = BotIdentity(BOT_ID, BOT_USERNAME)
RETRY = RetryPolicy(attempts=3, backoff_seconds=0.5, backoff_max_seconds=2.0)
WEBHOOK_SECRET = "webhook-secret_for-tests"


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite here; the offsets test below runs on PostgreSQL too."""
    return str(request.param)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with fake_telegram() as f:
        yield f


@pytest.fixture
def settings_overrides(fake: FakeTelegram) -> dict[str, Any]:
    return {"actions_mode": "live", "telegram_bot_token": TOKEN, "telegram_api_url": fake.url}


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the Bot API client asked for (recorded, not slept)."""
    return []


@pytest.fixture
def api(fake: FakeTelegram, sleeps: list[float]) -> Iterator[BotApi]:
    client = BotApi(TOKEN, api_url=fake.url, timeout=2.0, retry=RETRY, sleep=sleeps.append)
    yield client
    client.close()


@pytest.fixture
def bot(service: Service, api: BotApi) -> TelegramBot:
    service.refresh_matcher(force=True)
    return TelegramBot(service, api, ME, poll_seconds=0)


def bank(service: Service, content: bytes, *, name: str = "auto") -> None:
    """Put the SHA-256 of ``content`` (a benign picture) in a known-abuse bank trusted for
    automatic action."""
    service.ws.banks.create(name, auto_action=True, actor="tester")
    service.ws.banks.add(name, [("sha256", hashlib.sha256(content).hexdigest())], actor="tester")
    service.refresh_matcher(force=True)


def photo_post(fake: FakeTelegram, message_id: int, content: bytes, **fields: Any) -> int:
    """A photo in three sizes, the largest being ``content``; the update id."""
    small, medium = fake.add_file(jpeg(900, (90, 67))), fake.add_file(jpeg(901, (320, 240)))
    large = fake.add_file(content)
    sizes = photo((small, 90, 67), (medium, 320, 240), (large, 640, 480))
    return fake.push("message", message(message_id, photo=sizes, **fields))


def items(service: Service) -> list[dict[str, Any]]:
    with service.ws.sessions() as session:
        ids = session.scalars(select(Item.id).order_by(Item.id)).all()
    return [service.items.get(i) for i in ids]


def telegram_calls(fake: FakeTelegram, *methods: str) -> list[tuple[str, dict[str, Any]]]:
    return [(c.method, c.params) for c in fake.calls if c.method in methods]


# -- scanning and acting -----------------------------------------------------------------


def test_a_known_photo_is_deleted_through_the_outbox(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    known = jpeg(21)
    bank(service, known)
    photo_post(fake, 42, known, caption="look")
    assert bot.poll_once() == 1
    (item,) = items(service)
    assert item["verdicts"][0]["outcome"] == "remove"
    assert telegram_calls(fake, "deleteMessage") == []  # only the outbox acts
    assert service.dispatcher().run_once() >= 1
    assert telegram_calls(fake, "deleteMessage", "banChatMember") == [
        ("deleteMessage", {"chat_id": CHAT_ID, "message_id": 42})
    ]
    assert (CHAT_ID, 42) not in fake.messages


def test_a_policy_that_bans_bans_the_author(
    fake: FakeTelegram, service: Service, bot: TelegramBot, tmp_path: Path
) -> None:
    default = Path(__file__).parents[2] / "src/jikimi/policy/default.yaml"
    text = default.read_text()
    rule = "then: {outcome: remove, actions: [delete_message, notify]}"
    assert rule in text
    policy = tmp_path / "ban.yaml"
    policy.write_text(text.replace(rule, rule.replace("notify", "ban_author, notify")))
    service.policy = PolicyHolder(policy, 0)
    known = jpeg(22)
    bank(service, known)
    photo_post(fake, 43, known)
    bot.poll_once()
    service.dispatcher().run_once()
    assert telegram_calls(fake, "deleteMessage", "banChatMember") == [
        ("deleteMessage", {"chat_id": CHAT_ID, "message_id": 43}),
        ("banChatMember", {"chat_id": CHAT_ID, "user_id": MEMBER["id"]}),
    ]
    assert (CHAT_ID, MEMBER["id"]) in fake.banned


def test_a_benign_photo_is_recorded_and_left_alone(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    bank(service, jpeg(23))
    update_id = photo_post(fake, 44, jpeg(24), caption="our trip")
    sent = fake.updates[-1]["message"]
    bot.poll_once()
    service.dispatcher().run_once()
    assert telegram_calls(fake, "deleteMessage", "banChatMember", "sendMessage") == []
    (item,) = items(service)
    assert item["verdicts"][0]["outcome"] == "allow"
    assert (item["platform"], item["chat_id"], item["message_id"]) == (
        "telegram",
        str(CHAT_ID),
        "44",
    )
    assert item["author_id"] == f"user{MEMBER['id']}"
    assert item["external_id"] == f"telegram:{CHAT_ID}:44"
    assert item["url"] == f"https://t.me/c/{str(CHAT_ID)[4:]}/44"
    assert item["text"] == "our trip"
    assert item["posted_at"] == datetime.fromtimestamp(1_764_000_000, UTC)
    assert item["meta"] == {
        "update": "message",
        "chat_type": "supergroup",
        "chat_title": GROUP["title"],
        "message_kind": "photo",
        "file_size": len(jpeg(24)),
    }
    assert json.loads(_raw(service, item["id"])) == sent
    assert bot.offset() == update_id + 1


def test_raw_is_the_message_exactly_as_the_bot_api_sent_it(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    photo_post(fake, 45, jpeg(25), caption='우리 여행 🌊 "quoted" \\ and / slash')
    bot.poll_once()
    (item,) = items(service)
    (body,) = [b for b in fake.answered if b'"update_id"' in b]
    text = body.decode("utf-8")
    start = text.index('"message":') + len('"message":')
    sent, end = json.JSONDecoder().raw_decode(text, start)
    assert _raw(service, item["id"]) == text[start:end]
    assert text[start:end] != json.dumps(sent, ensure_ascii=False)  # what parsing would keep


def test_the_webhook_keeps_the_message_bytes_it_was_sent(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    server = WebhookServer(bot, WEBHOOK_SECRET, port=0).start()
    host, port = server.address
    sent = message(81, photo=photo((fake.add_file(jpeg(36)), 640, 480)), caption="사진 하나")
    member = json.dumps(sent, indent=1, ensure_ascii=False)
    body = f'{{"update_id": 9002,\n "message": {member}}}'.encode()
    try:
        with httpx.Client() as client:
            headers = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
            answer = client.post(
                f"http://{host}:{port}{WEBHOOK_PATH}", content=body, headers=headers
            )
            assert answer.status_code == 200
    finally:
        server.stop()
    (item,) = items(service)
    assert _raw(service, item["id"]) == member


def _raw(service: Service, item_id: int) -> str:
    with service.ws.sessions() as session:
        raw = session.get(Item, item_id).raw
    assert raw is not None
    return raw


def test_only_the_largest_photo_size_is_fetched(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    content = jpeg(25)
    photo_post(fake, 45, content)
    bot.poll_once()
    large = next(f for f in fake.files.values() if f.content == content)
    assert fake.downloads == [large.file_path]
    assert [c.params["file_id"] for c in fake.calls_of("getFile")] == [large.file_id]
    (item,) = items(service)
    (media,) = item["media"]
    assert media["sha256"] == hashlib.sha256(content).hexdigest()
    assert media["file_id"] == large.file_unique_id


def test_a_document_over_20_mb_is_recorded_by_its_file_unique_id(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    big = fake.add_file(b"not fetched", file_size=25 * 1024**2)
    fake.push("message", message(46, document=document(big, "clip.mp4", "video/mp4")))
    bot.poll_once()
    assert fake.calls_of("getFile") == [] and fake.downloads == []
    (item,) = items(service)
    (media,) = item["media"]
    assert media["sha256"] is None and media["file_id"] == big.file_unique_id
    assert "not retrieved" in media["error"] and "20 MB" in media["error"]
    assert item["meta"]["message_kind"] == "document"


def test_get_file_saying_too_big_is_not_retrievable_not_an_error(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    big = fake.add_file(b"x", file_size=30 * 1024**2)
    unsized = {k: v for k, v in document(big).items() if k != "file_size"}
    update_id = fake.push("message", message(47, document=unsized))
    bot.poll_once()
    (item,) = items(service)
    (media,) = item["media"]
    assert media["error"] == "not retrieved: telegram getFile: 400 Bad Request: file is too big"
    assert media["file_id"] == big.file_unique_id and fake.downloads == []
    assert bot.offset() == update_id + 1


def test_a_file_seen_before_is_scanned_again_and_keyed_by_its_file_unique_id(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    content = jpeg(26)
    first = fake.add_file(content)
    fake.push("message", message(48, photo=photo((first, 640, 480))))
    bot.poll_once()
    assert items(service)[0]["verdicts"][0]["outcome"] == "allow"
    bank(service, content)  # banked later: the copy must be judged on what it is now
    copy = fake.add_file(content, unique_id=first.file_unique_id)
    fake.push("message", message(49, photo=photo((copy, 640, 480)), chat={**GROUP, "id": -1009}))
    bot.poll_once()
    assert fake.downloads == [first.file_path, copy.file_path]  # its signals, not only hashes
    second = items(service)[1]
    (media,) = second["media"]
    assert media["sha256"] == hashlib.sha256(content).hexdigest()
    assert media["file_id"] == first.file_unique_id  # the key that finds identical copies
    assert second["verdicts"][0]["outcome"] == "remove"


def test_edits_are_items_of_their_own_and_redeliveries_are_not(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    content = jpeg(27)
    original = message(50, photo=photo((fake.add_file(content), 640, 480)))
    fake.push("message", original)
    edited = {**original, "edit_date": 1_764_000_100, "caption": "edited"}
    fake.push("edited_message", edited)
    fake.push("edited_message", edited)  # Telegram may deliver an update again
    bot.poll_once()
    assert [i["external_id"] for i in items(service)] == [
        f"telegram:{CHAT_ID}:50",
        f"telegram:{CHAT_ID}:50:edit:1764000100",
    ]
    assert len(fake.downloads) == 2  # an edit can swap the media: it is scanned again


def test_a_channel_post_with_forward_and_bot_edges(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    channel = {"id": -1005555, "title": "Leaks", "type": "channel", "username": "leakroom"}
    source = {"id": -1007777, "title": "Origin", "type": "channel", "username": "origin_ch"}
    post = message(
        7,
        chat=channel,
        sender_chat=channel,
        photo=photo((fake.add_file(jpeg(28)), 640, 480)),
        forward_origin={"type": "channel", "chat": source, "message_id": 99, "date": 1},
        via_bot={"id": 4242, "is_bot": True, "first_name": "X", "username": "nudify_bot"},
        reply_to_message=message(6, chat=channel, sender_chat=channel, text="earlier"),
    )
    fake.push("channel_post", post)
    bot.poll_once()
    (item,) = items(service)
    assert item["author_id"] == "channel-1005555"
    assert item["url"] == "https://t.me/leakroom/7"
    with service.ws.sessions() as session:
        links = session.scalars(select(ItemLink).where(ItemLink.item_id == item["id"])).all()
    edges = {(e.kind, e.chat_id, e.message_id, e.actor, e.label) for e in links}
    assert edges == {
        ("forwarded_from", "-1007777", "99", "channel-1007777", "origin_ch"),
        ("reply_to", "-1005555", "6", None, None),
        ("via_bot", None, None, "user4242", "nudify_bot"),
    }


def test_text_only_messages_are_screened_and_only_flagged_ones_recorded(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    fake.push("message", message(51, text="hello all"))
    update_id = fake.push("message", message(52, text="try @example_undress_bot on her"))
    assert bot.poll_once() == 2
    (item,) = items(service)  # "hello all" is kept nowhere
    assert item["message_id"] == "52" and item["text"] == "try @example_undress_bot on her"
    assert item["verdicts"][0]["outcome"] == "review"
    assert bot.offset() == update_id + 1


def test_the_bot_asks_for_posts_and_edits_only(fake: FakeTelegram, bot: TelegramBot) -> None:
    bot.poll_once()
    (call,) = fake.calls_of("getUpdates")
    assert call.params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert call.params["timeout"] == 0 and "offset" not in call.params


# -- /report -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/report", f"/report@{BOT_USERNAME} fake nude of me"])
def test_report_as_a_reply_opens_a_case_and_answers(
    fake: FakeTelegram, service: Service, bot: TelegramBot, command: str
) -> None:
    content = jpeg(29)
    reported = message(60, photo=photo((fake.add_file(content), 640, 480)))
    fake.push("message", reported)
    fake.push("message", message(61, sender=REPORTER, text=command, reply_to_message=reported))
    bot.poll_once()
    (item,) = items(service)  # the reported message, recorded once
    assert item["case_id"] is not None
    case = service.cases.get(item["case_id"], now=service.now())
    assert case is not None and case["items"] == [item["id"]]
    (notice,) = case["notices"]
    assert notice["kind"] == "user_report"
    body = notice["body"]
    assert body["reporter"] == "telegram:user888"
    assert body["item_id"] == str(item["id"])
    assert body["locators"] == [f"https://t.me/c/{str(CHAT_ID)[4:]}/60"]
    expected_reason = "fake nude of me" if " " in command else "reported by a member"
    assert body["reason"].startswith(expected_reason)
    (answer,) = fake.calls_of("sendMessage")
    assert answer.params["chat_id"] == CHAT_ID
    assert answer.params["reply_parameters"]["message_id"] == 61
    assert f"case {item['case_id']}" in answer.params["text"]


def test_report_of_a_message_never_seen_records_it(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    reported = message(62, text="buy the nudify app at t.me/nudify_bot")
    fake.push("message", message(63, sender=REPORTER, text="/report", reply_to_message=reported))
    bot.poll_once()
    (item,) = items(service)
    assert item["message_id"] == "62" and item["media"] == []
    assert item["case_id"] is not None


def test_report_without_a_reply_explains_how(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    fake.push("message", message(64, sender=REPORTER, text="/report"))
    bot.poll_once()
    (answer,) = fake.calls_of("sendMessage")
    assert answer.params["text"] == REPORT_USAGE
    assert answer.params["reply_parameters"]["message_id"] == 64
    assert items(service) == []


def test_a_report_for_another_bot_is_not_ours(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    fake.push("message", message(65, sender=REPORTER, text="/report@other_bot"))
    bot.poll_once()
    assert fake.calls_of("sendMessage") == [] and items(service) == []


# -- Bot API errors ----------------------------------------------------------------------


def test_429_waits_retry_after(
    fake: FakeTelegram, bot: TelegramBot, service: Service, sleeps: list[float]
) -> None:
    photo_post(fake, 70, jpeg(30))
    fake.fail("getUpdates", 429, "Too Many Requests: retry after 3", retry_after=3)
    fake.fail("getFile", 429, "Too Many Requests: retry after 100000", retry_after=100_000)
    assert bot.poll_once() == 1
    assert sleeps == [3.0, RETRY.retry_after_max_seconds]  # bounded
    assert len(items(service)) == 1


def test_5xx_and_timeouts_are_retried_with_backoff(
    fake: FakeTelegram, bot: TelegramBot, service: Service, sleeps: list[float]
) -> None:
    photo_post(fake, 71, jpeg(31))
    fake.fail("getUpdates", 502, "Bad Gateway")
    fake.delay("getFile", 3.0)  # the client's timeout is 2 s
    assert bot.poll_once() == 1
    assert sleeps == [0.5, 0.5]
    assert len(fake.calls_of("getFile")) == 2 and len(items(service)) == 1


def test_an_outage_leaves_the_update_for_later(
    fake: FakeTelegram, bot: TelegramBot, service: Service, sleeps: list[float]
) -> None:
    update_id = photo_post(fake, 72, jpeg(32))
    fake.fail("getFile", 500, "Internal Server Error", times=RETRY.attempts)
    with pytest.raises(BotApiError, match="gave up after 3 attempts") as caught:
        bot.poll_once()
    assert caught.value.retryable and not caught.value.fatal
    assert sleeps == [0.5, 1.0]
    assert bot.offset() is None and items(service) == []
    assert bot.poll_once() == 1  # delivered again, recorded now
    assert len(items(service)) == 1 and bot.offset() == update_id + 1


@pytest.mark.parametrize(
    ("setup", "advice"),
    [
        ("webhook", "jikimi telegram-bot --delete-webhook"),
        ("poller", "only one process may read a bot's updates"),
    ],
)
def test_409_says_what_to_do(fake: FakeTelegram, api: BotApi, setup: str, advice: str) -> None:
    if setup == "webhook":
        api.set_webhook("https://bot.example.org/telegram/webhook", WEBHOOK_SECRET, ALLOWED_UPDATES)
    else:
        fake.fail(
            "getUpdates",
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot "
            "instance is running",
        )
    with pytest.raises(BotApiError) as caught:
        api.get_updates(None, 0)
    assert caught.value.fatal and caught.value.code == 409
    assert advice in str(caught.value)


def test_a_wrong_token_is_fatal_and_never_shown(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "987654321:AAWrongTokenWrongTokenWrongToken123"
    api = BotApi(wrong, api_url=fake.url, retry=RETRY, sleep=lambda s: None)
    with pytest.raises(BotApiError) as caught:
        api.get_me()
    assert caught.value.fatal and caught.value.code == 401
    assert "JIKIMI_TELEGRAM_BOT_TOKEN" in str(caught.value)
    secret = wrong.split(":", 1)[1]
    shown = [str(caught.value), repr(caught.value), repr(api)]
    shown += [r.getMessage() for r in caplog.records]
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)
    assert not [text for text in shown if secret in text]


def test_the_token_stays_out_of_logs_through_retries_and_downloads(
    fake: FakeTelegram,
    service: Service,
    bot: TelegramBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    known = jpeg(33)
    bank(service, known)
    photo_post(fake, 73, known)
    fake.fail("getUpdates", 502, "Bad Gateway")
    fake.fail("getFile", 429, "Too Many Requests: retry after 1", retry_after=1)
    fake.answer_raw("getFile", 503, b"<html>upstream " + TOKEN.encode() + b"</html>")
    bot.poll_once()
    service.dispatcher().run_once()
    assert fake.downloads and fake.calls_of("deleteMessage")
    messages = [r.getMessage() for r in caplog.records]
    assert any("file/bot<redacted>" in m for m in messages)
    assert any("trying again" in m for m in messages)
    assert not [m for m in messages if TOKEN.split(":", 1)[1] in m]


def test_an_unreachable_api_is_retryable_without_the_token() -> None:
    closed = FakeTelegram()
    url = closed.url
    closed.stop()
    api = BotApi(TOKEN, api_url=url, retry=RETRY, sleep=lambda s: None)
    with pytest.raises(BotApiError) as caught:
        api.get_updates(None, 0)
    assert caught.value.retryable and TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None


# -- delivery, webhook -------------------------------------------------------------------


def test_deliveries_wake_when_the_bot_records_effects(
    fake: FakeTelegram, service: Service, api: BotApi
) -> None:
    service.refresh_matcher(force=True)
    deliveries = Deliveries(service.dispatcher(), poll_seconds=3600).start()
    try:
        bot = TelegramBot(service, api, ME, poll_seconds=0, on_effects=deliveries.wake)
        known = jpeg(34)
        bank(service, known)
        photo_post(fake, 74, known)
        bot.poll_once()
        # The dispatcher sleeps an hour between polls: only the wake-up delivers this.
        assert wait_for(lambda: bool(fake.calls_of("deleteMessage")), timeout=30)
    finally:
        deliveries.stop()


def test_the_webhook_checks_its_secret_and_records_each_update_once(
    fake: FakeTelegram, service: Service, bot: TelegramBot
) -> None:
    server = WebhookServer(bot, WEBHOOK_SECRET, port=0).start()
    host, port = server.address
    url = f"http://{host}:{port}{WEBHOOK_PATH}"
    update = {
        "update_id": 9001,
        "message": message(80, photo=photo((fake.add_file(jpeg(35)), 640, 480))),
    }
    try:
        with httpx.Client() as client:
            assert client.post(url, json=update).status_code == 401
            wrong = {SECRET_HEADER: WEBHOOK_SECRET + "x"}
            assert client.post(url, json=update, headers=wrong).status_code == 401
            right = {SECRET_HEADER: WEBHOOK_SECRET}
            other = f"http://{host}:{port}/elsewhere"
            assert client.post(other, json=update, headers=right).status_code == 404
            assert client.post(url, content=b"{", headers=right).status_code == 400
            for _ in range(2):  # Telegram retries when it got no answer
                assert client.post(url, json=update, headers=right).status_code == 200
    finally:
        server.stop()
    (item,) = items(service)
    assert item["message_id"] == "80" and len(fake.downloads) == 1


def test_set_and_delete_webhook(fake: FakeTelegram, api: BotApi) -> None:
    assert api.set_webhook("https://bot.example.org/telegram/webhook", WEBHOOK_SECRET, ["message"])
    assert fake.webhook is not None and fake.webhook["secret_token"] == WEBHOOK_SECRET
    assert api.delete_webhook() and fake.webhook is None
    assert api.get_updates(None, 0) == []


# -- offsets (SQLite and PostgreSQL) -----------------------------------------------------


@pytest.mark.parametrize(
    "backend",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_offsets_survive_a_restart_and_crashes(
    fake: FakeTelegram,
    service: Service,
    api: BotApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service.refresh_matcher(force=True)
    ids = [photo_post(fake, 100 + n, jpeg(40 + n)) for n in range(4)]

    # 1. A crash while recording the second update: the first is recorded and confirmed.
    first = TelegramBot(service, api, ME, poll_seconds=0)
    real_ingest = service.ingest
    calls = {"n": 0}

    def crash_on_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(service, "ingest", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        first.poll_once()
    assert first.offset() == ids[0] + 1
    monkeypatch.setattr(service, "ingest", real_ingest)

    # 2. A restart, then a crash after recording the third update but before its offset.
    second = TelegramBot(service, api, ME, poll_seconds=0)
    assert second.offset() == ids[0] + 1
    real_save = second.checkpoints.save

    def crash_on_third(name: str, value: dict[str, Any], **kwargs: Any) -> None:
        if value["offset"] == ids[2] + 1:
            raise KeyboardInterrupt("killed")
        real_save(name, value, **kwargs)

    monkeypatch.setattr(second.checkpoints, "save", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        second.poll_once()
    assert second.offset() == ids[1] + 1

    # 3. Another restart: the third is delivered again (not recorded again), the fourth too.
    third = TelegramBot(service, api, ME, poll_seconds=0)
    assert third.poll_once() == 2
    assert third.offset() == ids[3] + 1
    assert third.poll_once() == 0
    assert fake.confirmed == ids and fake.updates == []
    with service.ws.sessions() as session:
        recorded = session.execute(
            select(Item.message_id, func.count())
            .group_by(Item.message_id)
            .order_by(Item.message_id)
        ).all()
    assert [(m, n) for m, n in recorded] == [("100", 1), ("101", 1), ("102", 1), ("103", 1)]
    # Fetched again: only the update in flight at the first crash (nothing recorded). The third,
    # recorded before the second crash, was known by its external_id and not fetched again.
    fetched = [fake.downloads.count(path) for path in dict.fromkeys(fake.downloads)]
    assert fetched == [1, 2, 1, 1]
    assert third.checkpoints.names("telegram-bot:") == [checkpoint_name(ME)]


# -- reading updates (pure) --------------------------------------------------------------


def test_the_largest_photo_size_by_pixels_is_chosen() -> None:
    sizes = [
        {"file_id": "a", "file_unique_id": "ua", "width": 90, "height": 90, "file_size": 999},
        {"file_id": "c", "file_unique_id": "uc", "width": 1280, "height": 960},
        {"file_id": "b", "file_unique_id": "ub", "width": 320, "height": 320},
    ]
    ref = media_of({"photo": sizes})
    assert ref is not None and (ref.kind, ref.file_id, ref.file_size) == ("photo", "c", None)
    assert media_of({"text": "hi"}) is None
    assert media_of({"video": {"file_id": "v"}}) is None  # no file_unique_id: not a file


@pytest.mark.parametrize(
    ("text", "ours"),
    [
        ("/report", True),
        ("/report because", True),
        (f"/report@{BOT_USERNAME}", True),
        (f"/report@{BOT_USERNAME.upper()} why", True),
        ("/report@other_bot", False),
        ("/reports", False),
        ("please /report", False),
    ],
)
def test_report_commands(text: str, ours: bool) -> None:
    assert is_report({"text": text}, BOT_USERNAME) is ours


def test_authors_links_and_ids() -> None:
    basic = {"id": -4001, "title": "Small group", "type": "group"}
    assert message_link(basic, 5) is None
    assert message_link(GROUP, 5) == f"https://t.me/c/{str(CHAT_ID)[4:]}/5"
    anonymous_admin = message(5, sender_chat={**GROUP, "type": "supergroup"})
    assert author_of(anonymous_admin) == f"chat{CHAT_ID}"
    post = post_of({"update_id": 1, "edited_channel_post": message(5, edit_date=77)})
    assert post is not None and post.edited
    assert external_id(post) == f"telegram:{CHAT_ID}:5:edit:77"
    assert post_of({"update_id": 2, "my_chat_member": {}}) is None
    assert post_of({"message": message(5)}) is None  # no update_id


def test_updates_keep_their_bytes_and_an_unsliceable_one_is_still_handed_on() -> None:
    deep: Any = []
    for _ in range(80):
        deep = [deep]
    hostile = {"update_id": 2, "message": message(6, text="deep", entities=deep)}
    answer = {"ok": True, "result": [{"update_id": 1, "message": message(5, text="한")}, hostile]}
    body = json.dumps(answer, indent=2, ensure_ascii=False).encode()
    first, second = updates_of(json.loads(body)["result"], body)
    assert isinstance(first, RawUpdate) and first.raw in body
    post = post_of(first)
    assert post is not None and post.raw is not None
    assert post.raw.encode() in body and json.loads(post.raw) == message(5, text="한")
    assert not isinstance(second, RawUpdate) and second == hostile
    assert post_of(second).raw is None  # type: ignore[union-attr]


def test_typed_author_ids_reach_the_sink_as_user_ids() -> None:
    verdict = Verdict(
        "remove", (Reason("bank-match", "remove"),), "p1", True, actions=("ban_author",)
    )
    routes = {"mode": "live", "webhook": False, "telegram": True, "origin": "verdict:1"}
    user = Target("telegram", chat_id=str(CHAT_ID), message_id="5", author_id="user777")
    (ban,) = effects_for(verdict, user, **routes)
    assert (ban.sink, ban.action) == ("telegram", "banChatMember")
    assert ban.payload == {"chat_id": CHAT_ID, "user_id": 777}
    channel = Target("telegram", chat_id=str(CHAT_ID), message_id="5", author_id="channel-1005")
    (refused,) = effects_for(verdict, channel, **routes)
    assert refused.sink == "dry_run" and refused.payload["reason"] == "target has no author_id"
