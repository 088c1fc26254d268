"""The work in a case beyond its first decision: identical copies found by MD5 and platform
file id, near-duplicates put before a reviewer as tasks, claiming, and filters."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from tests.web.helpers import bearer, jpeg

from jikimi.store.models import OutboxRecord
from jikimi.web.service import Service

REMOVE = {
    "outcome": "remove",
    "ground": "illegal",
    "law": "TAKE IT DOWN Act, 47 U.S.C. 223(h)",
    "category": "adult_ncii",
    "reasons": "Sexual deepfake of a person who did not consent.",
}
KEEP = {
    "outcome": "keep",
    "ground": "terms",
    "terms": "Community rules 4.2",
    "category": "adult_ncii",
    "reasons": "Not the same picture.",
}


def _item(
    client: TestClient,
    token: str,
    message: str,
    image: bytes | None = None,
    *,
    platform: str = "telegram",
    file_ids: list[str] | None = None,
) -> int:
    meta: dict[str, Any] = {"platform": platform, "chat_id": "-1001", "message_id": message}
    if file_ids is not None:
        meta["file_ids"] = file_ids
    if image is None:
        r = client.post("/v1/items", json=meta, headers=bearer(token))
    else:
        import json

        r = client.post(
            "/v1/items",
            data={"item": json.dumps(meta)},
            files={"media": ("x.jpg", image, "image/jpeg")},
            headers=bearer(token),
        )
    assert r.status_code == 201, r.text
    return int(r.json()["item_id"])


def _takedown(locator: str) -> dict[str, Any]:
    return {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": [locator],
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "me@example.org"},
    }


def _case(client: TestClient, locator: str) -> int:
    r = client.post("/v1/notices", json=_takedown(locator))
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def _removed(service: Service) -> set[int]:
    with service.ws.sessions() as s:
        rows = s.scalars(select(OutboxRecord).where(OutboxRecord.action != "verdict")).all()
    return {r.item_id for r in rows if r.item_id is not None}


def _near_copy(image: bytes) -> bytes:
    """The same picture, scaled down and saved again: other bytes, close PDQ."""
    picture = Image.open(io.BytesIO(image)).resize((560, 420))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=70)
    return out.getvalue()


def test_copies_are_found_by_platform_file_id_even_when_never_fetched(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    platform = tokens["platform"]
    image = jpeg(41)
    first = _item(client, platform, "5", image, file_ids=["AgADfile1"])
    # The bot saw the same file id but could not fetch the file (over 20 MB, say).
    unfetched = _item(client, platform, "6", file_ids=["AgADfile1"])
    # The same id on another platform is another file.
    elsewhere = _item(client, platform, "7", platform="other", file_ids=["AgADfile1"])
    item = client.get(f"/v1/items/{unfetched}", headers=bearer(tokens["admin"])).json()
    assert item["media"][0]["file_id"] == "AgADfile1"
    assert item["media"][0]["sha256"] is None and "not retrieved" in item["media"][0]["error"]
    case_id = _case(client, "https://t.me/c/1/5")
    r = client.post(
        f"/v1/cases/{case_id}/decisions", json=REMOVE, headers=bearer(tokens["moderator"])
    )
    assert r.status_code == 201, r.text
    assert r.json()["items_removed"] == [first, unfetched]
    assert elsewhere not in _removed(service)


def test_a_notice_naming_an_md5_finds_the_item(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    import hashlib

    image = jpeg(42)
    item_id = _item(client, tokens["platform"], "8", image)
    r = client.post("/v1/notices", json=_takedown(f"md5:{hashlib.md5(image).hexdigest()}"))
    assert r.status_code == 201, r.text
    case = client.get(f"/v1/cases/{r.json()['case_id']}", headers=bearer(tokens["admin"]))
    assert case.json()["items"] == [item_id]


def test_near_duplicates_open_review_tasks_that_a_reviewer_resolves(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    platform, moderator = tokens["platform"], bearer(tokens["moderator"])
    image = jpeg(43)
    original = _item(client, platform, "10", image)
    near = _item(client, platform, "11", _near_copy(image))
    other_near = _item(client, platform, "12", _near_copy(_near_copy(image)))
    unrelated = _item(client, platform, "13", jpeg(99))
    case_id = _case(client, "https://t.me/c/1/10")
    r = client.post(f"/v1/cases/{case_id}/decisions", json=REMOVE, headers=moderator)
    assert r.status_code == 201, r.text
    assert r.json()["items_removed"] == [original]
    assert len(r.json()["tasks_opened"]) == 2
    case = client.get(f"/v1/cases/{case_id}", headers=moderator).json()
    assert case["state"] == "closed" and case["open_tasks"] == 2
    tasks = {t["item_id"]: t for t in case["tasks"]}
    assert set(tasks) == {near, other_near}  # the unrelated picture is no task
    assert all(0 <= t["detail"]["distance"] <= 31 for t in tasks.values())
    assert tasks[near]["kind"] == "near_duplicate" and tasks[near]["state"] == "open"
    listed = client.get("/v1/cases?open_tasks=true", headers=moderator).json()
    assert [c["id"] for c in listed] == [case_id] and listed[0]["open_tasks"] == 2
    # The near-duplicates are not removed until a person says so.
    assert _removed(service) == {original}

    url = f"/v1/cases/{case_id}/tasks/{tasks[near]['id']}"
    assert client.post(url, json=REMOVE, headers=bearer(tokens["auditor"])).status_code == 403
    done = client.post(url, json=REMOVE, headers=moderator)
    assert done.status_code == 201, done.text
    assert done.json()["items_removed"] == [near] and done.json()["task_id"] == tasks[near]["id"]
    assert done.json()["statement_of_reasons"]["decision_visibility"] == [
        "DECISION_VISIBILITY_CONTENT_REMOVED"
    ]
    assert client.post(url, json=REMOVE, headers=moderator).status_code == 409
    kept = client.post(
        f"/v1/cases/{case_id}/tasks/{tasks[other_near]['id']}", json=KEEP, headers=moderator
    )
    assert kept.status_code == 201 and kept.json()["items_removed"] == []
    assert _removed(service) == {original, near}
    assert unrelated not in _removed(service)
    case = client.get(f"/v1/cases/{case_id}", headers=moderator).json()
    assert case["open_tasks"] == 0
    assert {t["state"] for t in case["tasks"]} == {"removed", "kept"}
    assert client.get("/v1/cases?open_tasks=true", headers=moderator).json() == []
    events = service.ws.custody.events(subject=f"case:{case_id}")
    decided = [e.payload for e in events if e.kind == "case.decided"]
    assert [d["task_id"] for d in decided] == [None, tasks[near]["id"], tasks[other_near]["id"]]
    missing = client.post(f"/v1/cases/{case_id}/tasks/999999", json=KEEP, headers=moderator)
    assert missing.status_code == 404


def test_a_claimed_case_is_decided_by_its_claimant(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    case_id = _case(client, "https://t.me/c/1/20")
    url = f"/v1/cases/{case_id}/assignment"
    moderator, other = bearer(tokens["moderator"]), bearer(tokens["child_safety"])
    r = client.post(url, json={"claim": True}, headers=moderator)
    assert r.status_code == 200 and r.json()["assignee"] == "test-moderator"
    mine = client.get("/v1/cases?assignee=test-moderator", headers=moderator).json()
    assert [c["id"] for c in mine] == [case_id]
    taken = client.post(f"/v1/cases/{case_id}/decisions", json=REMOVE, headers=other)
    assert taken.status_code == 409 and "claimed by test-moderator" in taken.json()["detail"]
    assert client.post(url, json={"claim": True}, headers=other).status_code == 409
    handed = client.post(url, json={"assignee": "test-child_safety"}, headers=moderator)
    assert handed.status_code == 403  # only admins hand cases to others
    released = client.post(url, json={"claim": False}, headers=moderator)
    assert released.json()["assignee"] is None
    admin = client.post(
        url, json={"assignee": "test-child_safety"}, headers=bearer(tokens["admin"])
    )
    assert admin.status_code == 200
    assert (
        client.post(f"/v1/cases/{case_id}/decisions", json=REMOVE, headers=other).status_code == 201
    )
    events = [e for e in service.ws.custody.events(subject=f"case:{case_id}")]
    assigned = [(e.actor, e.payload["assignee"]) for e in events if e.kind == "case.assigned"]
    assert assigned == [
        ("test-moderator", "test-moderator"),
        ("test-moderator", None),
        ("test-admin", "test-child_safety"),
    ]


def test_cases_are_filtered_by_the_kinds_of_notice_they_hold(
    client: TestClient, tokens: dict[str, str]
) -> None:
    case_id = _case(client, "https://t.me/somechannel/30")
    report = {
        "kind": "user_report",
        "reason": "a fake nude of a classmate",
        "reporter": "user-77",
        "locators": ["https://t.me/somechannel/30"],
    }
    joined = client.post("/v1/notices", json=report)
    assert joined.json()["case_id"] == case_id
    h = bearer(tokens["moderator"])
    assert [c["id"] for c in client.get("/v1/cases?kind=user_report", headers=h).json()] == [
        case_id
    ]
    assert client.get("/v1/cases?origin=user_report", headers=h).json() == []
    assert [c["id"] for c in client.get("/v1/cases?origin=takedown_request", headers=h).json()] == [
        case_id
    ]


def test_orders_and_flags_need_a_registered_sender(
    client: TestClient, tokens: dict[str, str]
) -> None:
    flag = {
        "kind": "trusted_flagger",
        "jurisdiction": "DE",
        "flagger_id": "hateaid",
        "explanation": "a sexual deepfake of our client",
        "locators": ["https://t.me/somechannel/40"],
    }
    assert (
        client.post("/v1/notices", json=flag, headers=bearer(tokens["moderator"])).status_code
        == 403
    )
    r = client.post("/v1/notices", json=flag, headers=bearer(tokens["support_centre"]))
    assert r.status_code == 201, r.text
    case = client.get(f"/v1/cases/{r.json()['case_id']}", headers=bearer(tokens["admin"])).json()
    assert case["queue"] == "trusted_flagger"
    assert case["notices"][0]["submitted_by"] == "test-support_centre"


def test_a_takedown_naming_three_messages_is_one_case_with_three_items(
    client: TestClient, tokens: dict[str, str]
) -> None:
    platform = tokens["platform"]
    items = [_item(client, platform, str(50 + n), jpeg(50 + n)) for n in range(3)]
    body = _takedown("https://t.me/c/1/50")
    body["locators"] = [f"https://t.me/c/1/{50 + n}" for n in range(3)]
    r = client.post("/v1/notices", json=body)
    assert r.status_code == 201, r.text
    case = client.get(f"/v1/cases/{r.json()['case_id']}", headers=bearer(tokens["admin"]))
    assert case.json()["items"] == items


def test_a_second_notice_for_the_same_media_elsewhere_joins_the_open_case(
    client: TestClient, tokens: dict[str, str]
) -> None:
    platform = tokens["platform"]
    image = jpeg(60)
    first = _item(client, platform, "60", image)
    repost = _item(client, platform, "61", image)  # the same file posted again
    case_id = _case(client, "https://t.me/c/1/60")
    again = client.post("/v1/notices", json=_takedown("https://t.me/c/1/61"))
    assert again.json()["case_id"] == case_id and again.json()["joined_existing_case"] is True
    case = client.get(f"/v1/cases/{case_id}", headers=bearer(tokens["admin"])).json()
    assert case["items"] == [first, repost] and len(case["notices"]) == 2


def test_oversized_and_hostile_notices_are_refused_with_reasons(client: TestClient) -> None:
    huge = _takedown("https://t.me/c/1/70")
    huge["explanation"] = "x" * 1_100_000
    r = client.post("/v1/notices", json=huge)
    assert r.status_code == 413 and "at most 1048576 bytes" in r.json()["detail"]
    deep = b"[" * 100_000 + b"]" * 100_000  # under the size limit, nested past any parser
    r = client.post("/v1/notices", content=deep, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["title"] == "Malformed JSON"
