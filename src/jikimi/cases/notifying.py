"""Who is told what, and when (docs/notifications.md).

- A notice with a contact email gets its **receipt** when it is recorded (complete: the case,
  the clock and the receipt code; incomplete: exactly what is missing).
- When its case is decided, every notifier with an email gets the **outcome**, the grounds and
  how to appeal; a notifier who appealed gets the appeal's outcome instead. The case's
  ``notified_at`` records when (Korean victim requests must be answered within 14 days).
- The uploader of removed content gets a **statement of reasons** where the law asks for one
  (``uploader_statements``: "law" means a case under EU jurisdiction, DSA Art. 17).

Every message is an outbox effect written in the same transaction as what made it necessary,
so a message is never lost nor sent for something that was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jikimi.actions.effects import Target
from jikimi.actions.notifications import notification_effects, statement_effects
from jikimi.actions.outbox import OutboxStore
from jikimi.actions.sinks.email import valid_address
from jikimi.cases.decisions import Decided
from jikimi.cases.messages import (
    Message,
    appeal_outcome_message,
    outcome_message,
    receipt_message,
    uploader_statement_text,
)
from jikimi.cases.store import NoticeReceipt
from jikimi.store.models import Appeal, Case, Decision, Item, Notice

__all__ = ["CaseNotifier"]

APPELLANT_PREFIX = "notifier:"


class CaseNotifier:
    def __init__(
        self,
        outbox: OutboxStore,
        *,
        routes: Mapping[str, Any],
        item_routes: Mapping[str, Any],
        appeal_url: str | None,
        uploader_statements: str,
        in_eu: Callable[[str | None], bool],
    ) -> None:
        """``routes``: ``mode``, ``email`` and ``notify_webhook`` (which notification sinks
        are configured); ``item_routes``: ``mode``, ``webhook`` and ``telegram`` (the
        platform's sinks, for uploaders)."""
        self._outbox = outbox
        self._routes = dict(routes)
        self._item_routes = dict(item_routes)
        self._appeal_url = appeal_url
        self._uploader_statements = uploader_statements
        self._in_eu = in_eu

    def receipt(self, session: Session, body: Mapping[str, Any], answer: NoticeReceipt) -> None:
        """The notifier's receipt, if the notice gave an email to send it to."""
        to = contact_email(body)
        if to is None:
            return
        message = receipt_message(
            to=to,
            language=_language(body),
            kind=str(body.get("kind")),
            receipt=answer.receipt,
            notice_id=answer.notice_id,
            case_id=answer.case_id,
            due_at=answer.deadline_at,
            missing=answer.missing,
            invalid=[name for name, _ in answer.invalid],
            joined=answer.joined,
            already_removed=answer.already_removed,
            suspended=answer.suspended,
        )
        self._send(session, message, f"notice:{answer.notice_id}", answer.notice_id)

    def decided(self, session: Session, decided: Decided) -> None:
        """The outcome to the case's notifiers (not for a review task: they did not report
        that item), and statements of reasons to the uploaders of removed content."""
        decision = session.get(Decision, decided.decision_id)
        case = session.get(Case, decided.case_id)
        assert decision is not None and case is not None
        if decision.outcome == "escalate":
            return
        if decided.task_id is None and self._tell_notifiers(session, case, decision, decided):
            case.notified_at = decision.decided_at
        if decision.statement and decided.items and self._statements_due(case):
            self._tell_uploaders(session, decision, decided.items)

    def _tell_notifiers(
        self, session: Session, case: Case, decision: Decision, decided: Decided
    ) -> bool:
        appellant = _appellant(session, decided.appeal_id)
        notices = session.scalars(
            select(Notice).where(Notice.case_id == case.id, Notice.complete.is_(True))
        ).all()
        told = False
        for notice in notices:
            to = contact_email(notice.body)
            if to is None:
                continue
            if appellant is not None and notice.receipt.startswith(appellant):
                message = appeal_outcome_message(
                    to=to,
                    language=_language(notice.body),
                    case_id=case.id,
                    upheld=decided.appeal_outcome == "upheld",
                    reasons=decision.reasons,
                    decided_at=decision.decided_at,
                )
            else:
                message = outcome_message(
                    to=to,
                    language=_language(notice.body),
                    case_id=case.id,
                    receipt=notice.receipt,
                    outcome=decision.outcome,
                    ground=decision.ground,
                    law=decision.law,
                    terms=decision.terms,
                    reasons=decision.reasons,
                    decided_at=decision.decided_at,
                    appeal_url=self._appeal_url,
                )
            self._send(session, message, f"decision:{decision.id}", notice.id)
            told = True
        return told

    def _statements_due(self, case: Case) -> bool:
        if self._uploader_statements == "always":
            return True
        if self._uploader_statements == "never":
            return False
        return self._in_eu(case.jurisdiction)

    def _tell_uploaders(self, session: Session, decision: Decision, item_ids: list[int]) -> None:
        assert decision.statement is not None
        text = uploader_statement_text(decision.statement)
        for item in session.scalars(select(Item).where(Item.id.in_(item_ids))):
            effects = statement_effects(
                decision.statement,
                text,
                Target.of_item(item),
                origin=f"decision:{decision.id}",
                **self._item_routes,
            )
            self._outbox.enqueue(session, effects, item_id=item.id)

    def _send(self, session: Session, message: Message, origin: str, notice_id: int) -> None:
        effects = notification_effects(
            message, origin=origin, target={"notice_id": notice_id}, **self._routes
        )
        self._outbox.enqueue(session, effects)


def contact_email(body: Mapping[str, Any]) -> str | None:
    """The notice's contact email, if it is one we can send to."""
    contact = body.get("contact")
    email = contact.get("email") if isinstance(contact, Mapping) else None
    email = email.strip() if isinstance(email, str) else None
    return email if valid_address(email) else None


def _language(body: Mapping[str, Any]) -> str:
    value = body.get("language")
    return value.lower() if isinstance(value, str) else "en"


def _appellant(session: Session, appeal_id: int | None) -> str | None:
    """The receipt prefix of the notifier who filed the appeal, if a notifier did."""
    if appeal_id is None:
        return None
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or not appeal.filed_by.startswith(APPELLANT_PREFIX):
        return None
    return appeal.filed_by.removeprefix(APPELLANT_PREFIX)
