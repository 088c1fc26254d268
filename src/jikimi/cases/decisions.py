"""Decisions on cases: the ruling, its statement of reasons, the case closed (or escalated),
and for a removal every item of the case plus every identical copy (same SHA-256, MD5 or
platform file id) — all in one transaction with the custody event; ``also`` adds the effects to
the outbox in it. A removal also opens a review task in the case for every item holding a
perceptual near-duplicate (PDQ within the threshold) of the removed media; a reviewer resolves
each task (remove, with its own statement of reasons, or keep). Reviewers claim cases: a case
claimed by one is decided by that one (or released)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.cases.copies import with_identical_copies
from jikimi.cases.near_duplicates import find_near_duplicates
from jikimi.errors import CaseError, CaseNotFound
from jikimi.evidence.custody import CustodyLog
from jikimi.reports.statement import DecisionFacts, statement_of_reasons
from jikimi.store.db import write_session
from jikimi.store.models import Appeal, Case, CaseTask, Decision, Item, ItemMedia, MediaRecord

CLOSED = "closed"
ESCALATED = "escalated"
APPEALED = "appealed"
APPEALS_QUEUE = "appeals"
RESTRICTING = ("remove", "restrict")
NEAR_DUPLICATE = "near_duplicate"
OPEN = "open"
# A PDQ distance at or under which an item is put before a reviewer (the usual match threshold).
NEAR_DUPLICATE_THRESHOLD = 31
# Effects for a decision's items, added to the outbox in the decision's transaction.
Enqueue = Callable[[Session, int, list[Item]], None]
# How a case came in, as the DSA statement's source.
SOURCES = {
    "takedown_request": "notice",
    "dsa_notice": "notice",
    "trusted_flagger": "trusted_flagger",
    "authority_order": "authority",
    "user_report": "user_report",
    "verdict": "own_initiative",
}


@dataclass(frozen=True, slots=True)
class Ruling:
    """What a reviewer decides on a case."""

    outcome: Literal["remove", "restrict", "keep", "escalate"]
    ground: Literal["illegal", "terms"]
    category: Literal["adult_ncii", "minors", "other"]
    reasons: str
    law: str | None = None
    terms: str | None = None
    territorial_scope: tuple[str, ...] = ()
    content_language: str | None = None


@dataclass(frozen=True, slots=True)
class Decided:
    decision_id: int
    case_id: int
    state: str
    statement: dict[str, Any] | None
    items: list[int]  # the items the decision acts on (the case's and identical copies)
    media: list[str]  # their SHA-256s
    appeal_id: int | None = None  # the appeal this decision answered
    appeal_outcome: str | None = None  # "upheld" or "reversed" (another outcome than before)
    reversed: bool = False  # it undid an earlier removal or restriction
    tasks: list[int] = field(default_factory=list)  # near-duplicate review tasks it opened
    task_id: int | None = None  # the task this decision resolved


# What else a decision's transaction does once it is recorded (the notifications).
After = Callable[[Session, Decided], None]


class DecisionStore:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        custody: CustodyLog,
        *,
        near_threshold: int = NEAR_DUPLICATE_THRESHOLD,
    ) -> None:
        self._sessions = sessions
        self._custody = custody
        self._near_threshold = near_threshold

    def decide(
        self,
        case_id: int,
        ruling: Ruling,
        *,
        actor: str,
        now: datetime,
        also: Enqueue | None = None,
        on_reverse: Enqueue | None = None,
        after: After | None = None,
    ) -> Decided:
        """Record the ruling; raises :class:`~jikimi.errors.StatementError` (nothing stored)
        when the statement of reasons would not validate. On a case under appeal the ruling
        answers the appeal: it must come from a reviewer other than the one appealed against,
        and a ``keep`` after a removal reverses it (``on_reverse`` undoes the actions).
        ``after(session, decided)`` runs last in the transaction (notifications)."""
        with write_session(self._sessions) as session:
            case = _case(session, case_id)
            if case.state == CLOSED:
                raise CaseError(f"case {case_id} is closed; an appeal reopens it")
            _check_claim(case, actor)
            appeal, appealed = self._open_appeal(session, case_id)
            if appealed is not None and appealed.decided_by == actor:
                raise CaseError(
                    f"case {case_id} is under appeal against {actor}'s decision; a different "
                    "reviewer must decide it"
                )
            reversed_ = (
                appealed is not None
                and appealed.outcome in RESTRICTING
                and ruling.outcome == "keep"
            )
            acting = ruling.outcome == "remove" or reversed_
            own = session.scalars(select(Item.id).where(Item.case_id == case.id)).all()
            items = with_identical_copies(session, own) if acting else []
            decision = self._record(session, case, ruling, actor, now, items)
            case.state = ESCALATED if ruling.outcome == "escalate" else CLOSED
            case.closed_at = None if ruling.outcome == "escalate" else now
            if appeal is not None and appealed is not None and ruling.outcome != "escalate":
                # Reversed: the appellant got another outcome than the one appealed against.
                changed = ruling.outcome != appealed.outcome
                appeal.outcome = "reversed" if changed else "upheld"
                appeal.decided_by, appeal.decided_at = actor, now
            tasks = [] if reversed_ else self._open_tasks(session, case, items, now)
            self._event(
                session,
                case,
                decision,
                items,
                actor,
                appeal_id=appeal.id if appeal else None,
                reversed=reversed_,
                tasks=tasks,
            )
            return _finish(
                session,
                case,
                decision,
                items,
                on_reverse if reversed_ else also,
                after,
                appeal_id=appeal.id if appeal else None,
                appeal_outcome=appeal.outcome if appeal else None,
                reversed=reversed_,
                tasks=tasks,
            )

    def resolve_task(
        self,
        case_id: int,
        task_id: int,
        ruling: Ruling,
        *,
        actor: str,
        now: datetime,
        also: Enqueue | None = None,
        after: After | None = None,
    ) -> Decided:
        """Resolve a near-duplicate review task: ``remove`` (or ``restrict``) is a decision on
        the task's item and its identical copies, with its own statement of reasons, and opens
        tasks for their near-duplicates in turn; ``keep`` closes the task and restricts
        nothing (no statement: Art. 17 asks for none)."""
        if ruling.outcome == "escalate":
            raise CaseError("a review task is resolved by remove, restrict or keep")
        with write_session(self._sessions) as session:
            case = _case(session, case_id)
            task = session.get(CaseTask, task_id)
            if task is None or task.case_id != case_id:
                raise CaseNotFound(
                    f"case {case_id} has no task {task_id}; see GET /v1/cases/{case_id}"
                )
            if task.state != OPEN:
                raise CaseError(f"task {task_id} was already resolved ({task.state})")
            items = []
            if ruling.outcome == "remove":
                items = with_identical_copies(session, [task.item_id])
            decision = self._record(session, case, ruling, actor, now, items)
            task.state = "kept" if ruling.outcome == "keep" else "removed"
            task.resolved_by, task.resolved_at, task.decision_id = actor, now, decision.id
            tasks = self._open_tasks(session, case, items, now)
            self._event(session, case, decision, items, actor, task_id=task.id, tasks=tasks)
            return _finish(
                session, case, decision, items, also, after, tasks=tasks, task_id=task.id
            )

    def assign(
        self, case_id: int, assignee: str | None, *, actor: str, now: datetime, force: bool = False
    ) -> str | None:
        """Claim a case for ``assignee`` or release it (``None``). A case claimed by someone
        else is taken over only with ``force`` (an admin reassigning work)."""
        with write_session(self._sessions) as session:
            case = _case(session, case_id)
            if case.state == CLOSED and assignee is not None:
                raise CaseError(f"case {case_id} is closed; nothing to claim")
            held = case.assignee
            if held is not None and held not in (actor, assignee) and not force:
                raise CaseError(f"case {case_id} is claimed by {held}; they may release it")
            case.assignee, case.updated_at = assignee, now
            self._custody.append(
                "case.assigned",
                f"case:{case_id}",
                {"assignee": assignee, "previous": held},
                actor=actor,
                tool_version=__version__,
                session=session,
            )
            return assignee

    def _record(
        self,
        session: Session,
        case: Case,
        ruling: Ruling,
        actor: str,
        now: datetime,
        items: list[Item],
    ) -> Decision:
        """The decision row with its statement of reasons (validated first); the items it acts
        on join the case."""
        statement = None
        if ruling.outcome != "escalate":
            statement = statement_of_reasons(self._facts(case, ruling, now))
        decision = Decision(
            case_id=case.id,
            outcome=ruling.outcome,
            ground=ruling.ground,
            law=ruling.law,
            terms=ruling.terms,
            category=ruling.category,
            reasons=ruling.reasons,
            automated_detection=case.origin == "verdict",
            automated_decision="not",
            decided_by=actor,
            decided_at=now,
            statement=statement,
        )
        session.add(decision)
        for item in items:
            if item.case_id is None:
                item.case_id = case.id
        case.updated_at = now
        session.flush()
        return decision

    def _open_tasks(
        self, session: Session, case: Case, removed: list[Item], now: datetime
    ) -> list[int]:
        """A review task for every item holding a perceptual near-duplicate of the removed
        media, unless it is already in the case or has an open task."""
        media = _media(session, removed)
        if not media:
            return []
        pdqs = {
            sha: pdq
            for sha, signals in session.execute(
                select(MediaRecord.sha256, MediaRecord.signals).where(MediaRecord.sha256.in_(media))
            )
            if isinstance(pdq := (signals or {}).get("pdq"), str)
        }
        if not pdqs:
            return []
        busy = set(session.scalars(select(Item.id).where(Item.case_id == case.id)))
        busy |= set(session.scalars(select(CaseTask.item_id).where(CaseTask.state == OPEN)))
        found = find_near_duplicates(
            session, pdqs, threshold=self._near_threshold, exclude_items=busy
        )
        opened: list[int] = []
        for near in found:
            if near.item_id in busy:
                continue  # one task per item, for its closest media
            busy.add(near.item_id)
            task = CaseTask(
                case_id=case.id,
                item_id=near.item_id,
                kind=NEAR_DUPLICATE,
                detail={
                    "media": near.media_sha256,
                    "of_media": near.of_media,
                    "distance": near.distance,
                    "threshold": self._near_threshold,
                },
                state=OPEN,
                created_at=now,
            )
            session.add(task)
            session.flush()
            opened.append(task.id)
        return opened

    def _event(
        self,
        session: Session,
        case: Case,
        decision: Decision,
        items: list[Item],
        actor: str,
        *,
        appeal_id: int | None = None,
        reversed: bool = False,
        tasks: list[int],
        task_id: int | None = None,
    ) -> None:
        payload = {
            "decision_id": decision.id,
            "outcome": decision.outcome,
            "ground": decision.ground,
            "law": decision.law,
            "terms": decision.terms,
            "category": decision.category,
            "items": [i.id for i in items],
            "statement_puid": decision.statement.get("puid") if decision.statement else None,
            "appeal_id": appeal_id,
            "reversed": reversed,
            "tasks_opened": tasks,
            "task_id": task_id,
        }
        self._custody.append(
            "case.decided",
            f"case:{case.id}",
            payload,
            actor=actor,
            tool_version=__version__,
            session=session,
        )

    def appeal(self, case_id: int, *, reasons: str, filed_by: str, now: datetime) -> int:
        """File an appeal against the case's last ruling: the case reopens in the appeals
        queue (suspected minors stay in child_safety) for a different reviewer."""
        with write_session(self._sessions) as session:
            case = _case(session, case_id)
            if case.state != CLOSED:
                raise CaseError(
                    f"case {case_id} is {case.state}: only a decided (closed) case can be appealed"
                )
            last = session.scalar(
                select(Decision)
                .where(Decision.case_id == case_id, Decision.outcome != "escalate")
                .order_by(Decision.id.desc())
                .limit(1)
            )
            if last is None:
                raise CaseError(f"case {case_id} has no decision to appeal against")
            appeal = Appeal(
                case_id=case_id,
                decision_id=last.id,
                filed_by=filed_by,
                reasons=reasons,
                filed_at=now,
            )
            session.add(appeal)
            case.state, case.closed_at, case.updated_at = APPEALED, None, now
            if not case.suspected_minor:
                case.queue = APPEALS_QUEUE
            session.flush()
            self._custody.append(
                "case.appealed",
                f"case:{case_id}",
                {"appeal_id": appeal.id, "decision_id": last.id, "against": last.decided_by},
                actor=filed_by,
                tool_version=__version__,
                session=session,
            )
            return appeal.id

    @staticmethod
    def _open_appeal(session: Session, case_id: int) -> tuple[Appeal | None, Decision | None]:
        appeal = session.scalar(
            select(Appeal).where(Appeal.case_id == case_id, Appeal.outcome.is_(None)).limit(1)
        )
        if appeal is None:
            return None, None
        return appeal, session.get(Decision, appeal.decision_id)

    @staticmethod
    def _facts(case: Case, ruling: Ruling, now: datetime) -> DecisionFacts:
        return DecisionFacts(
            outcome=ruling.outcome,
            ground=ruling.ground,
            law=ruling.law,
            terms=ruling.terms,
            category=ruling.category,
            reasons=ruling.reasons,
            automated_detection=case.origin == "verdict",
            automated_decision="not",
            source=SOURCES.get(case.origin, "notice"),  # type: ignore[arg-type]
            content_date=case.created_at,
            decided_at=now,
            puid=f"jikimi-{case.id}-{secrets.token_hex(6)}",
            territorial_scope=ruling.territorial_scope,
            content_language=ruling.content_language,
        )


def _finish(
    session: Session,
    case: Case,
    decision: Decision,
    items: list[Item],
    enqueue: Enqueue | None,
    after: After | None,
    **extra: Any,
) -> Decided:
    """The end of a decision's transaction: its effects (``enqueue``), what it decided, and
    what else must happen in the same transaction (``after``: notifications)."""
    if enqueue is not None and items:
        enqueue(session, decision.id, items)
    decided = Decided(
        decision.id,
        case.id,
        case.state,
        decision.statement,
        [i.id for i in items],
        _media(session, items),
        **extra,
    )
    if after is not None:
        after(session, decided)
    return decided


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"no case {case_id}; see GET /v1/cases")
    return case


def _check_claim(case: Case, actor: str) -> None:
    if case.assignee is not None and case.assignee != actor:
        raise CaseError(
            f"case {case.id} is claimed by {case.assignee}; they decide it or release it"
        )


def _media(session: Session, items: list[Item]) -> list[str]:
    """The SHA-256s of the items' media."""
    if not items:
        return []
    rows = session.scalars(
        select(ItemMedia.media_sha256).where(
            ItemMedia.item_id.in_([i.id for i in items]), ItemMedia.media_sha256.is_not(None)
        )
    )
    return sorted({m for m in rows if m})
