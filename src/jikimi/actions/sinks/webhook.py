"""The signed webhook sink: one HTTPS POST per effect to the platform's endpoint.

Body: the canonical JSON (sorted keys, no whitespace, UTF-8) of ::

    {"id": <idempotency key>, "event": <action>, "created_at": <ISO 8601 UTC>,
     "target": {...}, "payload": {...}}

identical on every attempt. Headers: ``Content-Type: application/json``, ``Idempotency-Key``
(the same key: a receiver drops repeats), ``Jikimi-Event`` (the action), ``Jikimi-Attempt``, and
``Jikimi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``, the scheme
Stripe made common: the timestamp is signed with the body, so a receiver that refuses old
timestamps (:func:`jikimi.webhook_signature.verify_signature`, 5 minutes by default) refuses
replays. A receiver
verifies the raw body bytes, before parsing them.

Outcomes: 2xx delivered; 408, 429 (``Retry-After`` honoured), 5xx, timeouts and connection
errors retryable; any other status (redirects included: they are not followed) permanent. The
URL is never put into an error message: webhook URLs often carry a token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from jikimi import __version__
from jikimi.actions.effects import canonical_json
from jikimi.actions.outbox import OutboxEntry
from jikimi.actions.sinks.base import parse_retry_after, redact_logs
from jikimi.errors import SinkError
from jikimi.webhook_signature import SIGNATURE_HEADER, sign, verify_signature

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookSink",
    "sign",
    "verify_signature",
    "webhook_body",
]

RESPONSE_KEEP_BYTES = 4_096
_SNIPPET_CHARS = 200
# Shorter URL parts are not worth hiding (and hiding them would mangle unrelated log lines).
_SECRET_MIN_CHARS = 8


def webhook_body(entry: OutboxEntry) -> bytes:
    """The bytes POSTed for ``entry``: the same on every attempt."""
    return canonical_json(
        {
            "id": entry.idempotency_key,
            "event": entry.action,
            "created_at": entry.created_at.isoformat(timespec="microseconds"),
            "target": entry.target,
            "payload": entry.payload,
        }
    )


class WebhookSink:
    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        name: str = "webhook",
    ) -> None:
        """``name``: the sink name effects are routed by; another name makes a second webhook
        (``notify_webhook``) with its own URL and secret."""
        if not url.startswith(("https://", "http://")):
            raise ValueError("the webhook URL must start with https:// (or http://)")
        if not secret:
            raise ValueError("the webhook secret must not be empty: it signs every delivery")
        self.name = name
        self._url = url
        self._secret = secret
        for part in _url_secrets(url):
            redact_logs(part)
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._clock = clock

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def deliver(self, entry: OutboxEntry) -> dict[str, Any]:
        body = webhook_body(entry)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"jikimi/{__version__}",
            "Idempotency-Key": entry.idempotency_key,
            "Jikimi-Event": entry.action,
            "Jikimi-Attempt": str(entry.attempts),
            SIGNATURE_HEADER: sign(body, self._secret, int(self._clock())),
        }
        try:
            response = self._client.post(
                self._url,
                content=body,
                headers=headers,
                timeout=self._timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException:
            raise SinkError(
                f"webhook: no answer within {self._timeout:g} s", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise SinkError(
                f"webhook: could not reach the receiver ({type(exc).__name__})", retryable=True
            ) from None
        except httpx.HTTPError as exc:
            raise SinkError(
                f"webhook: the request could not be made ({type(exc).__name__})", retryable=False
            ) from None
        return _outcome(response)


def _url_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that may be credentials (userinfo, path, query), as written
    and as httpx normalises them, for log redaction: httpx logs every request URL at INFO."""
    parsed = httpx.URL(url)
    written = urlsplit(url)
    parts = [
        parsed.userinfo.decode(),
        parsed.path,
        parsed.raw_path.decode(),
        parsed.query.decode(),
        written.netloc.rpartition("@")[0],
        written.path,
        written.query,
    ]
    return sorted({p for p in parts if len(p) >= _SECRET_MIN_CHARS}, key=len, reverse=True)


def _outcome(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if 200 <= status < 300:
        result: dict[str, Any] = {"status": status}
        kept = _json_body(response)
        if kept is not None:
            result["response"] = kept
        return result
    snippet = response.text[:_SNIPPET_CHARS].strip()
    said = f": {snippet}" if snippet else ""
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise SinkError(f"webhook answered {status}{said}", retryable=True, retry_after=retry_after)
    hint = " (redirects are not followed: configure the final URL)" if 300 <= status < 400 else ""
    raise SinkError(f"webhook answered {status}{said}; not retried{hint}", retryable=False)


def _json_body(response: httpx.Response) -> Any:
    if len(response.content) > RESPONSE_KEEP_BYTES:
        return None
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        return json.loads(response.content, parse_constant=_refuse_constant)
    except ValueError:
        return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN/Infinity: not storable on PostgreSQL
