"""Notices over the API: recorded complete or not, a case with the legal clock, a second notice
for the same content joining the open case, queues ordered by the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from tests.web.helpers import bearer

from jikimi.store.models import Notice
from jikimi.web.service import Service

SHA = "ab" * 32


def _takedown(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": ["https://t.me/somechannel/123", f"sha256:{SHA}"],
        "explanation": "an intimate image of me made without my consent",
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "me@example.org"},
        "on_behalf_of": None,
    }
    body.update(changes)
    return body


def _notices(service: Service) -> list[Notice]:
    with service.ws.sessions() as s:
        return list(s.query(Notice).order_by(Notice.id))


def test_a_takedown_request_opens_a_case_on_a_48_hour_clock(
    client: TestClient, service: Service
) -> None:
    before = datetime.now(UTC)
    r = client.post("/v1/notices", json=_takedown())  # no account needed
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["receipt"].startswith("rcpt_") and body["case_id"]
    due = datetime.fromisoformat(body["deadline_at"])
    assert timedelta(hours=47, minutes=59) < due - before < timedelta(hours=48, minutes=1)
    # A second notice naming the same message joins the open case.
    again = client.post(
        "/v1/notices",
        json=_takedown(locators=["https://t.me/somechannel/123"], signature="Someone Else"),
    )
    assert again.status_code == 201 and again.json()["case_id"] == body["case_id"]
    assert again.json()["joined_existing_case"] is True
    events = service.ws.custody.events(subject=f"case:{body['case_id']}")
    assert [e.kind for e in events] == ["notice.received", "notice.received"]
    assert "me@example.org" not in str([e.payload for e in events])  # contacts stay out of custody


def test_an_incomplete_notice_is_recorded_and_answered_with_what_it_lacks(
    client: TestClient, service: Service
) -> None:
    r = client.post("/v1/notices", json=_takedown(signature=None, good_faith_statement=None))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert sorted(problem["missing"]) == ["good_faith_statement", "signature"]
    assert problem["receipt"].startswith("rcpt_")
    (notice,) = _notices(service)
    assert notice.complete is False and notice.case_id is None
    assert sorted(notice.missing) == ["good_faith_statement", "signature"]


def test_bad_notices_get_reasons(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.post("/v1/notices", json={"kind": "wish"}).status_code == 422
    assert client.post("/v1/notices", json=["not", "an", "object"]).status_code == 422
    as_json = {"content-type": "application/json"}
    assert client.post("/v1/notices", content=b"{oops", headers=as_json).status_code == 422
    order = {
        "kind": "authority_order",
        "issuing_body": "KCSC",
        "reference": "2026-1",
        "legal_basis": "Act on the KCSC",
        "locators": [f"sha256:{SHA}"],
    }
    assert client.post("/v1/notices", json=order).status_code == 401
    assert (
        client.post("/v1/notices", json=order, headers=bearer(tokens["moderator"])).status_code
        == 403
    )


def test_cases_are_listed_by_the_clock_and_overdue_shows(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["admin"])
    us = client.post("/v1/notices", json=_takedown(locators=[f"sha256:{'cd' * 32}"])).json()
    order = {
        "kind": "authority_order",
        "jurisdiction": "KR",
        "issuing_body": "KCSC",
        "reference": "2026-77",
        "legal_basis": "Act on the Establishment and Operation of the KCSC",
        "locators": [f"sha256:{'ef' * 32}"],
    }
    kr = client.post("/v1/notices", json=order, headers=h)
    assert kr.status_code == 201, kr.text
    for outsider in ("platform", "support_centre"):  # notices hold notifiers' contacts
        assert client.get("/v1/cases", headers=bearer(tokens[outsider])).status_code == 403
    assert client.get("/v1/cases", headers=bearer(tokens["auditor"])).status_code == 200
    listed = client.get("/v1/cases", headers=bearer(tokens["moderator"])).json()
    assert [c["id"] for c in listed] == [kr.json()["case_id"], us["case_id"]]  # 24 h before 48 h
    assert listed[0]["queue"] == "authority" and not listed[0]["overdue"]
    assert 0 < listed[0]["seconds_left"] <= 24 * 3600
    # Later than the clock: the same case shows overdue.
    later = datetime.now(UTC) + timedelta(hours=25)
    late = service.cases.list(now=later, overdue=True)
    assert [c["id"] for c in late] == [kr.json()["case_id"]]
    one = client.get(f"/v1/cases/{us['case_id']}", headers=h).json()
    assert one["notices"][0]["kind"] == "takedown_request"
    assert one["locators"] == [{"kind": "hash", "value": "cd" * 32, "signal_type": "sha256"}]


def test_notifiers_are_counted_and_a_suspended_one_opens_no_case(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    spam = {"email": "spam@example.org"}
    first = client.post("/v1/notices", json=_takedown(contact=spam))
    assert first.status_code == 201
    client.post("/v1/notices", json=_takedown(contact=spam, signature=None))
    counts = client.get("/v1/notifiers", headers=bearer(tokens["auditor"])).json()
    expected = {"notices": 2, "complete": 1, "upheld": 0, "suspended": False}
    assert counts == [{"notifier": "spam@example.org", **expected}]
    body = {"notifier": "spam@example.org", "reason": "hundreds of notices about memes"}
    url = "/v1/notifiers/suspensions"
    assert client.post(url, json=body, headers=bearer(tokens["moderator"])).status_code == 403
    assert client.post(url, json=body, headers=admin).status_code == 200
    assert client.post(url, json=body, headers=admin).status_code == 409
    r = client.post("/v1/notices", json=_takedown(contact=spam, locators=[f"md5:{'0' * 32}"]))
    assert r.status_code == 403 and r.json()["receipt"].startswith("rcpt_")
    assert len(_notices(service)) == 3 and _notices(service)[-1].case_id is None
    assert client.get("/v1/notifiers", headers=admin).json()[0]["suspended"] is True
    lift = client.post(url, json={"notifier": "spam@example.org"}, headers=admin)
    assert lift.status_code == 200 and lift.json()["suspended"] is False
    again = client.post("/v1/notices", json=_takedown(contact=spam, locators=[f"md5:{'1' * 32}"]))
    assert again.status_code == 201 and again.json()["case_id"]
    kinds = [e.kind for e in service.ws.custody.events() if e.kind.startswith("notifier.")]
    assert kinds == ["notifier.suspended", "notifier.lifted"]
    assert "spam@example.org" not in str([e.subject for e in service.ws.custody.events()])
