"""A takedown request package for Korea's KCSC (방송통신심의위원회) and the Digital Sex Crime
Victim Support Center (디지털성범죄피해자지원센터): where the content is, its hashes, the
reference of the victim or authority behind the request, and the timeline from notice to
removal, as CSV (for the centre's spreadsheets) and PDF (to file).

:func:`load_package` is the one store query; :func:`package_csv` and :func:`package_pdf` are
pure builders over the plain :class:`TakedownPackage`. Times are shown in KST (UTC+9, Korea
keeps no daylight saving time, so a fixed offset is exact) and in UTC.

Personal data of the victim: the package carries the notice's receipt, the authority's name
and reference (an order) and ``on_behalf_of`` (whom a representative filed for, as the
filer wrote it), which is what the centre and KCSC need to join the request to their own case.
The victim's signature and contact details stay out unless ``include_contact`` is asked for:
the recipients already hold them, and every copy of them is one more to protect.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.errors import CaseNotFound, ReportError
from jikimi.evidence.custody import CustodyLog
from jikimi.evidence.report_doc import find_font, new_pdf
from jikimi.store.db import write_session
from jikimi.store.models import (
    Case,
    CaseLocator,
    Decision,
    Item,
    ItemMedia,
    MediaRecord,
    Notice,
    OutboxRecord,
    ReportSubmission,
)

if TYPE_CHECKING:
    from jikimi.workspace import Workspace

__all__ = [
    "CSV_COLUMNS",
    "KST",
    "ContentRow",
    "NoticeRef",
    "TakedownPackage",
    "TimelineEntry",
    "build_files",
    "case_access",
    "load_package",
    "package_csv",
    "package_pdf",
    "record_package",
]

KST = timezone(timedelta(hours=9), "KST")
KIND = "kcsc_takedown"
EVENT = "report.kcsc.built"
REMOVAL_ACTIONS = ("delete_message", "remove_item")
CSV_COLUMNS = (
    "번호",
    "게시물 URL/위치",
    "플랫폼",
    "채팅방",
    "메시지 ID",
    "게시 일시 (KST)",
    "게시 일시 (UTC)",
    "SHA-256",
    "MD5",
    "PDQ",
    "판정/조치",
    "조치 일시 (KST)",
    "조치 일시 (UTC)",
)
OUTCOME_KO = {"remove": "삭제", "restrict": "접근 제한", "keep": "유지", "escalate": "검토 중"}


@dataclass(frozen=True, slots=True)
class ContentRow:
    locator: str
    platform: str | None = None
    chat: str | None = None
    message_id: str | None = None
    posted_at: datetime | None = None
    sha256: str | None = None
    md5: str | None = None
    pdq: str | None = None
    outcome: str | None = None  # remove, restrict, keep, escalate; None: not decided
    actioned_at: datetime | None = None  # when the platform confirmed the removal


@dataclass(frozen=True, slots=True)
class NoticeRef:
    kind: str
    receipt: str
    received_at: datetime
    issuing_body: str | None = None
    reference: str | None = None
    legal_basis: str | None = None
    on_behalf_of: str | None = None
    signature: str | None = None  # only with include_contact
    contact: str | None = None  # only with include_contact


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    event_ko: str
    event_en: str


@dataclass(frozen=True, slots=True)
class TakedownPackage:
    case_id: int
    requester: str
    generated_at: datetime
    notices: tuple[NoticeRef, ...]
    rows: tuple[ContentRow, ...]
    timeline: tuple[TimelineEntry, ...]


def kst(at: datetime | None) -> str:
    return at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S KST") if at else ""


def utc(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else ""


# -- CSV --------------------------------------------------------------------------------------


def package_csv(package: TakedownPackage) -> bytes:
    """One row per content (Korean headers, :data:`CSV_COLUMNS`), UTF-8 with a byte order mark
    so that Excel in Korea opens it as UTF-8 rather than CP949."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for n, row in enumerate(package.rows, 1):
        writer.writerow(
            [
                n,
                row.locator,
                row.platform or "",
                row.chat or "",
                row.message_id or "",
                kst(row.posted_at),
                utc(row.posted_at),
                row.sha256 or "",
                row.md5 or "",
                row.pdq or "",
                OUTCOME_KO.get(row.outcome or "", "미결정"),
                kst(row.actioned_at),
                utc(row.actioned_at),
            ]
        )
    return out.getvalue().encode("utf-8-sig")


