"""What ``jikimi exchange status`` and ``GET /v1/exchanges`` show of each exchange: settings,
where each credential comes from (never a value), checkpoint, entry counts, last sync."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jikimi.banks.exchanges.credentials import sources
from jikimi.banks.exchanges.kinds import ExchangeKind
from jikimi.banks.exchanges.store import ExchangeInfo, ExchangeStore, checkpoint_name
from jikimi.banks.service import BankStore
from jikimi.store.checkpoints import Checkpoints


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def describe(info: ExchangeInfo, kind: ExchangeKind) -> dict[str, Any]:
    """An exchange's settings and last sync outcome, JSON-ready."""
    return {
        "name": info.name,
        "kind": info.kind,
        "bank": info.bank,
        "settings": info.config,
        "credentials": sources(info.name, kind.credentials, set(info.stored_credentials)),
        "created_at": _time(info.created_at),
        "created_by": info.created_by,
        "last_sync_at": _time(info.last_sync_at),
        "last_sync_status": info.last_sync_status,
    }


def status(
    store: ExchangeStore,
    banks: BankStore,
    checkpoints: Checkpoints,
    kinds: Mapping[str, ExchangeKind],
    name: str | None = None,
) -> list[dict[str, Any]]:
    """:func:`describe` plus checkpoint, entry counts and the last sync's counts and error."""
    infos = [store.get(name)] if name else store.list()
    rows = []
    for info in infos:
        bank = banks.get(info.bank)
        rows.append(
            {
                **describe(info, kinds[info.kind]),
                "checkpoint": checkpoints.load(checkpoint_name(info.name)),
                "last_sync_error": info.last_sync_error,
                "last_sync_counts": info.last_sync_counts,
                "active_entries": bank.active_entries,
                "withdrawn_entries": bank.withdrawn_entries,
            }
        )
    return rows
