"""A fake Telegram Bot API on loopback that speaks the real wire format.

``POST|GET /bot<token>/<method>`` with JSON, form or query parameters; answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": "...",
"parameters"?: {...}}`` with the same HTTP status, as https://core.telegram.org/bots/api
describes. Implements ``getMe``, ``deleteMessage``, ``banChatMember``, ``unbanChatMember``,
``restrictChatMember`` and ``sendMessage`` with the Bot API's own error texts for the cases the
tests need: a wrong token is ``401 Unauthorized``, an unknown method ``404 Not Found``, a message
that is not there ``400 Bad Request: message to delete not found``. Scripted failures
(:meth:`FakeTelegram.fail`, e.g. 429 with ``parameters.retry_after``) come first.

For the bot (``jikimi telegram-bot``): ``getUpdates`` with the real offset semantics (updates
below ``offset`` are confirmed and dropped for good; with none pending the call waits up to
``timeout`` seconds for one; 409 while a webhook is set), ``getFile`` (``file_path`` and
``file_size``; ``400 Bad Request: file is too big`` above 20 MB), the download path
``GET /file/bot<token>/<file_path>``, ``setWebhook``/``deleteWebhook``, and delays
(:meth:`FakeTelegram.delay`) that make a client time out.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.loopback import LoopbackServer, QuietHandler

TOKEN = "123456789:AAHfakeTokenForTestsOnly-x_yz0123456789"
BOT_ID = 123456789
BOT_USERNAME = "jikimi_bot"
DOWNLOAD_LIMIT = 20 * 1024**2  # the cloud Bot API's getFile limit
MAX_POLL_SECONDS = 50


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    content_type: str
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class FakeFile:
    """A file the fake serves: ``file_size`` may claim more than ``content`` holds (a 25 MB
    document without 25 MB of test data)."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_size: int
    file_path: str

    def as_object(self) -> dict[str, Any]:
        """The ``file_id``/``file_unique_id``/``file_size`` fields a message carries."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }


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
        self._delays: list[tuple[str, float]] = []
        self._next_message_id = 1000
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # new updates, or stopping
        self.updates: list[dict[str, Any]] = []  # pending: not yet confirmed by an offset
        self.confirmed: list[int] = []  # update ids dropped by an offset, in order
        self._next_update_id = 500_000
        self.files: dict[str, FakeFile] = {}  # by file_id
        self.downloads: list[str] = []  # file paths fetched, in order
        self.answered: list[bytes] = []  # the bodies of API answers, in order
        self.webhook: dict[str, Any] | None = None
        self._stopping = False
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                self._answer()

            def do_GET(self) -> None:
                self._answer()

            def _answer(self) -> None:
                body = self.body()
                if self.path.startswith("/file/"):
                    status, data, kind = fake._download(self.path)
                else:
                    status, data = fake._handle(
                        self.path, self.headers.get("Content-Type", ""), body
                    )
                    kind = "application/json"
                    fake.answered.append(data)
                self.reply(status, data, {"Content-Type": kind})

        self._server = LoopbackServer(Handler)

    # -- test controls --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._server.base_url

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

    def delay(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` wait ``seconds`` before answering (a client
        with a shorter timeout sees a timeout)."""
        with self._lock:
            self._delays.extend([(method, seconds)] * times)

    def add_file(
        self, content: bytes, *, file_size: int | None = None, unique_id: str | None = None
    ) -> FakeFile:
        """A file to serve; ``unique_id`` repeats another file's (the same file sent again:
        a new ``file_id``, the same ``file_unique_id``)."""
        with self._lock:
            n = len(self.files) + 1
            fake = FakeFile(
                file_id=f"BQACAgIAAxkBAAI{n:06d}",
                file_unique_id=unique_id or f"AgADuniq{n:06d}",
                content=content,
                file_size=len(content) if file_size is None else file_size,
                file_path=f"documents/file_{n}.bin",
            )
            self.files[fake.file_id] = fake
            return fake

    def push(self, kind: str, message: dict[str, Any]) -> int:
        """An update of ``kind`` (message, channel_post, edited_message...) carrying
        ``message``; its update_id. The message counts as posted (deleteMessage finds it)."""
        with self._lock:
            self._next_update_id += 1
            update_id = self._next_update_id
            self.updates.append({"update_id": update_id, kind: message})
            self.messages.add((message["chat"]["id"], message["message_id"]))
            self._changed.notify_all()
            return update_id

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
            wait = next((i for i, (m, _) in enumerate(self._delays) if m == method), None)
            seconds = self._delays.pop(wait)[1] if wait is not None else 0.0
        if seconds:
            time.sleep(seconds)
        with self._lock:
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
            "username": BOT_USERNAME,
            "can_join_groups": True,
        }

    def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        # Called holding self._lock; self._changed.wait releases it while the poll waits.
        if self.webhook is not None:
            raise _Error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        if offset > 0:
            self.confirmed += [u["update_id"] for u in self.updates if u["update_id"] < offset]
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_POLL_SECONDS)
        while True:
            pending = [u for u in self.updates if not allowed or _kind(u) in allowed]
            left = deadline - time.monotonic()
            if pending or left <= 0 or self._stopping:
                return pending[:limit]
            self._changed.wait(left)

    def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file = self.files.get(str(params.get("file_id") or ""))
        if file is None:
            raise _Error(400, "Bad Request: invalid file_id")
        if file.file_size > DOWNLOAD_LIMIT:
            raise _Error(400, "Bad Request: file is too big")
        return {**file.as_object(), "file_path": file.file_path}

    def _download(self, path: str) -> tuple[int, bytes, str]:
        prefix = f"/file/bot{self.token}/"
        if not path.startswith(prefix):
            return (
                401,
                b'{"ok":false,"error_code":401,"description":"Unauthorized"}',
                "application/json",
            )
        file_path = path[len(prefix) :]
        with self._lock:
            self.downloads.append(file_path)
            found = next((f for f in self.files.values() if f.file_path == file_path), None)
        if found is None:
            return (
                404,
                b'{"ok":false,"error_code":404,"description":"Not Found"}',
                "application/json",
            )
        return 200, found.content, "application/octet-stream"

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url")
        if not url:
            self.webhook = None
        elif not str(url).startswith("https://"):
            raise _Error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        else:
            self.webhook = dict(params)
        return True

    def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

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
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message["reply_to_message"] = {"message_id": reply.get("message_id")}
        self.sent.append(message)
        self.messages.add((chat_id, self._next_message_id))
        return message

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        self._server.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._changed.notify_all()
        self._server.stop()


