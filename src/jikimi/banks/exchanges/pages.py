"""What an exchange adapter yields: pages of upstream records, each with the checkpoint that
follows it. The sync loop applies a page and saves its checkpoint in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class UpstreamRecord:
    """One upstream record and the signals it holds now, as our ``(signal_type, value)``
    pairs with validated values. No signals: the record was withdrawn or deleted upstream."""

    upstream_id: str
    signals: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Page:
    """A batch of upstream changes and the checkpoint after it (JSON-ready).

    ``complete`` says the page is the exchange's whole list (a file, a URL list): every
    record the bank got from it before and that is not in the page was removed upstream.
    ``skipped`` holds the upstream values we cannot use (unknown signal types, bad values):
    reason → (how many, where the first was)."""

    records: list[UpstreamRecord]
    checkpoint: dict[str, Any]
    complete: bool = False
    skipped: dict[str, tuple[int, str]] = field(default_factory=dict)


class ExchangeAdapter(Protocol):
    """Fetches pages from one exchange, resuming after ``checkpoint`` (None: from the start)."""

    def pages(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]: ...


class Skips:
    """Collects the skipped upstream values of one page, by reason."""

    def __init__(self) -> None:
        self._reasons: dict[str, tuple[int, str]] = {}

    def add(self, reason: str, where: str) -> None:
        seen, first = self._reasons.get(reason, (0, where))
        self._reasons[reason] = (seen + 1, first)

    def fill(self, page: Page) -> Page:
        page.skipped, self._reasons = self._reasons, {}
        return page
