"""Webhook mode: Telegram POSTs each update to ``/telegram/webhook`` (https://core.telegram.org
/bots/api#setwebhook) instead of the bot polling.

The server listens on loopback only; a reverse proxy with TLS forwards Telegram's requests to
it. A request must carry the secret given to ``setWebhook`` in
``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time). The update is handled exactly
as a polled one and answered ``200`` once recorded (one scan: well under a second), so a crash
makes Telegram deliver it again (``external_id`` keeps that harmless) instead of losing it;
a failure answers ``503`` and Telegram retries.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy.exc import SQLAlchemyError

from jikimi.connectors.telegram_bot import TelegramBot
from jikimi.connectors.telegram_update import RawUpdate
from jikimi.errors import JikimiError

__all__ = ["MAX_UPDATE_BYTES", "SECRET_HEADER", "WEBHOOK_PATH", "WebhookServer"]

log = logging.getLogger("jikimi.telegram_bot")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024**2  # an update is JSON text; media come by getFile


class WebhookServer:
    def __init__(self, bot: TelegramBot, secret: str, *, port: int, host: str = "127.0.0.1"):
        if not secret:
            raise JikimiError(
                "webhook mode needs telegram_webhook_secret (JIKIMI_TELEGRAM_WEBHOOK_SECRET): "
                "1-256 characters A-Z, a-z, 0-9, _ and -, given to setWebhook as secret_token"
            )
        expected = secret.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != WEBHOOK_PATH:
                    self._reply(404)
                    return
                given = (self.headers.get(SECRET_HEADER) or "").encode()
                if not hmac.compare_digest(given, expected):
                    self._reply(401)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length <= 0 or length > MAX_UPDATE_BYTES:
                    self._reply(413 if length > 0 else 400)
                    return
                body = self.rfile.read(length)
                try:
                    update = json.loads(body)
                except (ValueError, RecursionError):
                    self._reply(400)
                    return
                if not isinstance(update, dict):
                    self._reply(400)
                    return
                self._reply(_handle(bot, RawUpdate(update, body)))

            def _reply(self, status: int) -> None:
                body = b"{}" if status == 200 else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # request lines name no secret, but nothing here is worth a log line

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.block_on_close = True  # stop() waits for updates in flight
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="jikimi-telegram-webhook", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> WebhookServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


def _handle(bot: TelegramBot, update: dict) -> int:
    """200 once recorded; 503 (Telegram retries) when it could not be."""
    try:
        bot.handle(update)
    except (JikimiError, SQLAlchemyError, OSError):
        update_id = update.get("update_id")
        log.exception("update %s not recorded; Telegram will deliver it again", update_id)
        return 503
    return 200
