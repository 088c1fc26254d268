"""Sending the decisions' statements of reasons to the DSA Transparency Database, resumably.

Each statement (``decisions.statement``, made when the case was decided) has one
:class:`~jikimi.store.models.ReportSubmission` of kind ``dsa_statement`` whose ``external_id``
is its PUID: ``submitted`` is written (and committed) before its batch is sent, ``finished``
with the database's ``uuid`` and the custody event ``report.dsa.submitted`` once the database
answered, ``failed`` with the error otherwise. A statement is pending until it is ``finished``,
so a run that stopped anywhere (a crash after sending, a 5xx in the third batch) is resumed by
running again: batches already answered are not sent again, and a batch that was sent but not
recorded comes back from the database as "existing PUIDs", which count as sent.

Every pending statement is checked before the first is sent: one that would be refused stops
the run with every problem and nothing is sent or stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.errors import ReportError, ReportInvalid
from jikimi.evidence.custody import CustodyLog, canonical_json
from jikimi.reports.transparency_db import MAX_BATCH, batches, check_statement
from jikimi.reports.transparency_db_client import Sent, TransparencyDbClient
from jikimi.store.db import write_session
from jikimi.store.models import Decision, ReportSubmission

if TYPE_CHECKING:
    from jikimi.workspace import Workspace

__all__ = [
    "KIND",
    "DsaRun",
    "PendingStatement",
    "pending_statements",
    "send_from_workspace",
    "submit_statements",
]

KIND = "dsa_statement"
EVENT = "report.dsa.submitted"


class StatementSender(Protocol):
    def submit_batch(self, statements: Sequence[dict[str, Any]]) -> list[Sent]: ...


@dataclass(frozen=True, slots=True)
class PendingStatement:
    decision_id: int
    case_id: int
    puid: str
    statement: dict[str, Any]


@dataclass
class DsaRun:
    """What a run did: ``pending`` statements found, ``sent`` now, ``existing`` found already
    stored by an earlier run, in ``batches`` calls; ``statements`` are the bodies (all of them
    on a dry run)."""

    pending: int = 0
    sent: int = 0
    existing: int = 0
    batches: int = 0
    statements: list[dict[str, Any]] = field(default_factory=list)


def pending_statements(
    sessions: sessionmaker[Session], *, since: datetime | None = None
) -> list[PendingStatement]:
    """Statements of reasons not yet accepted by the database, oldest decision first;
    ``since`` keeps decisions made at or after it."""
    with sessions() as session:
        done = set(
            session.scalars(
                select(ReportSubmission.external_id).where(
                    ReportSubmission.kind == KIND, ReportSubmission.state == "finished"
                )
            )
        )
        query = select(Decision).where(Decision.statement.is_not(None)).order_by(Decision.id)
        if since is not None:
            query = query.where(Decision.decided_at >= since)
        out = []
        for d in session.scalars(query):
            statement = dict(d.statement or {})
            puid = str(statement.get("puid", ""))
            if puid not in done:
                out.append(PendingStatement(d.id, d.case_id, puid, statement))
        return out


def submit_statements(
    sessions: sessionmaker[Session],
    custody: CustodyLog,
    sender: StatementSender | None,
    *,
    actor: str,
    tool_version: str,
    since: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = MAX_BATCH,
) -> DsaRun:
    """Send every pending statement in batches. ``dry_run`` (or no ``sender``) checks them
    and returns the bodies without sending or storing anything. Raises
    :class:`ReportInvalid` before sending anything when a statement would be refused, and the
    client's :class:`ReportError` when a batch fails (earlier batches stay recorded)."""
    pending = pending_statements(sessions, since=since)
    problems = [
        f"decision {p.decision_id} ({p.puid}): {problem}"
        for p in pending
        for problem in check_statement(p.statement)
    ]
    if problems:
        raise ReportInvalid(f"{len(problems)} problem(s), nothing was sent", problems)
    run = DsaRun(pending=len(pending))
    if dry_run or sender is None:
        run.statements = [p.statement for p in pending]
        return run
    for batch in batches(pending, batch_size):
        _mark_submitted(sessions, batch, actor)
        try:
            answers = sender.submit_batch([p.statement for p in batch])
        except ReportError as exc:
            _mark_failed(sessions, batch, str(exc))
            raise
        _mark_finished(sessions, custody, batch, answers, actor, tool_version)
        run.batches += 1
        run.existing += sum(1 for a in answers if a.existing)
        run.sent += sum(1 for a in answers if not a.existing)
        run.statements += [p.statement for p in batch]
    return run


