"""Decisions on cases: the ruling, its statement of reasons, the case closed (or escalated),
and for a removal every item of the case plus every identical copy (same SHA-256) — all in one
transaction with the custody event; ``also`` adds the effects to the outbox in it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.errors import CaseError, CaseNotFound
from jikimi.evidence.custody import CustodyLog
from jikimi.reports.statement import DecisionFacts, statement_of_reasons
from jikimi.store.db import write_session
from jikimi.store.models import Appeal, Case, Decision, Item, ItemMedia

CLOSED = "closed"
ESCALATED = "escalated"
APPEALED = "appealed"
APPEALS_QUEUE = "appeals"
RESTRICTING = ("remove", "restrict")
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
    reversed: bool = False  # it undid an earlier removal or restriction


class DecisionStore:
    def __init__(self, sessions: sessionmaker[Session], custody: CustodyLog) -> None:
        self._sessions = sessions
        self._custody = custody

    def decide(
        self,
        case_id: int,
        ruling: Ruling,
        *,
        actor: str,
        now: datetime,
        also: Callable[[Session, int, list[Item]], None] | None = None,
        on_reverse: Callable[[Session, int, list[Item]], None] | None = None,
    ) -> Decided:
        """Record the ruling; raises :class:`~jikimi.errors.StatementError` (nothing stored)
        when the statement of reasons would not validate. On a case under appeal the ruling
        answers the appeal: it must come from a reviewer other than the one appealed against,
        and a ``keep`` after a removal reverses it (``on_reverse`` undoes the actions)."""
        with write_session(self._sessions) as session:
            case = session.get(Case, case_id)
            if case is None:
                raise CaseNotFound(f"no case {case_id}; see GET /v1/cases")
            if case.state == CLOSED:
                raise CaseError(f"case {case_id} is closed; an appeal reopens it")
            appeal, appealed = self._open_appeal(session, case_id)
            if appealed is not None and appealed.decided_by == actor:
                raise CaseError(
                    f"case {case_id} is under appeal against {actor}'s decision; a different "
                    "reviewer must decide it"
                )
            statement = None
            if ruling.outcome != "escalate":
                statement = statement_of_reasons(self._facts(case, ruling, now))
            decision = Decision(
                case_id=case_id,
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
            case.state = ESCALATED if ruling.outcome == "escalate" else CLOSED
            case.closed_at = None if ruling.outcome == "escalate" else now
            case.updated_at = now
            session.flush()
            reversed_ = (
                appealed is not None
                and appealed.outcome in RESTRICTING
                and ruling.outcome == "keep"
            )
            if appeal is not None and ruling.outcome != "escalate":
                appeal.outcome = "reversed" if reversed_ else "upheld"
                appeal.decided_by, appeal.decided_at = actor, now
            acting = ruling.outcome == "remove" or reversed_
            items = self._targets(session, case) if acting else []
            media = sorted(
                {
                    m
                    for m in session.scalars(
                        select(ItemMedia.media_sha256).where(
                            ItemMedia.item_id.in_([i.id for i in items]),
                            ItemMedia.media_sha256.is_not(None),
                        )
                    )
                    if m
                }
            )
            payload = {
                "decision_id": decision.id,
                "outcome": ruling.outcome,
                "ground": ruling.ground,
                "law": ruling.law,
                "terms": ruling.terms,
                "category": ruling.category,
                "items": [i.id for i in items],
                "statement_puid": statement.get("puid") if statement else None,
                "appeal_id": appeal.id if appeal else None,
                "reversed": reversed_,
            }
            self._custody.append(
                "case.decided",
                f"case:{case_id}",
                payload,
                actor=actor,
                tool_version=__version__,
                session=session,
            )
            if reversed_ and on_reverse is not None and items:
                on_reverse(session, decision.id, items)
            elif also is not None and items:
                also(session, decision.id, items)
            return Decided(
                decision.id,
                case_id,
                case.state,
                statement,
                [i.id for i in items],
                media,
                appeal_id=appeal.id if appeal else None,
                reversed=reversed_,
            )

    def appeal(self, case_id: int, *, reasons: str, filed_by: str, now: datetime) -> int:
        """File an appeal against the case's last ruling: the case reopens in the appeals
        queue (suspected minors stay in child_safety) for a different reviewer."""
        with write_session(self._sessions) as session:
            case = session.get(Case, case_id)
            if case is None:
                raise CaseNotFound(f"no case {case_id}; see GET /v1/cases")
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

    @staticmethod
    def _targets(session: Session, case: Case) -> list[Item]:
        """The case's items and every item holding an identical copy of their media (same
        SHA-256); copies join the case."""
        own = session.scalars(select(Item).where(Item.case_id == case.id)).all()
        digests = select(ItemMedia.media_sha256).where(
            ItemMedia.item_id.in_([i.id for i in own]), ItemMedia.media_sha256.is_not(None)
        )
        copies = session.scalars(
            select(Item).where(
                Item.id.in_(select(ItemMedia.item_id).where(ItemMedia.media_sha256.in_(digests)))
            )
        ).all()
        found = {i.id: i for i in [*own, *copies]}
        for item in found.values():
            if item.case_id is None:
                item.case_id = case.id
        return [found[k] for k in sorted(found)]
