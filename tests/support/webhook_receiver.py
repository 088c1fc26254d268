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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, headers, answer, delay = receiver._record(
                    Request(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/jikimi"

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
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
