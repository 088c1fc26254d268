"""Banks and entries over the API: changes are in matching from the next lookup, on both
backends; changes made by another process reach the service through its watcher."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.helpers import bearer, wait_for

from jikimi.web.service import Service

PDQ_A = "f" * 64
PDQ_NEAR_A = "7" + "f" * 63  # 1 bit away
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _match(client: TestClient, token: str, signal_type: str, value: str) -> list[dict]:
    r = client.get(
        "/v1/match", params={"signal_type": signal_type, "value": value}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    return r.json()["matches"]


def test_bank_lifecycle_over_the_api(client: TestClient, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    r = client.post("/v1/banks", json={"name": "local", "pdq_threshold": 10}, headers=admin)
    assert r.status_code == 201 and r.json()["pdq_threshold"] == 10
    assert r.json()["auto_action"] is False
    assert client.post("/v1/banks", json={"name": "local"}, headers=admin).status_code == 409
    r = client.post(
        "/v1/banks/local/entries",
        json={"signals": [{"signal_type": "pdq", "value": PDQ_A}], "note": "n"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    entry_id = r.json()["added"][0]["entry_id"]
    bad = client.post("/v1/banks/local/entries", json={"signals": [{"value": 1}]}, headers=admin)
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {
        "signals.0.signal_type",
        "signals.0.value",
    }
    found = _match(client, tokens["platform"], "pdq", PDQ_NEAR_A)
    assert [(m["bank"], m["entry_id"], m["distance"]) for m in found] == [("local", entry_id, 1)]
    r = client.delete(f"/v1/banks/local/entries/{entry_id}?reason=mistake", headers=admin)
    assert r.status_code == 200 and r.json()["withdraw_reason"] == "mistake"
    assert _match(client, tokens["platform"], "pdq", PDQ_A) == []
    listed = client.get("/v1/banks", headers=bearer(tokens["auditor"])).json()
    assert [(b["name"], b["active_entries"], b["withdrawn_entries"]) for b in listed] == [
        ("local", 0, 1)
    ]
    assert client.delete("/v1/banks/local", headers=admin).status_code == 204
    assert client.get("/v1/banks/local", headers=admin).status_code == 404


def test_hash_list_import_reports_bad_lines_and_pages_entries(
    client: TestClient, tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    client.post("/v1/banks", json={"name": "list"}, headers=admin)
    good = [f"md5 {i:032x}" for i in range(1, 6)]
    text = "\n".join([*good[:2], "pdq nothex", *good[2:]]) + "\n"
    r = client.post(
        "/v1/banks/list/entries", content=text, headers={**admin, "content-type": "text/plain"}
    )
    assert r.status_code == 201
    assert len(r.json()["added"]) == 5
    assert [x["line"] for x in r.json()["rejected"]] == [3]
    assert _match(client, tokens["platform"], "md5", f"{3:032x}")
    page = client.get("/v1/banks/list/entries?limit=2", headers=admin).json()
    assert len(page["entries"]) == 2 and page["next_after_id"] is not None
    rest = client.get(
        f"/v1/banks/list/entries?limit=10&after_id={page['next_after_id']}", headers=admin
    ).json()
    assert len(rest["entries"]) == 3 and rest["next_after_id"] is None


def test_changes_made_by_another_process_reach_the_service(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    # As `jikimi bank ...` in another process would: straight to the store.
    service.ws.banks.create("elsewhere", actor="cli")
    service.ws.banks.add("elsewhere", [("md5", MD5)], actor="cli")
    assert wait_for(lambda: bool(_match(client, tokens["platform"], "md5", MD5)))
    assert service.matcher.generation >= 2


def test_an_api_change_is_applied_in_place_without_a_rebuild(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    service.options.watch_seconds = 3600  # park the watcher after its current round
    time.sleep(0.5)
    admin = bearer(tokens["admin"])
    client.post("/v1/banks", json={"name": "inplace"}, headers=admin)
    generation = service.matcher.generation
    client.post(
        "/v1/banks/inplace/entries",
        json={"signals": [{"signal_type": "md5", "value": MD5}]},
        headers=admin,
    )
    assert _match(client, tokens["platform"], "md5", MD5)
    assert service.refresh_matcher() is False  # nothing left to rebuild
    assert service.matcher.generation == generation


def test_a_rebuild_never_undoes_a_change_applied_while_it_was_built(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher's rebuild snapshots the store; an API change committed and applied in place
    meanwhile must not be replaced by that older snapshot (an added entry would stop matching,
    a withdrawn one match again, until the next rebuild)."""
    assert service.refresh_matcher(force=True)
    info = service.ws.banks.create("racing", actor="api")
    service.apply_in_place(lambda m: m.add_bank(info.spec()))
    build = service.ws.matcher

    def build_while_an_entry_is_added() -> Any:
        snapshot = build()  # made before the entry exists
        added = service.ws.banks.add("racing", [("md5", MD5)], actor="api")
        specs = [e.spec() for e in added]
        service.apply_in_place(lambda m: m.add_entries(specs))
        return snapshot

    monkeypatch.setattr(service.ws, "matcher", build_while_an_entry_is_added)
    assert service.refresh_matcher(force=True) is False  # stale: kept the live matcher
    assert [m.bank for m in service.matcher.match_value("md5", MD5)] == ["racing"]
    monkeypatch.setattr(service.ws, "matcher", build)
    assert service.refresh_matcher(force=True) is True  # nothing changed since: it goes in
    assert [m.bank for m in service.matcher.match_value("md5", MD5)] == ["racing"]
