"""Banks of known signals and their entries, kept in the store.

Nothing is deleted in place: a withdrawn entry keeps its row with who, when and why (a
tombstone), and a deleted bank keeps its row with who and when; both leave matching at once.
Every change also appends a custody event in the same transaction, so the audit trail and the
data cannot disagree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal, get_args

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.banks.formats import ParsedLine, format_csv, format_txt, parse_csv, parse_txt
from jikimi.errors import BankError, BankExists, BankNotFound, EntryNotFound, ImportFormatError
from jikimi.evidence.custody import CustodyLog
from jikimi.model import BankKind, BankSpec, EntrySpec
from jikimi.signals.base import validate_value
from jikimi.store.db import write_session
from jikimi.store.models import Bank, BankEntry, utcnow, value_key

CHUNK = 5_000  # rows per INSERT statement and per duplicate lookup
STREAM_BATCH = 10_000
_ATTEMPTS = 3
_LISTED_IDS = 100  # custody payloads list entry ids up to this many, else the id range
KINDS: tuple[str, ...] = get_args(BankKind)


@dataclass(frozen=True, slots=True)
class BankInfo:
    name: str
    kind: str
    pdq_threshold: int
    try_transforms: bool
    source: str
    created_at: datetime
    auto_action: bool = False
    minors: bool = False
    active_entries: int = 0
    withdrawn_entries: int = 0

    def spec(self) -> BankSpec:
        """What matching and policy need of this bank."""
        return BankSpec(
            self.name,
            self.kind,  # type: ignore[arg-type]
            self.pdq_threshold,
            self.try_transforms,
            auto_action=self.auto_action,
            minors=self.minors,
        )


@dataclass(frozen=True, slots=True)
class EntryInfo:
    entry_id: int
    bank: str
    signal_type: str
    value: str
    source: str
    note: str | None
    labels: list[str]
    added_at: datetime
    added_by: str
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    withdraw_reason: str | None = None

    def spec(self) -> EntrySpec:
        """What matching needs of this entry."""
        return EntrySpec(self.entry_id, self.bank, self.signal_type, self.value)


@dataclass(slots=True)
class ImportReport:
    added: list[EntryInfo] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    duplicates: int = 0  # valid lines whose value the bank already held


def _bank_info(bank: Bank, active: int = 0, withdrawn: int = 0) -> BankInfo:
    return BankInfo(
        name=bank.name,
        kind=bank.kind,
        pdq_threshold=bank.pdq_threshold,
        try_transforms=bank.try_transforms,
        source=bank.source,
        created_at=bank.created_at,
        auto_action=bank.auto_action,
        minors=bank.minors,
        active_entries=active,
        withdrawn_entries=withdrawn,
    )


def _entry_info(entry: BankEntry, bank: str) -> EntryInfo:
    return EntryInfo(
        entry_id=entry.id,
        bank=bank,
        signal_type=entry.signal_type,
        value=entry.value,
        source=entry.source,
        note=entry.note,
        labels=list(entry.labels),
        added_at=entry.added_at,
        added_by=entry.added_by,
        withdrawn_at=entry.withdrawn_at,
        withdrawn_by=entry.withdrawn_by,
        withdraw_reason=entry.withdraw_reason,
    )


def _live_bank(session: Session, name: str) -> Bank:
    bank = session.scalars(
        select(Bank).where(Bank.name == name, Bank.deleted_at.is_(None))
    ).one_or_none()
    if bank is None:
        raise BankNotFound(f"no bank named {name!r}; see `jikimi bank list`")
    return bank


class BankStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._custody = CustodyLog(sessions)

    def _event(
        self, session: Session, kind: str, bank: str, payload: dict[str, Any], actor: str
    ) -> None:
        self._custody.append(
            kind, f"bank:{bank}", payload, actor=actor, tool_version=__version__, session=session
        )

    # -- banks ---------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        kind: str = "known-abuse",
        pdq_threshold: int = 31,
        try_transforms: bool = True,
        auto_action: bool = False,
        minors: bool = False,
        source: str = "local",
        actor: str,
    ) -> BankInfo:
        if not name or len(name) > 200 or name != name.strip():
            raise BankError(f"bank name {name!r} must be 1-200 characters without edge spaces")
        if kind not in KINDS:
            raise BankError(f"bank kind {kind!r} is not one of: {', '.join(KINDS)}")
        if auto_action and kind != "known-abuse":
            raise BankError("only a known-abuse bank can be marked for automatic action")
        if not 0 <= pdq_threshold <= 256:
            raise BankError(f"pdq_threshold {pdq_threshold} must be between 0 and 256")
        with write_session(self._sessions) as session:
            exists = session.scalar(
                select(Bank.id).where(Bank.name == name, Bank.deleted_at.is_(None))
            )
            if exists is not None:
                raise BankExists(f"a bank named {name!r} exists; pick another name")
            bank = Bank(
                name=name,
                kind=kind,
                pdq_threshold=pdq_threshold,
                try_transforms=try_transforms,
                auto_action=auto_action,
                minors=minors,
                source=source,
                created_at=utcnow(),
                created_by=actor,
            )
            session.add(bank)
            session.flush()
            settings = {
                "kind": kind,
                "pdq_threshold": pdq_threshold,
                "source": source,
                "auto_action": auto_action,
                "minors": minors,
            }
            self._event(session, "bank.created", name, settings, actor)
            return _bank_info(bank)

    def list(self) -> list[BankInfo]:
        with self._sessions() as session:
            banks = session.scalars(
                select(Bank).where(Bank.deleted_at.is_(None)).order_by(Bank.name)
            ).all()
            counts = self._counts(session, [b.id for b in banks])
            return [_bank_info(b, *counts.get(b.id, (0, 0))) for b in banks]

    def get(self, name: str) -> BankInfo:
        with self._sessions() as session:
            bank = _live_bank(session, name)
            return _bank_info(bank, *self._counts(session, [bank.id]).get(bank.id, (0, 0)))

    @staticmethod
    def _counts(session: Session, bank_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        if not bank_ids:
            return {}
        rows = session.execute(
            select(BankEntry.bank_id, func.count(), func.count(BankEntry.withdrawn_at))
            .where(BankEntry.bank_id.in_(bank_ids))
            .group_by(BankEntry.bank_id)
        )
        return {bank_id: (total - withdrawn, withdrawn) for bank_id, total, withdrawn in rows}

    def delete(self, name: str, *, actor: str) -> None:
        """Take the bank and all its entries out of matching; the rows stay, marked deleted."""
        with write_session(self._sessions) as session:
            bank = _live_bank(session, name)
            bank.deleted_at = utcnow()
            bank.deleted_by = actor
            active, _ = self._counts(session, [bank.id]).get(bank.id, (0, 0))
            session.flush()
            self._event(session, "bank.deleted", name, {"active_entries": active}, actor)

    # -- entries -------------------------------------------------------------------------------

    def add(
        self,
        name: str,
        signals: Sequence[tuple[str, str]],
        *,
        actor: str,
        source: str = "local",
        note: str | None = None,
        labels: Sequence[str] = (),
    ) -> list[EntryInfo]:
        """Add entries; a value the bank already holds (active) returns that entry instead of a
        second row. Raises :class:`SignalValueError`/:class:`UnknownSignalType` on a bad
        value, before anything is written."""
        parsed = [
            ParsedLine(i, signal_type, validate_value(signal_type, value), note, tuple(labels))
            for i, (signal_type, value) in enumerate(signals, start=1)
        ]
        for attempt in range(_ATTEMPTS):
            try:
                with write_session(self._sessions) as session:
                    bank = _live_bank(session, name)
                    results, new = self._insert(session, bank, parsed, actor=actor, source=source)
                    payload = _added_payload(new, len(parsed) - len(new), 0)
                    self._event(session, "bank.entries_added", name, payload, actor)
                    return results
            except IntegrityError:
                # PostgreSQL: a concurrent writer added one of these values first. Its entry
                # is visible now; the next attempt returns it instead of inserting.
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def import_lines(
        self,
        name: str,
        lines: Iterable[str],
        *,
        fmt: Literal["txt", "csv"],
        actor: str,
        source: str,
    ) -> ImportReport:
        """Import a hash list in one transaction, streaming in chunks. Bad lines are rejected
        with their line number; good lines are imported. Use
        :func:`jikimi.banks.formats.iter_lines` to read a file safely."""
        parse = {"txt": parse_txt, "csv": parse_csv}.get(fmt)
        if parse is None:
            raise BankError(f"unknown import format {fmt!r}; use txt or csv")
        report = ImportReport()
        with _concurrent_add_is_an_error(), write_session(self._sessions) as session:
            bank = _live_bank(session, name)
            items = iter(parse(lines))
            while chunk := list(islice(items, CHUNK)):
                good = []
                for item in chunk:
                    if isinstance(item, ImportFormatError):
                        report.rejected.append((item.line, str(item)))
                    else:
                        good.append(item)
                _, new = self._insert(session, bank, good, actor=actor, source=source)
                report.added.extend(new)
                report.duplicates += len(good) - len(new)
            payload = _added_payload(report.added, report.duplicates, len(report.rejected))
            payload.update(format=fmt, source=source)
            self._event(session, "bank.imported", name, payload, actor)
        return report

    def _insert(
        self,
        session: Session,
        bank: Bank,
        parsed: Sequence[ParsedLine],
        *,
        actor: str,
        source: str,
    ) -> tuple[list[EntryInfo], list[EntryInfo]]:
        """Insert ``parsed`` (any length) into ``bank``; returns (one entry per input, in
        order, existing or new; the new entries only)."""
        results: list[EntryInfo] = []
        new: list[EntryInfo] = []
        for start in range(0, len(parsed), CHUNK):
            chunk = parsed[start : start + CHUNK]
            keys = [(item.signal_type, value_key(item.value)) for item in chunk]
            stored = self._existing(session, bank, chunk)
            pending: dict[tuple[str, str], dict[str, Any]] = {}
            now = utcnow()
            for item, key in zip(chunk, keys, strict=True):
                if key in stored or key in pending:
                    continue
                pending[key] = {
                    "bank_id": bank.id,
                    "signal_type": item.signal_type,
                    "value": item.value,
                    "value_key": key[1],
                    "source": source,
                    "note": item.note,
                    "labels": list(item.labels),
                    "added_at": now,
                    "added_by": actor,
                }
            if pending:
                # Plain executemany, then read the ids back: psycopg pipelines it, which is
                # several times faster than one huge INSERT ... RETURNING per page.
                session.execute(insert(BankEntry.__table__), list(pending.values()))
                inserted = self._existing(session, bank, chunk, keys=pending.keys())
                for key in pending:
                    stored[key] = inserted[key]
                    new.append(inserted[key])
            results.extend(stored[key] for key in keys)
        return results, new

    @staticmethod
    def _existing(
        session: Session,
        bank: Bank,
        chunk: Sequence[ParsedLine],
        *,
        keys: Iterable[tuple[str, str]] | None = None,
    ) -> dict[tuple[str, str], EntryInfo]:
        """Active entries of ``bank`` with the values of ``chunk`` (or the given keys)."""
        wanted = (
            set(keys)
            if keys is not None
            else {(item.signal_type, value_key(item.value)) for item in chunk}
        )
        if not wanted:
            return {}
        rows = session.execute(
            select(*_ENTRY_COLUMNS).where(
                BankEntry.bank_id == bank.id,
                BankEntry.withdrawn_at.is_(None),
                BankEntry.value_key.in_({vk for _, vk in wanted}),
            )
        )
        found = {}
        for r in rows:
            key = (r.signal_type, r.value_key)
            if key in wanted:
                found[key] = _row_info(r, bank.name)
        return found

    def withdraw(
        self, name: str, entry_id: int, *, actor: str, reason: str | None = None
    ) -> EntryInfo:
        """Take one entry out of matching. The row stays with who, when and why; withdrawing a
        withdrawn entry changes nothing and returns it."""
        with write_session(self._sessions) as session:
            bank = _live_bank(session, name)
            entry = session.get(BankEntry, entry_id)
            if entry is None or entry.bank_id != bank.id:
                raise EntryNotFound(f"bank {name!r} has no entry {entry_id}")
            if entry.withdrawn_at is None:
                self._tombstone(session, name, entry, actor=actor, reason=reason)
            return _entry_info(entry, name)

    def _tombstone(
        self,
        session: Session,
        bank: str,
        entry: BankEntry,
        *,
        actor: str,
        reason: str | None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        entry.withdrawn_at = utcnow()
        entry.withdrawn_by = actor
        entry.withdraw_reason = reason
        session.flush()
        payload = {"entry_id": entry.id, "signal_type": entry.signal_type, "reason": reason}
        payload.update(context or {})
        self._event(session, "bank.entry_withdrawn", bank, payload, actor)

    # -- inside a caller's transaction (exchanges commit entries with their checkpoint) -------

    def add_in(
        self,
        session: Session,
        name: str,
        signals: Sequence[tuple[str, str]],
        *,
        actor: str,
        source: str,
        context: Mapping[str, Any] | None = None,
    ) -> tuple[list[EntryInfo], list[EntryInfo]]:
        """:meth:`add` inside ``session`` (committed by its owner), for already validated
        values; returns (one entry per input, existing or new; the new entries only). The
        custody event carries ``context`` (e.g. the exchange and page)."""
        bank = _live_bank(session, name)
        parsed = [ParsedLine(i, t, v) for i, (t, v) in enumerate(signals, start=1)]
        results, new = self._insert(session, bank, parsed, actor=actor, source=source)
        if new:
            payload = _added_payload(new, len(parsed) - len(new), 0)
            payload.update(context or {})
            self._event(session, "bank.entries_added", name, payload, actor)
        return results, new

    def withdraw_in(
        self,
        session: Session,
        name: str,
        entry_ids: Iterable[int],
        *,
        actor: str,
        reason: str,
        context: Mapping[str, Any] | None = None,
    ) -> list[EntryInfo]:
        """:meth:`withdraw` of several entries inside ``session``; one custody event per entry,
        as a withdrawal one at a time would leave. Returns the entries withdrawn now (ids
        already withdrawn, or of another bank, are skipped)."""
        bank = _live_bank(session, name)
        ids = sorted(set(entry_ids))
        done: list[EntryInfo] = []
        for start in range(0, len(ids), CHUNK):
            rows = session.scalars(
                select(BankEntry)
                .where(
                    BankEntry.id.in_(ids[start : start + CHUNK]),
                    BankEntry.bank_id == bank.id,
                    BankEntry.withdrawn_at.is_(None),
                )
                .order_by(BankEntry.id)
            ).all()
            for entry in rows:
                self._tombstone(session, name, entry, actor=actor, reason=reason, context=context)
                done.append(_entry_info(entry, name))
        return done

    def entries(
        self,
        name: str,
        *,
        include_withdrawn: bool = False,
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[EntryInfo]:
        """Entries by id; ``after_id`` and ``limit`` page through a large bank."""
        with self._sessions() as session:
            bank = _live_bank(session, name)
            query = select(BankEntry).where(BankEntry.bank_id == bank.id, BankEntry.id > after_id)
            if not include_withdrawn:
                query = query.where(BankEntry.withdrawn_at.is_(None))
            rows = session.scalars(query.order_by(BankEntry.id).limit(limit)).all()
            return [_entry_info(r, name) for r in rows]

    # -- for matching --------------------------------------------------------------------------

    def bank_specs(self) -> list[BankSpec]:
        with self._sessions() as session:
            banks = session.scalars(
                select(Bank).where(Bank.deleted_at.is_(None)).order_by(Bank.name)
            ).all()
            return [_bank_info(b).spec() for b in banks]

    def active_entries(self) -> Iterator[EntrySpec]:
        """Every active entry of every live bank, streamed in batches (server-side cursor on
        PostgreSQL), so building an index over millions of entries holds no big result."""
        query = (
            select(BankEntry.id, Bank.name, BankEntry.signal_type, BankEntry.value)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(Bank.deleted_at.is_(None), BankEntry.withdrawn_at.is_(None))
            .order_by(BankEntry.id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        with self._sessions() as session:
            for entry_id, bank, signal_type, value in session.execute(query):
                yield EntrySpec(entry_id, bank, signal_type, value)

    def active_entry_ids(self, entry_ids: Collection[int]) -> set[int]:
        """Those of ``entry_ids`` that are still active in a live bank (one indexed query)."""
        if not entry_ids:
            return set()
        query = (
            select(BankEntry.id)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(
                BankEntry.id.in_(sorted(entry_ids)),
                BankEntry.withdrawn_at.is_(None),
                Bank.deleted_at.is_(None),
            )
        )
        with self._sessions() as session:
            return set(session.scalars(query))

    def export(self, name: str, fmt: Literal["txt", "csv"]) -> Iterator[str]:
        """Lines (without newline) of the bank's active entries, streamed."""
        with self._sessions() as session:
            bank_id = _live_bank(session, name).id
        query = (
            select(BankEntry.signal_type, BankEntry.value, BankEntry.note, BankEntry.labels)
            .where(BankEntry.bank_id == bank_id, BankEntry.withdrawn_at.is_(None))
            .order_by(BankEntry.id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        if fmt not in ("txt", "csv"):
            raise BankError(f"unknown export format {fmt!r}; use txt or csv")
        return self._export(query, fmt)

    def _export(self, query: Any, fmt: str) -> Iterator[str]:
        with self._sessions() as session:
            rows = session.execute(query)
            if fmt == "txt":
                yield from format_txt((r.signal_type, r.value) for r in rows)
            else:
                yield from format_csv((r.signal_type, r.value, r.note, r.labels) for r in rows)


_ENTRY_COLUMNS = (
    BankEntry.id,
    BankEntry.signal_type,
    BankEntry.value,
    BankEntry.value_key,
    BankEntry.source,
    BankEntry.note,
    BankEntry.labels,
    BankEntry.added_at,
    BankEntry.added_by,
)


def _row_info(row: Any, bank: str) -> EntryInfo:
    """An active entry from a row of :data:`_ENTRY_COLUMNS` (no ORM objects: bulk paths)."""
    return EntryInfo(
        entry_id=row.id,
        bank=bank,
        signal_type=row.signal_type,
        value=row.value,
        source=row.source,
        note=row.note,
        labels=list(row.labels),
        added_at=row.added_at,
        added_by=row.added_by,
    )


@contextmanager
def _concurrent_add_is_an_error() -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        raise BankError(
            "another writer added some of the same values to this bank at the same time; "
            "nothing was imported. Run the import again: values already present are skipped"
        ) from None


def _added_payload(new: Sequence[EntryInfo], duplicates: int, rejected: int) -> dict[str, Any]:
    """What a custody event records of added entries: counts, ids, and a digest of the
    ``<signal_type> <value>`` lines so an export can later be checked against it."""
    digest = hashlib.sha256()
    for e in new:
        digest.update(f"{e.signal_type} {e.value}\n".encode())
    payload: dict[str, Any] = {
        "added": len(new),
        "duplicates": duplicates,
        "rejected": rejected,
        "sha256_of_lines": digest.hexdigest(),
    }
    if len(new) <= _LISTED_IDS:
        payload["entry_ids"] = [e.entry_id for e in new]
    else:
        payload["first_entry_id"] = new[0].entry_id
        payload["last_entry_id"] = new[-1].entry_id
    return payload
