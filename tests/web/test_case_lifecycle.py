"""Each notice kind from intake to closed, on the service's clock: the receipt and the outcome
reach the notifier by email (a real SMTP server on loopback), a 48-hour deadline is met or
missed and shows so, an appeal reverses a decision, and every step is in the custody log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.smtp_server import Server, serve_smtp
from tests.web.helpers import bearer, jpeg

from jikimi.signals.registry import Registry
from jikimi.store.models import OutboxRecord
from jikimi.web.service import Service, ServiceOptions
from jikimi.workspace import Workspace

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SENDER = "notices@jikimi.example.org"
REMOVE = {
    "outcome": "remove",
    "ground": "illegal",
    "law": "Criminal law on sexual deepfakes",
    "category": "adult_ncii",
    "reasons": "Sexual deepfake of a person who did not consent.",
}


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def relay() -> Iterator[Server]:
    yield from serve_smtp()


@pytest.fixture
def settings_overrides(relay: Server) -> dict[str, object]:
    return {
        "actions_mode": "live",
        "smtp_host": "127.0.0.1",
        "smtp_port": relay.port,
        "smtp_security": "none",
        "smtp_from": SENDER,
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _locator(message: int) -> str:
    return f"https://t.me/c/1001/{message}"


NOTICES: dict[str, tuple[str | None, dict[str, Any], int, str]] = {
    # kind: (role that sends it, body, hours on the clock, queue)
    "takedown_request": (
        None,
        {
            "jurisdiction": "US",
            "signature": "Full Name",
            "good_faith_statement": True,
            "contact": {"email": "victim@example.org"},
        },
        48,
        "adult_ncii",
    ),
    "dsa_notice": (
        None,
        {
            "jurisdiction": "DE",
            "explanation": "A sexual deepfake of me, made from my holiday photos.",
            "name": "Erika Mustermann",
            "good_faith_statement": True,
            "contact": {"email": "erika@example.de"},
        },
        72,
        "adult_ncii",
    ),
    "authority_order": (
        "investigator",
        {
            "jurisdiction": "KR",
            "issuing_body": "KCSC",
            "reference": "2026-심의-0311",
            "legal_basis": "Act on the Establishment and Operation of the KCSC, Art. 21",
            "contact": {"email": "orders@kcsc.example.kr"},
            "language": "ko",
        },
        24,
        "authority",
    ),
    "trusted_flagger": (
        "support_centre",
        {
            "jurisdiction": "DE",
            "flagger_id": "hateaid",
            "explanation": "A sexual deepfake of our client.",
            "contact": {"email": "flags@hateaid.example.de"},
        },
        24,
        "trusted_flagger",
    ),
    "user_report": (
        None,
        {
            "jurisdiction": "KR",
            "reason": "반 친구 사진으로 만든 딥페이크입니다",
            "reporter": "tg-user-4411",
            "contact": {"email": "student@example.kr"},
            "language": "ko",
        },
        24,
        "user_reports",
    ),
}


def _ingest(client: TestClient, token: str, message: int, seed: int) -> int:
    meta = {"platform": "telegram", "chat_id": "-1001001", "message_id": str(message)}
    r = client.post(
        "/v1/items",
        data={"item": json.dumps(meta)},
        files={"media": ("x.jpg", jpeg(seed), "image/jpeg")},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["item_id"])


def _file(client: TestClient, tokens: dict[str, str], kind: str, message: int) -> dict[str, Any]:
    role, body, _, _ = NOTICES[kind]
    notice = {"kind": kind, "locators": [_locator(message)], **body}
    headers = bearer(tokens[role]) if role else {}
    r = client.post("/v1/notices", json=notice, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _mail_to(relay: Server, address: str) -> list[str]:
    return [
        r.message.get_content()
        for r in relay.mailbox.received
        if r.rcpt_tos == [address] and r.message["From"] == SENDER
    ]


def _effects(service: Service, action: str) -> list[OutboxRecord]:
    with service.ws.sessions() as s:
        return list(s.scalars(select(OutboxRecord).where(OutboxRecord.action == action)))


@pytest.mark.parametrize("kind", list(NOTICES))
def test_each_notice_kind_from_intake_to_closed(
    kind: str,
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    relay: Server,
    clock: Clock,
) -> None:
    _, body, hours, queue = NOTICES[kind]
    email = body["contact"]["email"]
    item_id = _ingest(client, tokens["platform"], 500, seed=61)
    filed = _file(client, tokens, kind, 500)
    case_id = filed["case_id"]
    assert datetime.fromisoformat(filed["deadline_at"]) == START + timedelta(hours=hours)
    service.dispatcher().run_once()
    (receipt_mail,) = _mail_to(relay, email)
    assert filed["receipt"] in receipt_mail and str(case_id) in receipt_mail
    if body.get("language") == "ko":
        assert "접수" in receipt_mail

    moderator = bearer(tokens["moderator"])
    case = client.get(f"/v1/cases/{case_id}", headers=moderator).json()
    assert (case["state"], case["queue"], case["items"]) == ("new", queue, [item_id])
    assert case["seconds_left"] == hours * 3600 and case["deadline_met"] is None
    assert client.post(
        f"/v1/cases/{case_id}/assignment", json={"claim": True}, headers=moderator
    ).json() == {"case_id": case_id, "assignee": "test-moderator"}

    clock.advance(hours=hours - 1)
    listed = client.get("/v1/cases?overdue=false", headers=moderator).json()
    assert [c["id"] for c in listed] == [case_id] and listed[0]["seconds_left"] == 3600
    r = client.post(f"/v1/cases/{case_id}/decisions", json=REMOVE, headers=moderator)
    assert r.status_code == 201, r.text
    assert r.json()["items_removed"] == [item_id]
    case = client.get(f"/v1/cases/{case_id}", headers=moderator).json()
    assert case["state"] == "closed" and case["deadline_met"] is True
    assert case["notified_at"] == (START + timedelta(hours=hours - 1)).isoformat()

    service.dispatcher().run_once()
    outcome_mail = _mail_to(relay, email)[1]
    assert filed["receipt"] in outcome_mail and "/v1/cases/" in outcome_mail  # how to appeal
    assert [e.item_id for e in _effects(service, "remove_item")] == [item_id]
    statements = _effects(service, "statement_of_reasons")
    # The uploader gets a statement of reasons where the law asks: an EU case (DSA Art. 17).
    assert [e.item_id for e in statements] == ([item_id] if body["jurisdiction"] == "DE" else [])
    kinds = [e.kind for e in service.ws.custody.events(subject=f"case:{case_id}")]
    assert kinds == ["notice.received", "case.assigned", "case.decided"]
    assert service.ws.custody.verify().ok


def test_a_missed_48_hour_deadline_shows_overdue_and_stays_on_the_record(
    client: TestClient, service: Service, tokens: dict[str, str], clock: Clock
) -> None:
    _ingest(client, tokens["platform"], 501, seed=62)
    case_id = _file(client, tokens, "takedown_request", 501)["case_id"]
    moderator = bearer(tokens["moderator"])
    clock.advance(hours=49)
    late = client.get("/v1/cases?overdue=true", headers=moderator).json()
    assert [c["id"] for c in late] == [case_id]
    assert late[0]["overdue"] is True and late[0]["seconds_left"] == -3600
    r = client.post(f"/v1/cases/{case_id}/decisions", json=REMOVE, headers=moderator)
    assert r.status_code == 201, r.text
    case = client.get(f"/v1/cases/{case_id}", headers=moderator).json()
    assert case["state"] == "closed" and case["overdue"] is False
    assert case["deadline_met"] is False  # decided an hour after the legal deadline
    assert client.get("/v1/cases?overdue=true", headers=moderator).json() == []


def test_an_appeal_by_the_notifier_reverses_the_decision(
    client: TestClient, service: Service, tokens: dict[str, str], relay: Server, clock: Clock
) -> None:
    item_id = _ingest(client, tokens["platform"], 502, seed=63)
    filed = _file(client, tokens, "takedown_request", 502)
    case_id = filed["case_id"]
    keep = {
        "outcome": "keep",
        "ground": "terms",
        "terms": "Community rules 4.2",
        "category": "adult_ncii",
        "reasons": "The picture is not of a real person.",
    }
    # A keep the notifier disagrees with: they appeal with their receipt.
    r = client.post(
        f"/v1/cases/{case_id}/decisions", json=keep, headers=bearer(tokens["moderator"])
    )
    assert r.status_code == 201 and r.json()["items_removed"] == []
    clock.advance(hours=2)
    appeal = client.post(
        f"/v1/cases/{case_id}/appeals",
        json={"reasons": "It is me; the face is mine.", "receipt": filed["receipt"]},
    )
    assert appeal.status_code == 201, appeal.text
    r = client.post(
        f"/v1/cases/{case_id}/decisions", json=REMOVE, headers=bearer(tokens["child_safety"])
    )
    assert r.status_code == 201, r.text
    assert r.json()["items_removed"] == [item_id] and r.json()["appeal_outcome"] == "reversed"
    service.dispatcher().run_once()
    _, outcome_mail, appeal_mail = _mail_to(relay, "victim@example.org")
    assert "keep" in outcome_mail.lower() or "stays" in outcome_mail.lower()
    assert f"case {case_id} again and changed the earlier decision" in appeal_mail
    events = service.ws.custody.events(subject=f"case:{case_id}")
    assert [e.kind for e in events] == [
        "notice.received",
        "case.decided",
        "case.appealed",
        "case.decided",
    ]
    assert events[-1].payload["appeal_id"] == appeal.json()["appeal_id"]
    assert "victim@example.org" not in str([e.payload for e in events])


def test_the_clock_survives_a_restart(
    client: TestClient,
    service: Service,
    ws: Workspace,
    registry: Registry,
    tokens: dict[str, str],
    clock: Clock,
) -> None:
    case_id = _file(client, tokens, "authority_order", 503)["case_id"]
    service.stop()
    clock.advance(hours=30)
    restarted = Service(ws, ServiceOptions(run_dispatcher=False, registry=registry, clock=clock))
    try:
        (case,) = restarted.cases.list(now=restarted.now())
    finally:
        restarted.stop()
    assert case["id"] == case_id
    assert case["due_at"] == (START + timedelta(hours=24)).isoformat()
    assert case["overdue"] is True and case["seconds_left"] == -6 * 3600
