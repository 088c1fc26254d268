"""The public appeal page (/report/appeal), in-process: a takedown request filed through the API
and decided by a moderator, then appealed through the page; a receipt from another case, an
undecided case, a field left empty, the rate limit, Korean, and the way there from the receipt
page and the decision's email."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from tests.console.conftest import csrf_of
from tests.web.helpers import bearer

from jikimi.cases.messages import APPEAL_PAGE, outcome_message
from jikimi.console.pages.appeal import appeal_values, field_errors
from jikimi.store.models import Appeal

ORIGIN = {"origin": "http://testserver"}
KEEP = {
    "outcome": "keep",
    "ground": "terms",
    "terms": "Community rules 4.2",
    "category": "adult_ncii",
    "reasons": "The picture is not of a real person.",
}
REASONS = "It is me: the face is mine, and I never agreed to this."


def _file(client: TestClient, message: int) -> dict[str, Any]:
    notice = {
        "kind": "takedown_request",
        "locators": [f"https://t.me/somechannel/{message}"],
        "signature": "Jane Doe",
        "good_faith_statement": True,
        "contact": {"email": "jane@example.org"},
    }
    r = client.post("/v1/notices", json=notice)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _decided(client: TestClient, tokens: dict[str, str], message: int) -> dict[str, Any]:
    """A takedown request the moderator decided to keep up."""
    filed = _file(client, message)
    r = client.post(
        f"/v1/cases/{filed['case_id']}/decisions", json=KEEP, headers=bearer(tokens["moderator"])
    )
    assert r.status_code == 201, r.text
    return filed


def _appeal(client: TestClient, case: object, receipt: str, reasons: str = REASONS) -> Response:
    page = client.get(APPEAL_PAGE)
    form = {"csrf": csrf_of(page.text), "case": str(case), "receipt": receipt, "reasons": reasons}
    return client.post(APPEAL_PAGE, data=form, headers=ORIGIN)


def _case(client: TestClient, tokens: dict[str, str], case_id: int) -> dict[str, Any]:
    r = client.get(f"/v1/cases/{case_id}", headers=bearer(tokens["admin"]))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _appeals(service: Any) -> int:
    with service.ws.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Appeal)) or 0)


def _between(html: str, start: str, end: str = "<") -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def test_the_page_is_public_and_says_where_to_find_the_receipt(console: TestClient) -> None:
    page = console.get(APPEAL_PAGE)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert console.cookies.get("jikimi_form")
    for name in ("case", "receipt", "reasons"):
        assert f'name="{name}"' in page.text
    assert "shown right after you sent your request" in page.text and "emails" in page.text
    assert "/console/queues" not in page.text
    filled = console.get(APPEAL_PAGE + "?case=12")  # the link in the decision's email
    assert 'value="12"' in filled.text
    assert 'value="x"' not in console.get(APPEAL_PAGE + "?case=x").text


def test_a_notifier_appeals_through_the_page(
    console: TestClient, service: Any, tokens: dict[str, str]
) -> None:
    filed = _decided(console, tokens, 701)
    case_id, receipt = filed["case_id"], filed["receipt"]
    # As copied from a screenshot: spaces around, capitals.
    r = _appeal(console, f" #{case_id} ", f"  {receipt.upper()} ")
    assert r.status_code == 201, r.text
    assert "Your appeal was filed" in r.text
    assert "A different reviewer" in r.text and "by email" in r.text
    assert int(_between(r.text, '<dd id="case-id">')) == case_id
    case = _case(console, tokens, case_id)
    assert (case["state"], case["queue"]) == ("appealed", "appeals")
    event = service.ws.custody.events(subject=f"case:{case_id}")[-1]
    assert event.kind == "case.appealed"
    assert event.actor == "notifier:" + receipt[:13]
    assert event.payload["appeal_id"] == int(_between(r.text, '<dd id="appeal-id">'))
    # The appeal is the API's: the moderator who decided may not decide it again.
    again = console.post(
        f"/v1/cases/{case_id}/decisions", json=KEEP, headers=bearer(tokens["moderator"])
    )
    assert again.status_code == 409 and "different reviewer" in again.json()["detail"]


def test_a_receipt_from_another_case_is_refused_with_one_message(
    console: TestClient, service: Any, tokens: dict[str, str]
) -> None:
    mine = _decided(console, tokens, 702)
    other = _decided(console, tokens, 703)
    wrong = _appeal(console, mine["case_id"], other["receipt"])
    nowhere = _appeal(console, 999_999, other["receipt"])
    made_up = _appeal(console, mine["case_id"], "rcpt_" + "0" * 24)
    huge = _appeal(console, "9" * 20, mine["receipt"])
    for r in (wrong, nowhere, made_up, huge):
        assert r.status_code == 403
        assert "do not match" in _between(r.text, 'id="appeal-problem"', "</div>")
    # Nothing tells a case that exists from one that does not.
    assert _between(wrong.text, 'id="appeal-problem"', "</div>") == _between(
        nowhere.text, 'id="appeal-problem"', "</div>"
    )
    assert _appeals(service) == 0
    assert _case(console, tokens, mine["case_id"])["state"] == "closed"
    assert REASONS in wrong.text  # the typing is kept


def test_an_undecided_case_and_a_second_appeal_are_told_plainly(
    console: TestClient, tokens: dict[str, str]
) -> None:
    filed = _file(console, 704)
    r = _appeal(console, filed["case_id"], filed["receipt"])
    assert r.status_code == 409
    assert "has not been decided yet" in _between(r.text, 'id="appeal-problem"', "</div>")
    decided = _decided(console, tokens, 705)
    assert _appeal(console, decided["case_id"], decided["receipt"]).status_code == 201
    twice = _appeal(console, decided["case_id"], decided["receipt"])
    assert twice.status_code == 409
    assert "already under appeal" in twice.text


def test_each_missing_field_is_told_next_to_it(console: TestClient, service: Any) -> None:
    r = _appeal(console, "", "", "   ")
    assert r.status_code == 422
    assert "Enter the case number" in _between(r.text, 'id="err-case">', "</div>")
    assert "Enter the receipt code" in _between(r.text, 'id="err-receipt">', "</div>")
    assert "why you think the decision is wrong" in _between(r.text, 'id="err-reasons">', "</div>")
    assert 'aria-invalid="true"' in _between(r.text, 'id="f-reasons"', ">")
    assert 'href="#f-reasons"' in _between(r.text, 'id="appeal-errors"', "</div>")
    assert "digits only" in _appeal(console, "twelve", "rcpt_x").text
    assert _appeals(service) == 0


def test_reasons_are_counted_as_the_person_sees_them() -> None:
    at_limit = "a\r\n" * 2499 + "ab"  # 5,000 characters in the box, 7,499 as sent
    values = appeal_values({"case": "1", "receipt": "rcpt_1", "reasons": at_limit})
    assert len(values["reasons"]) == 5000 and field_errors(values) == {}
    values["reasons"] += "!"
    assert "reasons" in field_errors(values)


def test_a_form_from_elsewhere_or_without_its_token_is_refused(
    console: TestClient, tokens: dict[str, str], service: Any
) -> None:
    filed = _decided(console, tokens, 706)
    form = {"case": str(filed["case_id"]), "receipt": filed["receipt"], "reasons": REASONS}
    console.get(APPEAL_PAGE)
    assert console.post(APPEAL_PAGE, data=form, headers=ORIGIN).status_code == 403
    csrf = csrf_of(console.get(APPEAL_PAGE).text)
    elsewhere = console.post(
        APPEAL_PAGE, data={**form, "csrf": csrf}, headers={"origin": "https://evil.example"}
    )
    assert elsewhere.status_code == 403
    assert _appeals(service) == 0


def test_in_korean(console: TestClient, tokens: dict[str, str]) -> None:
    console.cookies.set("jikimi_lang", "ko")
    page = console.get(APPEAL_PAGE)
    assert '<html lang="ko">' in page.text and "결정에 대한 이의 제기" in page.text
    assert "접수 번호" in page.text
    filed = _decided(console, tokens, 707)
    mismatch = _appeal(console, filed["case_id"], "rcpt_" + "1" * 24)
    assert "일치하지 않아" in mismatch.text
    empty = _appeal(console, filed["case_id"], filed["receipt"], "")
    assert "이유를 적어 주십시오" in _between(empty.text, 'id="err-reasons">', "</div>")
    done = _appeal(console, filed["case_id"], filed["receipt"], "제 얼굴이 맞습니다.")
    assert done.status_code == 201 and "이의 제기를 접수했습니다" in done.text


def test_the_way_there_from_the_receipt_page_and_the_email(console: TestClient) -> None:
    page = console.get("/report")
    form = {
        "csrf": csrf_of(page.text),
        "locators": "https://t.me/somechannel/708",
        "signature": "Jane Doe",
        "statement": "yes",
        "email": "jane@example.org",
    }
    files = {"picture": ("", b"", "application/octet-stream")}
    done = console.post("/report", data=form, files=files, headers=ORIGIN)
    assert done.status_code == 201, done.text
    case_id = int(_between(done.text, '<dd id="case-id">'))
    link = _between(done.text, 'id="appeal-link"', "</a>")
    assert "To appeal a decision later" in link
    assert f'href="/report/appeal?case={case_id}"' in done.text
    message = outcome_message(
        to="jane@example.org",
        case_id=case_id,
        receipt="rcpt_0123456789abcdef01234567",
        outcome="keep",
        ground="terms",
        law=None,
        terms="Community rules 4.2",
        reasons="Not a real person.",
        decided_at=datetime.now(UTC),
    )
    assert f"/report/appeal?case={case_id}" in message.text
    assert f"POST /v1/cases/{case_id}/appeals" in message.text


class TestRateLimit:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"report_per_hour": 2}

    def test_appeals_are_limited_per_address_apart_from_takedowns(
        self, console: TestClient, service: Any, tokens: dict[str, str]
    ) -> None:
        filed = _decided(console, tokens, 709)
        for _ in range(2):  # refused ones count: each is a try at a receipt
            assert _appeal(console, filed["case_id"], "rcpt_wrong").status_code == 403
        r = _appeal(console, filed["case_id"], filed["receipt"])
        assert r.status_code == 429
        assert 0 < int(r.headers["retry-after"]) <= 3600
        assert "2 appeals in the last hour" in r.text
        assert _appeals(service) == 0
        assert console.get(APPEAL_PAGE).status_code == 200  # reading the page is not limited
        # The takedown form keeps its own window.
        page = console.get("/report")
        files = {"picture": ("", b"", "application/octet-stream")}
        report = console.post(
            "/report", data={"csrf": csrf_of(page.text)}, files=files, headers=ORIGIN
        )
        assert report.status_code == 422
