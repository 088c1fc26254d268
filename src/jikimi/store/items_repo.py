"""Items, their media, verdicts and the cases they open, recorded in one transaction.

:meth:`ItemStore.record` writes the item, its media links, the verdict, a case when the verdict
needs people (``review``) or must stay answerable (``remove``: appeals, reports), the custody
events, and whatever ``also`` adds (the action outbox) — all or nothing, so a verdict never
exists without the effects it asked for, nor effects without their verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.evidence.custody import CustodyLog
from jikimi.model import Verdict
from jikimi.store.db import write_session
from jikimi.store.models import (
    Case,
    Item,
    ItemLink,
    ItemMedia,
    MediaRecord,
    VerdictRecord,
    utcnow,
)

DEFAULT_REVIEW_QUEUE = "review"
AUTO_REMOVED_QUEUE = "auto_removed"


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item as a connector or the API hands it in."""

    platform: str
    submitted_by: str
    chat_id: str | None = None
    message_id: str | None = None
    url: str | None = None
    author_id: str | None = None
    posted_at: datetime | None = None
    text: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    # The platform's own record, verbatim (evidence); links into the propagation graph.
    raw: str | None = None
    links: tuple[ItemEdge, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemEdge:
    """An edge of the propagation graph: ``kind`` is forwarded_from, reply_to or via_bot;
    a message is named by ``chat_id``/``message_id``, an actor by ``actor``."""

    kind: str
    chat_id: str | None = None
    message_id: str | None = None
    actor: str | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class MediaLink:
    """One media of an item: its SHA-256 (and MD5), or the error that kept it from being
    read; ``file_id`` is the platform's own id for the file, known even when it was not."""

    sha256: str | None
    filename: str | None = None
    error: str | None = None
    md5: str | None = None
    file_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedItem:
    item_id: int
    verdict_id: int | None
    case_id: int | None
    created: bool  # False: the caller's external_id named an item recorded before


class ItemStore:
    def __init__(self, sessions: sessionmaker[Session], custody: CustodyLog) -> None:
        self._sessions = sessions
        self._custody = custody

    def find_external(self, submitted_by: str, external_id: str) -> RecordedItem | None:
        """The item this submitter already sent under ``external_id``, if any."""
        with self._sessions() as session:
            return _existing(session, submitted_by, external_id)

    def record(
        self,
        item: NewItem,
        media: Sequence[MediaLink],
        verdict: Verdict,
        *,
        actor: str,
        also: Callable[[Session, int, int], None] | None = None,
    ) -> RecordedItem:
        """Record an item and its verdict in one transaction; ``also(session, item_id,
        verdict_id)`` runs inside it. A repeated ``external_id`` from the same submitter
        returns the first item unchanged, also when two requests race to record it (the
        loser's transaction is rolled back, outbox effects and all)."""
        try:
            return self._record(item, media, verdict, actor=actor, also=also)
        except IntegrityError:
            if item.external_id is None:
                raise
            existing = self.find_external(item.submitted_by, item.external_id)
            if existing is None:
                raise
            return existing

    def _record(
        self,
        item: NewItem,
        media: Sequence[MediaLink],
        verdict: Verdict,
        *,
        actor: str,
        also: Callable[[Session, int, int], None] | None,
    ) -> RecordedItem:
        with write_session(self._sessions) as session:
            if item.external_id is not None:
                existing = _existing(session, item.submitted_by, item.external_id)
                if existing is not None:
                    return existing
            case = _open_case(session, verdict)
            row = Item(
                platform=item.platform,
                chat_id=item.chat_id,
                message_id=item.message_id,
                url=item.url,
                author_id=item.author_id,
                posted_at=item.posted_at,
                received_at=utcnow(),
                text=item.text,
                meta=item.meta,
                submitted_by=item.submitted_by,
                case_id=case.id if case else None,
                external_id=item.external_id,
                raw=item.raw,
            )
            session.add(row)
            session.flush()
            for edge in item.links:
                session.add(
                    ItemLink(
                        item_id=row.id,
                        kind=edge.kind,
                        chat_id=edge.chat_id,
                        message_id=edge.message_id,
                        actor=edge.actor,
                        label=edge.label,
                    )
                )
            for position, link in enumerate(media):
                session.add(
                    ItemMedia(
                        item_id=row.id,
                        position=position,
                        media_sha256=link.sha256,
                        media_md5=link.md5,
                        file_id=link.file_id,
                        filename=link.filename,
                        error=link.error,
                    )
                )
            record = VerdictRecord(
                item_id=row.id,
                outcome=verdict.outcome,
                queue=verdict.queue,
                priority=verdict.priority,
                automated=verdict.automated,
                suspected_minor=verdict.suspected_minor,
                actions=list(verdict.actions),
                reasons=[r.as_dict() for r in verdict.reasons],
                policy_version=verdict.policy_version,
                created_at=utcnow(),
            )
            session.add(record)
            session.flush()
            self._events(session, row, media, verdict, record.id, case, actor)
            if also is not None:
                also(session, row.id, record.id)
            return RecordedItem(row.id, record.id, case.id if case else None, created=True)

    def _events(
        self,
        session: Session,
        row: Item,
        media: Sequence[MediaLink],
        verdict: Verdict,
        verdict_id: int,
        case: Case | None,
        actor: str,
    ) -> None:
        subject = f"item:{row.id}"
        received = {
            "platform": row.platform,
            "chat_id": row.chat_id,
            "message_id": row.message_id,
            "url": row.url,
            "author_id": row.author_id,
            "submitted_by": row.submitted_by,
            "external_id": row.external_id,
            "media": [{"sha256": m.sha256, "error": m.error} for m in media],
        }
        decided = {"verdict_id": verdict_id, **verdict.as_dict()}
        if case is not None:
            decided["case_id"] = case.id
        for kind, payload in (("item.received", received), ("item.verdict", decided)):
            self._custody.append(
                kind, subject, payload, actor=actor, tool_version=__version__, session=session
            )

    def get(self, item_id: int) -> dict[str, Any] | None:
        """The item with its media (signals and matches from the media records), verdicts, its
        platform record verbatim (``raw``) and its propagation edges (``links``)."""
        with self._sessions() as session:
            row = session.get(Item, item_id)
            if row is None:
                return None
            links = session.scalars(
                select(ItemMedia).where(ItemMedia.item_id == item_id).order_by(ItemMedia.position)
            ).all()
            verdicts = session.scalars(
                select(VerdictRecord)
                .where(VerdictRecord.item_id == item_id)
                .order_by(VerdictRecord.id)
            ).all()
            edges = session.scalars(
                select(ItemLink).where(ItemLink.item_id == item_id).order_by(ItemLink.id)
            ).all()
            media_rows = {
                m.sha256: m
                for m in session.scalars(
                    select(MediaRecord).where(
                        MediaRecord.sha256.in_([ln.media_sha256 for ln in links if ln.media_sha256])
                    )
                )
            }
            return {
                "id": row.id,
                "platform": row.platform,
                "chat_id": row.chat_id,
                "message_id": row.message_id,
                "url": row.url,
                "author_id": row.author_id,
                "posted_at": row.posted_at,
                "received_at": row.received_at,
                "text": row.text,
                "meta": dict(row.meta),
                "submitted_by": row.submitted_by,
                "external_id": row.external_id,
                "case_id": row.case_id,
                "media": [_media_json(ln, media_rows.get(ln.media_sha256 or "")) for ln in links],
                "verdicts": [_verdict_json(v) for v in verdicts],
                "raw": row.raw,
                "links": [_link_json(e) for e in edges],
            }


def _existing(session: Session, submitted_by: str, external_id: str) -> RecordedItem | None:
    row = session.scalar(
        select(Item).where(Item.submitted_by == submitted_by, Item.external_id == external_id)
    )
    if row is None:
        return None
    verdict_id = session.scalar(
        select(VerdictRecord.id).where(VerdictRecord.item_id == row.id).order_by(VerdictRecord.id)
    )
    return RecordedItem(row.id, verdict_id, row.case_id, created=False)


def _open_case(session: Session, verdict: Verdict) -> Case | None:
    if verdict.outcome == "allow":
        return None
    now = utcnow()
    if verdict.outcome == "review":
        state, queue = "new", verdict.queue or DEFAULT_REVIEW_QUEUE
    else:  # removed without a human: the case stays for appeals and reports
        state, queue = "actioned", verdict.queue or AUTO_REMOVED_QUEUE
    case = Case(
        state=state,
        queue=queue,
        priority=verdict.priority,
        suspected_minor=verdict.suspected_minor,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    return case


def _media_json(link: ItemMedia, row: MediaRecord | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "position": link.position,
        "sha256": link.media_sha256,
        "filename": link.filename,
    }
    if link.file_id is not None:
        out["file_id"] = link.file_id
    if link.error is not None:
        out["error"] = link.error
    if row is not None:
        out.update(
            media_type=row.media_type,
            size=row.size,
            signals=dict(row.signals),
            findings=dict(row.findings or {}),
            error=row.error,
        )
    return out


def _link_json(link: ItemLink) -> dict[str, Any]:
    out = {"kind": link.kind}
    for key in ("chat_id", "message_id", "actor", "label"):
        value = getattr(link, key)
        if value is not None:
            out[key] = value
    return out


def _verdict_json(v: VerdictRecord) -> dict[str, Any]:
    return {
        "id": v.id,
        "outcome": v.outcome,
        "queue": v.queue,
        "priority": v.priority,
        "automated": v.automated,
        "suspected_minor": v.suspected_minor,
        "actions": list(v.actions),
        "reasons": list(v.reasons),
        "policy_version": v.policy_version,
        "created_at": v.created_at,
    }
