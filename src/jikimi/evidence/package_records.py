"""What an evidence package holds, read from the store in one read-only session.

Only these tables are read: cases, notices, decisions, appeals, case tasks, case locators,
items (with ``raw``, the platform's own bytes), item links, item media, media, matches,
verdicts, banks (for the ``minors`` mark) and custody events. Never ``person_templates`` nor
``face_templates``: protected persons' and flagged faces' templates stay out of every package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jikimi.errors import CaseNotFound
from jikimi.evidence.custody import CustodyEvent
from jikimi.store.models import (
    Appeal,
    Bank,
    Case,
    CaseLocator,
    CaseTask,
    CustodyEventRecord,
    Decision,
    Item,
    ItemLink,
    ItemMedia,
    MatchRecord,
    MediaRecord,
    Notice,
    VerdictRecord,
)

# Notice fields that identify or reach the notifier (docs/cases.md): kept out unless asked.
CONTACT_FIELDS = ("contact", "signature", "name", "reporter", "on_behalf_of")
REDACTED = "[withheld: notifier contact details; export with contacts to include]"
# The reason of an invalid contact field quotes the value ("'jane@doe' is not a valid ...").
REASON_REDACTED = "REDACTED"


def iso(at: datetime | None) -> str | None:
    """UTC ISO 8601 (the store keeps UTC; the original zone lives in the item's meta)."""
    return None if at is None else at.astimezone(UTC).isoformat()


@dataclass(slots=True)
class MediaEntry:
    sha256: str
    row: dict[str, Any]
    matches: list[dict[str, Any]]
    kept_in_vault: bool
    may_show_minor: bool


@dataclass(slots=True)
class ItemEntry:
    id: int
    record: dict[str, Any]
    raw: str | None
    media: list[str]


@dataclass(slots=True)
class CaseRecords:
    case: dict[str, Any]
    notices: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    appeals: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    locators: list[dict[str, Any]]
    items: list[ItemEntry]
    media: dict[str, MediaEntry]
    events: list[CustodyEvent] = field(default_factory=list)


def read_case(sessions: sessionmaker[Session], case_id: int, *, contacts: bool) -> CaseRecords:
    """Everything about ``case_id`` a package holds; :class:`CaseNotFound` if there is none.
    ``contacts``: keep notifiers' contact details in the notices (otherwise withheld)."""
    with sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise CaseNotFound(f"no case {case_id}; see jikimi case list")
        items = session.scalars(select(Item).where(Item.case_id == case_id).order_by(Item.id))
        item_rows = list(items)
        item_ids = [i.id for i in item_rows]
        verdicts = _by_item(session, VerdictRecord, item_ids)
        links = _by_item(session, ItemLink, item_ids)
        media_links = _by_item(session, ItemMedia, item_ids)
        minor_items = {i for i, rows in verdicts.items() if any(v["suspected_minor"] for v in rows)}
        entries = [
            _item_entry(i, verdicts.get(i.id, []), links.get(i.id, []), media_links.get(i.id, []))
            for i in item_rows
        ]
        media = _media(session, entries, case.suspected_minor, minor_items)
        notices = [
            _notice(n, contacts)
            for n in session.scalars(
                select(Notice).where(Notice.case_id == case_id).order_by(Notice.id)
            )
        ]
        decisions = _rows(session, Decision, Decision.case_id == case_id)
        records = CaseRecords(
            case=_columns(case),
            notices=notices,
            decisions=decisions,
            appeals=_rows(session, Appeal, Appeal.case_id == case_id),
            tasks=_rows(session, CaseTask, CaseTask.case_id == case_id),
            locators=_rows(session, CaseLocator, CaseLocator.case_id == case_id),
            items=entries,
            media=media,
        )
        subjects = package_subjects(records)
        records.events = _events(session, subjects)
        return records


def package_subjects(records: CaseRecords) -> list[str]:
    """The custody subjects of everything in the package."""
    return [
        f"case:{records.case['id']}",
        *(f"item:{i.id}" for i in records.items),
        *(f"media:{sha}" for sha in records.media),
        *(f"notice:{n['id']}" for n in records.notices),
        *(f"decision:{d['id']}" for d in records.decisions),
    ]


def _columns(row: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(row, column.key)
        out[column.key] = iso(value) if isinstance(value, datetime) else value
    return out


def _rows(session: Session, model: Any, where: Any) -> list[dict[str, Any]]:
    return [_columns(r) for r in session.scalars(select(model).where(where).order_by(model.id))]


def _by_item(session: Session, model: Any, item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not item_ids:
        return out
    for row in session.scalars(select(model).where(model.item_id.in_(item_ids)).order_by(model.id)):
        out.setdefault(row.item_id, []).append(_columns(row))
    return out


def _item_entry(
    item: Item,
    verdicts: list[dict[str, Any]],
    links: list[dict[str, Any]],
    media_links: list[dict[str, Any]],
) -> ItemEntry:
    record = _columns(item, skip=("raw",))
    record["verdicts"] = verdicts
    record["links"] = links
    record["media"] = media_links
    shas = [m["media_sha256"] for m in media_links if m["media_sha256"]]
    return ItemEntry(id=item.id, record=record, raw=item.raw, media=list(dict.fromkeys(shas)))


def _media(
    session: Session, items: list[ItemEntry], minor_case: bool, minor_items: set[int]
) -> dict[str, MediaEntry]:
    shas = list(dict.fromkeys(sha for item in items for sha in item.media))
    if not shas:
        return {}
    minor_media = {sha for item in items if item.id in minor_items for sha in item.media}
    matches: dict[str, list[dict[str, Any]]] = {}
    for row in session.scalars(
        select(MatchRecord).where(MatchRecord.media_sha256.in_(shas)).order_by(MatchRecord.id)
    ):
        match = _columns(row)
        if match["detail"] and "name" in match["detail"]:
            # A protected person is named by id only; the support centre holds the name.
            match["detail"] = {k: v for k, v in match["detail"].items() if k != "name"}
        matches.setdefault(row.media_sha256, []).append(match)
    minor_banks = set(session.scalars(select(Bank.name).where(Bank.minors.is_(True))))
    out: dict[str, MediaEntry] = {}
    for row in session.scalars(select(MediaRecord).where(MediaRecord.sha256.in_(shas))):
        found = matches.get(row.sha256, [])
        minor = (
            minor_case
            or row.sha256 in minor_media
            or any(m["bank"] in minor_banks and not m["suppressed_by"] for m in found)
        )
        out[row.sha256] = MediaEntry(
            sha256=row.sha256,
            row=_columns(row),
            matches=found,
            kept_in_vault=bool(row.kept_in_vault),
            may_show_minor=minor,
        )
    return {sha: out[sha] for sha in shas if sha in out}


def _notice(notice: Notice, contacts: bool) -> dict[str, Any]:
    record = _columns(notice)
    if not contacts:
        body = dict(record["body"])
        for key in CONTACT_FIELDS:
            if body.get(key) is not None:
                body[key] = REDACTED
        record["body"] = body
        if record["notifier"] is not None:
            record["notifier"] = REDACTED
        record["invalid"] = [
            {**entry, "reason": REASON_REDACTED}
            if str(entry.get("field", "")).startswith(CONTACT_FIELDS)
            else entry
            for entry in record["invalid"]
        ]
    return record


def _events(session: Session, subjects: list[str]) -> list[CustodyEvent]:
    rows = session.scalars(
        select(CustodyEventRecord)
        .where(CustodyEventRecord.subject.in_(subjects))
        .order_by(CustodyEventRecord.seq)
    )
    return [
        CustodyEvent(
            seq=r.seq,
            at=r.at,
            kind=r.kind,
            subject=r.subject,
            actor=r.actor,
            tool_version=r.tool_version,
            payload=r.payload,
            prev_hash=r.prev_hash,
            hash=r.hash,
        )
        for r in rows
    ]
