"""Making cases for the review pages' tests through the API, as platforms and notifiers do.

Every picture is a benign synthetic one (tests/web/helpers.py ``jpeg``): a known-abuse bank in
these tests is just a bank whose entry is a synthetic picture's SHA-256."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi.testclient import TestClient
from tests.console.conftest import csrf_of, sign_in
from tests.web.helpers import bearer

ORIGIN = {"origin": "http://testserver"}
REMOVE = {
    "outcome": "remove",
    "ground": "illegal",
    "law": "TAKE IT DOWN Act, 47 U.S.C. 223a",
    "category": "adult_ncii",
    "reasons": "Intimate image shared without consent.",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def item(
    client: TestClient, token: str, message: str, image: bytes | None = None, chat: str = "-1001"
) -> dict[str, Any]:
    """Ingest a Telegram message (``https://t.me/c/<chat without -100>/<message>``)."""
    meta = {"platform": "telegram", "chat_id": chat, "message_id": message, "text": "hi"}
    if image is None:
        r = client.post("/v1/items", json=meta, headers=bearer(token))
    else:
        r = client.post(
            "/v1/items",
            data={"item": json.dumps(meta)},
            files={"media": ("x.jpg", image, "image/jpeg")},
            headers=bearer(token),
        )
    assert r.status_code == 201, r.text
    return dict(r.json())


def takedown(client: TestClient, locator: str, jurisdiction: str = "US") -> int:
    body = {
        "kind": "takedown_request",
        "jurisdiction": jurisdiction,
        "locators": [locator],
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "victim@example.org", "phone": "+1 555 010 0199"},
        "explanation": "This is me; I never agreed to this.",
    }
    r = client.post("/v1/notices", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def order(client: TestClient, investigator: str, locator: str, jurisdiction: str = "KR") -> int:
    body = {
        "kind": "authority_order",
        "jurisdiction": jurisdiction,
        "locators": [locator],
        "issuing_body": "KCSC",
        "reference": "2026-0001",
        "legal_basis": "Information and Communications Network Act, Art. 44-7",
    }
    r = client.post("/v1/notices", json=body, headers=bearer(investigator))
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def bank(
    client: TestClient,
    admin: str,
    name: str,
    hashes: list[str],
    *,
    auto_action: bool = False,
    minors: bool = False,
) -> None:
    r = client.post(
        "/v1/banks",
        json={"name": name, "auto_action": auto_action, "minors": minors},
        headers=bearer(admin),
    )
    assert r.status_code == 201, r.text
    signals = [{"signal_type": "sha256", "value": h} for h in hashes]
    r = client.post(f"/v1/banks/{name}/entries", json={"signals": signals}, headers=bearer(admin))
    assert r.status_code == 201, r.text


def post_form(client: TestClient, url: str, data: dict[str, str], page: str, **kw: Any) -> Any:
    """POST a console form with the CSRF token of ``page`` (a path to GET first)."""
    csrf = csrf_of(client.get(page).text)
    headers = {**ORIGIN, **kw.pop("headers", {})}
    return client.post(url, data={"csrf": csrf, **data}, headers=headers, **kw)


def as_user(client: TestClient, role: str) -> None:
    """Sign ``client`` in as ``test-<role>`` (out of any earlier session first)."""
    client.cookies.clear()
    sign_in(client, f"test-{role}")


def case_ids(html: str) -> list[int]:
    """The case ids of a queue page's rows, in order."""
    return [int(part.split('"', 1)[0]) for part in html.split('<tr data-case="')[1:]]
