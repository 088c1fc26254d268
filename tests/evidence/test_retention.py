"""Media retention: due blobs purged with a custody event each, what cases (open, open to appeal,
held, reporting, or naming the media by any locator) still need kept, a purge that stops
half-way leaving nothing behind, and the races with a re-sighting and with a case reopening.
On both backends (the ``service`` fixture is parametrised by ``backend``)."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from tests.evidence.package_case import BuiltCase, build_case
from tests.pipeline.test_cascade import _registry
from tests.web.helpers import bearer

from jikimi.cases.messages import APPEAL_MONTHS, add_months
from jikimi.evidence.custody import CustodyEvent
from jikimi.evidence.package import export_case
from jikimi.evidence.retention import PURGED, PurgeReport, appeal_until, purge_media
from jikimi.evidence.vault import Vault
from jikimi.pipeline.scan import Scanner, ScanOptions
from jikimi.signals.registry import Registry
from jikimi.store.db import write_session
from jikimi.store.models import (
    Case,
    CustodyHead,
    Item,
    MediaRecord,
    PreservationHold,
    ReportSubmission,
)
from jikimi.web.service import Service, ServiceOptions

DAYS = 30


class Killed(BaseException):
    """The process dying at this point (not an error the purge could catch)."""


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"keep_media": True}


@pytest.fixture
def built(client: TestClient, service: Service, tokens: dict[str, str]) -> BuiltCase:
    """A case decided (closed) long ago, past its appeal window, whose item's media the vault
    keeps."""
    built = build_case(client, service, tokens)
    _closed_on(service, built.case_id, datetime.now(UTC) - timedelta(days=200))
    assert _kept(service, built.sha256) and service.ws.vault.has(built.sha256)
    return built


def _closed_on(service: Service, case_id: int, closed_at: datetime) -> None:
    with write_session(service.ws.sessions) as s:
        case = s.get(Case, case_id)
        assert case is not None and case.state == "closed"
        case.closed_at = closed_at


def _later(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def _purge(service: Service, days_later: float = DAYS + 1, **kw: object) -> PurgeReport:
    ws = service.ws
    return purge_media(
        ws.sessions,
        ws.vault,
        ws.custody,
        now=_later(days_later),
        retention_days=DAYS,
        actor="retention-test",
        tool_version="test",
        **kw,  # type: ignore[arg-type]
    )


def _kept(service: Service, sha: str) -> bool:
    with service.ws.sessions() as s:
        row = s.get(MediaRecord, sha)
        assert row is not None
        return row.kept_in_vault


def _head(service: Service) -> int:
    with service.ws.sessions() as s:
        return int(s.scalar(select(CustodyHead.seq)) or 0)


def _events(service: Service, sha: str, kind: str) -> list[CustodyEvent]:
    return [e for e in service.ws.custody.events(subject=f"media:{sha}") if e.kind == kind]


def _hold(service: Service, case_id: int, until: datetime) -> int:
    with write_session(service.ws.sessions) as s:
        hold = PreservationHold(
            case_id=case_id, reason="test hold", until=until, created_by="tester"
        )
        s.add(hold)
        s.flush()
        return hold.id


def test_a_due_blob_is_purged_and_recorded(service: Service, built: BuiltCase) -> None:
    report = _purge(service)

    [purged] = report.purged
    assert purged.sha256 == built.sha256 and not purged.file_missing
    assert report.kept == [] and report.problems == []
    assert not service.ws.vault.path_of(built.sha256).exists()
    assert not _kept(service, built.sha256)
    [event] = _events(service, built.sha256, PURGED)
    assert event.seq == purged.custody_seq and event.actor == "retention-test"
    assert event.payload["retention_days"] == DAYS
    assert event.payload["last_seen"] == purged.last_seen.isoformat()
    assert "no open case, no case open to appeal" in event.payload["reason"]
    assert set(event.payload["vault_file"]) == {"size", "mtime_ns", "inode"}
    assert service.ws.custody.verify().ok


def test_a_recent_blob_is_kept(service: Service, built: BuiltCase) -> None:
    report = _purge(service, days_later=DAYS - 1)

    assert report.purged == [] and report.kept == [] and report.not_due == 1
    assert _kept(service, built.sha256) and service.ws.vault.has(built.sha256)


def test_a_held_case_keeps_its_media_until_the_hold_expires(
    service: Service, built: BuiltCase
) -> None:
    until = _later(365)
    hold_id = _hold(service, built.case_id, until)

    report = _purge(service)
    assert report.purged == []
    [kept] = report.kept
    [protection] = kept.protections
    assert protection.why == "held" and protection.case_id == built.case_id
    assert protection.detail == f"hold {hold_id}"
    assert protection.describe().startswith(f"held by case {built.case_id} until {until:%Y-%m-%d}")
    assert _kept(service, built.sha256) and service.ws.vault.has(built.sha256)

    expired = _purge(service, days_later=366)
    assert [p.sha256 for p in expired.purged] == [built.sha256]
    assert not service.ws.vault.has(built.sha256)


def test_a_released_hold_keeps_nothing(service: Service, built: BuiltCase) -> None:
    hold_id = _hold(service, built.case_id, _later(365))
    with write_session(service.ws.sessions) as s:
        s.execute(
            update(PreservationHold)
            .where(PreservationHold.id == hold_id)
            .values(released_at=datetime.now(UTC), released_by="tester")
        )

    assert [p.sha256 for p in _purge(service).purged] == [built.sha256]


def test_an_open_case_keeps_its_media(service: Service, built: BuiltCase) -> None:
    service.appeal(built.case_id, reasons="This is me and I consented.", filed_by="uploader")

    report = _purge(service)
    assert report.purged == []
    [kept] = report.kept
    assert [p.describe() for p in kept.protections] == [f"case {built.case_id} open (appealed)"]
    assert service.ws.vault.has(built.sha256)


def test_a_cybertipline_report_under_way_keeps_its_media(
    service: Service, built: BuiltCase
) -> None:
    with write_session(service.ws.sessions) as s:
        s.add(
            ReportSubmission(
                case_id=built.case_id,
                kind="ncmec_cybertipline",
                state="sending",
                detail={},
                created_by="tester",
            )
        )

    [kept] = _purge(service).kept
    assert [p.why for p in kept.protections] == ["reporting"]


def test_a_dry_run_changes_nothing(service: Service, built: BuiltCase) -> None:
    head = _head(service)

    report = _purge(service, dry_run=True)

    [purged] = report.purged
    assert purged.sha256 == built.sha256 and purged.custody_seq is None
    assert _head(service) == head
    assert _kept(service, built.sha256) and service.ws.vault.has(built.sha256)


def test_a_second_run_records_nothing(service: Service, built: BuiltCase) -> None:
    _purge(service)
    head = _head(service)

    again = _purge(service)

    assert again.purged == [] and again.problems == []
    assert _head(service) == head


def test_limit_stops_and_the_next_run_does_the_rest(
    client: TestClient, service: Service, tokens: dict[str, str], built: BuiltCase
) -> None:
    other = build_case(client, service, tokens, seed=32, message="6")
    _closed_on(service, other.case_id, datetime.now(UTC) - timedelta(days=200))

    first = _purge(service, limit=1)
    assert len(first.purged) == 1 and first.limited
    rest = _purge(service, limit=1)
    assert len(rest.purged) == 1 and not rest.limited
    assert {first.purged[0].sha256, rest.purged[0].sha256} == {built.sha256, other.sha256}


def test_a_purge_killed_after_the_deletion_leaves_a_missing_file_for_the_next_run(
    service: Service, built: BuiltCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file goes before the commit: a run killed in between leaves the media kept without
    a file (nothing recorded), which the next run purges as missing; no file is left behind."""
    real_delete = Vault.delete
    head = _head(service)

    def killed(self: Vault, sha256: str) -> bool:
        real_delete(self, sha256)
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(Vault, "delete", killed)
        with pytest.raises(Killed):
            _purge(service)
    assert _kept(service, built.sha256) and not service.ws.vault.has(built.sha256)
    assert _events(service, built.sha256, PURGED) == [] and _head(service) == head

    report = _purge(service)
    [purged] = report.purged
    assert purged.file_missing and "holds no file" in report.problems[0]
    assert not _kept(service, built.sha256)
    assert _purge(service).problems == []
    assert service.ws.custody.verify().ok


