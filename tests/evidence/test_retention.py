"""Media retention: due blobs purged with a custody event each, what cases and holds still need
kept, and a purge that stops half-way finished by the next run without recording anything
twice. On both backends (the ``service`` fixture is parametrised by ``backend``)."""

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

from jikimi.evidence.custody import CustodyEvent
from jikimi.evidence.package import export_case
from jikimi.evidence.retention import ORPHAN_REMOVED, PURGED, PurgeReport, purge_media
from jikimi.evidence.vault import Vault
from jikimi.signals.registry import Registry
from jikimi.store.db import write_session
from jikimi.store.models import CustodyHead, MediaRecord, PreservationHold, ReportSubmission
from jikimi.web.service import Service, ServiceOptions

DAYS = 30


class Killed(BaseException):
    """The process dying at this point (not an error the purge could catch)."""


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"keep_media": True}


@pytest.fixture
def built(client: TestClient, service: Service, tokens: dict[str, str]) -> BuiltCase:
    """A decided (closed) case whose item's media the vault keeps."""
    built = build_case(client, service, tokens)
    assert _kept(service, built.sha256) and service.ws.vault.has(built.sha256)
    return built


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
    assert report.kept == [] and report.problems == [] and report.orphans == []
    assert not service.ws.vault.path_of(built.sha256).exists()
    assert not _kept(service, built.sha256)
    [event] = _events(service, built.sha256, PURGED)
    assert event.seq == purged.custody_seq and event.actor == "retention-test"
    assert event.payload["retention_days"] == DAYS
    assert event.payload["last_seen"] == purged.last_seen.isoformat()
    assert "no open case" in event.payload["reason"]
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

    assert again.purged == [] and again.orphans == [] and again.problems == []
    assert _head(service) == head


def test_limit_stops_and_the_next_run_does_the_rest(
    client: TestClient, service: Service, tokens: dict[str, str], built: BuiltCase
) -> None:
    other = build_case(client, service, tokens, seed=32, message="6")

    first = _purge(service, limit=1)
    assert len(first.purged) == 1 and first.limited
    rest = _purge(service, limit=1)
    assert len(rest.purged) == 1 and not rest.limited
    assert {first.purged[0].sha256, rest.purged[0].sha256} == {built.sha256, other.sha256}


def test_a_purge_killed_before_the_deletion_is_finished_by_the_next_run(
    service: Service, built: BuiltCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(self: Vault, sha256: str) -> bool:
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(Vault, "delete", killed)
        with pytest.raises(Killed):
            _purge(service)
    # Committed: the flag and the event; the file is still there.
    [purge] = _events(service, built.sha256, PURGED)
    assert not _kept(service, built.sha256) and service.ws.vault.has(built.sha256)

    # Killed again, after recording the left-over file's removal but before deleting it.
    with monkeypatch.context() as m:
        m.setattr(Vault, "delete", killed)
        with pytest.raises(Killed):
            _purge(service)
    assert service.ws.vault.has(built.sha256)

    report = _purge(service)
    assert report.purged == []
    [orphan] = report.orphans
    assert (orphan.sha256, orphan.purge_seq, orphan.custody_seq) == (built.sha256, purge.seq, None)
    assert not service.ws.vault.has(built.sha256)
    [removed] = _events(service, built.sha256, ORPHAN_REMOVED)
    assert removed.payload["purge_seq"] == purge.seq
    assert len(_events(service, built.sha256, PURGED)) == 1

    head = _head(service)
    assert _purge(service).orphans == [] and _head(service) == head
    assert service.ws.custody.verify().ok


def test_a_copy_kept_again_after_the_purge_is_not_a_left_over(
    service: Service, built: BuiltCase
) -> None:
    _purge(service)
    # The same media arrives again while a new copy is being written: the vault holds the new
    # file before the record says it is kept.
    source = service.ws.settings.home / "again.jpg"
    source.write_bytes(built.image)
    assert service.ws.vault.put_file(source, built.sha256)

    report = _purge(service)

    assert report.orphans == [] and service.ws.vault.has(built.sha256)


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
