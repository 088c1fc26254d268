"""The public appeal page in a real browser against a real ``jikimi serve``: a takedown request
filed and decided through the API, then appealed by its notifier through the page."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import Served, screenshot


def test_in_a_browser_a_notifier_appeals_a_decision(page: Any, served: Served) -> None:
    notice = {
        "kind": "takedown_request",
        "locators": ["https://t.me/somechannel/901"],
        "signature": "Jane Doe",
        "good_faith_statement": True,
        "contact": {"email": "jane@example.org"},
    }
    filed = served.api("POST", "/v1/notices", json=notice).json()
    case_id, receipt = filed["case_id"], filed["receipt"]
    keep = {
        "outcome": "keep",
        "ground": "terms",
        "terms": "Community rules 4.2",
        "category": "adult_ncii",
        "reasons": "The picture is not of a real person.",
    }
    decided = served.api("POST", f"/v1/cases/{case_id}/decisions", role="moderator", json=keep)
    assert decided.status_code == 201, decided.text

    page.goto(f"{served.base}/report/appeal?case={case_id}")
    screenshot(page, "appeal")
    assert page.input_value("#f-case") == str(case_id)  # filled in from the email's link
    page.fill("#f-receipt", receipt)
    page.click("#appeal-submit")
    page.wait_for_load_state()
    error = page.locator("#err-reasons")
    assert error.is_visible() and "why you think" in error.inner_text()
    assert page.locator("#f-reasons").get_attribute("aria-invalid") == "true"
    assert page.input_value("#f-receipt") == receipt  # kept

    page.fill("#f-reasons", "It is me: the face is mine.")
    page.click("#appeal-submit")
    page.wait_for_load_state()
    assert "Your appeal was filed" in page.locator("h1").inner_text()
    assert page.locator("#case-id").inner_text() == str(case_id)
    assert "different reviewer" in page.locator("#appeal-next").inner_text()
    case = served.api("GET", f"/v1/cases/{case_id}", role="admin").json()
    assert case["state"] == "appealed"
