"""A withdrawal made by another process (the CLI, an exchange sync, a second server worker)
stops matching at the service's very next lookup, before the index watcher rebuilds: every
hit is confirmed against the store."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.web.helpers import bearer

from jikimi.banks.service import BankStore
from jikimi.web.service import Service

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _elsewhere(service: Service) -> BankStore:
    """The same store, reached as another process would: not through the service."""
    return BankStore(service.ws.sessions)


def test_an_entry_withdrawn_elsewhere_stops_matching_at_the_next_lookup(
    service: Service,
) -> None:
    service.ws.banks.create("stopncii", actor="tester")
    [entry] = service.ws.banks.add("stopncii", [("md5", MD5)], actor="tester")
    service.refresh_matcher(force=True)
    assert [m.entry_id for m in service.matcher.match_value("md5", MD5)] == [entry.entry_id]

    _elsewhere(service).withdraw("stopncii", entry.entry_id, actor="exchange:stopncii")

    assert service.matcher.match_value("md5", MD5) == []  # the indexes still hold it
    with service.matcher.read() as indexes:
        assert indexes.match_value("md5", MD5), "the test needs the stale index to hold it"


def test_a_bank_deleted_elsewhere_stops_matching_through_the_api(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    service.ws.banks.create("old-list", actor="tester")
    service.ws.banks.add("old-list", [("md5", MD5)], actor="tester")
    service.refresh_matcher(force=True)
    headers = bearer(tokens["moderator"])
    found = client.get("/v1/match", params={"signal_type": "md5", "value": MD5}, headers=headers)
    assert found.status_code == 200 and found.json()["matches"]

    _elsewhere(service).delete("old-list", actor="tester")

    again = client.get("/v1/match", params={"signal_type": "md5", "value": MD5}, headers=headers)
    assert again.status_code == 200 and again.json()["matches"] == []
