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


@pytest.mark.parametrize("role", ["child_safety", "admin"])
def test_child_safety_and_admin_report(
    client: TestClient,
    tokens: dict[str, str],
    fake: FakeCyberTipline,
    seeded: SeededCase,
    role: str,
) -> None:
    answer = client.post(f"/v1/cases/{seeded.case_id}/reports/ncmec", headers=bearer(tokens[role]))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["state"] == "finished" and body["external_id"] in fake.reports
    assert body["created_by"] == f"test-{role}"
    listed = client.get(f"/v1/cases/{seeded.case_id}/reports", headers=bearer(tokens[role]))
    assert listed.status_code == 200
    assert [r["state"] for r in listed.json()["reports"]] == ["finished"]


@pytest.mark.parametrize("role", ["moderator", "auditor", "platform"])
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
