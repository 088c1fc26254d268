"""``GET /v1/cases/{id}/evidence``: investigators get a zip that verifies; others do not."""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.responses import FileResponse
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.evidence.package_case import build_case
from tests.web.helpers import bearer

from jikimi.accounts.roles import Principal, Role
from jikimi.evidence.package import EXPORTED
from jikimi.evidence.package_verify import verify_package
from jikimi.store.models import Bank, Case
from jikimi.web.api.evidence import evidence_download
from jikimi.web.service import Service


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"keep_media": True}


def test_an_investigator_gets_the_package_and_the_export_is_logged(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    r = client.get(f"/v1/cases/{built.case_id}/evidence", headers=bearer(tokens["investigator"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    assert r.headers["x-package-sha256"] == hashlib.sha256(r.content).hexdigest()
    package = tmp_path / "case.zip"
    package.write_bytes(r.content)
    check = verify_package(package, roots=[], allow_unstamped=True)
    assert check.ok, check.problems
    [event] = [
        e for e in service.ws.custody.events(subject=f"case:{built.case_id}") if e.kind == EXPORTED
    ]
    assert event.actor == "test-investigator"
    assert event.seq == int(r.headers["x-custody-seq"])
    assert event.payload["package_sha256"] == r.headers["x-package-sha256"]
    assert event.payload["media_included"] == [built.sha256]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", ["moderator", "auditor", "platform", "support_centre"])
def test_other_roles_are_refused(
    client: TestClient, service: Service, tokens: dict[str, str], role: str
) -> None:
    built = build_case(client, service, tokens)
    r = client.get(f"/v1/cases/{built.case_id}/evidence", headers=bearer(tokens[role]))
    assert r.status_code == 403
    assert r.json()["needs"] == ["evidence:export"]
    kinds = {e.kind for e in service.ws.custody.events(subject=f"case:{built.case_id}")}
    assert EXPORTED not in kinds


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_suspected_minor_case_is_for_child_safety_only(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    built = build_case(client, service, tokens)
    with service.ws.sessions() as s, s.begin():
        s.execute(update(Case).where(Case.id == built.case_id).values(suspected_minor=True))
    url = f"/v1/cases/{built.case_id}/evidence"
    assert client.get(url, headers=bearer(tokens["investigator"])).status_code == 404
    r = client.get(url, headers=bearer(tokens["child_safety"]))
    assert r.status_code == 200
    assert client.get("/v1/cases/999/evidence", headers=bearer(tokens["admin"])).status_code == 404


def _serve(response: FileResponse, scope: Any, receive: Any, send: Any) -> None:
    """Run the ASGI response on its own event loop, in a thread of its own: the browser tests
    leave a loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, response(scope, receive, send)).result()


def _download(client: TestClient, service: Service, tokens: dict[str, str]) -> FileResponse:
    built = build_case(client, service, tokens)
    who = Principal(1, "test-investigator", Role.INVESTIGATOR)
    return evidence_download(service, built.case_id, who)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_temporary_package_is_removed_when_sending_fails(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    response = _download(client, service, tokens)
    path = Path(response.path)
    assert path.exists()

    async def receive() -> dict[str, str]:
        raise AssertionError("an ASGI 2.4 server is not asked for disconnects")

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the client went away")

    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.4"}}
    with pytest.raises(OSError, match="went away"):
        _serve(response, scope, receive, send)
    assert not path.parent.exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_temporary_package_is_removed_when_the_client_disconnects(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    response = _download(client, service, tokens)
    path = Path(response.path)
    started = asyncio.Event()

    async def receive() -> dict[str, str]:
        await started.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            started.set()
            await asyncio.sleep(3600)  # the client stops reading

    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.0"}}
    _serve(response, scope, receive, send)
    assert not path.parent.exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("settings_overrides", [{"keep_media": True, "evidence_minor_media": True}])
def test_media_of_a_minors_bank_come_only_with_minors_view(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    built = build_case(client, service, tokens)
    with service.ws.sessions() as s, s.begin():
        s.execute(update(Bank).where(Bank.name == "known").values(minors=True))
    url = f"/v1/cases/{built.case_id}/evidence"
    investigator = client.get(url, headers=bearer(tokens["investigator"]))
    assert investigator.status_code == 200
    child_safety = client.get(url, headers=bearer(tokens["child_safety"]))
    assert child_safety.status_code == 200
    events = service.ws.custody.events(subject=f"case:{built.case_id}")
    media = {e.seq: e.payload["media_included"] for e in events if e.kind == EXPORTED}
    assert media == {
        int(investigator.headers["x-custody-seq"]): [],
        int(child_safety.headers["x-custody-seq"]): [built.sha256],
    }
