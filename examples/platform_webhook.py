"""Receive Jikimi's decisions as a platform: a webhook endpoint that checks the signature, acts
once per event, and answers 2xx so Jikimi stops retrying.

    export JIKIMI_WEBHOOK_SECRET=...   # the same value as Jikimi's webhook_secret setting
    python examples/platform_webhook.py --port 9000

Point Jikimi's ``webhook_url`` at ``http://<this host>:9000/jikimi``. Events (docs/actions.md):
``verdict`` (the automated verdict at upload), ``remove_item`` and ``restore_item`` (a reviewer's
decision, a removal of identical copies, a reversal after an appeal), ``ban_author`` and the
other actions a policy names. A real platform keeps the ids it has acted on in its database;
this example keeps them in memory.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jikimi.client import InvalidWebhook, verify_webhook

MAX_BODY = 1024 * 1024


class Receiver:
    """Checks, deduplicates and hands each event to ``act`` once."""

    def __init__(self, secret: str, act: Callable[[dict[str, Any]], None]) -> None:
        self._secret = secret
        self._act = act
        self._done: set[str] = set()

    def handle(self, body: bytes, signature: str | None) -> tuple[int, str]:
        """The status and text to answer a POST with."""
        try:
            event = verify_webhook(body, signature, self._secret)
        except InvalidWebhook as exc:
            return 400, f"refused: {exc}"
        if event.get("id") in self._done:
            return 200, "already handled"
        self._act(event)
        self._done.add(str(event.get("id")))
        return 200, "handled"


def print_event(event: dict[str, Any]) -> None:
    target = event.get("target", {})
    where = f"{target.get('platform')}:{target.get('chat_id')}/{target.get('message_id')}"
    print(f"{event.get('event')} {where} (item {target.get('item_id')})", flush=True)


def serve(receiver: Receiver, port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                status, text = 413, "too large"
            else:
                body = self.rfile.read(length)
                status, text = receiver.handle(body, self.headers.get("Jikimi-Signature"))
            answer = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)
    secret = os.environ.get("JIKIMI_WEBHOOK_SECRET")
    if not secret:
        print("set JIKIMI_WEBHOOK_SECRET to Jikimi's webhook_secret", file=sys.stderr)
        return 2
    serve(Receiver(secret, print_event), args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