def test_a_file_that_cannot_be_deleted_is_not_purged(
    service: Service, built: BuiltCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = _head(service)

    def refused(self: Vault, sha256: str) -> bool:
        raise PermissionError("read-only vault")

    with monkeypatch.context() as m:
        m.setattr(Vault, "delete", refused)
        report = _purge(service)
    assert report.purged == []
    [problem] = report.problems
    assert "could not be deleted (read-only vault); nothing recorded" in problem
    assert _kept(service, built.sha256) and service.ws.vault.has(built.sha256)
    assert _head(service) == head

    assert [p.sha256 for p in _purge(service).purged] == [built.sha256]
    assert not service.ws.vault.has(built.sha256)


def test_a_sighting_racing_the_purge_keeps_its_copy(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    built: BuiltCase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An upload finds the copy in the vault (``put_file`` answers "already there", ``has``
    yes), then a purge deletes it and commits before the upload records the media as kept:
    the record, under the media row's lock, finds the file gone and writes it again from the
    upload."""
    real_has = Vault.has
    purges: list[PurgeReport] = []

    def has_then_purge(self: Vault, sha256: str) -> bool:
        found = real_has(self, sha256)
        if not purges:
            purges.append(_purge(service))
        return found

    monkeypatch.setattr(Vault, "has", has_then_purge)
    r = client.post(
        "/v1/items",
        data={"item": '{"platform": "telegram", "chat_id": "-1002", "message_id": "9"}'},
        files={"media": ("again.jpg", built.image, "image/jpeg")},
        headers=bearer(tokens["platform"]),
    )
    assert r.status_code == 201, r.text

    [report] = purges
    assert [p.sha256 for p in report.purged] == [built.sha256]  # it did purge meanwhile
    assert _kept(service, built.sha256)
    assert service.ws.vault.has(built.sha256)
    assert b"".join(service.ws.vault.chunks(built.sha256)) == built.image


def test_a_scan_racing_the_purge_keeps_its_copy(
    service: Service, built: BuiltCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same race through ``jikimi scan --keep-media``. A scan skips media recorded
    without error, so it meets the race only with a media it reads again (made so here)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "again.jpg").write_bytes(built.image)
    real_has = Vault.has
    purges: list[PurgeReport] = []

    def has_then_purge(self: Vault, sha256: str) -> bool:
        found = real_has(self, sha256)
        if not purges:
            purges.append(_purge(service))
        return found

    monkeypatch.setattr(Vault, "has", has_then_purge)
    monkeypatch.setattr(service.ws.media, "seen", lambda sha256: False)
    registry, _ = _registry(nudity=0.0, faces=0.0)
    scanner = Scanner(service.ws, ScanOptions(keep_media=True, workers=0), registry)
    [result] = list(scanner.run(scanner.walk([folder])))

    assert result.sha256 == built.sha256
    [report] = purges
    assert [p.sha256 for p in report.purged] == [built.sha256]
    assert _kept(service, built.sha256) and real_has(service.ws.vault, built.sha256)


def test_a_sighting_waiting_for_the_purge_reads_what_it_committed(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    built: BuiltCase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other order: the purge holds the media row, file deleted, not yet committed, when
    an upload writes a new copy and records it. The record waits for the row (FOR UPDATE on
    PostgreSQL) and marks the media kept over the purge's commit."""
    real_delete = Vault.delete
    deleted, go = threading.Event(), threading.Event()

    def delete_and_wait(self: Vault, sha256: str) -> bool:
        done = real_delete(self, sha256)
        deleted.set()
        assert go.wait(30)
        return done

    monkeypatch.setattr(Vault, "delete", delete_and_wait)
    reports: list[PurgeReport] = []
    purge = threading.Thread(target=lambda: reports.append(_purge(service)))
    purge.start()
    assert deleted.wait(30)
    answers: list[int] = []

    def upload() -> None:
        r = client.post(
            "/v1/items",
            data={"item": '{"platform": "telegram", "chat_id": "-1002", "message_id": "9"}'},
            files={"media": ("again.jpg", built.image, "image/jpeg")},
            headers=bearer(tokens["platform"]),
        )
        answers.append(r.status_code)

    uploading = threading.Thread(target=upload)
    uploading.start()
    time.sleep(0.5)  # the upload has written its copy and waits for the media row
    go.set()
    purge.join(30)
    uploading.join(30)

    assert answers == [201]
    [report] = reports
    assert [p.sha256 for p in report.purged] == [built.sha256]
    assert _kept(service, built.sha256) and service.ws.vault.has(built.sha256)


def test_a_case_reopened_while_the_purge_decides_keeps_its_media(
    service: Service, built: BuiltCase
) -> None:
    """An appeal reopening the case touches no media row: the purge waits for it on the
    custody head (PostgreSQL; SQLite's write lock serialises both) and sees the case open."""
    ws = service.ws
    locked, release = threading.Event(), threading.Event()

    def reopen() -> None:
        with write_session(ws.sessions) as s:
            case = s.get(Case, built.case_id)
            assert case is not None
            case.state, case.closed_at = "appealed", None
            s.flush()
            ws.custody.append(
                "case.appealed",
                f"case:{built.case_id}",
                {},
                actor="t",
                tool_version="t",
                session=s,
            )
            locked.set()
            assert release.wait(30)

    appeal = threading.Thread(target=reopen)
    appeal.start()
    assert locked.wait(30)
    reports: list[PurgeReport] = []
    purge = threading.Thread(target=lambda: reports.append(_purge(service)))
    purge.start()
    time.sleep(0.5)  # the purge lists the blob as due and waits in its own transaction
    release.set()
    appeal.join(30)
    purge.join(30)

    [report] = reports
    assert report.purged == []
    [kept] = report.kept
    assert [p.describe() for p in kept.protections] == [f"case {built.case_id} open (appealed)"]
    assert _kept(service, built.sha256) and ws.vault.has(built.sha256)


def test_a_case_open_to_appeal_keeps_its_media_until_the_window_ends(
    service: Service, built: BuiltCase
) -> None:
    closed = datetime.now(UTC) - timedelta(days=10)
    _closed_on(service, built.case_id, closed)
    promised = add_months(closed.date(), APPEAL_MONTHS)  # what the outcome message says

    [kept] = _purge(service).kept
    [protection] = kept.protections
    assert protection.why == "appeal" and protection.case_id == built.case_id
    assert protection.describe() == (
        f"case {built.case_id} closed on {closed:%Y-%m-%d}, open to appeal until "
        f"{promised:%Y-%m-%d}"
    )
    assert service.ws.vault.has(built.sha256)

    last_day = (protection.until or closed) - datetime.now(UTC)
    assert _purge(service, days_later=last_day.total_seconds() / 86400 - 0.01).purged == []
    after = _purge(service, days_later=last_day.total_seconds() / 86400 + 0.01)
    assert [p.sha256 for p in after.purged] == [built.sha256]


@pytest.mark.parametrize(
    ("closed", "until"),
    [
        ("2026-07-01T10:00:00+00:00", "2027-01-02T00:00:00+00:00"),  # 184 days
        ("2026-08-31T23:59:00+00:00", "2027-03-01T00:00:00+00:00"),  # to 28 February
        ("2027-08-31T12:00:00+09:00", "2028-03-01T00:00:00+00:00"),  # 29 February, in UTC
    ],
)
def test_the_appeal_window_ends_after_the_day_the_messages_promise(closed: str, until: str) -> None:
    assert appeal_until(datetime.fromisoformat(closed)) == datetime.fromisoformat(until)


@pytest.mark.parametrize("locator", ["md5", "telegram", "url"])
def test_a_notice_naming_the_media_by_another_locator_keeps_it(
    client: TestClient, service: Service, tokens: dict[str, str], built: BuiltCase, locator: str
) -> None:
    """A case whose notice names the media's MD5, or the URL or Telegram message of an item
    showing it, but whose item stays in the (closed) case that had it first."""
    md5 = hashlib.md5(built.image).hexdigest()
    r = client.post(
        "/v1/items",
        data={"item": '{"platform": "web", "url": "https://Example.org/Pic?id=7"}'},
        files={"media": ("again.jpg", built.image, "image/jpeg")},
        headers=bearer(tokens["platform"]),
    )
    assert r.status_code == 201, r.text
    with write_session(service.ws.sessions) as s:  # the new item joined the old case
        s.execute(
            update(Item).where(Item.id == int(r.json()["item_id"])).values(case_id=built.case_id)
        )
    named = {
        "md5": f"md5:{md5}",
        "telegram": "https://t.me/c/1/5",
        "url": "https://EXAMPLE.org/Pic?id=7",
    }[locator]
    notice = {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": [named],
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "someone@example.org"},
    }
    filed = client.post("/v1/notices", json=notice)
    assert filed.status_code == 201, filed.text
    case_id = int(filed.json()["case_id"])
    assert case_id != built.case_id

    report = _purge(service)
    assert report.purged == []
    [kept] = report.kept
    assert [p.case_id for p in kept.protections] == [case_id]


def test_a_missing_file_is_a_problem_and_still_recorded(service: Service, built: BuiltCase) -> None:
    service.ws.vault.path_of(built.sha256).unlink()

    dry = _purge(service, dry_run=True)
    assert dry.purged[0].file_missing and "holds no file" in dry.problems[0]

    report = _purge(service)
    [purged] = report.purged
    assert purged.file_missing
    [problem] = report.problems
    assert built.sha256 in problem and f"custody seq {purged.custody_seq}" in problem
    [event] = _events(service, built.sha256, PURGED)
    assert event.payload["vault_file"] is None
    assert "already missing" in event.payload["reason"]
    assert not _kept(service, built.sha256)
    assert _purge(service).problems == []


def test_a_retention_below_one_day_is_refused(service: Service) -> None:
    ws = service.ws
    with pytest.raises(ValueError, match="at least 1"):
        purge_media(
            ws.sessions,
            ws.vault,
            ws.custody,
            now=datetime.now(UTC),
            retention_days=0,
            actor="t",
            tool_version="t",
        )


def test_the_setting_must_be_at_least_one_day() -> None:
    from jikimi.errors import SettingsError
    from jikimi.settings import load_settings

    assert load_settings().media_retention_days is None
    assert load_settings(media_retention_days=7).media_retention_days == 7
    with pytest.raises(SettingsError, match="media_retention_days"):
        load_settings(media_retention_days=0)


def test_media_in_no_case_is_purged(service: Service, built: BuiltCase) -> None:
    """Kept media only scanned (no item, no case) have nothing to keep them."""
    source = service.ws.settings.home / "scanned.bin"
    source.write_bytes(b"scanned, never posted")
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    service.ws.vault.put_file(source, sha)
    now = datetime.now(UTC)
    with write_session(service.ws.sessions) as s:
        s.add(
            MediaRecord(
                sha256=sha,
                size=21,
                signals={},
                notes=[],
                kept_in_vault=True,
                first_seen=now,
                last_seen=now,
            )
        )
    _hold(service, built.case_id, _later(365))

    report = _purge(service)

    assert [p.sha256 for p in report.purged] == [sha]
    assert [k.sha256 for k in report.kept] == [built.sha256]
    with service.ws.sessions() as s:
        assert s.scalar(select(func.count()).where(MediaRecord.kept_in_vault.is_(True))) == 1


def test_a_stale_listing_is_checked_again_under_the_lock(
    service: Service, built: BuiltCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between listing and purging, the media may be seen again or its case held: the purge
    decides again in its own transaction."""
    from jikimi.evidence import retention

    stale = [retention.DueBlob(built.sha256, datetime.now(UTC) - timedelta(days=DAYS + 5))]
    monkeypatch.setattr(retention, "due_blobs", lambda *a, **kw: iter(stale))

    seen_again = _purge(service, days_later=DAYS - 1)
    assert seen_again.purged == [] and service.ws.vault.has(built.sha256)

    _hold(service, built.case_id, _later(365))
    held = _purge(service)
    assert held.purged == [] and [k.sha256 for k in held.kept] == [built.sha256]
    assert _kept(service, built.sha256) and service.ws.vault.has(built.sha256)


def test_a_notice_naming_the_hash_keeps_the_media(
    client: TestClient, service: Service, built: BuiltCase
) -> None:
    notice = {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": [f"sha256:{built.sha256}"],
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "someone@example.org"},
    }
    filed = client.post("/v1/notices", json=notice)
    assert filed.status_code == 201, filed.text
    case_id = int(filed.json()["case_id"])
    assert case_id != built.case_id

    [kept] = _purge(service).kept
    assert [p.case_id for p in kept.protections] == [case_id]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_service_purges_in_the_background_when_retention_is_set(
    service: Service, built: BuiltCase
) -> None:
    ws = service.ws
    fresh = Service(
        ws,
        ServiceOptions(
            run_dispatcher=False,
            registry=Registry(),
            purge_seconds=0.02,
            clock=lambda: _later(DAYS + 1),
        ),
    )
    fresh.start()  # media_retention_days unset: no purge runs
    try:
        assert "jikimi-retention" not in {t.name for t in threading.enumerate()}
    finally:
        fresh.stop()
    ws.settings.media_retention_days = DAYS
    fresh.start()
    try:
        deadline = time.monotonic() + 30
        while _kept(service, built.sha256):
            assert time.monotonic() < deadline, "the service never purged"
            time.sleep(0.02)
    finally:
        fresh.stop()
    assert not ws.vault.has(built.sha256)
    [event] = _events(service, built.sha256, PURGED)
    assert event.actor == ws.operator


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_evidence_package_says_when_retention_purged_the_copy(
    service: Service, built: BuiltCase, tmp_path: Path
) -> None:
    [purged] = _purge(service).purged
    summary = export_case(service, built.case_id, tmp_path / "p.zip", actor="investigator")
    assert summary.media_included == []
    [why] = [w["why"] for w in summary.withheld if w["what"] == f"media {built.sha256}"]
    assert why.startswith("retention period over: the vault copy was purged on ")
    assert f"media_retention_days {DAYS}, custody seq {purged.custody_seq}" in why
