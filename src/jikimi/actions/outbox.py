"""The transactional outbox: effects wait here, in the database, until a sink delivers them.

Effects are written by :meth:`OutboxStore.enqueue` in the caller's transaction, so a verdict
and its effects commit together or not at all. A dispatcher :meth:`~OutboxStore.claim` s due
rows under a lease and records each outcome; a row whose lease runs out (its dispatcher died)
is claimed again, so a restart loses nothing, and the unique idempotency key means nothing is
enqueued twice. Delivery is at least once: a receiver deduplicates on the idempotency key.

States (docs/actions.md)::

    pending ──claim──► delivering ──delivered──► delivered
       ▲                  │  │
       └──failed(retry)───┘  └──failed(no retry)──► dead ──retry──► pending
                          (lease expires: claimed again)        └──drop───► dropped

``dropped`` is final: an admin gave up on a dead (or still pending) effect, with a reason.
Claimers are serialised by ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL and by the
``BEGIN IMMEDIATE`` write lock on SQLite. With a custody log, every enqueue, delivery, death,
retry and drop is also a custody event on the item (``item:<id>``, else ``outbox:<id>``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.errors import OutboxError
from jikimi.evidence.custody import CustodyLog
from jikimi.model import Effect
from jikimi.store.db import write_session
from jikimi.store.models import OutboxRecord

__all__ = [
    "STATES",
    "OutboxEntry",
    "OutboxStore",
]

STATES = ("pending", "delivering", "delivered", "dead", "dropped")
DISPATCHER_ACTOR = "dispatcher"
ERROR_MAX_CHARS = 2_000


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One outbox row as a value. ``attempts`` counts claims, the current one included."""

    id: int
    idempotency_key: str
    action: str
    sink: str
    target: dict[str, Any]
    payload: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    result: dict[str, Any] | None
    item_id: int | None
    created_at: datetime
    delivered_at: datetime | None
    lease_until: datetime | None = None


def _entry(row: OutboxRecord) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        idempotency_key=row.idempotency_key,
        action=row.action,
        sink=row.sink,
        target=row.target,
        payload=row.payload,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        result=row.result,
        item_id=row.item_id,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        lease_until=row.lease_until,
    )