def _rows(session: Session, batch: Sequence[PendingStatement]) -> dict[str, ReportSubmission]:
    rows = session.scalars(
        select(ReportSubmission).where(
            ReportSubmission.kind == KIND,
            ReportSubmission.external_id.in_([p.puid for p in batch]),
        )
    )
    return {row.external_id or "": row for row in rows}


def _mark_submitted(
    sessions: sessionmaker[Session], batch: Sequence[PendingStatement], actor: str
) -> None:
    now = datetime.now(UTC)
    with write_session(sessions) as session:
        rows = _rows(session, batch)
        for p in batch:
            row = rows.get(p.puid)
            if row is None:
                row = ReportSubmission(
                    case_id=p.case_id, kind=KIND, external_id=p.puid, created_by=actor, detail={}
                )
                session.add(row)
            row.state, row.error, row.updated_at = "submitted", None, now
            row.document_sha256 = hashlib.sha256(canonical_json(p.statement)).hexdigest()
            row.detail = {"decision_id": p.decision_id, "attempts": _attempts(row) + 1}


def _attempts(row: ReportSubmission) -> int:
    return int((row.detail or {}).get("attempts", 0))


def _mark_failed(
    sessions: sessionmaker[Session], batch: Sequence[PendingStatement], error: str
) -> None:
    with write_session(sessions) as session:
        for row in _rows(session, batch).values():
            row.state, row.error, row.updated_at = "failed", error, datetime.now(UTC)


def _mark_finished(
    sessions: sessionmaker[Session],
    custody: CustodyLog,
    batch: Sequence[PendingStatement],
    answers: Sequence[Sent],
    actor: str,
    tool_version: str,
) -> None:
    by_puid = {a.puid: a for a in answers}
    with write_session(sessions) as session:
        rows = _rows(session, batch)
        for p in batch:
            answer, row = by_puid.get(p.puid), rows[p.puid]
            if answer is None:  # the database's answer left it out: not known to be stored
                row.state, row.error = "failed", "not in the database's answer; run again"
                continue
            row.state, row.updated_at = "finished", datetime.now(UTC)
            row.detail = {**row.detail, "uuid": answer.uuid, "existing": answer.existing}
            custody.append(
                EVENT,
                f"case:{p.case_id}",
                {
                    "decision_id": p.decision_id,
                    "puid": p.puid,
                    "uuid": answer.uuid,
                    "existing": answer.existing,
                    "document_sha256": row.document_sha256,
                },
                actor=actor,
                tool_version=tool_version,
                session=session,
            )


def send_from_workspace(
    ws: Workspace, *, actor: str, since: datetime | None = None, dry_run: bool = False
) -> DsaRun:
    """:func:`submit_statements` with the workspace's settings (``dsa_tdb_url``,
    ``dsa_tdb_token``); a dry run needs no token."""
    settings = ws.settings
    if dry_run:
        return submit_statements(
            ws.sessions, ws.custody, None, actor=actor, tool_version=__version__, since=since,
            dry_run=True,
        )  # fmt: skip
    token = settings.dsa_tdb_token.get_secret_value() if settings.dsa_tdb_token else None
    with TransparencyDbClient(
        settings.dsa_tdb_url, token, timeout=settings.dsa_tdb_timeout_seconds
    ) as client:
        return submit_statements(
            ws.sessions, ws.custody, client, actor=actor, tool_version=__version__, since=since
        )
