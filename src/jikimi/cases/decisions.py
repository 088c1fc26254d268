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
from jikimi.store.models import Case, Decision, Item, ItemMedia

CLOSED = "closed"
ESCALATED = "escalated"
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
    ) -> Decided:
        """Record the ruling; raises :class:`~jikimi.errors.StatementError` (nothing stored)
        when the statement of reasons would not validate."""
        with write_session(self._sessions) as session:
            case = session.get(Case, case_id)
            if case is None:
                raise CaseNotFound(f"no case {case_id}; see GET /v1/cases")
            if case.state == CLOSED:
                raise CaseError(f"case {case_id} is closed; an appeal reopens it")
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
            items = self._targets(session, case) if ruling.outcome == "remove" else []
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
            }
            self._custody.append(
                "case.decided",
                f"case:{case_id}",
                payload,
                actor=actor,
                tool_version=__version__,
                session=session,
            )
            if also is not None and items:
                also(session, decision.id, items)
            return Decided(
                decision.id, case_id, case.state, statement, [i.id for i in items], media
            )

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