# -- PDF --------------------------------------------------------------------------------------


def package_pdf(package: TakedownPackage, font: Path) -> bytes:
    """The package as a PDF with Korean and English headings, ``font`` embedded."""
    from fpdf.enums import XPos, YPos

    pdf = new_pdf()
    pdf.set_creator("Jikimi")
    pdf.set_title(f"Takedown request, case {package.case_id}")
    pdf.add_font("Korean", fname=str(font))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def heading(text: str, size: int = 13) -> None:
        pdf.set_font("Korean", size=size)
        pdf.multi_cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Korean", size=9)

    def line(text: str) -> None:
        pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode="CHAR")

    heading("불법촬영물 등 삭제 요청서 / Takedown request", 16)
    for text in _summary_lines(package):
        line(text)
    heading("1. 요청인 / Requester")
    line(f"{package.requester}")
    heading("2. 피해자·기관 참조 / Victim and authority reference")
    for ref in package.notices:
        for text in _notice_lines(ref):
            line(text)
        pdf.ln(2)
    heading("3. 게시물 위치 / Content locators")
    for n, row in enumerate(package.rows, 1):
        where = " · ".join(x for x in (row.platform, row.chat, row.message_id) if x)
        line(f"{n}. {row.locator}" + (f"  ({where})" if where else ""))
        if row.posted_at:
            line(f"    게시 일시 / posted: {kst(row.posted_at)} | {utc(row.posted_at)}")
    heading("4. 해시 / Hashes")
    for n, row in enumerate(package.rows, 1):
        for name, value in (("SHA-256", row.sha256), ("MD5", row.md5), ("PDQ", row.pdq)):
            if value:
                line(f"{n}. {name}: {value}")
    heading("5. 경과 / Timeline (KST | UTC)")
    for entry in package.timeline:
        line(f"{kst(entry.at)} | {utc(entry.at)}  {entry.event_ko} / {entry.event_en}")
    return bytes(pdf.output())


def _summary_lines(package: TakedownPackage) -> list[str]:
    removed = sum(1 for r in package.rows if r.actioned_at is not None)
    return [
        f"사건 번호 / Case: {package.case_id}",
        f"작성 일시 / Generated: {kst(package.generated_at)} | {utc(package.generated_at)}",
        f"게시물 {len(package.rows)}건, 삭제 확인 {removed}건 / "
        f"{len(package.rows)} contents, {removed} removal(s) confirmed",
    ]


def _notice_lines(ref: NoticeRef) -> list[str]:
    lines = [
        f"접수 번호 / Receipt: {ref.receipt} ({ref.kind})",
        f"접수 일시 / Received: {kst(ref.received_at)} | {utc(ref.received_at)}",
    ]
    labelled = (
        ("요청 기관 / Issuing body", ref.issuing_body),
        ("기관 참조 번호 / Authority reference", ref.reference),
        ("법적 근거 / Legal basis", ref.legal_basis),
        ("대리 요청 대상 / On behalf of", ref.on_behalf_of),
        ("서명 / Signature", ref.signature),
        ("연락처 / Contact", ref.contact),
    )
    return lines + [f"{label}: {value}" for label, value in labelled if value]


# -- the store --------------------------------------------------------------------------------


