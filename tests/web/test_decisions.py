"""Decisions: a takedown request decided by a moderator removes the item and its identical
copies through the outbox, produces a DSA statement of reasons, and banks the media."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.helpers import bearer, jpeg

from jikimi.store.models import OutboxRecord
from jikimi.web.service import DECIDED_BANK, Service


def _item(client: TestClient, token: str, image: bytes, message: str) -> int:
    meta = f'{{"platform": "telegram", "chat_id": "-1001", "message_id": "{message}"}}'
    r = client.post(
        "/v1/items",
        data={"item": meta},
        files={"media": ("x.jpg", image, "image/jpeg")},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["item_id"])


def test_a_removal_decision_takes_down_every_identical_copy(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    image = jpeg(31)
    first = _item(client, tokens["platform"], image, "5")
    copy = _item(client, tokens["platform"], image, "9")
    notice = {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": ["https://t.me/c/1/5"],
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "me@example.org"},
    }
    filed = client.post("/v1/notices", json=notice)
    assert filed.status_code == 201, filed.text
    case_id = filed.json()["case_id"]
    assert client.get(f"/v1/cases/{case_id}", headers=bearer(tokens["admin"])).json()["items"] == [
        first
    ]
    ruling = {
        "outcome": "remove",
        "ground": "illegal",
        "law": "TAKE IT DOWN Act, 47 U.S.C. 223(h)",
        "category": "adult_ncii",
        "reasons": "Sexual deepfake of a person who did not consent.",
    }
    assert (
        client.post(
            f"/v1/cases/{case_id}/decisions", json=ruling, headers=bearer(tokens["auditor"])
        ).status_code
        == 403
    )
    r = client.post(
        f"/v1/cases/{case_id}/decisions", json=ruling, headers=bearer(tokens["moderator"])
    )
    assert r.status_code == 201, r.text
    decided = r.json()
    assert decided["state"] == "closed"
    assert decided["items_removed"] == [first, copy]
    statement = decided["statement_of_reasons"]
    assert statement["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE" in statement["category_specification"]
    assert "CONTENT_TYPE_SYNTHETIC_MEDIA" in statement["content_type"]
    with service.ws.sessions() as s:
        effects = s.scalars(select(OutboxRecord).where(OutboxRecord.item_id.in_([first, copy])))
        removed = {e.item_id for e in effects if e.action != "verdict"}
    assert removed == {first, copy}
    # The media is banked: the next upload of it is removed without a person.
    check = client.post(
        "/v1/check",
        files={"media": ("again.jpg", image, "image/jpeg")},
        headers=bearer(tokens["platform"]),
    )
    assert check.json()["verdict"]["outcome"] == "remove"
    assert check.json()["media"][0]["matches"][0]["bank"] == DECIDED_BANK
    events = [e.kind for e in service.ws.custody.events(subject=f"case:{case_id}")]
    assert events == ["notice.received", "case.decided"]
    again = client.post(
        f"/v1/cases/{case_id}/decisions", json=ruling, headers=bearer(tokens["moderator"])
    )
    assert again.status_code == 409

    # The uploader appeals through the platform; a different reviewer reverses the removal.
    url = f"/v1/cases/{case_id}/appeals"
    assert client.post(url, json={"reasons": "it is me, I consented"}).status_code == 401
    r = client.post(url, json={"reasons": "I consented"}, headers=bearer(tokens["platform"]))
    assert r.status_code == 201, r.text
    case = client.get(f"/v1/cases/{case_id}", headers=bearer(tokens["admin"])).json()
    assert (case["state"], case["queue"]) == ("appealed", "appeals")
    keep = {
        "outcome": "keep",
        "ground": "terms",
        "terms": "Community rules 4.2",
        "category": "adult_ncii",
        "reasons": "The person shown consented; the removal was a mistake.",
    }
    same = client.post(
        f"/v1/cases/{case_id}/decisions", json=keep, headers=bearer(tokens["moderator"])
    )
    assert same.status_code == 409 and "different reviewer" in same.json()["detail"]
    r = client.post(
        f"/v1/cases/{case_id}/decisions", json=keep, headers=bearer(tokens["child_safety"])
    )
    assert r.status_code == 201, r.text
    assert r.json()["reversed"] is True and r.json()["items_restored"] == [first, copy]
    with service.ws.sessions() as s:
        restores = s.scalars(
            select(OutboxRecord).where(OutboxRecord.action == "restore_item")
        ).all()
    assert {e.item_id for e in restores} == {first, copy}
    after = client.post(
        "/v1/check",
        files={"media": ("again.jpg", image, "image/jpeg")},
        headers=bearer(tokens["platform"]),
    )
    assert after.json()["verdict"]["outcome"] != "remove"  # out of the bank again
    events = [e.kind for e in service.ws.custody.events(subject=f"case:{case_id}")]
    assert events == ["notice.received", "case.decided", "case.appealed", "case.decided"]


def test_a_decision_whose_statement_would_not_validate_is_refused(
    client: TestClient, tokens: dict[str, str]
) -> None:
    notice = {
        "kind": "user_report",
        "reason": "fake nude of a classmate",
        "reporter": "u-1",
        "locators": [f"sha256:{'12' * 32}"],
    }
    case_id = client.post("/v1/notices", json=notice).json()["case_id"]
    ruling = {"outcome": "remove", "ground": "illegal", "category": "adult_ncii", "reasons": "x"}
    r = client.post(
        f"/v1/cases/{case_id}/decisions", json=ruling, headers=bearer(tokens["moderator"])
    )
    assert r.status_code == 422 and r.json()["problems"]
    assert any("law" in p for p in r.json()["problems"])
    case = client.get(f"/v1/cases/{case_id}", headers=bearer(tokens["admin"])).json()
    assert case["state"] == "new"  # nothing stored
