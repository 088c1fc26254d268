"""A real HTTP webhook receiver on loopback for the webhook sink's tests.

Records every request (method, path, headers, raw body) and answers from a script: queue
``(status, headers, body)`` answers with :meth:`WebhookReceiver.respond`; when the script is
empty it answers ``200 {"received": true}``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.support.loopback import LoopbackServer, QuietHandler


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._script: list[tuple[int, dict[str, str], bytes, float]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request("POST", self.path, headers, self.body())
                status, answer_headers, answer, delay = receiver._record(request)
                if delay:
                    time.sleep(delay)
                self.reply(status, answer, answer_headers)

        self._server = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return f"{self._server.base_url}/hooks/jikimi"

    def respond(
        self,
        status: int,
        body: bytes | dict | None = None,
        headers: dict[str, str] | None = None,
        *,
        delay: float = 0.0,
    ) -> None:
        """Queue one answer for the next request, sent after ``delay`` seconds."""
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        else:
            data = body or b""
        with self._lock:
            self._script.append((status, headers or {}, data, delay))

    def _record(self, request: Request) -> tuple[int, dict[str, str], bytes, float]:
        with self._lock:
            self.requests.append(request)
            if self._script:
                return self._script.pop(0)
        return 200, {"Content-Type": "application/json"}, b'{"received": true}', 0.0

    def start(self) -> WebhookReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
