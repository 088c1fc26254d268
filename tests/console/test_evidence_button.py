"""The case page's evidence button: shown to those who may export, a CSRF-checked POST that
downloads the package and records the export."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from tests.console.review_support import ORIGIN, as_user, post_form
from tests.evidence.package_case import build_case

from jikimi.evidence.package import EXPORTED
from jikimi.web.service import Service


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"keep_media": True}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_investigator_downloads_the_package_from_the_case_page(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    case_id = build_case(console, service, tokens).case_id
    page = f"/console/cases/{case_id}"
    as_user(console, "investigator")
    assert 'id="evidence-export"' in console.get(page).text
    r = post_form(console, f"{page}/evidence", {}, page)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["x-package-sha256"] == hashlib.sha256(r.content).hexdigest()
    events = service.ws.custody.events(subject=f"case:{case_id}")
    assert [e.actor for e in events if e.kind == EXPORTED] == ["test-investigator"]

    # Without the session's CSRF token nothing is exported.
    refused = console.post(f"{page}/evidence", data={"csrf": "forged"}, headers=ORIGIN)
    assert refused.status_code == 403

    as_user(console, "moderator")
    assert 'id="evidence-export"' not in console.get(page).text
    assert post_form(console, f"{page}/evidence", {}, page).status_code == 403
    events = service.ws.custody.events(subject=f"case:{case_id}")
    assert len([e for e in events if e.kind == EXPORTED]) == 1