class OutboxStore:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        custody: CustodyLog | None = None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._sessions = sessions
        self._custody = custody
        self._clock = clock

    # -- writing effects ------------------------------------------------------------------

    def enqueue(
        self, session: Session, effects: Sequence[Effect], *, item_id: int | None = None
    ) -> list[int]:
        """Add ``effects`` in the caller's transaction; the ids of their rows, in order. An
        idempotency key already present is not inserted again: its existing id is returned."""
        if not effects:
            return []
        now = self._clock()
        rows: dict[str, dict[str, Any]] = {}
        for effect in effects:
            rows.setdefault(
                effect.idempotency_key,
                {
                    "idempotency_key": effect.idempotency_key,
                    "action": effect.action,
                    "sink": effect.sink,
                    "target": effect.target,
                    "payload": effect.payload,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "item_id": item_id,
                    "created_at": now,
                },
            )
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(OutboxRecord)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(OutboxRecord.id, OutboxRecord.idempotency_key)
        )
        inserted = {key: row_id for row_id, key in session.execute(statement)}
        ids = dict(
            session.execute(
                select(OutboxRecord.idempotency_key, OutboxRecord.id).where(
                    OutboxRecord.idempotency_key.in_(list(rows))
                )
            ).all()
        )
        for key, row_id in inserted.items():
            row = rows[key]
            self._event(
                session,
                "outbox.enqueued",
                row_id,
                item_id,
                {"action": row["action"], "sink": row["sink"], "target": row["target"]},
                idempotency_key=key,
                actor=DISPATCHER_ACTOR,
            )
        return [ids[e.idempotency_key] for e in effects]

    # -- the dispatcher's side ------------------------------------------------------------

    def claim(self, *, limit: int, lease_seconds: float) -> list[OutboxEntry]:
        """Lease up to ``limit`` due rows: pending ones whose time has come, and delivering ones
        whose lease ran out (their dispatcher died). Each gets ``attempts + 1``."""
        if limit < 1:
            return []
        now = self._clock()
        due = or_(
            and_(OutboxRecord.state == "pending", OutboxRecord.next_attempt_at <= now),
            and_(OutboxRecord.state == "delivering", OutboxRecord.lease_until <= now),
        )
        order = (OutboxRecord.next_attempt_at, OutboxRecord.id)
        with write_session(self._sessions) as session:
            ids = session.scalars(
                select(OutboxRecord.id)
                .where(due)
                .order_by(*order)
                .limit(limit)
                .with_for_update(skip_locked=True)  # SQLite: omitted, its write lock serialises
            ).all()
            if not ids:
                return []
            session.execute(
                update(OutboxRecord)
                .where(OutboxRecord.id.in_(ids))
                .values(
                    state="delivering",
                    lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=OutboxRecord.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            rows = session.scalars(
                select(OutboxRecord)
                .where(OutboxRecord.id.in_(ids))
                .order_by(*order)
                .execution_options(populate_existing=True)
            ).all()
            return [_entry(r) for r in rows]

    def delivered(self, entry_id: int, result: dict[str, Any]) -> None:
        """Record a delivery. A delivery that happened is recorded whatever the row's state (a
        slow dispatcher may finish after its lease was taken over); already delivered: no-op."""
        with write_session(self._sessions) as session:
            row = self._row(session, entry_id)
            if row.state == "delivered":
                return
            row.state = "delivered"
            row.delivered_at = self._clock()
            row.lease_until = None
            row.result = result
            self._event(
                session,
                "outbox.delivered",
                row.id,
                row.item_id,
                {
                    "action": row.action,
                    "sink": row.sink,
                    "attempts": row.attempts,
                    "result": result,
                },
                idempotency_key=row.idempotency_key,
                actor=DISPATCHER_ACTOR,
            )

    def failed(
        self,
        entry_id: int,
        error: str,
        *,
        retry_at: datetime | None,
        attempt: int | None = None,
    ) -> None:
        """Record a failed attempt: ``pending`` again at ``retry_at``, or ``dead`` when it is
        ``None``. With ``attempt`` (the claim's ``attempts``), a report from a claim whose lease
        was since taken over by another dispatcher is ignored; a delivered row stays
        delivered."""
        error = error[:ERROR_MAX_CHARS]
        with write_session(self._sessions) as session:
            row = self._row(session, entry_id)
            if row.state == "delivered" or (attempt is not None and row.attempts != attempt):
                return
            if row.state != "delivering":
                raise OutboxError(
                    f"outbox row {entry_id} is {row.state}, not delivering: only a claimed row "
                    "can fail"
                )
            row.last_error = error
            row.lease_until = None
            if retry_at is not None:
                row.state = "pending"
                row.next_attempt_at = retry_at
                return
            row.state = "dead"
            self._event(
                session,
                "outbox.dead",
                row.id,
                row.item_id,
                {"action": row.action, "sink": row.sink, "attempts": row.attempts, "error": error},
                idempotency_key=row.idempotency_key,
                actor=DISPATCHER_ACTOR,
            )

    # -- admins ---------------------------------------------------------------------------

    def list(
        self, *, state: str | None = None, limit: int = 100, after_id: int = 0
    ) -> list[OutboxEntry]:
        """Rows in id order after ``after_id`` (keyset pagination), optionally of one state."""
        if state is not None and state not in STATES:
            raise OutboxError(f"unknown outbox state {state!r}; one of {', '.join(STATES)}")
        query = select(OutboxRecord).where(OutboxRecord.id > after_id)
        if state is not None:
            query = query.where(OutboxRecord.state == state)
        with self._sessions() as session:
            rows = session.scalars(query.order_by(OutboxRecord.id).limit(limit)).all()
            return [_entry(r) for r in rows]

    def get(self, entry_id: int) -> OutboxEntry:
        with self._sessions() as session:
            row = session.get(OutboxRecord, entry_id)
            if row is None:
                raise OutboxError(f"no outbox row {entry_id}")
            return _entry(row)

    def retry(self, entry_id: int, *, actor: str) -> None:
        """Put a dead row back to ``pending`` now, with its attempts reset."""
        with write_session(self._sessions) as session:
            row = self._row(session, entry_id)
            if row.state != "dead":
                raise OutboxError(
                    f"outbox row {entry_id} is {row.state}: only a dead row can be retried"
                )
            row.state = "pending"
            row.attempts = 0
            row.next_attempt_at = self._clock()
            row.lease_until = None
            self._event(
                session,
                "outbox.retried",
                row.id,
                row.item_id,
                {"action": row.action, "sink": row.sink, "last_error": row.last_error},
                idempotency_key=row.idempotency_key,
                actor=actor,
            )

    def drop(self, entry_id: int, *, reason: str, actor: str) -> None:
        """Give up on a dead row (or cancel a pending one): state ``dropped``, final."""
        if not reason.strip():
            raise OutboxError("say why the effect is dropped (reason must not be empty)")
        with write_session(self._sessions) as session:
            row = self._row(session, entry_id)
            if row.state not in ("dead", "pending"):
                raise OutboxError(
                    f"outbox row {entry_id} is {row.state}: only a dead or pending row can be "
                    "dropped"
                )
            now = self._clock()
            previous = row.state
            row.state = "dropped"
            row.lease_until = None
            row.last_error = f"dropped by {actor}: {reason}"[:ERROR_MAX_CHARS]
            row.result = {
                "dropped": {"by": actor, "reason": reason, "at": now.isoformat(), "was": previous}
            }
            self._event(
                session,
                "outbox.dropped",
                row.id,
                row.item_id,
                {"action": row.action, "sink": row.sink, "reason": reason, "was": previous},
                idempotency_key=row.idempotency_key,
                actor=actor,
            )

    def counts(self) -> dict[str, int]:
        """Rows per state, every state present (zero when empty): the queue-depth metric."""
        with self._sessions() as session:
            found = dict(
                session.execute(
                    select(OutboxRecord.state, func.count()).group_by(OutboxRecord.state)
                ).all()
            )
        return {state: int(found.get(state, 0)) for state in STATES} | {
            s: int(n) for s, n in found.items() if s not in STATES
        }

    # -- helpers --------------------------------------------------------------------------

    def _row(self, session: Session, entry_id: int) -> OutboxRecord:
        row = session.get(OutboxRecord, entry_id, with_for_update=True)
        if row is None:
            raise OutboxError(f"no outbox row {entry_id}")
        return row

    def _event(
        self,
        session: Session,
        kind: str,
        row_id: int,
        item_id: int | None,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        actor: str,
    ) -> None:
        if self._custody is None:
            return
        subject = f"item:{item_id}" if item_id is not None else f"outbox:{row_id}"
        body = {"outbox_id": row_id, "idempotency_key": idempotency_key, **payload}
        self._custody.append(
            kind, subject, body, actor=actor, tool_version=__version__, session=session
        )
