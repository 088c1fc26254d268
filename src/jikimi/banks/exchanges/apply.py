"""One page of upstream records applied to the exchange's bank, inside the caller's
transaction (the sync loop commits it with the page's checkpoint).

Each upstream record maps to the bank entries of its signals (``exchange_records``). A record
that now holds other signals gets the new entries and loses the old; a record with no signals
(withdrawn or deleted upstream, or gone from a complete list) loses them all. An entry is
withdrawn (tombstoned, through :class:`~jikimi.banks.service.BankStore`) when no record of the
exchange maps to it any more. An entry an operator withdrew by hand stays withdrawn: it is still
mapped, so the same upstream record does not bring it back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from jikimi.banks.exchanges.pages import Page, UpstreamRecord
from jikimi.banks.service import CHUNK, BankStore
from jikimi.model import EntrySpec
from jikimi.store.models import BankEntry, ExchangeRecord, utcnow, value_key


@dataclass(slots=True)
class PageChanges:
    """What one applied page changed in the bank (for counts and the live matcher)."""

    added: list[EntrySpec] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Target:
    exchange_id: int
    exchange: str
    bank: str
    actor: str


def apply_page(
    session: Session, banks: BankStore, target: Target, page: Page, page_no: int
) -> PageChanges:
    records = {r.upstream_id: r for r in page.records}  # a later record of an id wins
    if page.complete:
        for upstream_id in _known_ids(session, target.exchange_id):
            records.setdefault(upstream_id, UpstreamRecord(upstream_id))
    current = _current(session, target.exchange_id, list(records))
    to_add: list[tuple[str, tuple[str, str]]] = []  # (upstream id, signal)
    unmapped: list[int] = []  # exchange_records ids
    touched: set[int] = set()  # entries that lost a mapping
    for upstream_id, record in records.items():
        mapped = current.get(upstream_id, {})
        wanted = {(t, value_key(v)): (t, v) for t, v in record.signals}
        to_add += [(upstream_id, s) for key, s in wanted.items() if key not in mapped]
        for key, (mapping_id, entry_id) in mapped.items():
            if key not in wanted:
                unmapped.append(mapping_id)
                touched.add(entry_id)
    context = {"exchange": target.exchange, "page": page_no}
    changes = PageChanges()
    if to_add:
        results, new = banks.add_in(
            session,
            target.bank,
            [s for _, s in to_add],
            actor=target.actor,
            source=f"exchange:{target.exchange}",
            context=context,
        )
        changes.added = [e.spec() for e in new]
        now = utcnow()
        rows = [
            {"exchange_id": target.exchange_id, "upstream_id": uid, "entry_id": e.entry_id}
            | {"added_at": now}
            for (uid, _), e in zip(to_add, results, strict=True)
        ]
        session.execute(insert(ExchangeRecord.__table__), _unique(rows))
    if unmapped:
        for start in range(0, len(unmapped), CHUNK):
            chunk = unmapped[start : start + CHUNK]
            session.execute(delete(ExchangeRecord).where(ExchangeRecord.id.in_(chunk)))
        orphans = touched - _still_mapped(session, touched)
        withdrawn = banks.withdraw_in(
            session,
            target.bank,
            orphans,
            actor=target.actor,
            reason=f"withdrawn upstream (exchange {target.exchange})",
            context=context,
        )
        changes.withdrawn = [e.entry_id for e in withdrawn]
    return changes


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One mapping per (upstream id, entry): two signals of a record may be one entry."""
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        seen.setdefault((row["upstream_id"], row["entry_id"]), row)
    return list(seen.values())


def _known_ids(session: Session, exchange_id: int) -> set[str]:
    query = select(ExchangeRecord.upstream_id).where(ExchangeRecord.exchange_id == exchange_id)
    return set(session.scalars(query.distinct()))


def _current(
    session: Session, exchange_id: int, upstream_ids: Sequence[str]
) -> dict[str, dict[tuple[str, str], tuple[int, int]]]:
    """upstream id → {(signal type, value key): (mapping id, entry id)}."""
    out: dict[str, dict[tuple[str, str], tuple[int, int]]] = defaultdict(dict)
    for start in range(0, len(upstream_ids), CHUNK):
        rows = session.execute(
            select(
                ExchangeRecord.upstream_id,
                ExchangeRecord.id,
                ExchangeRecord.entry_id,
                BankEntry.signal_type,
                BankEntry.value_key,
            )
            .join(BankEntry, BankEntry.id == ExchangeRecord.entry_id)
            .where(
                ExchangeRecord.exchange_id == exchange_id,
                ExchangeRecord.upstream_id.in_(upstream_ids[start : start + CHUNK]),
            )
        )
        for uid, mapping_id, entry_id, signal_type, key in rows:
            out[uid][(signal_type, key)] = (mapping_id, entry_id)
    return out


def _still_mapped(session: Session, entry_ids: Iterable[int]) -> set[int]:
    ids = sorted(entry_ids)
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(ExchangeRecord.entry_id)
            .where(ExchangeRecord.entry_id.in_(ids[start : start + CHUNK]))
            .distinct()
        )
        found.update(entry_id for (entry_id,) in rows)
    return found
