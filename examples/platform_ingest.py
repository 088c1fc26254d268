"""Ingest one upload into Jikimi and act on the verdict, as a platform's upload pipeline would.

    export JIKIMI_TOKEN=...          # jikimi user token <platform user>
    python examples/platform_ingest.py --url http://127.0.0.1:8787 photo.jpg

What the platform does with the verdict's ``outcome``:

- ``remove``: do not publish (or take down at once); Jikimi has opened a case and queued the
  removal effects for the platform's sinks.
- ``review``: publish or hold as your policy says; a reviewer decides the case Jikimi opened.
- ``allow``: publish.

A reviewer's later decision comes back to the platform through the signed webhook (or the
Telegram sink), not through this call: see docs/actions.md for the payloads and how to verify
``Jikimi-Signature``. Retrying is safe: the same ``--external-id`` returns the first item.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from jikimi.client import HTTPClient, Item, JikimiAPIError, JikimiClient, JikimiUnavailable

ACTIONS = {
    "remove": "blocked: not published (a case is open; the removal effects are queued)",
    "review": "held for review: a reviewer decides, the decision arrives by webhook",
    "allow": "published",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="the uploaded image or video")
    parser.add_argument("--url", default="http://127.0.0.1:8787", help="the Jikimi service")
    parser.add_argument(
        "--token",
        default=os.environ.get("JIKIMI_TOKEN"),
        help="a platform token (default: $JIKIMI_TOKEN)",
    )
    parser.add_argument("--platform", default="example")
    parser.add_argument("--chat-id", default=None)
    parser.add_argument("--message-id", default=None)
    parser.add_argument("--author-id", default=None)
    parser.add_argument("--text", default=None, help="the caption")
    parser.add_argument(
        "--external-id", default=None, help="your id for the upload (makes retries safe)"
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("no token: pass --token or set JIKIMI_TOKEN")
    return args


def main(argv: list[str] | None = None, *, http: HTTPClient | None = None) -> int:
    """Exit 0 when published, 1 when blocked or held, 2 when the service refused or is down.
    ``http`` sends through another httpx-compatible client (tests pass a TestClient)."""
    args = parse_args(argv)
    item = Item(
        platform=args.platform,
        chat_id=args.chat_id,
        message_id=args.message_id,
        author_id=args.author_id,
        posted_at=datetime.now(UTC),
        external_id=args.external_id,
        text=args.text,
    )
    try:
        with JikimiClient(args.url, args.token, http=http) as jikimi:
            result = jikimi.ingest(item, [args.file])
    except JikimiUnavailable as exc:
        print(f"Jikimi is unavailable, try again later: {exc}", file=sys.stderr)
        return 2
    except JikimiAPIError as exc:
        print(f"Jikimi refused the item: {exc}", file=sys.stderr)
        return 2
    verdict = result.verdict or {}
    outcome = verdict.get("outcome", "allow")
    again = "" if result.created else " (sent before: the first item's verdict)"
    print(f"item {result.item_id}: {outcome}{again}")
    for reason in verdict.get("reasons", []):
        print(f"  rule {reason['rule']}: {reason['outcome']}")
    if result.case_id is not None:
        print(f"  case {result.case_id}")
    print(f"  -> {ACTIONS.get(outcome, 'held: unknown outcome, treat as review')}")
    return 0 if outcome == "allow" else 1


if __name__ == "__main__":
    sys.exit(main())
