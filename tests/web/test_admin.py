"""Administration over the API: policy reload (a settings change, audited), dead letters,
models."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.web.helpers import bearer

from jikimi.model import Effect
from jikimi.store.db import write_session
from jikimi.store.models import OutboxRecord
from jikimi.web.service import Service

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, object]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(_default_text())
    return {"policy_file": policy, "policy_reload_seconds": 0}


def _default_text() -> str:
    return files("jikimi.policy").joinpath("default.yaml").read_text(encoding="utf-8")


def test_policy_reload_is_validated_audited_and_keeps_the_running_policy(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    path = service.ws.settings.policy_file
    assert path is not None
    running = client.get("/v1/policy", headers=admin).json()
    assert running["name"] == "default" and running["source"] == str(path)
    path.write_text(_default_text().replace("name: default", "name: default\nsurprise: 1"))
    r = client.post("/v1/policy/reload", headers=admin)
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-policy")
    assert f"{path}:" in r.json()["detail"] and "surprise" in r.json()["detail"]
    assert client.get("/v1/policy", headers=admin).json()["version"] == running["version"]
    path.write_text(_default_text().replace('version: "2026.11.1"', 'version: "2026.11.2"'))
    assert client.post("/v1/policy/reload", headers=bearer(tokens["auditor"])).status_code == 403
    r = client.post("/v1/policy/reload", headers=admin)
    assert r.status_code == 200 and r.json()["version"].startswith("2026.11.2@")
    events = service.ws.custody.events(subject="settings:policy")
    assert [(e.kind, e.actor, e.payload["to"]) for e in events] == [
        ("settings.policy_reloaded", "test-admin", r.json()["version"])
    ]
    # New verdicts carry the new version.
    check = client.post("/v1/check", json={"text": "hi"}, headers=bearer(tokens["platform"]))
    assert check.json()["verdict"]["policy_version"] == r.json()["version"]


def test_dead_letters_are_listed_retried_and_dropped(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    effects = [
        Effect("notify", "webhook", {"platform": "web"}, f"key-{i}", {"n": i}) for i in range(2)
    ]
    with write_session(service.ws.sessions) as session:
        ids = service.outbox.enqueue(session, effects)
    with write_session(service.ws.sessions) as session:
        session.execute(
            update(OutboxRecord)
            .where(OutboxRecord.id.in_(ids))
            .values(state="dead", attempts=8, last_error="HTTP 500")
        )
    admin = bearer(tokens["admin"])
    dead = client.get("/v1/outbox?state=dead", headers=admin).json()
    assert [e["id"] for e in dead["entries"]] == ids
    assert dead["counts"]["dead"] == 2
    r = client.post(f"/v1/outbox/{ids[0]}/retry", headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "pending"
    assert client.post(f"/v1/outbox/{ids[0]}/retry", headers=admin).status_code == 409
    r = client.post(f"/v1/outbox/{ids[1]}/drop", json={"reason": "platform gone"}, headers=admin)
    assert r.status_code == 200 and "platform gone" in (r.json()["last_error"] or "")
    assert client.post(f"/v1/outbox/{ids[1]}/drop", json={}, headers=admin).status_code == 422
    assert client.get("/v1/outbox/999999", headers=admin).status_code in (404, 409)
    kinds = {e.kind for e in service.ws.custody.events()}
    assert {"outbox.retried", "outbox.dropped"} <= kinds


def test_models_lists_the_signals_machinery(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/v1/models", headers=bearer(tokens["auditor"]))
    assert r.status_code == 200
    signals = {m["signal"] for m in r.json()}
    assert "nudity" in signals
    assert client.get("/v1/models", headers=bearer(tokens["platform"])).status_code == 403
