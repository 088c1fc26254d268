"""The custody log: an append-only, hash-chained record of what happened to items and media.

Each event's ``hash`` is the SHA-256 of its canonical JSON (sorted keys, no whitespace, UTF-8,
times as UTC ISO 8601 with microseconds) over every field but ``hash`` itself, ``prev_hash``
included; the first event's ``prev_hash`` is 64 zeros. ``seq`` counts up from 1 with no gaps.

Appenders first bump the single ``custody_head`` row, which serialises them on both backends
(PostgreSQL holds the row lock until commit; SQLite holds its write lock), so the chain cannot
fork. The head row also lets :meth:`CustodyLog.verify` notice a truncated tail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from jikimi.store.db import write_session
from jikimi.store.models import GENESIS_HASH, CustodyEventRecord, CustodyHead

VERIFY_BATCH = 5_000
_MAX_PROBLEMS = 1_000


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    seq: int
    at: datetime
    kind: str
    subject: str
    actor: str
    tool_version: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(slots=True)
class VerifyReport:
    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("custody times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    seq: int,
    at: datetime,
    kind: str,
    subject: str,
    actor: str,
    tool_version: str,
    payload: dict[str, Any],
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "at": _iso(at),
        "kind": kind,
        "subject": subject,
        "actor": actor,
        "tool_version": tool_version,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def row_hash(row: CustodyEventRecord) -> str:
    """The hash a stored event's contents give (compare with its ``hash`` column); raises
    TypeError or ValueError when its contents cannot be hashed (an edited payload)."""
    return event_hash(
        seq=row.seq,
        at=row.at,
        kind=row.kind,
        subject=row.subject,
        actor=row.actor,
        tool_version=row.tool_version,
        payload=row.payload,
        prev_hash=row.prev_hash,
    )


def _event(row: CustodyEventRecord) -> CustodyEvent:
    return CustodyEvent(
        seq=row.seq,
        at=row.at,
        kind=row.kind,
        subject=row.subject,
        actor=row.actor,
        tool_version=row.tool_version,
        payload=row.payload,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class CustodyLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def append(
        self,
        kind: str,
        subject: str,
        payload: dict[str, Any],
        *,
        actor: str,
        tool_version: str,
        session: Session | None = None,
    ) -> CustodyEvent:
        """Append one event. With ``session``, the event joins the caller's transaction and
        commits (or rolls back) with it; the chain stays locked until then."""
        if session is not None:
            return self._append(session, kind, subject, payload, actor, tool_version)
        with write_session(self._sessions) as own:
            return self._append(own, kind, subject, payload, actor, tool_version)

    def _append(
        self,
        session: Session,
        kind: str,
        subject: str,
        payload: dict[str, Any],
        actor: str,
        tool_version: str,
    ) -> CustodyEvent:
        # Round-trip through canonical JSON: what we hash is exactly what the database returns.
        payload = json.loads(canonical_json(payload))
        bumped = session.execute(
            update(CustodyHead)
            .where(CustodyHead.id == 1)
            .values(seq=CustodyHead.seq + 1)
            .returning(CustodyHead.seq, CustodyHead.hash)
        ).one()
        fields: dict[str, Any] = {
            "seq": bumped.seq,
            "at": datetime.now(UTC),
            "kind": kind,
            "subject": subject,
            "actor": actor,
            "tool_version": tool_version,
            "payload": payload,
            "prev_hash": bumped.hash,
        }
        digest = event_hash(**fields)
        row = CustodyEventRecord(**fields, hash=digest)
        session.add(row)
        session.execute(update(CustodyHead).where(CustodyHead.id == 1).values(hash=digest))
        session.flush()
        return _event(row)

    def last_seq(self, kinds: Sequence[str]) -> int:
        """The seq of the newest event of any of ``kinds`` (0 if none): an index lookup, so a
        service can poll it to learn that banks or persons changed."""
        with self._sessions() as session:
            found = session.scalar(
                select(func.max(CustodyEventRecord.seq)).where(CustodyEventRecord.kind.in_(kinds))
            )
            return int(found or 0)

    def count_since(self, kinds: Sequence[str], after_seq: int) -> int:
        """How many events of ``kinds`` came after ``after_seq``."""
        with self._sessions() as session:
            found = session.scalar(
                select(func.count()).where(
                    CustodyEventRecord.kind.in_(kinds), CustodyEventRecord.seq > after_seq
                )
            )
            return int(found or 0)

    def events(self, *, subject: str | None = None, after_seq: int = 0) -> list[CustodyEvent]:
        with self._sessions() as session:
            query = select(CustodyEventRecord).where(CustodyEventRecord.seq > after_seq)
            if subject is not None:
                query = query.where(CustodyEventRecord.subject == subject)
            rows = session.scalars(query.order_by(CustodyEventRecord.seq)).all()
            return [_event(r) for r in rows]

    def verify(self) -> VerifyReport:
        """Recompute every hash and link in ``seq`` order. Names the seq of each edited,
        removed or reordered event; streams, so it works on long chains."""
        problems: list[str] = []
        checked = 0
        expected_seq, prev_hash = 1, GENESIS_HASH
        with self._sessions() as session:
            head = session.get(CustodyHead, 1)
            rows = session.execute(
                select(CustodyEventRecord)
                .order_by(CustodyEventRecord.seq)
                .execution_options(yield_per=VERIFY_BATCH)
            ).scalars()
            for row in rows:
                checked += 1
                problems.extend(_check(row, expected_seq, prev_hash))
                expected_seq, prev_hash = row.seq + 1, row.hash
                if len(problems) > _MAX_PROBLEMS:
                    problems.append("too many problems; stopped checking")
                    break
                session.expunge(row)
            else:
                problems.extend(_check_head(head, expected_seq - 1, prev_hash))
        return VerifyReport(ok=not problems, checked=checked, problems=problems)


def _check(row: CustodyEventRecord, expected_seq: int, prev_hash: str) -> list[str]:
    problems = []
    if row.seq != expected_seq:
        missing = (
            f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}..{row.seq - 1}"
        )
        problems.append(f"seq {row.seq}: events missing before it (seq {missing})")
    if row.prev_hash != prev_hash:
        problems.append(
            f"seq {row.seq}: prev_hash does not link to the event before it "
            "(removed, reordered or edited events)"
        )
    try:
        recomputed = row_hash(row)
    except (TypeError, ValueError) as exc:
        return [*problems, f"seq {row.seq}: cannot be hashed ({exc})"]
    if recomputed != row.hash:
        problems.append(f"seq {row.seq}: hash does not match its contents (edited event)")
    return problems


def _check_head(head: CustodyHead | None, last_seq: int, last_hash: str) -> list[str]:
    if head is None:
        return ["custody head row is missing (run migrations)"]
    if head.seq != last_seq or head.hash != last_hash:
        return [
            f"seq {last_seq + 1}: chain ends at seq {last_seq} but the head records seq "
            f"{head.seq}; events after seq {last_seq} were removed or the head was edited"
        ]
    return []