def _encode(status: int, answer: dict[str, Any]) -> tuple[int, bytes]:
    # Compact, keys in the order built, non-ASCII as \u escapes: bytes that no re-encoding
    # of the parsed answer by the client gives back.
    return status, json.dumps(answer, separators=(",", ":")).encode()


def _kind(update: dict[str, Any]) -> str:
    return next(k for k in update if k != "update_id")


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


# -- messages as the Bot API sends them (https://core.telegram.org/bots/api#message) --------

GROUP = {"id": -1001234567890, "title": "Class of 2026", "type": "supergroup"}
MEMBER = {"id": 777, "is_bot": False, "first_name": "Min", "username": "min_j"}


def message(
    message_id: int,
    *,
    chat: dict[str, Any] | None = None,
    sender: dict[str, Any] | None = None,
    date: int = 1_764_000_000,
    **fields: Any,
) -> dict[str, Any]:
    """A message in ``chat`` (the supergroup by default) from ``sender`` (a member), with
    ``fields`` (text, caption, photo, document, reply_to_message...)."""
    out: dict[str, Any] = {"message_id": message_id, "date": date, "chat": chat or GROUP}
    if sender is not None or "sender_chat" not in fields:
        out["from"] = sender or MEMBER
    out.update(fields)
    return out


def photo(*sizes: tuple[FakeFile, int, int]) -> list[dict[str, Any]]:
    """A ``photo`` field: one PhotoSize per (file, width, height), smallest first as Telegram
    sends them."""
    return [{**f.as_object(), "width": w, "height": h} for f, w, h in sizes]


def document(file: FakeFile, name: str = "file.jpg", mime: str = "image/jpeg") -> dict[str, Any]:
    return {**file.as_object(), "file_name": name, "mime_type": mime}
