"""The KCSC / victim support centre takedown package: CSV, PDF, and what the store gives."""

from __future__ import annotations

import csv
import io
import re
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from jikimi.errors import CaseNotFound, ReportError
from jikimi.evidence.report_doc import find_font
from jikimi.reports.kcsc import (
    CSV_COLUMNS,
    ContentRow,
    NoticeRef,
    TakedownPackage,
    TimelineEntry,
    load_package,
    package_csv,
    package_pdf,
    record_package,
)
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
from jikimi.workspace import Workspace

RECEIVED = datetime(2026, 3, 8, 0, 30, tzinfo=UTC)  # 09:30 KST
POSTED = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # 2026-03-08 00:00 KST: the date differs
SHA = "ab" * 32
MD5 = "cd" * 16
PDQ = "ef" * 32


def package() -> TakedownPackage:
    return TakedownPackage(
        case_id=7,
        requester="예시 플랫폼 Trust & Safety",
        generated_at=RECEIVED + timedelta(hours=5),
        notices=(
            NoticeRef(
                "authority_order",
                "R-1",
                RECEIVED,
                issuing_body="방송통신심의위원회",
                reference="KCSC-2026-0042",
                legal_basis="정보통신망법 제44조의7",
            ),
        ),
        rows=(
            ContentRow(
                "https://t.me/room/12",
                "telegram",
                "room",
                "12",
                POSTED,
                SHA,
                MD5,
                PDQ,
                "remove",
                RECEIVED + timedelta(hours=2),
            ),
            ContentRow("sha256:" + "01" * 32, sha256="01" * 32),
        ),
        timeline=(
            TimelineEntry(RECEIVED, "요청 접수", "notice received"),
            TimelineEntry(RECEIVED + timedelta(hours=1), "결정: 삭제", "decision: remove"),
        ),
    )


def test_csv_has_korean_headers_bom_and_both_clocks() -> None:
    data = package_csv(package())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS and rows[0][0] == "번호"
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["게시 일시 (KST)"] == "2026-03-08 00:00:00 KST"
    assert first["게시 일시 (UTC)"] == "2026-03-07 15:00:00 UTC"
    assert first["조치 일시 (KST)"] == "2026-03-08 11:30:00 KST"
    assert (first["SHA-256"], first["MD5"], first["PDQ"]) == (SHA, MD5, PDQ)
    assert first["판정/조치"] == "삭제"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["판정/조치"] == "미결정" and second["조치 일시 (UTC)"] == ""
    assert len(rows) == 3


def _pdf_text_codepoints(pdf: bytes) -> set[int]:
    """Unicode code points the PDF's ToUnicode maps give its glyphs (its text is glyph ids):
    from the file itself and from every stream that inflates."""
    blobs = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            blobs.append(zlib.decompress(stream))
        except zlib.error:
            continue
    pairs = rb"<[0-9A-Fa-f]{4}> <([0-9A-Fa-f]{4})>"
    return {int(h, 16) for blob in blobs for h in re.findall(pairs, blob)}


def test_pdf_embeds_the_font_and_carries_hangul() -> None:
    pdf = package_pdf(package(), find_font())
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile2" in pdf and b"NanumGothic" in pdf
    assert pdf.rstrip().endswith(b"%%EOF")
    points = _pdf_text_codepoints(pdf)
    assert {ord(c) for c in "삭제요청서방송통신심의위원회"} <= points
    assert {ord(c) for c in "KST"} <= points


def test_no_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("jikimi.evidence.report_doc.FONT_FILES", (tmp_path / "none.ttf",))
    monkeypatch.setattr("jikimi.evidence.report_doc.shutil.which", lambda _: None)
    with pytest.raises(ReportError, match="fonts-nanum"):
        find_font()
    with pytest.raises(ReportError, match="korean_font"):
        find_font(tmp_path / "missing.ttf")


# -- from the store ---------------------------------------------------------------------------