def load_package(
    sessions: sessionmaker[Session],
    case_id: int,
    *,
    requester: str,
    now: datetime,
    include_contact: bool = False,
) -> TakedownPackage:
    """The package of case ``case_id`` as it stands; :class:`CaseNotFound` if there is none."""
    with sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise CaseNotFound(f"no case {case_id}")
        notices = session.scalars(
            select(Notice).where(Notice.case_id == case_id).order_by(Notice.received_at)
        ).all()
        decisions = session.scalars(
            select(Decision).where(Decision.case_id == case_id).order_by(Decision.decided_at)
        ).all()
        outcome = decisions[-1].outcome if decisions else None
        removals = _removals(session, case_id)
        rows = _item_rows(session, case_id, outcome, removals)
        rows += _locator_rows(session, case_id, rows, outcome)
        timeline = [
            TimelineEntry(n.received_at, f"요청 접수 ({n.kind})", f"notice received ({n.kind})")
            for n in notices
        ]
        timeline += [
            TimelineEntry(d.decided_at, f"결정: {OUTCOME_KO.get(d.outcome, d.outcome)}",
                          f"decision: {d.outcome}")
            for d in decisions
        ]  # fmt: skip
        timeline += [
            TimelineEntry(at, f"삭제 확인 (항목 {item_id})", f"removal confirmed (item {item_id})")
            for item_id, at in sorted(removals.items(), key=lambda kv: kv[1])
        ]
        return TakedownPackage(
            case_id=case_id,
            requester=requester,
            generated_at=now,
            notices=tuple(_notice_ref(n, include_contact) for n in notices),
            rows=tuple(rows),
            timeline=tuple(sorted(timeline, key=lambda e: e.at)),
        )


def _removals(session: Session, case_id: int) -> dict[int, datetime]:
    """When the platform confirmed each item's removal (deliveries by a real sink only)."""
    rows = session.execute(
        select(OutboxRecord.item_id, OutboxRecord.delivered_at)
        .join(Item, Item.id == OutboxRecord.item_id)
        .where(
            Item.case_id == case_id,
            OutboxRecord.action.in_(REMOVAL_ACTIONS),
            OutboxRecord.state == "delivered",
            OutboxRecord.sink != "dry_run",
        )
    )
    return {item_id: at for item_id, at in rows if item_id is not None and at is not None}


def _item_rows(
    session: Session, case_id: int, outcome: str | None, removals: dict[int, datetime]
) -> list[ContentRow]:
    found = session.execute(
        select(Item, ItemMedia, MediaRecord)
        .join(ItemMedia, ItemMedia.item_id == Item.id, isouter=True)
        .join(MediaRecord, MediaRecord.sha256 == ItemMedia.media_sha256, isouter=True)
        .where(Item.case_id == case_id)
        .order_by(Item.id, ItemMedia.position)
    )
    rows = []
    for item, link, media in found:
        locator = item.url or f"{item.platform}:{item.chat_id or ''}/{item.message_id or ''}"
        rows.append(
            ContentRow(
                locator=locator,
                platform=item.platform,
                chat=item.chat_id,
                message_id=item.message_id,
                posted_at=item.posted_at,
                sha256=link.media_sha256 if link else None,
                md5=link.media_md5 if link else None,
                pdq=media.pdq if media else None,
                outcome=outcome,
                actioned_at=removals.get(item.id),
            )
        )
    return rows


def _locator_rows(
    session: Session, case_id: int, rows: Sequence[ContentRow], outcome: str | None
) -> list[ContentRow]:
    """The notices' locators no recorded item stands for (a URL never ingested, a hash)."""
    known = {r.locator for r in rows} | {h for r in rows for h in (r.sha256, r.md5, r.pdq) if h}
    known |= {link for r in rows for link in _telegram_links(r)}
    out = []
    for loc in session.scalars(select(CaseLocator).where(CaseLocator.case_id == case_id)):
        if loc.value in known:
            continue
        known.add(loc.value)
        if loc.kind == "hash":
            kind = loc.signal_type
            out.append(
                ContentRow(
                    locator=f"{kind}:{loc.value}",
                    sha256=loc.value if kind == "sha256" else None,
                    md5=loc.value if kind == "md5" else None,
                    pdq=loc.value if kind == "pdq" else None,
                    outcome=outcome,
                )
            )
        else:
            out.append(ContentRow(locator=loc.value, outcome=outcome))
    return out


