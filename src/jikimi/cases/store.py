"""Notices and cases in the store.

:meth:`CaseStore.record_notice` keeps every notice as received, complete or not (an incomplete
one is answered with what it lacks, never dropped). A complete notice joins the open case that
already holds one of its locators (a second notice for the same content), or opens a case whose
clock is the notice's deadline; items already recorded at those locations are linked to it.
Everything is one transaction with its custody events.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.cases.copies import with_identical_copies
from jikimi.cases.deadlines import Deadline
from jikimi.cases.locators import Locator
from jikimi.cases.notices import NoticeCheck
from jikimi.cases.notifiers import is_suspended
from jikimi.evidence.custody import CustodyLog
from jikimi.store.db import write_session
from jikimi.store.models import (
    Case,
    CaseLocator,
    CaseTask,
    Item,
    ItemMedia,
    Notice,
    VerdictRecord,
    value_key,
)

CLOSED = "closed"
OPEN = "open"  # a review task not yet resolved
# The queue a notice kind opens its case in; suspected child abuse goes to child_safety.
NOTICE_QUEUES = {
    "takedown_request": "adult_ncii",
    "dsa_notice": "adult_ncii",
    "authority_order": "authority",
    "trusted_flagger": "trusted_flagger",
    "user_report": "user_reports",
}
CHILD_SAFETY = "child_safety"


@dataclass(frozen=True, slots=True)
class NoticeReceipt:
    """What the notifier is told: the receipt, the case, the clock, what is missing."""

    notice_id: int
    receipt: str
    case_id: int | None
    deadline_at: datetime | None
    missing: tuple[str, ...]
    invalid: tuple[tuple[str, str], ...]
    joined: bool = False  # the notice joined a case opened by an earlier one
    suspended: bool = False  # its notifier is suspended: recorded, no case opened
    already_removed: list[int] = field(default_factory=list)  # items removed before


def _locator_key(locator: Locator) -> tuple[str, str]:
    return locator.kind, value_key(locator.value)


class CaseStore:
    def __init__(self, sessions: sessionmaker[Session], custody: CustodyLog) -> None:
        self._sessions = sessions
        self._custody = custody

    def record_notice(
        self,
        body: dict[str, Any],
        check: NoticeCheck,
        deadline: Deadline | None,
        *,
        received_at: datetime,
        submitted_by: str,
        jurisdiction: str | None,
        notifier: str | None,
        also: Callable[[Session, NoticeReceipt], None] | None = None,
    ) -> NoticeReceipt:
        """Record the notice (and its case) in one transaction; ``also(session, receipt)``
        runs inside it (the notifier's receipt into the outbox)."""
        receipt = "rcpt_" + secrets.token_hex(12)
        with write_session(self._sessions) as session:
            notice = Notice(
                kind=check.kind,
                jurisdiction=jurisdiction,
                received_at=received_at,
                body=body,
                missing=list(check.missing),
                invalid=[{"field": f, "reason": r} for f, r in check.invalid],
                complete=check.complete,
                notifier=notifier,
                submitted_by=submitted_by,
                receipt=receipt,
                due_at=deadline.due_at if deadline and check.complete else None,
            )
            session.add(notice)
            session.flush()
            case, joined = None, False
            removed: list[int] = []
            suspended = is_suspended(session, notifier)
            if check.complete and not suspended:
                items = _items_at(session, check.locators)
                case, joined = self._case_for(session, notice, check, deadline, body, items)
                notice.case_id = case.id
                removed = _link_items(session, case, items)
            self._event(session, notice, case, joined, check)
            answer = NoticeReceipt(
                notice_id=notice.id,
                receipt=receipt,
                case_id=case.id if case else None,
                deadline_at=case.due_at if case else None,
                missing=check.missing,
                invalid=check.invalid,
                joined=joined,
                already_removed=removed,
                suspended=suspended,
            )
            if also is not None:
                also(session, answer)
            return answer

    def _case_for(
        self,
        session: Session,
        notice: Notice,
        check: NoticeCheck,
        deadline: Deadline | None,
        body: dict[str, Any],
        items: Sequence[Item],
    ) -> tuple[Case, bool]:
        """The open case this notice joins (one naming the same locator, or holding the same
        media: an item at these locations or an identical copy of it), or a new one."""
        keys = [_locator_key(loc) for loc in check.locators]
        case = None
        if keys:
            case = session.scalar(
                select(Case)
                .join(CaseLocator, CaseLocator.case_id == Case.id)
                .where(tuple_(CaseLocator.kind, CaseLocator.value).in_(keys), Case.state != CLOSED)
                .order_by(Case.id)
                .limit(1)
            )
        if case is None and items:
            held = {i.case_id for i in with_identical_copies(session, [i.id for i in items])}
            held.discard(None)
            if held:
                case = session.scalar(
                    select(Case)
                    .where(Case.id.in_(held), Case.state != CLOSED)
                    .order_by(Case.id)
                    .limit(1)
                )
        joined = case is not None
        now = notice.received_at
        minors = bool(body.get("csam"))
        if case is None:
            case = Case(
                state="new",
                queue=CHILD_SAFETY if minors else NOTICE_QUEUES.get(check.kind, "notices"),
                priority=deadline.priority if deadline else 50,
                suspected_minor=minors,
                origin=check.kind,
                jurisdiction=notice.jurisdiction,
                created_at=now,
                updated_at=now,
            )
            session.add(case)
        if deadline is not None and (case.due_at is None or deadline.due_at < case.due_at):
            case.due_at = deadline.due_at  # the earliest clock of its notices binds
            case.deadline_rule = deadline.rule
            case.priority = max(case.priority, deadline.priority)
        if deadline is not None and deadline.notify_by is not None:
            case.notify_by = min(filter(None, (case.notify_by, deadline.notify_by)))
        if case.jurisdiction is None and notice.jurisdiction is not None:
            case.jurisdiction = notice.jurisdiction  # a case a verdict opened gets a law
        if minors and not case.suspected_minor:
            case.suspected_minor, case.queue = True, CHILD_SAFETY
        case.updated_at = now
        session.flush()
        rows = session.execute(
            select(CaseLocator.kind, CaseLocator.value).where(CaseLocator.case_id == case.id)
        )
        known = {(kind, value) for kind, value in rows}
        for loc in check.locators:
            key = _locator_key(loc)
            if key not in known:
                known.add(key)
                session.add(
                    CaseLocator(
                        case_id=case.id,
                        kind=key[0],
                        value=key[1],
                        signal_type=loc.signal_type,
                        notice_id=notice.id,
                    )
                )
        return case, joined

    def _event(
        self,
        session: Session,
        notice: Notice,
        case: Case | None,
        joined: bool,
        check: NoticeCheck,
    ) -> None:
        # The body holds the notifier's contact details: custody records what happened, not who.
        payload = {
            "notice_id": notice.id,
            "kind": notice.kind,
            "jurisdiction": notice.jurisdiction,
            "complete": notice.complete,
            "missing": list(check.missing),
            "locators": len(check.locators),
            "case_id": case.id if case else None,
            "joined": joined,
            "notifier_suspended": case is None and check.complete,
            "due_at": case.due_at.isoformat() if case and case.due_at else None,
        }
        self._custody.append(
            "notice.received",
            f"case:{case.id}" if case else f"notice:{notice.id}",
            payload,
            actor=notice.submitted_by,
            tool_version=__version__,
            session=session,
        )

    # -- reading --------------------------------------------------------------------------

    def list(
        self,
        *,
        now: datetime,
        queue: str | None = None,
        state: str | None = None,
        origin: str | None = None,
        kind: str | None = None,
        jurisdiction: str | None = None,
        overdue: bool | None = None,
        open_tasks: bool | None = None,
        assignee: str | None = None,
        minors: bool | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Cases by the clock: the soonest due first (cases without a clock last), then
        priority. ``origin`` is what opened the case, ``kind`` any notice kind it holds;
        ``open_tasks`` the cases with (or without) near-duplicates left to review.
        ``minors=False`` leaves out suspected-minor cases (for roles that may not see them)."""
        query = select(Case)
        if kind is not None:
            query = query.where(Case.id.in_(select(Notice.case_id).where(Notice.kind == kind)))
        if assignee is not None:
            query = query.where(Case.assignee == assignee)
        if open_tasks is not None:
            with_tasks = Case.id.in_(select(CaseTask.case_id).where(CaseTask.state == OPEN))
            query = query.where(with_tasks if open_tasks else ~with_tasks)
        if queue is not None:
            query = query.where(Case.queue == queue)
        if state is not None:
            query = query.where(Case.state == state)
        if origin is not None:
            query = query.where(Case.origin == origin)
        if jurisdiction is not None:
            query = query.where(Case.jurisdiction == jurisdiction)
        if minors is not None:
            query = query.where(Case.suspected_minor.is_(minors))
        if overdue is not None:
            late = (Case.due_at.is_not(None)) & (Case.due_at < now) & (Case.state != CLOSED)
            query = query.where(late if overdue else ~late)
        query = query.order_by(
            Case.due_at.is_(None), Case.due_at, Case.priority.desc(), Case.id
        ).limit(limit)
        with self._sessions() as session:
            cases = session.scalars(query).all()
            rows = session.execute(
                select(CaseTask.case_id, func.count())
                .where(CaseTask.case_id.in_([c.id for c in cases]), CaseTask.state == OPEN)
                .group_by(CaseTask.case_id)
            )
            counts = {case_id: count for case_id, count in rows}
            return [{**_case_json(c, now), "open_tasks": counts.get(c.id, 0)} for c in cases]

    def state_for_receipt(self, case_id: int, receipt: str) -> str | None:
        """The state of case ``case_id`` when ``receipt`` is the receipt of a notice on it, else
        ``None`` (no such case and a receipt from elsewhere alike): a notifier's standing to
        appeal, asked the same way by ``POST /v1/cases/{id}/appeals`` and the appeal page."""
        if not receipt:
            return None
        with self._sessions() as session:
            state = session.scalar(
                select(Case.state)
                .join(Notice, Notice.case_id == Case.id)
                .where(Case.id == case_id, Notice.receipt == receipt)
            )
            return str(state) if state is not None else None

    def get(self, case_id: int, *, now: datetime) -> dict[str, Any] | None:
        """A case with its notices (as received), locators and items."""
        with self._sessions() as session:
            case = session.get(Case, case_id)
            if case is None:
                return None
            notices = session.scalars(
                select(Notice).where(Notice.case_id == case_id).order_by(Notice.id)
            ).all()
            locators = session.scalars(
                select(CaseLocator).where(CaseLocator.case_id == case_id).order_by(CaseLocator.id)
            ).all()
            items = session.scalars(select(Item.id).where(Item.case_id == case_id)).all()
            tasks = session.scalars(
                select(CaseTask).where(CaseTask.case_id == case_id).order_by(CaseTask.id)
            ).all()
            out = _case_json(case, now)
            out["tasks"] = [_task_json(t) for t in tasks]
            out["open_tasks"] = sum(t.state == OPEN for t in tasks)
            out["notices"] = [_notice_json(n) for n in notices]
            out["locators"] = [
                {"kind": loc.kind, "value": loc.value, "signal_type": loc.signal_type}
                for loc in locators
            ]
            out["items"] = sorted(items)
            return out


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _task_json(task: CaseTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "kind": task.kind,
        "item_id": task.item_id,
        "state": task.state,
        "detail": dict(task.detail),
        "created_at": _iso(task.created_at),
        "resolved_by": task.resolved_by,
        "resolved_at": _iso(task.resolved_at),
        "decision_id": task.decision_id,
    }


def _deadline_met(case: Case) -> bool | None:
    """Whether a closed case was decided within its clock; ``None`` while open or unclocked."""
    if case.due_at is None or case.closed_at is None:
        return None
    return case.closed_at <= case.due_at


def _case_json(case: Case, now: datetime) -> dict[str, Any]:
    left = (case.due_at - now).total_seconds() if case.due_at else None
    return {
        "id": case.id,
        "state": case.state,
        "queue": case.queue,
        "priority": case.priority,
        "origin": case.origin,
        "jurisdiction": case.jurisdiction,
        "suspected_minor": case.suspected_minor,
        "assignee": case.assignee,
        "created_at": _iso(case.created_at),
        "due_at": _iso(case.due_at),
        "notify_by": _iso(case.notify_by),
        "deadline_rule": case.deadline_rule,
        "seconds_left": None if left is None else round(left),
        "overdue": left is not None and left < 0 and case.state != CLOSED,
        "closed_at": _iso(case.closed_at),
        "deadline_met": _deadline_met(case),
        "notified_at": _iso(case.notified_at),
    }


def _notice_json(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "jurisdiction": notice.jurisdiction,
        "received_at": _iso(notice.received_at),
        "complete": notice.complete,
        "missing": list(notice.missing),
        "receipt": notice.receipt,
        "submitted_by": notice.submitted_by,
        "body": dict(notice.body),
    }


def _items_at(session: Session, locators: Sequence[Locator]) -> list[Item]:
    """The items recorded at these locations: a Telegram message, a URL, a SHA-256 or MD5."""
    conditions = []
    for signal_type, column in (("sha256", ItemMedia.media_sha256), ("md5", ItemMedia.media_md5)):
        hashes = [
            loc.value for loc in locators if loc.kind == "hash" and loc.signal_type == signal_type
        ]
        if hashes:
            conditions.append(Item.id.in_(select(ItemMedia.item_id).where(column.in_(hashes))))
    for loc in locators:
        if loc.kind == "telegram" and loc.chat and loc.message_id:
            conditions.append(
                (Item.platform == "telegram")
                & (Item.chat_id == loc.chat)
                & (Item.message_id == loc.message_id)
            )
        elif loc.kind == "url":
            conditions.append(Item.url == loc.value)
    if not conditions:
        return []
    return list(session.scalars(select(Item).where(or_(*conditions)).order_by(Item.id)))


def _link_items(session: Session, case: Case, items: Sequence[Item]) -> list[int]:
    """Link the items to the case (those not in a case yet); the ids of those a verdict
    already removed."""
    for item in items:
        if item.case_id is None:
            item.case_id = case.id
    if not items:
        return []
    removed = session.scalars(
        select(VerdictRecord.item_id).where(
            VerdictRecord.item_id.in_([i.id for i in items]),
            VerdictRecord.outcome == "remove",
        )
    ).all()
    return sorted(set(removed))