def seed_case(ws: Workspace) -> int:
    now = RECEIVED
    with write_session(ws.sessions) as s:
        case = Case(queue="adult_ncii", state="closed", origin="takedown_request",
                    jurisdiction="KR")  # fmt: skip
        s.add(case)
        s.flush()
        s.add(
            Notice(
                kind="takedown_request", jurisdiction="KR", received_at=now,
                body={"kind": "takedown_request", "signature": "홍길동",
                      "contact": {"email": "victim@example.org"},
                      "on_behalf_of": "디지털성범죄피해자지원센터 2026-0311"},
                missing=[], invalid=[], complete=True, submitted_by="public",
                receipt="rcpt-1", case_id=case.id,
            )
        )  # fmt: skip
        s.add(
            MediaRecord(sha256=SHA, size=10, media_type="image", pdq=PDQ, signals={},
                        notes=[], first_seen=now, last_seen=now)
        )  # fmt: skip
        s.flush()
        item = Item(platform="telegram", chat_id="room", message_id="12", posted_at=POSTED,
                    meta={}, submitted_by="platform", case_id=case.id)  # fmt: skip
        s.add(item)
        s.flush()
        s.add(ItemMedia(item_id=item.id, position=0, media_sha256=SHA, media_md5=MD5))
        s.add(CaseLocator(case_id=case.id, kind="telegram", value="https://t.me/room/12"))
        s.add(CaseLocator(case_id=case.id, kind="hash", value="01" * 32, signal_type="sha256"))
        s.add(
            Decision(case_id=case.id, outcome="remove", ground="illegal", law="law",
                     terms=None, category="adult_ncii", reasons="r", automated_detection=False,
                     automated_decision="not", decided_by="mod",
                     decided_at=now + timedelta(hours=1), statement=None)
        )  # fmt: skip
        for n, sink in enumerate(("dry_run", "webhook")):
            s.add(
                OutboxRecord(idempotency_key=f"k{n}", action="remove_item", sink=sink,
                             target={}, payload={}, state="delivered", item_id=item.id,
                             delivered_at=now + timedelta(hours=2 + n))
            )  # fmt: skip
        return case.id


def test_load_package_from_the_store(ws: Workspace) -> None:
    case_id = seed_case(ws)
    got = load_package(ws.sessions, case_id, requester="ops", now=RECEIVED)
    (notice,) = got.notices
    assert notice.on_behalf_of == "디지털성범죄피해자지원센터 2026-0311"
    assert notice.signature is None and notice.contact is None  # minimal by default
    item_row, hash_row = got.rows  # the t.me locator is the recorded item, not a second row
    assert (item_row.sha256, item_row.md5, item_row.pdq) == (SHA, MD5, PDQ)
    assert item_row.outcome == "remove"
    assert item_row.actioned_at == RECEIVED + timedelta(hours=3)  # the webhook, not dry run
    assert hash_row.locator == "sha256:" + "01" * 32 and hash_row.sha256 == "01" * 32
    assert [e.event_en for e in got.timeline] == [
        "notice received (takedown_request)",
        "decision: remove",
        f"removal confirmed (item {1})",
    ]
    full = load_package(ws.sessions, case_id, requester="ops", now=RECEIVED, include_contact=True)
    assert full.notices[0].signature == "홍길동"
    assert full.notices[0].contact == "victim@example.org"
    with pytest.raises(CaseNotFound):
        load_package(ws.sessions, 999, requester="ops", now=RECEIVED)


def test_record_package_keeps_the_digests(ws: Workspace) -> None:
    case_id = seed_case(ws)
    digests = record_package(
        ws.sessions, ws.custody, case_id, {"csv": b"a", "pdf": b"b"}, actor="t", tool_version="x"
    )
    with ws.sessions() as s:
        row = s.scalars(select(ReportSubmission)).one()
    assert row.kind == "kcsc_takedown" and row.state == "built"
    assert row.document_sha256 == digests["pdf"]
    (event,) = [e for e in ws.custody.events() if e.kind == "report.kcsc.built"]
    assert event.payload == {"sha256": digests} and event.subject == f"case:{case_id}"
