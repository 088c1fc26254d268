"""``POST /v1/cases/{id}/reports/ncmec`` and ``GET /v1/cases/{id}/reports``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.support.fake_cybertipline import (
    PASSWORD,
    USERNAME,
    FakeCyberTipline,
    SeededCase,
    seed_case,
)
from tests.web.helpers import bearer

from jikimi.accounts import roles
from jikimi.accounts.roles import Permission, Role
from jikimi.store.db import write_session
from jikimi.store.models import Case
from jikimi.workspace import Workspace


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "ncmec_reporter_email": "reports@example.org",
        "ncmec_username": USERNAME,
        "ncmec_password": PASSWORD,
    }


@pytest.fixture
def fake(ws: Workspace) -> Iterator[FakeCyberTipline]:
    with FakeCyberTipline() as server:
        ws.settings.ncmec_url = server.url
        ws.settings.ncmec_timeout_seconds = 0.5
        yield server


@pytest.fixture
def seeded(ws: Workspace, tmp_path: Path) -> SeededCase:
    return seed_case(ws, tmp_path)


def test_child_safety_reports(
    client: TestClient, tokens: dict[str, str], fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    token = bearer(tokens["child_safety"])
    answer = client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=token)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["state"] == "finished" and body["external_id"] in fake.reports
    assert body["created_by"] == "test-child_safety"
    listed = client.get(f"/v1/cases/{seeded.case_id}/reports", headers=token)
    assert listed.status_code == 200
    (report,) = listed.json()["reports"]
    assert report["state"] == "finished" and report["detail"]["report_xml"].startswith("<?xml")


@pytest.fixture
def admin_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """A role with ``reports:ncmec`` but not ``minors:view`` (admin, as it once was)."""
    table = dict(roles.ROLE_PERMISSIONS)
    table[Role.ADMIN] = table[Role.ADMIN] | {Permission.REPORTS_NCMEC}
    monkeypatch.setattr(roles, "ROLE_PERMISSIONS", table)


@pytest.mark.usefixtures("admin_reports")
def test_a_suspected_minor_case_is_not_found_without_minors_view(
    client: TestClient, tokens: dict[str, str], fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    token = bearer(tokens["admin"])
    for answer in (
        client.get(f"/v1/cases/{seeded.case_id}/reports", headers=token),
        client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec?dry_run=true", headers=token),
        client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=token),
    ):
        assert answer.status_code == 404, answer.text
        assert "<report" not in answer.text
    assert fake.calls == []


@pytest.mark.usefixtures("admin_reports")
def test_the_document_is_shown_only_with_minors_view(
    client: TestClient,
    tokens: dict[str, str],
    fake: FakeCyberTipline,
    ws: Workspace,
    seeded: SeededCase,
) -> None:
    """A child-safety case not marked as a suspected minor: visible, its document is not."""
    with write_session(ws.sessions) as session:
        case = session.get(Case, seeded.case_id)
        assert case is not None
        case.suspected_minor = False
    token = bearer(tokens["admin"])
    dry = client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec?dry_run=true", headers=token)
    assert dry.status_code == 200 and "document" not in dry.json()
    sent = client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=token)
    assert sent.status_code == 201 and "report_xml" not in sent.json()["detail"]
    listed = client.get(f"/v1/cases/{seeded.case_id}/reports", headers=token).json()
    assert [r["state"] for r in listed["reports"]] == ["finished"]
    assert "report_xml" not in listed["reports"][0]["detail"]


@pytest.mark.parametrize("role", ["admin", "moderator", "auditor", "platform"])
def test_other_roles_may_not(
    client: TestClient,
    tokens: dict[str, str],
    fake: FakeCyberTipline,
    seeded: SeededCase,
    role: str,
) -> None:
    answer = client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=bearer(tokens[role]))
    assert answer.status_code == 403
    assert answer.json()["needs"] == ["reports:ncmec"]
    listed = client.get(f"/v1/cases/{seeded.case_id}/reports", headers=bearer(tokens[role]))
    assert listed.status_code == 403
    assert fake.calls == []


def test_dry_run_answers_the_document(
    client: TestClient, tokens: dict[str, str], fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    answer = client.post(
        f"/v1/cases/{seeded.case_id}/reports/ncmec?dry_run=true",
        headers=bearer(tokens["child_safety"]),
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["dry_run"] is True and body["problems"] == []
    assert body["document"].startswith("<?xml")
    assert fake.calls == []


def test_refusals(
    client: TestClient,
    tokens: dict[str, str],
    fake: FakeCyberTipline,
    ws: Workspace,
    tmp_path: Path,
) -> None:
    token = bearer(tokens["child_safety"])
    other = seed_case(ws, tmp_path, queue="default", pictures=1)
    answer = client.post(f"/v1/cases/{other.case_id}/reports/ncmec", headers=token)
    assert answer.status_code == 409
    assert "only child-safety cases" in answer.json()["detail"]
    assert client.post("/v1/cases/999999/reports/ncmec", headers=token).status_code == 404
    ws.settings.ncmec_reporter_email = None
    case = seed_case(ws, tmp_path, pictures=3)
    invalid = client.post(f"/v1/cases/{case.case_id}/reports/ncmec", headers=token)
    assert invalid.status_code == 422
    assert invalid.json()["problems"] == [
        "report/reporter/reportingPerson: required <email> is missing"
    ]
    assert fake.calls == []


def test_failure_midway_then_resume(
    client: TestClient, tokens: dict[str, str], fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    token = bearer(tokens["child_safety"])
    fake.fail_once("/upload", 500)
    failed = client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=token)
    assert failed.status_code == 503
    assert PASSWORD not in failed.text
    listed = client.get(f"/v1/cases/{seeded.case_id}/reports", headers=token).json()
    assert [r["state"] for r in listed["reports"]] == ["failed"]
    done = client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=token)
    assert done.status_code == 201 and done.json()["state"] == "finished"
    assert len(fake.reports) == 1


def test_a_report_in_doubt_needs_force_new(
    client: TestClient, tokens: dict[str, str], fake: FakeCyberTipline, seeded: SeededCase
) -> None:
    token = bearer(tokens["child_safety"])
    fake.hang_once("/submit", 1.5)
    assert (
        client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=token).status_code == 503
    )
    doubt = client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=token)
    assert doubt.status_code == 409 and doubt.json()["type"].endswith(":report-in-doubt")
    assert "force_new=true" in doubt.json()["detail"]
    assert len(fake.calls) == 1
    forced = client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec?force_new=true", headers=token)
    assert forced.status_code == 201 and forced.json()["state"] == "finished"
    assert len(fake.reports) == 1


def test_without_credentials_it_is_not_configured_and_nothing_is_sent(
    client: TestClient, tokens: dict[str, str], ws: Workspace, seeded: SeededCase
) -> None:
    ws.settings.ncmec_password = None
    answer = client.post(
        f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=bearer(tokens["child_safety"])
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["type"].endswith(":not-configured")
    assert "ncmec_password" in answer.json()["detail"]
