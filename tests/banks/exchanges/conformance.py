"""Conformance base class for exchange adapters (STYLE.md: one base test class per protocol;
lives here until it moves to tests/conformance/exchange.py).

An adapter's tests subclass :class:`ExchangeConformance` and supply ``adapter`` (wired to a
loopback fake or a temp file), ``publish`` and ``withdraw`` (change the upstream). The contract
(docs/exchanges.md): ``pages(checkpoint)`` yields pages of records holding our signal types with
validated values; checkpoints are plain JSON; resuming from the last checkpoint brings nothing
new when nothing changed upstream; a withdrawal upstream shows as a record without signals, or
as a complete page without the record. No database is involved.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.banks.exchanges.conftest import Photo

from jikimi.banks.exchanges.pages import ExchangeAdapter, Page
from jikimi.signals.base import SIGNAL_FORMATS, validate_value


def fetch(adapter: ExchangeAdapter, checkpoint: dict[str, Any] | None) -> list[Page]:
    return list(adapter.pages(checkpoint))


def signals(pages: list[Page]) -> set[tuple[str, str]]:
    return {s for page in pages for record in page.records for s in record.signals}


def withdrawn(pages: list[Page], before: set[str]) -> set[str]:
    """Upstream ids the pages withdraw: records without signals, or ids absent from a
    complete page."""
    out = {r.upstream_id for page in pages for r in page.records if not r.signals}
    for page in pages:
        if page.complete:
            out |= before - {r.upstream_id for r in page.records}
    return out


class ExchangeConformance:
    kind = ""  # the registry's name of the kind under test

    @pytest.fixture
    def adapter(self) -> ExchangeAdapter:
        raise NotImplementedError

    def publish(self, photos: list[Photo]) -> set[tuple[str, str]]:
        """Put ``photos`` upstream; return the signals the adapter must yield for them."""
        raise NotImplementedError

    def withdraw(self, photo: Photo) -> None:
        raise NotImplementedError

    def test_first_fetch_yields_the_published_signals(
        self, adapter: ExchangeAdapter, photos: list[Photo]
    ) -> None:
        expected = self.publish(photos[:3])
        pages = fetch(adapter, None)
        assert pages, "no page at all"
        assert signals(pages) == expected
        for signal_type, value in signals(pages):
            assert signal_type in SIGNAL_FORMATS
            assert validate_value(signal_type, value) == value

    def test_checkpoints_are_plain_json(
        self, adapter: ExchangeAdapter, photos: list[Photo]
    ) -> None:
        self.publish(photos[:3])
        for page in fetch(adapter, None):
            assert json.loads(json.dumps(page.checkpoint)) == page.checkpoint

    def test_resuming_brings_nothing_new_when_nothing_changed(
        self, adapter: ExchangeAdapter, photos: list[Photo]
    ) -> None:
        self.publish(photos[:3])
        first = fetch(adapter, None)
        again = fetch(adapter, first[-1].checkpoint)
        assert signals(again) <= signals(first)
        assert withdrawn(again, _ids(first)) == set()

    def test_a_withdrawal_upstream_reaches_the_next_fetch(
        self, adapter: ExchangeAdapter, photos: list[Photo]
    ) -> None:
        self.publish(photos[:3])
        first = fetch(adapter, None)
        self.withdraw(photos[1])
        after = fetch(adapter, first[-1].checkpoint)
        gone = withdrawn(after, _ids(first))
        assert len(gone) == 1
        (upstream_id,) = gone
        owners = [r for page in first for r in page.records if r.upstream_id == upstream_id]
        assert any(s[1] in (photos[1].pdq, photos[1].md5) for r in owners for s in r.signals)


def _ids(pages: list[Page]) -> set[str]:
    return {r.upstream_id for page in pages for r in page.records}
