"""The policy page: the running version and file, validation of an uploaded or pasted file
with file:line errors (nothing applied), and a reload recorded as the API records it."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.console.admin_pages import post, signed_in, upload

from jikimi.web.service import Service

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, object]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(_default_text())
    return {"policy_file": policy, "policy_reload_seconds": 0}


# What a browser sends for a file input left empty.
NO_FILE = [("file", ("", b"", "application/octet-stream"))]


def _default_text() -> str:
    return files("jikimi.policy").joinpath("default.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_page_shows_the_running_policy(console: TestClient, service: Service) -> None:
    signed_in(console, "admin", "/console/admin/policy")
    page = console.get("/console/admin/policy").text
    assert service.policy.current.version in page
    assert str(service.ws.settings.policy_file) in page


def test_validation_names_file_and_line_and_applies_nothing(
    console: TestClient, service: Service
) -> None:
    csrf = signed_in(console, "admin", "/console/admin/policy")
    running = service.policy.current.version
    good = _default_text().replace('version: "2026.11.1"', 'version: "2026.12.0"')
    r = upload(console, "/console/admin/policy/validate", csrf, NO_FILE, text=good)
    assert r.status_code == 200 and "2026.12.0@" in r.text and "is valid" in r.text
    bad = good.replace("name: default", "name: default\nsurprise: 1")
    line = _line_of(bad, "surprise")
    r = upload(
        console,
        "/console/admin/policy/validate",
        csrf,
        [("file", ("strict.yaml", bad.encode(), "application/x-yaml"))],
    )
    assert r.status_code == 422
    assert f"strict.yaml:{line}:" in r.text and "surprise" in r.text
    pasted = upload(console, "/console/admin/policy/validate", csrf, NO_FILE, text=bad)
    assert pasted.status_code == 422 and f"pasted:{line}:" in pasted.text
    assert "surprise: 1" in pasted.text  # the pasted text stays in the form to fix
    empty = upload(console, "/console/admin/policy/validate", csrf, NO_FILE, text="  ")
    assert empty.status_code == 400
    assert service.policy.current.version == running
    assert service.ws.custody.events(subject="settings:policy") == []


def test_reload_is_refused_for_a_bad_file_and_recorded_for_a_good_one(
    console: TestClient, service: Service
) -> None:
    csrf = signed_in(console, "admin", "/console/admin/policy")
    path = service.ws.settings.policy_file
    assert path is not None
    before = service.policy.current.version
    broken = _default_text().replace("name: default", "name: default\nsurprise: 1")
    path.write_text(broken)
    r = post(console, "/console/admin/policy/reload", csrf)
    assert r.status_code == 422 and 'id="reload-error"' in r.text
    assert f"{path}:{_line_of(broken, 'surprise')}:" in r.text
    assert service.policy.current.version == before
    path.write_text(_default_text().replace('version: "2026.11.1"', 'version: "2026.11.2"'))
    r = post(console, "/console/admin/policy/reload", csrf)
    assert r.status_code == 303 and r.headers["location"].endswith("done=policy_reloaded")
    after = service.policy.current.version
    assert after.startswith("2026.11.2@") and after in console.get(r.headers["location"]).text
    (event,) = service.ws.custody.events(subject="settings:policy")
    assert (event.kind, event.actor) == ("settings.policy_reloaded", "test-admin")
    assert event.payload == {"from": before, "to": after, "source": str(path)}


def test_the_policy_needs_settings_admin(console: TestClient) -> None:
    csrf = signed_in(console, "auditor", "/console/admin/banks")
    assert console.get("/console/admin/policy").status_code == 403
    assert post(console, "/console/admin/policy/reload", csrf).status_code == 403


def test_an_oversized_upload_is_refused_before_it_is_read(console: TestClient) -> None:
    csrf = signed_in(console, "admin", "/console/admin/policy")
    huge = [("file", ("huge.yaml", b"#" * 2_200_000, "application/x-yaml"))]
    r = upload(console, "/console/admin/policy/validate", csrf, huge)
    assert r.status_code == 413 and "too large" in r.text
    two = [("file", ("a.yaml", b"a: 1", "text/plain")), ("file", ("b.yaml", b"b: 1", "text/plain"))]
    assert upload(console, "/console/admin/policy/validate", csrf, two).status_code == 413
    field = upload(console, "/console/admin/policy/validate", csrf, NO_FILE, text="#" * 1_100_000)
    assert field.status_code == 413
