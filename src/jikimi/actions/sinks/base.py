"""The sink protocol, and what sinks share: HTTP error mapping and secret redaction.

A sink is the only code that touches a platform (DESIGN.md principle 7). It takes one claimed
outbox entry and either returns a JSON-able result (recorded on the row) or raises
:class:`jikimi.errors.SinkError` saying whether a retry could help. The dispatcher owns retries,
backoff and dead-lettering; a sink makes exactly one attempt per call.
"""

from __future__ import annotations

import email.utils
import logging
import time
from typing import Any, Protocol, runtime_checkable

from jikimi.actions.outbox import OutboxEntry

__all__ = [
    "RETRY_AFTER_MAX_SECONDS",
    "Redactor",
    "Sink",
    "parse_retry_after",
    "redact_logs",
]

#: Longest ``Retry-After`` honoured as given (one day); longer values are cut to this.
RETRY_AFTER_MAX_SECONDS = 86_400.0


@runtime_checkable
class Sink(Protocol):
    """Delivers effects whose ``sink`` is ``name``."""

    name: str

    def deliver(self, entry: OutboxEntry) -> dict[str, Any]:
        """One delivery attempt: a JSON-able result, or :class:`SinkError`."""
        ...


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` header (RFC 9110 §10.2.3: delay-seconds or
    an HTTP date); ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_SECONDS)


class Redactor:
    """Replaces secrets (and their URL-encoded forms) in text with ``<redacted>``."""

    def __init__(self, *secrets: str) -> None:
        from urllib.parse import quote

        forms = {s for secret in secrets if secret for s in (secret, quote(secret, safe=""))}
        self._forms = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "<redacted>")
        return text


class _RedactingFilter(logging.Filter):
    """One filter per logger holding every registered secret, so the longest is replaced
    first even when secrets overlap (a webhook URL's path and its query, say)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self._redact = Redactor()

    def add(self, secret: str) -> None:
        if secret not in self.secrets:
            self.secrets.add(secret)
            self._redact = Redactor(*self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self._redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTERS: dict[str, _RedactingFilter] = {}


def redact_logs(secret: str, loggers: tuple[str, ...] = ("httpx",)) -> None:
    """Keep ``secret`` out of the HTTP client's logs: httpx logs every request URL at INFO (on
    the ``httpx`` logger itself; httpcore's loggers never print the URL), and the Telegram Bot
    API puts the bot token in the URL. Idempotent."""
    for name in loggers:
        if name not in _FILTERS:
            _FILTERS[name] = _RedactingFilter()
            logging.getLogger(name).addFilter(_FILTERS[name])
        _FILTERS[name].add(secret)
