"""``POST /v1/reports/dsa`` and ``GET /v1/cases/{id}/reports/kcsc``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.reports.test_kcsc import seed_case
from tests.reports.test_transparency_db_submit import add_decisions
from tests.support.fake_transparency_db import TOKEN, FakeTransparencyDb
from tests.web.helpers import bearer

from jikimi.store.db import write_session
from jikimi.store.models import Case, Notice
from jikimi.workspace import Workspace


@pytest.fixture
def fake() -> Iterator[FakeTransparencyDb]:
    with FakeTransparencyDb() as server:
        yield server


@pytest.fixture
def settings_overrides(fake: FakeTransparencyDb) -> dict[str, object]:
    return {"dsa_tdb_url": fake.url, "dsa_tdb_token": TOKEN}


def test_admin_sends_the_statements(
    client: TestClient, tokens: dict[str, str], ws: Workspace, fake: FakeTransparencyDb
) -> None:
    add_decisions(ws, 3)
    dry = client.post("/v1/reports/dsa?dry_run=true", headers=bearer(tokens["admin"]))
    assert dry.status_code == 200 and len(dry.json()["statements"]) == 3
    assert fake.calls == []
    sent = client.post("/v1/reports/dsa", headers=bearer(tokens["admin"]))
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"pending": 3, "sent": 3, "existing": 0, "batches": 1, "dry_run": False}
    later = client.post("/v1/reports/dsa?since=2026-03-03", headers=bearer(tokens["admin"]))
    assert later.json()["pending"] == 0


@pytest.mark.parametrize("role", ["moderator", "support_centre", "auditor", "platform"])
def test_only_admins_send_statements(client: TestClient, tokens: dict[str, str], role: str) -> None:
    assert client.post("/v1/reports/dsa", headers=bearer(tokens[role])).status_code == 403


def test_an_invalid_statement_is_422_and_nothing_is_sent(
    client: TestClient, tokens: dict[str, str], ws: Workspace, fake: FakeTransparencyDb
) -> None:
    add_decisions(ws, 1, content_date="08/03/2026")
    answer = client.post("/v1/reports/dsa", headers=bearer(tokens["admin"]))
    assert answer.status_code == 422
    assert any("content_date" in p for p in answer.json()["problems"])
    assert fake.calls == []


def test_a_busy_database_is_503_with_retry_after(
    client: TestClient, tokens: dict[str, str], ws: Workspace, fake: FakeTransparencyDb
) -> None:
    add_decisions(ws, 1)
    fake.fail(429, retry_after="60")
    answer = client.post("/v1/reports/dsa", headers=bearer(tokens["admin"]))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "60"
    assert client.post("/v1/reports/dsa", headers=bearer(tokens["admin"])).json()["sent"] == 1


def test_kcsc_package_as_csv_and_pdf(
    client: TestClient, tokens: dict[str, str], ws: Workspace
) -> None:
    case_id = seed_case(ws)
    url = f"/v1/cases/{case_id}/reports/kcsc"
    as_csv = client.get(url, params={"format": "csv"}, headers=bearer(tokens["admin"]))
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith("\ufeff번호".encode())
    as_pdf = client.get(url, headers=bearer(tokens["admin"]))
    assert as_pdf.headers["content-type"] == "application/pdf"
    assert as_pdf.content.startswith(b"%PDF-")
    assert f"kcsc-case-{case_id}.pdf" in as_pdf.headers["content-disposition"]
    bad = client.get(url, params={"format": "xml"}, headers=bearer(tokens["admin"]))
    assert bad.status_code == 422


def test_a_support_centre_gets_only_the_cases_it_filed(
    client: TestClient, tokens: dict[str, str], ws: Workspace
) -> None:
    case_id = seed_case(ws)
    url = f"/v1/cases/{case_id}/reports/kcsc?format=csv"
    centre = bearer(tokens["support_centre"])
    assert client.get(url, headers=centre).status_code == 404
    with write_session(ws.sessions) as s:
        s.execute(
            update(Notice)
            .where(Notice.case_id == case_id)
            .values(submitted_by="test-support_centre")
        )
    assert client.get(url, headers=centre).status_code == 200
    assert client.get(url, headers=bearer(tokens["moderator"])).status_code == 403


def test_suspected_minor_cases_need_minors_view(
    client: TestClient, tokens: dict[str, str], ws: Workspace
) -> None:
    case_id = seed_case(ws)
    with write_session(ws.sessions) as s:
        s.execute(update(Case).where(Case.id == case_id).values(suspected_minor=True))
    url = f"/v1/cases/{case_id}/reports/kcsc"
    assert client.get(url, headers=bearer(tokens["admin"])).status_code == 404
    assert (
        client.get("/v1/cases/999/reports/kcsc", headers=bearer(tokens["admin"])).status_code == 404
    )


def test_without_a_token_it_is_not_configured_and_nothing_is_sent(
    client: TestClient, tokens: dict[str, str], ws: Workspace, fake: FakeTransparencyDb
) -> None:
    add_decisions(ws, 1)
    ws.settings.dsa_tdb_token = None
    answer = client.post("/v1/reports/dsa", headers=bearer(tokens["admin"]))
    assert answer.status_code == 409, answer.text
    assert answer.json()["type"].endswith(":not-configured")
    assert "dsa_tdb_token" in answer.json()["detail"]
    assert fake.calls == [] and fake.stored == {}
