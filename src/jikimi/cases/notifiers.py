"""Abuse of notices (DSA Art. 23): per-notifier counts of notices and of upheld ones, and
suspension, with reasons, of a notifier who sends manifestly unfounded notices. A suspended
notifier's notices are still recorded, but open no case until the suspension is lifted.

Notifiers are named by what they gave (an email, a flagger id, an issuing body); custody
events carry a digest of that name, not the name itself."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.errors import CaseError
from jikimi.evidence.custody import CustodyLog
from jikimi.store.db import write_session
from jikimi.store.models import Decision, Notice, NotifierSuspension

UPHELD = ("remove", "restrict")


def notifier_subject(notifier: str) -> str:
    return "notifier:" + hashlib.sha256(notifier.encode()).hexdigest()[:16]


def is_suspended(session: Session, notifier: str | None) -> bool:
    if not notifier:
        return False
    found = session.scalar(
        select(NotifierSuspension.id).where(
            NotifierSuspension.notifier == notifier, NotifierSuspension.lifted_at.is_(None)
        )
    )
    return found is not None


class NotifierStore:
    def __init__(self, sessions: sessionmaker[Session], custody: CustodyLog) -> None:
        self._sessions = sessions
        self._custody = custody

    def suspend(self, notifier: str, *, reason: str, actor: str, now: datetime) -> None:
        with write_session(self._sessions) as session:
            if is_suspended(session, notifier):
                raise CaseError("that notifier is already suspended")
            session.add(
                NotifierSuspension(
                    notifier=notifier, reason=reason, suspended_by=actor, suspended_at=now
                )
            )
            self._event(session, "notifier.suspended", notifier, {"reason": reason}, actor)

    def lift(self, notifier: str, *, actor: str, now: datetime) -> None:
        with write_session(self._sessions) as session:
            row = session.scalar(
                select(NotifierSuspension).where(
                    NotifierSuspension.notifier == notifier,
                    NotifierSuspension.lifted_at.is_(None),
                )
            )
            if row is None:
                raise CaseError("that notifier is not suspended")
            row.lifted_at, row.lifted_by = now, actor
            self._event(session, "notifier.lifted", notifier, {}, actor)

    def counts(self) -> list[dict[str, Any]]:
        """Per notifier: notices, complete ones, upheld ones (their case was decided remove
        or restrict), and whether suspended; the most notices first."""
        upheld_cases = select(Decision.case_id).where(Decision.outcome.in_(UPHELD))
        with self._sessions() as session:
            rows = session.execute(
                select(
                    Notice.notifier,
                    func.count(),
                    func.count().filter(Notice.complete.is_(True)),
                    func.count().filter(Notice.case_id.in_(upheld_cases)),
                )
                .where(Notice.notifier.is_not(None))
                .group_by(Notice.notifier)
                .order_by(func.count().desc(), Notice.notifier)
            ).all()
            return [
                {
                    "notifier": notifier,
                    "notices": total,
                    "complete": complete,
                    "upheld": upheld,
                    "suspended": is_suspended(session, notifier),
                }
                for notifier, total, complete, upheld in rows
            ]

    def _event(
        self, session: Session, kind: str, notifier: str, payload: dict[str, Any], actor: str
    ) -> None:
        self._custody.append(
            kind,
            notifier_subject(notifier),
            payload,
            actor=actor,
            tool_version=__version__,
            session=session,
        )
