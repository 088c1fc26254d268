"""A known history made through the API on the service's clock, for the transparency tests
(figures, ``jikimi stats``, ``GET /v1/stats``, the dashboard's exports).

From T0 = 2 March 2026 09:00 UTC:

- T0: a TAKE IT DOWN request (US, 48 h) for message 5, which has an identical copy at
  message 9; an incomplete one (no signature); a DSA notice (DE, 72 h) for message 7; an
  authority order (KR, 24 h) for message 8, sent by an investigator.
- T0+10 h: the takedown case removed (message 5 and its copy): 10 h, in time.
- T0+30 h: the order's case removed: 30 h, late.
- T0+40 h: the DSA case kept; T0+50 h the notifier appeals; T0+56 h another reviewer removes:
  the appeal reverses the decision (6 h to decide); the case closes 56 h after its notice.
- T0+60 h: one notifier suspended; T0+61 h another, lifted at T0+70 h (5 March 07:00).

So, over 2 to 5 March: 4 notices (3 public, 1 authority; 1 incomplete), 3 removals on the law
(intimate images of adults), time to decision 10, 30 and 56 h (median 30, 90th percentile 56
by nearest rank; 2 of 3 in time), 1 appeal reversed, 2 suspensions (1 lifted, 1 in force).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from tests.web.helpers import bearer, jpeg

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST_DAY, LAST_DAY = date(2026, 3, 2), date(2026, 3, 5)
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
    "reasons": "The picture is not of a real person.",
}
TAKEDOWN = {
    "kind": "takedown_request",
    "jurisdiction": "US",
    "signature": "Full Name",
    "good_faith_statement": True,
    "contact": {"email": "victim@example.org"},
}
DSA = {
    "kind": "dsa_notice",
    "jurisdiction": "DE",
    "explanation": "A sexual deepfake of me, made from my holiday photos.",
    "name": "Erika Mustermann",
    "good_faith_statement": True,
    "contact": {"email": "erika@example.de"},
}
ORDER = {
    "kind": "authority_order",
    "jurisdiction": "KR",
    "issuing_body": "KCSC",
    "reference": "2026-심의-0311",
    "legal_basis": "Act on the Establishment and Operation of the KCSC, Art. 21",
}


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at

    def set(self, **after_t0: float) -> None:
        self.at = T0 + timedelta(**after_t0)


@dataclass(frozen=True)
class Seeded:
    takedown_case: int
    takedown_notice: int
    incomplete_notice: int
    items: tuple[int, int]  # message 5 and its identical copy at message 9


def _item(client: TestClient, token: str, image: bytes, message: int) -> int:
    meta = f'{{"platform": "telegram", "chat_id": "-1001", "message_id": "{message}"}}'
    r = client.post(
        "/v1/items",
        data={"item": meta},
        files={"media": ("x.jpg", image, "image/jpeg")},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["item_id"])


def _notice(client: TestClient, body: dict[str, Any], message: int, token: str = "") -> Any:
    notice = {**body, "locators": [f"https://t.me/c/1/{message}"]}
    return client.post("/v1/notices", json=notice, headers=bearer(token) if token else {})


def _decide(client: TestClient, case_id: int, ruling: dict[str, str], token: str) -> None:
    r = client.post(f"/v1/cases/{case_id}/decisions", json=ruling, headers=bearer(token))
    assert r.status_code == 201, r.text


def seed(client: TestClient, tokens: dict[str, str], clock: Clock) -> Seeded:
    image = jpeg(31)
    items = (
        _item(client, tokens["platform"], image, 5),
        _item(client, tokens["platform"], image, 9),
    )
    clock.set()
    takedown = _notice(client, TAKEDOWN, 5)
    assert takedown.status_code == 201, takedown.text
    unsigned = {k: v for k, v in TAKEDOWN.items() if k != "signature"}
    incomplete = _notice(client, unsigned, 6)
    assert incomplete.status_code == 422, incomplete.text
    dsa = _notice(client, DSA, 7).json()
    order = _notice(client, ORDER, 8, tokens["investigator"]).json()
    clock.set(hours=10)
    _decide(client, takedown.json()["case_id"], REMOVE, tokens["moderator"])
    clock.set(hours=30)
    _decide(client, order["case_id"], REMOVE, tokens["moderator"])
    clock.set(hours=40)
    _decide(client, dsa["case_id"], KEEP, tokens["moderator"])
    clock.set(hours=50)
    appeal = client.post(
        f"/v1/cases/{dsa['case_id']}/appeals",
        json={"reasons": "It is me; the face is mine.", "receipt": dsa["receipt"]},
    )
    assert appeal.status_code == 201, appeal.text
    clock.set(hours=56)
    _decide(client, dsa["case_id"], REMOVE, tokens["admin"])
    admin = bearer(tokens["admin"])
    for hours, body in (
        (60, {"notifier": "spam@example.org", "reason": "Forty unfounded notices."}),
        (61, {"notifier": "other@example.org", "reason": "Unfounded notices."}),
        (70, {"notifier": "other@example.org"}),  # lifted
    ):
        clock.set(hours=hours)
        r = client.post("/v1/notifiers/suspensions", json=body, headers=admin)
        assert r.status_code in (200, 201), r.text
    return Seeded(
        takedown.json()["case_id"],
        takedown.json()["notice_id"],
        incomplete.json()["notice_id"],
        items,
    )
