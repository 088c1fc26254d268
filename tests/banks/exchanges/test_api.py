"""``/v1/exchanges``: status without secrets for bank readers, syncs for admins, and a
withdrawal synced through the API is gone from the very next ``/v1/match``."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.banks.exchanges.conftest import STOPNCII_KEYS, add_stopncii
from tests.support.fake_stopncii import FUNCTION_KEY, SUBSCRIPTION_KEY, FakeStopNCII
from tests.web.helpers import bearer


def _matches(client: TestClient, token: str, value: str) -> list[dict]:
    r = client.get(
        "/v1/match", params={"signal_type": "pdq", "value": value}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    return r.json()["matches"]


def test_sync_through_the_api_withdraws_before_the_next_match(
    client: TestClient, tokens: dict[str, str], exchanges, kinds, stopncii: FakeStopNCII, photos
) -> None:
    for p in photos[:2]:
        stopncii.add(p.pdq)
    add_stopncii(exchanges, kinds, stopncii)
    admin = bearer(tokens["admin"])

    r = client.post("/v1/exchanges/sn/sync", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 2
    assert [m["bank"] for m in _matches(client, tokens["admin"], photos[0].pdq)] == ["sn"]

    stopncii.set_status(photos[0].pdq, "Withdrawn")
    r = client.post("/v1/exchanges/sn/sync", params={"max_seconds": 30}, headers=admin)
    assert r.json()["withdrawn"] == 1

    assert _matches(client, tokens["admin"], photos[0].pdq) == []
    assert _matches(client, tokens["admin"], photos[1].pdq)

    listed = client.get("/v1/exchanges", headers=bearer(tokens["auditor"]))
    assert listed.status_code == 200
    (row,) = listed.json()
    assert (row["name"], row["active_entries"], row["withdrawn_entries"]) == ("sn", 1, 1)
    assert SUBSCRIPTION_KEY not in listed.text and FUNCTION_KEY not in listed.text


def test_only_admins_sync_and_errors_are_problems(
    client: TestClient, tokens: dict[str, str], exchanges, kinds, stopncii: FakeStopNCII
) -> None:
    assert (
        client.post("/v1/exchanges/sn/sync", headers=bearer(tokens["moderator"])).status_code == 403
    )
    r = client.post("/v1/exchanges/nope/sync", headers=bearer(tokens["admin"]))
    assert r.status_code == 404 and "no exchange named 'nope'" in r.json()["detail"]

    wrong = {**STOPNCII_KEYS, "fetch_function_key": STOPNCII_KEYS["subscription_key"]}
    exchanges.add(
        "sn",
        kinds["stopncii"],
        bank=None,
        config={"url": stopncii.url},
        credentials=wrong,
        actor="t",
    )
    r = client.post("/v1/exchanges/sn/sync", headers=bearer(tokens["admin"]))
    assert r.status_code == 502 and "HTTP 403" in r.json()["detail"]
    assert SUBSCRIPTION_KEY not in r.text
