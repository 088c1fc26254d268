"""`jikimi telegram-bot` against a fake Bot API: --once in-process, webhook management, a
missing token, a real polling process stopped by SIGTERM with its offset saved, and a real
webhook process receiving updates as Telegram posts them."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.cli.conftest import Runner
from tests.support.fake_telegram import TOKEN, FakeTelegram, fake_telegram, message, photo
from tests.web.helpers import jpeg, wait_for

from jikimi.settings import load_settings
from jikimi.store.checkpoints import Checkpoints
from jikimi.store.models import Item
from jikimi.workspace import Workspace

WEBHOOK_URL = "https://bot.example.org/telegram/webhook"


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with fake_telegram() as f:
        yield f


@pytest.fixture
def configured(workspace: Path, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JIKIMI_TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("JIKIMI_TELEGRAM_API_URL", fake.url)
    monkeypatch.setenv("JIKIMI_ACTIONS_MODE", "live")
    return workspace


def post_known_photo(cli: Runner, fake: FakeTelegram, tmp_path: Path, message_id: int) -> int:
    known = jpeg(7)
    path = tmp_path / "known.jpg"
    path.write_bytes(known)
    assert cli("bank", "create", "auto", "--auto-action").code == 0
    assert cli("bank", "add", "auto", path).code == 0
    return fake.push("message", message(message_id, photo=photo((fake.add_file(known), 640, 480))))


def test_once_handles_what_is_waiting_and_delivers(
    cli: Runner, configured: Path, fake: FakeTelegram, tmp_path: Path
) -> None:
    update_id = post_known_photo(cli, fake, tmp_path, 42)
    run = cli("telegram-bot", "--once")
    assert run.code == 0, run.err
    assert run.out.startswith("handled 1 updates, delivered ")
    (delete,) = fake.calls_of("deleteMessage")
    assert delete.params["message_id"] == 42
    with Workspace.open(load_settings()) as ws:
        assert Checkpoints(ws.sessions).load("telegram-bot:123456789") == {"offset": update_id + 1}
    again = cli("telegram-bot", "--once")
    assert again.out.startswith("handled 0 updates")
    assert fake.calls_of("getUpdates")[-1].params["offset"] == update_id + 1


def test_no_worker_leaves_effects_in_the_outbox(
    cli: Runner, configured: Path, fake: FakeTelegram, tmp_path: Path
) -> None:
    post_known_photo(cli, fake, tmp_path, 43)
    assert cli("telegram-bot", "--once", "--no-worker").code == 0
    assert fake.calls_of("deleteMessage") == []
    assert cli("worker", "--once").code == 0
    assert len(fake.calls_of("deleteMessage")) == 1


def test_a_missing_token_says_how_to_set_it(
    cli: Runner, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIKIMI_TELEGRAM_BOT_TOKEN", raising=False)
    run = cli("telegram-bot", "--once")
    assert run.code == 1
    assert "@BotFather" in run.err and "JIKIMI_TELEGRAM_BOT_TOKEN" in run.err


def test_a_wrong_token_is_refused_without_printing_it(
    cli: Runner, configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "987654321:AAWrongTokenWrongTokenWrongToken123"
    monkeypatch.setenv("JIKIMI_TELEGRAM_BOT_TOKEN", wrong)
    run = cli("telegram-bot", "--once")
    assert run.code == 1
    assert "401 Unauthorized" in run.err and "@BotFather" in run.err
    assert wrong.split(":", 1)[1] not in run.err + run.out


def test_webhook_set_conflict_and_delete(
    cli: Runner, configured: Path, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_secret = cli("telegram-bot", "--set-webhook", WEBHOOK_URL)
    assert no_secret.code == 1 and "telegram_webhook_secret" in no_secret.err
    monkeypatch.setenv("JIKIMI_TELEGRAM_WEBHOOK_SECRET", "s3cret-for_tests")
    assert cli("telegram-bot", "--set-webhook", WEBHOOK_URL).code == 0
    assert fake.webhook is not None and fake.webhook["url"] == WEBHOOK_URL
    assert fake.webhook["secret_token"] == "s3cret-for_tests"
    conflict = cli("telegram-bot", "--once")
    assert conflict.code == 1
    assert "409" in conflict.err and "jikimi telegram-bot --delete-webhook" in conflict.err
    assert cli("telegram-bot", "--delete-webhook").code == 0
    assert fake.webhook is None
    assert cli("telegram-bot", "--once").code == 0


def test_sigterm_stops_a_polling_bot_with_its_offset_saved(
    configured: Path, fake: FakeTelegram, tmp_path: Path
) -> None:
    content = jpeg(8)
    update_id = fake.push("message", message(44, photo=photo((fake.add_file(content), 640, 480))))
    env = {**os.environ, "JIKIMI_TELEGRAM_POLL_SECONDS": "50"}
    process = subprocess.Popen(
        [sys.executable, "-m", "jikimi.cli.main", "telegram-bot"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The update is recorded, its offset saved, and the bot waits in the next long poll.
        assert wait_for(
            lambda: any(
                c.params.get("offset") == update_id + 1 for c in fake.calls_of("getUpdates")
            ),
            timeout=120,
        ), f"no offset saved; the bot exited with {process.poll()}"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "stopped" in err and TOKEN.split(":", 1)[1] not in err
    with Workspace.open(load_settings()) as ws:
        assert Checkpoints(ws.sessions).load("telegram-bot:123456789") == {"offset": update_id + 1}
        item = ws.media.get(hashlib.sha256(content).hexdigest())
    assert item is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_webhook_bot_records_what_telegram_posts_and_refuses_a_wrong_secret(
    configured: Path, fake: FakeTelegram
) -> None:
    content = jpeg(9)
    update = {
        "update_id": 900,
        "message": message(90, photo=photo((fake.add_file(content), 64, 48))),
    }
    port = _free_port()
    env = {**os.environ, "JIKIMI_TELEGRAM_WEBHOOK_SECRET": "s3cret-for_tests"}
    process = subprocess.Popen(
        [sys.executable, "-m", "jikimi.cli.main", "telegram-bot", "--webhook", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/telegram/webhook"

    def post(secret: str) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        return httpx.post(url, json=update, headers=headers, timeout=30).status_code

    try:
        assert wait_for(lambda: _listening(port), timeout=120), f"exited {process.poll()}"
        assert post("a-guess") == 401
        assert post("s3cret-for_tests") == 200
        assert post("s3cret-for_tests") == 200  # Telegram retried: recorded once
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    with Workspace.open(load_settings()) as ws, ws.sessions() as session:
        external = session.scalars(select(Item.external_id)).all()
    assert external == [f"telegram:{update['message']['chat']['id']}:90"]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