def _telegram_links(row: ContentRow) -> list[str]:
    """The t.me links a notice may have named a recorded Telegram message by."""
    if row.platform != "telegram" or not row.chat or not row.message_id:
        return []
    if row.chat.startswith("-100"):
        return [f"https://t.me/c/{row.chat[4:]}/{row.message_id}"]
    return [f"https://t.me/{row.chat.lower()}/{row.message_id}"]


def _notice_ref(notice: Notice, include_contact: bool) -> NoticeRef:
    body = notice.body if isinstance(notice.body, dict) else {}

    def text(name: str) -> str | None:
        value = body.get(name)
        return value.strip() or None if isinstance(value, str) else None

    contact = body.get("contact") if include_contact else None
    contact_text = (
        ", ".join(str(v) for v in contact.values() if v) if isinstance(contact, dict) else None
    )
    return NoticeRef(
        kind=notice.kind,
        receipt=notice.receipt,
        received_at=notice.received_at,
        issuing_body=text("issuing_body"),
        reference=text("reference"),
        legal_basis=text("legal_basis"),
        on_behalf_of=text("on_behalf_of"),
        signature=text("signature") if include_contact else None,
        contact=contact_text or None,
    )


def record_package(
    sessions: sessionmaker[Session],
    custody: CustodyLog,
    case_id: int,
    documents: dict[str, bytes],
    *,
    actor: str,
    tool_version: str,
) -> dict[str, str]:
    """Record that the package was built: a ``kcsc_takedown`` submission (state ``built``,
    the PDF's SHA-256 if there is one) and the custody event ``report.kcsc.built`` with every
    document's SHA-256, so a copy handed over can be shown unaltered. Returns the digests."""
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in documents.items()}
    with write_session(sessions) as session:
        session.add(
            ReportSubmission(
                case_id=case_id,
                kind=KIND,
                state="built",
                document_sha256=digests.get("pdf") or next(iter(digests.values()), None),
                detail={"sha256": digests},
                created_by=actor,
            )
        )
        custody.append(
            EVENT,
            f"case:{case_id}",
            {"sha256": digests},
            actor=actor,
            tool_version=tool_version,
            session=session,
        )
    return digests


def case_access(sessions: sessionmaker[Session], case_id: int) -> tuple[bool, set[str]]:
    """Whether case ``case_id`` is a suspected-minor case, and who filed its notices;
    :class:`CaseNotFound` if there is no such case."""
    with sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise CaseNotFound(f"no case {case_id}")
        filers = set(session.scalars(select(Notice.submitted_by).where(Notice.case_id == case_id)))
        return case.suspected_minor, filers


def build_files(
    ws: Workspace,
    case_id: int,
    *,
    actor: str,
    formats: Sequence[str] = ("csv", "pdf"),
    include_contact: bool = False,
) -> dict[str, bytes]:
    """The package of case ``case_id`` in ``formats`` (``csv``, ``pdf``), recorded with
    :func:`record_package`."""
    package = load_package(
        ws.sessions,
        case_id,
        requester=actor,
        now=datetime.now(UTC),
        include_contact=include_contact,
    )
    files: dict[str, bytes] = {}
    for name in formats:
        if name == "csv":
            files["csv"] = package_csv(package)
        elif name == "pdf":
            files["pdf"] = package_pdf(package, find_font(ws.settings.korean_font))
        else:
            raise ReportError(f"format {name!r}: the package comes as csv or pdf")
    record_package(ws.sessions, ws.custody, case_id, files, actor=actor, tool_version=__version__)
    return files
