"""A fake Telegram Bot API on loopback that speaks the real wire format.

``POST|GET /bot<token>/<method>`` with JSON, form or query parameters; answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": "...",
"parameters"?: {...}}`` with the same HTTP status, as https://core.telegram.org/bots/api
describes. Implements ``getMe``, ``deleteMessage``, ``banChatMember``, ``unbanChatMember``,
``restrictChatMember`` and ``sendMessage`` with the Bot API's own error texts for the cases the
tests need: a wrong token is ``401 Unauthorized``, an unknown method ``404 Not Found``, a message
that is not there ``400 Bad Request: message to delete not found``. Scripted failures
(:meth:`FakeTelegram.fail`, e.g. 429 with ``parameters.retry_after``) come first.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOKEN = "123456789:AAHfakeTokenForTestsOnly-x_yz0123456789"
BOT_ID = 123456789


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    content_type: str


class _Error(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages: set[tuple[int | str, int]] = set()
        self.banned: set[tuple[int | str, int]] = set()
        self.restricted: dict[tuple[int | str, int], dict[str, Any]] = {}
        self.sent: list[dict[str, Any]] = []
        self._script: list[tuple[str, int, dict[str, Any] | bytes]] = []
        self._next_message_id = 1000
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._answer()

            def do_GET(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, data = fake._handle(self.path, self.headers.get("Content-Type", ""), body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- test controls --------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_message(self, chat_id: int | str, message_id: int) -> None:
        with self._lock:
            self.messages.add((chat_id, message_id))

    def fail(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        parameters: dict[str, Any] | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` answer this Bot API error (``retry_after``
        goes into ``parameters``, as Telegram sends it)."""
        answer: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
        parameters = dict(parameters or {})
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if parameters:
            answer["parameters"] = parameters
        with self._lock:
            self._script.extend([(method, error_code, answer)] * times)

    def answer_raw(self, method: str, status: int, body: bytes) -> None:
        """The next call of ``method`` gets this status and body (a proxy's HTML error page)."""
        with self._lock:
            self._script.append((method, status, body))

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # -- the API --------------------------------------------------------------------------

    def _handle(self, path: str, content_type: str, body: bytes) -> tuple[int, bytes]:
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        if len(segments) != 2 or not segments[0].startswith("bot"):
            return _encode(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, method = segments[0][3:], segments[1]
        if token != self.token:
            return _encode(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        params: dict[str, Any] = dict(parse_qsl(parts.query))
        if body and "application/json" in content_type:
            params.update(json.loads(body))
        elif body:
            params.update(parse_qsl(body.decode()))
        with self._lock:
            self.calls.append(Call(method, params, content_type))
            for i, (scripted, status, answer) in enumerate(self._script):
                if scripted == method:
                    del self._script[i]
                    return (
                        (status, answer) if isinstance(answer, bytes) else _encode(status, answer)
                    )
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                return _encode(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            try:
                return _encode(200, {"ok": True, "result": handler(params)})
            except _Error as exc:
                answer = {"ok": False, "error_code": exc.code, "description": exc.description}
                if exc.parameters:
                    answer["parameters"] = exc.parameters
                return _encode(exc.code, answer)

    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Jikimi",
            "username": "jikimi_bot",
            "can_join_groups": True,
        }

    def _m_deleteMessage(self, params: dict[str, Any]) -> bool:
        chat_id = _chat_id(params)
        message_id = _int(params, "message_id")
        if (chat_id, message_id) not in self.messages:
            raise _Error(400, "Bad Request: message to delete not found")
        self.messages.discard((chat_id, message_id))
        return True

    def _m_banChatMember(self, params: dict[str, Any]) -> bool:
        self.banned.add((_chat_id(params), _int(params, "user_id")))
        return True

    def _m_unbanChatMember(self, params: dict[str, Any]) -> bool:
        self.banned.discard((_chat_id(params), _int(params, "user_id")))
        return True

    def _m_restrictChatMember(self, params: dict[str, Any]) -> bool:
        chat_id, user_id = _chat_id(params), _int(params, "user_id")
        permissions = params.get("permissions")
        if isinstance(permissions, str):
            try:
                permissions = json.loads(permissions)
            except ValueError:
                permissions = None
        if not isinstance(permissions, dict):
            raise _Error(400, "Bad Request: can't parse permissions JSON object")
        self.restricted[(chat_id, user_id)] = permissions
        return True

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _Error(400, "Bad Request: message text is empty")
        self._next_message_id += 1
        message = {
            "message_id": self._next_message_id,
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Jikimi",
                "username": "jikimi_bot",
            },
            "chat": {"id": chat_id, "title": "A private group", "type": "supergroup"},
            "date": int(time.time()),
            "text": text,
        }
        self.sent.append(message)
        self.messages.add((chat_id, self._next_message_id))
        return message

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


def _encode(status: int, answer: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(answer).encode()


def _int(params: dict[str, Any], name: str) -> int:
    value = params.get(name)
    if value is None or value == "":
        raise _Error(400, f"Bad Request: {name} is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _Error(400, f"Bad Request: invalid {name} specified") from None


def _chat_id(params: dict[str, Any]) -> int | str:
    value = params.get("chat_id")
    if value is None or value == "":
        raise _Error(400, "Bad Request: chat_id is empty")
    if isinstance(value, str) and value.startswith("@"):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _Error(400, "Bad Request: chat not found") from None


@contextmanager
def fake_telegram(token: str = TOKEN) -> Iterator[FakeTelegram]:
    fake = FakeTelegram(token).start()
    try:
        yield fake
    finally:
        fake.stop()
