"""Locators: where a notice says the content is. A URL, a Telegram message link, or a hash.

A notice must give "information reasonably sufficient to locate" the content (US TAKE IT DOWN
Act, 47 U.S.C. 223a(a)(2)(B); EU DSA Art. 16(2)(b), "the exact electronic location"). We take
three forms, each parsed to a :class:`Locator` or refused with a reason (:class:`NoticeError`):

- ``https://t.me/<channel>/<message>`` (also ``telegram.me``, ``/s/<channel>/<message>`` and
  private ``/c/<internal id>/<message>`` links): kind ``telegram``, with ``chat`` (the lowercased
  username, or ``-100<internal id>`` as the Bot API numbers private chats) and ``message_id``.
- any other ``http``/``https`` URL with a host: kind ``url``.
- ``<signal type>:<hex>`` (``sha256:``, ``md5:``, ``sha1:``, ``pdq:``, ``video_md5:``, ``vpdq:``):
  kind ``hash``; the value is checked by :func:`jikimi.signals.base.validate_value`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from jikimi.errors import NoticeError, SignalValueError
from jikimi.signals.base import SIGNAL_FORMATS, validate_value

__all__ = ["MAX_LOCATOR_CHARS", "TELEGRAM_HOSTS", "Locator", "parse_locator"]

MAX_LOCATOR_CHARS = 2048  # the practical URL limit of browsers and CDNs
TELEGRAM_HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"})

LocatorKind = Literal["url", "telegram", "hash"]

_HASH = re.compile(r"([A-Za-z][A-Za-z0-9_]{0,31}):(?!//)(.*)", re.DOTALL)
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.ASCII)
_USERNAME = re.compile(r"[a-z][a-z0-9_]{3,31}", re.ASCII)  # Telegram: 4-32 characters
_DIGITS = re.compile(r"[0-9]{1,19}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True, slots=True)
class Locator:
    """One parsed locator. ``value`` is normalised: a hash in fixed-width lowercase hex, a
    Telegram link as ``https://t.me/<chat>/<message>``, a URL with scheme and host lowercased."""

    kind: LocatorKind
    value: str
    signal_type: str | None = None
    chat: str | None = None
    message_id: str | None = None

    def __str__(self) -> str:
        return f"{self.signal_type}:{self.value}" if self.kind == "hash" else self.value


def parse_locator(text: str) -> Locator:
    """``text`` as a :class:`Locator`, or :class:`NoticeError` saying why it points nowhere."""
    if not isinstance(text, str):
        raise NoticeError(f"a locator must be text, not {type(text).__name__}")
    text = text.strip()
    if not text:
        raise NoticeError("an empty locator points nowhere; give a URL or a hash like sha256:<hex>")
    if len(text) > MAX_LOCATOR_CHARS:
        raise NoticeError(f"locator is {len(text)} characters; the limit is {MAX_LOCATOR_CHARS}")
    if "://" not in text:
        match = _HASH.fullmatch(text)
        if match is None:
            raise NoticeError(
                f"{_short(text)} is neither a URL (https://host/...) nor a hash "
                "(<type>:<hex>, like sha256:<64 hex digits>)"
            )
        return _hash(match.group(1).lower(), match.group(2))
    return _url(text)


def _hash(signal_type: str, value: str) -> Locator:
    if signal_type not in SIGNAL_FORMATS:
        known = ", ".join(sorted(SIGNAL_FORMATS))
        raise NoticeError(f"unknown hash type {signal_type!r}; use one of: {known}")
    try:
        norm = validate_value(signal_type, value)
    except SignalValueError as exc:
        raise NoticeError(str(exc)) from None
    return Locator("hash", norm, signal_type=signal_type)


def _url(text: str) -> Locator:
    if _CONTROL.search(text):
        raise NoticeError(f"URL {_short(text)} contains spaces or control characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise NoticeError(f"URL {_short(text)} does not parse: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise NoticeError(f"URL scheme {scheme!r} is not http or https")
    if not host or not _valid_host(host):
        raise NoticeError(f"URL {_short(text)} has no valid host name")
    if host in TELEGRAM_HOSTS:
        return _telegram(text, parts.path)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    value = f"{scheme}://{netloc.lower()}{text.split(parts.netloc, 1)[1]}"
    return Locator("url", value)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    # A single label (http://intranet/) cannot be reached by us from a notice.
    return len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels)


def _telegram(text: str, path: str) -> Locator:
    segments = [s for s in path.split("/") if s]
    if segments[:1] == ["s"]:  # the web preview of a public channel: /s/<channel>/<message>
        segments = segments[1:]
    if len(segments) >= 3 and segments[0] == "c":
        internal, message = segments[1], segments[2]
        if not (_DIGITS.fullmatch(internal) and _DIGITS.fullmatch(message)):
            raise NoticeError(f"Telegram link {_short(text)} is not t.me/c/<chat id>/<message id>")
        return Locator(
            "telegram",
            f"https://t.me/c/{internal}/{message}",
            chat=f"-100{internal}",
            message_id=message,
        )
    if not segments:
        raise NoticeError(f"Telegram link {_short(text)} names no channel or message")
    chat = segments[0].lower()
    if not _USERNAME.fullmatch(chat):
        raise NoticeError(f"Telegram link {_short(text)}: {segments[0]!r} is not a channel name")
    if len(segments) == 1:  # a whole channel; reviewers must find the item in it
        return Locator("telegram", f"https://t.me/{chat}", chat=chat)
    message = segments[-1] if len(segments) == 3 else segments[1]  # /<chat>/<thread>/<message>
    if len(segments) > 3 or not _DIGITS.fullmatch(message):
        raise NoticeError(f"Telegram link {_short(text)} is not t.me/<channel>/<message id>")
    return Locator("telegram", f"https://t.me/{chat}/{message}", chat=chat, message_id=message)


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
