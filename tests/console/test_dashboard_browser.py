"""The dashboard in a real browser: the charts are drawn (no script needed) at a real size."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import Served, browser_sign_in, screenshot

REMOVE = {
    "outcome": "remove",
    "ground": "illegal",
    "law": "TAKE IT DOWN Act, 47 U.S.C. 223(h)",
    "category": "adult_ncii",
    "reasons": "Sexual deepfake of a person who did not consent.",
}


def _notice(served: Served, kind: str, message: int, **body: Any) -> int:
    notice = {"kind": kind, "locators": [f"https://t.me/c/2002/{message}"], **body}
    r = served.api("POST", "/v1/notices", json=notice)
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def test_the_dashboard_draws_its_charts(page: Any, served: Served) -> None:
    takedown = {
        "jurisdiction": "US",
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "victim@example.org"},
    }
    report = {"jurisdiction": "KR", "reason": "딥페이크입니다", "reporter": "tg-user-1"}
    decided = [_notice(served, "takedown_request", 900 + n, **takedown) for n in range(3)]
    _notice(served, "user_report", 910, **report)
    _notice(served, "takedown_request", 911, **takedown)  # left open
    for case_id in decided:
        r = served.api("POST", f"/v1/cases/{case_id}/decisions", role="moderator", json=REMOVE)
        assert r.status_code == 201, r.text

    browser_sign_in(page, served, "auditor")
    page.goto(f"{served.base}/console/dashboard?days=30")
    assert page.locator("h1").inner_text() == "Dashboard"
    for chart in ("notices", "removals", "deadlines", "queues", "sources"):
        svg = page.locator(f"svg#chart-{chart}")
        box = svg.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 60, chart
    bars = page.locator("svg#chart-notices rect[data-series]")
    assert bars.count() >= 1
    assert (
        page.locator("#panel-banks .chart-empty").count() + page.locator("svg#chart-banks").count()
        == 1
    )
    # The numbers as a table, one click away.
    page.click("#panel-notices details summary")
    assert page.locator("#panel-notices table").is_visible()
    page.click("#panel-notices details summary")
    screenshot(page, "dashboard")
