"""The CyberTipline flow against a fake NCMEC on loopback: submit → upload → file details →
finish, a failure midway resumed without a second report, the one-year hold, refusals, and
credentials kept out of errors and logs."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.support.fake_cybertipline import (
    PASSWORD,
    USERNAME,
    FakeCyberTipline,
    SeededCase,
    seed_case,
)

from jikimi import __version__
from jikimi.errors import (
    CaseError,
    ReportAuthError,
    ReportInDoubt,
    ReportInvalid,
    ReportUnavailable,
)
from jikimi.reports import ncmec_flow
from jikimi.reports.cybertipline_client import CyberTiplineClient
from jikimi.reports.ncmec_flow import one_year_after, report_case, submissions
from jikimi.store.models import Item, PreservationHold
from jikimi.workspace import Workspace

EMAIL = "reports@example.org"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"ncmec_reporter_email": EMAIL, "ncmec_username": USERNAME, "ncmec_password": PASSWORD}


@pytest.fixture
def fake(ws: Workspace) -> Iterator[FakeCyberTipline]:
    with FakeCyberTipline() as server:
        ws.settings.ncmec_url = server.url
        ws.settings.ncmec_timeout_seconds = 0.5
        yield server


@pytest.fixture
def seeded(ws: Workspace, tmp_path: Path) -> SeededCase:
    return seed_case(ws, tmp_path)


def calls(fake: FakeCyberTipline, path: str) -> int:
    return sum(1 for c in fake.calls if c.endswith(path))


def test_the_whole_flow(ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase) -> None:
    result = report_case(ws, seeded.case_id, actor="cs-reviewer")
    sub = result.submission
    assert sub is not None and sub["state"] == "finished"
    assert [c.split()[1] for c in fake.calls] == ["/submit", "/upload", "/fileinfo", "/finish"]
    report = fake.reports[sub["external_id"]]
    assert report.finished and report.document == result.document
    # Only the picture the vault holds is uploaded, byte for byte; the other goes by hashes.
    (uploaded,) = report.files.values()
    assert uploaded.data == seeded.kept_bytes and uploaded.name == "photo_0.jpg"
    assert seeded.not_kept in report.document.decode()
    details = ET.fromstring(uploaded.details or b"")
    assert details.find("fileAnnotations/generativeAi") is not None
    assert details.findtext("publiclyAvailable") == "true"
    assert details.findtext("fileViewedByEsp") == "false"
    assert {h.get("hashType") for h in details.iter("originalFileHash")} == {"MD5", "SHA1"}
    document = ET.fromstring(result.document)
    assert document.findtext("personOrUserReported/espIdentifier") == "user123"
    assert document.findtext("personOrUserReported/screenName") == "uploader_one"
    assert document.findtext("internetDetails/chatImIncident/chatRoomName") == "Some channel"
    assert document.findtext("reporter/reportingPerson/email") == EMAIL
    assert sub["detail"]["finished_file_ids"] == list(report.files)
    kinds = [e.kind for e in ws.custody.events(subject=f"case:{seeded.case_id}")]
    assert kinds == ["report.ncmec.submitted", "case.preserved", "report.ncmec.finished"]


def test_a_reveal_makes_the_file_viewed_by_the_esp(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    ws.custody.append(
        "media.revealed",
        f"case:{seeded.case_id}",
        {"case_id": seeded.case_id, "media": seeded.kept},
        actor="cs-reviewer",
        tool_version=__version__,
    )
    report_case(ws, seeded.case_id, actor="cs-reviewer")
    (report,) = fake.reports.values()
    (uploaded,) = report.files.values()
    assert ET.fromstring(uploaded.details or b"").findtext("fileViewedByEsp") == "true"


def test_an_upload_time_in_the_future_is_left_out_not_refused_midway(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    later = datetime.now(UTC) + timedelta(days=2)  # a sender's clock gone wrong
    with ws.sessions() as s, s.begin():
        for item in s.scalars(select(Item).where(Item.case_id == seeded.case_id)):
            item.posted_at = later
    result = report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert result.submission is not None and result.submission["state"] == "finished"
    (report,) = fake.reports.values()
    (uploaded,) = report.files.values()
    assert ET.fromstring(uploaded.details or b"").find("uploadedToEspTimestamp") is None
    # The incident time falls back on when the messages were received.
    incident = ET.fromstring(result.document).findtext("incidentSummary/incidentDateTime")
    assert incident is not None and datetime.fromisoformat(incident) < datetime.now(UTC)


def test_submission_holds_the_case_for_one_year(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    report_case(ws, seeded.case_id, actor="cs-reviewer")
    with ws.sessions() as session:
        (hold,) = session.scalars(select(PreservationHold)).all()
    assert hold.case_id == seeded.case_id and hold.released_at is None
    assert hold.until == one_year_after(hold.created_at)
    assert (hold.until - hold.created_at).days in (365, 366)
    preserved = [
        e for e in ws.custody.events(subject=f"case:{seeded.case_id}") if e.kind == "case.preserved"
    ]
    assert preserved[0].payload["hold_id"] == hold.id


def test_upload_failure_then_resume_without_a_second_report(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    fake.fail_once("/upload", 500)
    with pytest.raises(ReportUnavailable, match="HTTP 500"):
        report_case(ws, seeded.case_id, actor="cs-reviewer")
    (failed,) = submissions(ws, seeded.case_id)
    assert failed["state"] == "failed" and failed["external_id"] in fake.reports
    with ws.sessions() as session:
        assert len(session.scalars(select(PreservationHold)).all()) == 1

    result = report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert result.submission is not None and result.submission["state"] == "finished"
    assert result.submission["external_id"] == failed["external_id"]
    assert len(fake.reports) == 1 and calls(fake, "/submit") == 1
    with ws.sessions() as session:
        assert len(session.scalars(select(PreservationHold)).all()) == 1


def test_finish_timeout_then_resume_uploads_nothing_twice(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    fake.hang_once("/finish", 1.5)
    with pytest.raises(ReportUnavailable, match="did not answer POST /finish"):
        report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert submissions(ws, seeded.case_id)[0]["state"] == "failed"
    report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert calls(fake, "/submit") == 1 and calls(fake, "/upload") == 1
    assert calls(fake, "/fileinfo") == 1 and calls(fake, "/finish") == 2
    (report,) = fake.reports.values()
    assert report.finished


def test_a_submit_without_an_answer_is_not_sent_again_unless_forced(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    """NCMEC may have taken a report whose answer never came: no second report on its own."""
    fake.hang_once("/submit", 1.5)
    with pytest.raises(ReportUnavailable, match="did not answer POST /submit"):
        report_case(ws, seeded.case_id, actor="cs-reviewer")
    (sending,) = submissions(ws, seeded.case_id)
    assert sending["state"] == "sending" and sending["external_id"] is None
    with pytest.raises(ReportInDoubt, match=r"Check with NCMEC.*--force-new"):
        report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert calls(fake, "/submit") == 1

    result = report_case(ws, seeded.case_id, actor="cs-reviewer", force_new=True)
    assert result.submission is not None and result.submission["state"] == "finished"
    abandoned, sent = submissions(ws, seeded.case_id)
    assert abandoned["state"] == "failed" and "abandoned by cs-reviewer" in abandoned["error"]
    assert sent["id"] == result.submission["id"] and calls(fake, "/submit") == 2


def test_a_crash_before_the_report_id_is_recorded_sends_nothing_again(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as patched:
        patched.setattr(ncmec_flow, "_note", crash)
        with pytest.raises(SystemExit):
            report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert len(fake.reports) == 1
    assert [s["state"] for s in submissions(ws, seeded.case_id)] == ["sending"]
    with pytest.raises(ReportInDoubt):
        report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert len(fake.reports) == 1 and calls(fake, "/submit") == 1


def test_a_report_being_sent_refuses_a_second_run(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    ws.settings.ncmec_timeout_seconds = 5
    fake.hang_once("/submit", 1.0)
    first = threading.Thread(target=lambda: _swallow(ws, seeded.case_id))
    first.start()
    while not fake.calls:
        time.sleep(0.01)
    with pytest.raises(ReportInDoubt):
        report_case(ws, seeded.case_id, actor="cs-other")
    first.join()
    assert calls(fake, "/submit") == 1


def _swallow(ws: Workspace, case_id: int) -> None:
    with contextlib.suppress(Exception):
        report_case(ws, case_id, actor="cs-reviewer")


def test_a_crash_before_the_hold_is_recorded_resumes_with_it(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as patched:
        patched.setattr(ncmec_flow, "_preserve", crash)
        with pytest.raises(SystemExit):
            report_case(ws, seeded.case_id, actor="cs-reviewer")
    (submitted,) = submissions(ws, seeded.case_id)
    assert submitted["state"] == "submitted" and submitted["external_id"] in fake.reports
    result = report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert result.submission is not None and result.submission["state"] == "finished"
    assert calls(fake, "/submit") == 1
    with ws.sessions() as session:
        (hold,) = session.scalars(select(PreservationHold)).all()
    assert result.submission["detail"]["hold_id"] == hold.id
    kinds = [e.kind for e in ws.custody.events(subject=f"case:{seeded.case_id}")]
    assert kinds == ["report.ncmec.submitted", "case.preserved", "report.ncmec.finished"]


def test_a_damaged_blob_is_skipped_and_the_report_finished(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    blob = ws.vault.path_of(seeded.kept)
    damaged = bytearray(blob.read_bytes())
    damaged[-5] ^= 0xFF
    blob.write_bytes(bytes(damaged))
    result = report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert result.submission is not None and result.submission["state"] == "finished"
    assert calls(fake, "/upload") == 0 and calls(fake, "/fileinfo") == 0
    (report,) = fake.reports.values()
    assert report.finished and report.files == {}
    entry = next(f for f in result.submission["detail"]["files"] if f["sha256"] == seeded.kept)
    assert entry["file_id"] is None and entry["upload_error"]


def test_a_finished_report_is_not_sent_again(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    first = report_case(ws, seeded.case_id, actor="cs-reviewer")
    sent = list(fake.calls)
    again = report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert fake.calls == sent
    assert again.submission == first.submission


def test_a_case_outside_child_safety_is_refused(
    ws: Workspace, fake: FakeCyberTipline, tmp_path: Path
) -> None:
    other = seed_case(ws, tmp_path, queue="default")
    with pytest.raises(CaseError, match="only child-safety cases"):
        report_case(ws, other.case_id, actor="cs-reviewer")
    assert fake.calls == [] and submissions(ws, other.case_id) == []


def test_an_invalid_report_sends_nothing(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    ws.settings.ncmec_reporter_email = None
    with pytest.raises(ReportInvalid) as caught:
        report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert caught.value.problems == ["report/reporter/reportingPerson: required <email> is missing"]
    assert fake.calls == []
    (refused,) = submissions(ws, seeded.case_id)
    assert refused["state"] == "failed" and refused["external_id"] is None


def test_a_dry_run_sends_and_records_nothing(
    ws: Workspace, fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    result = report_case(ws, seeded.case_id, actor="cs-reviewer", dry_run=True)
    assert result.submission is None and result.problems == []
    assert ET.fromstring(result.document).tag == "report"
    assert fake.calls == [] and submissions(ws, seeded.case_id) == []


def test_the_fake_refuses_what_the_schema_refuses(fake: FakeCyberTipline) -> None:
    """The fake validates too: a document in the wrong order is answered responseCode 4100."""
    answer = httpx.post(
        fake.url + "/submit",
        content=b"<report><reporter/><incidentSummary/></report>",
        auth=(USERNAME, PASSWORD),
    )
    assert answer.status_code == 400 and b"<responseCode>4100</responseCode>" in answer.content


def test_credentials_never_reach_errors_or_logs(
    ws: Workspace,
    fake: FakeCyberTipline,
    seeded: SeededCase,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_once("/upload", 500)
    with pytest.raises(ReportUnavailable) as failed:
        report_case(ws, seeded.case_id, actor="cs-reviewer")
    report_case(ws, seeded.case_id, actor="cs-reviewer")
    wrong = "not-the-password-either-42"
    with (
        CyberTiplineClient(fake.url, USERNAME, wrong, timeout=5) as client,
        pytest.raises(ReportAuthError) as refused,
    ):
        client.status()
    assert "HTTP 401" in str(refused.value)
    logged = caplog.text + str(failed.value) + str(refused.value)
    assert "POST" in caplog.text  # httpx did log the requests
    for secret in (PASSWORD, wrong):
        assert secret not in logged
    assert all(PASSWORD not in str(s) for s in submissions(ws, seeded.case_id))


def test_missing_credentials_say_what_to_set(ws: Workspace, seeded: SeededCase) -> None:
    ws.settings.ncmec_password = None
    with pytest.raises(ReportAuthError, match="ncmec_password"):
        report_case(ws, seeded.case_id, actor="cs-reviewer")
    assert submissions(ws, seeded.case_id) == []
