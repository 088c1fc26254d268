"""Locators: URLs, Telegram message links and hashes, and the reasons bad ones are refused."""

from __future__ import annotations

import pytest

from jikimi.cases.locators import MAX_LOCATOR_CHARS, Locator, parse_locator
from jikimi.errors import NoticeError

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://t.me/SomeChannel/123",
            Locator(
                "telegram", "https://t.me/somechannel/123", chat="somechannel", message_id="123"
            ),
        ),
        (
            "https://telegram.me/s/somechannel/7",
            Locator("telegram", "https://t.me/somechannel/7", chat="somechannel", message_id="7"),
        ),
        (
            "https://t.me/c/1234567/89",
            Locator("telegram", "https://t.me/c/1234567/89", chat="-1001234567", message_id="89"),
        ),
        (
            "https://t.me/somechannel",
            Locator("telegram", "https://t.me/somechannel", chat="somechannel"),
        ),
        ("https://Example.ORG/a/b?c=1", Locator("url", "https://example.org/a/b?c=1")),
        ("http://192.0.2.1:8080/x", Locator("url", "http://192.0.2.1:8080/x")),
        (f"sha256:{SHA.upper()}", Locator("hash", SHA, signal_type="sha256")),
        (f" SHA256:{SHA} ", Locator("hash", SHA, signal_type="sha256")),
        ("md5:" + "0" * 32, Locator("hash", "0" * 32, signal_type="md5")),
        ("pdq:" + "f" * 64, Locator("hash", "f" * 64, signal_type="pdq")),
    ],
)
def test_parses(text: str, expected: Locator) -> None:
    assert parse_locator(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty locator"),
        ("   ", "empty locator"),
        ("sha256:abc", "not 64 hex characters"),
        ("sha256:" + "g" * 64, "not 64 hex characters"),
        ("md5:" + "0" * 31, "not 32 hex characters"),
        ("pdq:" + "0" * 63, "not 64 hex characters"),
        ("crc32:deadbeef", "unknown hash type 'crc32'"),
        ("just some words", "neither a URL"),
        ("t.me/chan/1", "neither a URL"),
        ("ftp://example.org/x", "scheme 'ftp'"),
        ("javascript://example.org/%0aalert(1)", "scheme 'javascript'"),
        ("https://", "no valid host"),
        ("https:///path", "no valid host"),
        ("http://intranet/x", "no valid host"),
        ("https://exa mple.org/", "spaces or control"),
        ("https://example.org:notaport/", "does not parse"),
        ("https://t.me/", "names no channel"),
        ("https://t.me/c/abc/1", "t.me/c/<chat id>/<message id>"),
        ("https://t.me/chan/notanumber", "not t.me/<channel>/<message id>"),
        ("https://t.me/ab/1", "not a channel name"),
        ("https://example.org/" + "a" * MAX_LOCATOR_CHARS, "the limit is 2048"),
    ],
)
def test_refused_with_reason(text: str, reason: str) -> None:
    with pytest.raises(NoticeError, match=None) as info:
        parse_locator(text)
    assert reason in str(info.value)


def test_not_text_is_refused() -> None:
    with pytest.raises(NoticeError, match="must be text"):
        parse_locator(123)  # type: ignore[arg-type]


def test_str_round_trips() -> None:
    for text in (f"sha256:{SHA}", "https://t.me/chan_x/5", "https://example.org/p"):
        assert str(parse_locator(text)) == text
