"""The queues: the overview, a queue in working order with its facts, filters, claiming, and
the bulk confirmation of exact known abuse (each case re-checked, the unsafe ones named)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from tests.console.review_support import (
    as_user,
    bank,
    case_ids,
    item,
    order,
    post_form,
    sha256,
    takedown,
)
from tests.web.helpers import jpeg

from jikimi.web.service import Service


def _two_clocks(console: TestClient, tokens: dict[str, str]) -> tuple[int, int]:
    """A US takedown (48 h) filed first, then a KR authority order (24 h): due sooner."""
    item(console, tokens["platform"], "1", jpeg(1))
    item(console, tokens["platform"], "2", jpeg(2))
    us = takedown(console, "https://t.me/c/1/1")
    kr = order(console, tokens["investigator"], "https://t.me/c/1/2")
    return us, kr


def test_the_overview_counts_open_and_overdue_cases_per_queue(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    start = datetime.now(UTC)
    service.options.clock = lambda: start - timedelta(days=3)  # filed three days ago: overdue
    late = takedown(console, "https://t.me/c/1/9")
    service.options.clock = lambda: datetime.now(UTC)
    us, kr = _two_clocks(console, tokens)
    as_user(console, "moderator")
    page = console.get("/console/queues")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    rows = page.text.split('<tr data-queue="')
    adult = next(r for r in rows if r.startswith("adult_ncii"))
    assert "<td>2</td>" in adult and 'class="overdue">1</td>' in adult
    assert any(r.startswith("authority") for r in rows)
    listed = console.get("/console/queues/all")
    assert case_ids(listed.text) == [late, kr, us]  # by the clock: overdue, 24 h, 48 h
    assert 'class="left overdue"' in listed.text.split(f'<tr data-case="{late}"')[1]
    assert "overdue by" in listed.text


def test_a_queue_shows_the_facts_and_filters(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    known = jpeg(3)
    bank(console, tokens["admin"], "partner-list", [sha256(known)])  # needs a person: review
    item(console, tokens["platform"], "3", known)
    matched = takedown(console, "https://t.me/c/1/3", jurisdiction="KR")
    _, kr = _two_clocks(console, tokens)
    as_user(console, "moderator")
    page = console.get("/console/queues/all").text
    row = page.split(f'<tr data-case="{matched}"')[1].split("</tr>")[0]
    assert "partner-list" in row and "sha256" in row and "exact" in row
    assert "known-abuse-review" in row  # the verdict's rule
    assert "takedown request" in row
    assert "1 d" in row or "h " in row  # time left in words
    # The takedown joined the case the verdict opened (same media) and gave it its law.
    only_kr = console.get("/console/queues/all?jurisdiction=kr").text
    assert case_ids(only_kr) == [matched, kr]
    orders = console.get("/console/queues/all?kind=authority_order").text
    assert case_ids(orders) == [kr]
    assert case_ids(console.get("/console/queues/all?overdue=yes").text) == []
    assert case_ids(console.get("/console/queues/all?open_tasks=yes").text) == []
    assert case_ids(console.get("/console/queues/authority").text) == [kr]
    # Bogus filter values are ignored, not errors.
    assert console.get("/console/queues/all?state=nope&kind=x&jurisdiction=<b>").status_code == 200


def test_claiming_and_releasing_from_the_queue(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    us, _ = _two_clocks(console, tokens)
    as_user(console, "moderator")
    back = "/console/queues/adult_ncii"
    r = post_form(
        console,
        f"/console/cases/{us}/assignment",
        {"claim": "1", "back": back},
        back,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"{back}?flash=claimed&case={us}"
    page = console.get(r.headers["location"]).text
    assert f"You claimed case {us}" in page
    assert '<span class="assignee">test-moderator</span>' in page
    as_user(console, "child_safety")
    refused = post_form(
        console,
        f"/console/cases/{us}/assignment",
        {"claim": "1", "back": back},
        back,
        follow_redirects=False,
    )
    assert refused.headers["location"].endswith(f"flash=claim_refused&case={us}")
    assert service.cases.get(us, now=service.now())["assignee"] == "test-moderator"
    as_user(console, "moderator")
    post_form(console, f"/console/cases/{us}/assignment", {"claim": "0", "back": back}, back)
    assert service.cases.get(us, now=service.now())["assignee"] is None
    # Off-site "back" targets are ignored.
    r = post_form(
        console,
        f"/console/cases/{us}/assignment",
        {"claim": "1", "back": "//evil.example/x"},
        back,
        follow_redirects=False,
    )
    assert r.headers["location"].startswith(f"/console/cases/{us}?")


def test_bulk_confirmation_only_for_exact_known_abuse(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    known, other = jpeg(11), jpeg(12)
    bank(console, tokens["admin"], "verified", [sha256(known)], auto_action=True)
    auto = item(console, tokens["platform"], "11", known)
    assert auto["verdict"]["outcome"] == "remove"  # removed by the bank, still a case
    exact = int(auto["case_id"])
    item(console, tokens["platform"], "12", other)
    unsafe = takedown(console, "https://t.me/c/1/12")
    as_user(console, "moderator")
    page = console.get("/console/queues/all").text
    exact_row = page.split(f'<tr data-case="{exact}"')[1].split("</tr>")[0]
    unsafe_row = page.split(f'<tr data-case="{unsafe}"')[1].split("</tr>")[0]
    assert "exact known abuse" in exact_row and "data-unsafe" not in exact_row
    assert "data-unsafe" in unsafe_row
    r = post_form(
        console,
        "/console/queues/all/confirm",
        {f"case-{exact}": "1", f"case-{unsafe}": "1", "case-999999": "1", "law": "Act 1"},
        "/console/queues/all",
    )
    assert r.status_code == 200
    assert f"Removal confirmed: cases {exact}." in r.text
    refused = r.text.split('id="bulk-refused"')[1].split("</ul>")[0]
    assert f'data-case="{unsafe}"' in refused and "not every file matched" in refused
    assert 'data-case="999999"' in refused and "no such case" in refused
    assert exact not in case_ids(r.text)  # it left the queue
    decided = service.cases.get(exact, now=service.now())
    assert decided["state"] == "closed"
    assert service.cases.get(unsafe, now=service.now())["state"] == "new"
    events = [e for e in service.ws.custody.events(subject=f"case:{exact}")]
    payload = next(e.payload for e in events if e.kind == "case.decided")
    assert payload["outcome"] == "remove" and payload["category"] == "adult_ncii"
    assert payload["ground"] == "illegal" and payload["law"] == "Act 1"
    assert next(e.actor for e in events if e.kind == "case.decided") == "test-moderator"
    # Nothing ticked, or no law: refused as a whole with a message.
    none = post_form(console, "/console/queues/all/confirm", {"law": "x"}, "/console/queues/all")
    assert "No case was selected" in none.text
    nolaw = post_form(
        console, "/console/queues/all/confirm", {f"case-{unsafe}": "1"}, "/console/queues/all"
    )
    assert "Name the law relied on" in nolaw.text


def test_bulk_removal_from_a_minors_bank_is_categorised_minors(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    picture = jpeg(21)
    bank(console, tokens["admin"], "hotline", [sha256(picture)], auto_action=True, minors=True)
    case_id = int(item(console, tokens["platform"], "21", picture)["case_id"])
    as_user(console, "moderator")
    assert case_id not in case_ids(console.get("/console/queues/all").text)
    assert "child_safety" not in console.get("/console/queues").text
    r = post_form(
        console, "/console/queues/all/confirm", {f"case-{case_id}": "1", "law": "Act"}, "/console"
    )
    assert "no such case" in r.text  # a moderator may not see it, so may not decide it
    as_user(console, "child_safety")
    assert 'data-queue="child_safety"' in console.get("/console/queues").text
    r = post_form(
        console, "/console/queues/all/confirm", {f"case-{case_id}": "1", "law": "Act"}, "/console"
    )
    assert f"cases {case_id}." in r.text
    decided = [
        e.payload
        for e in service.ws.custody.events(subject=f"case:{case_id}")
        if e.kind == "case.decided"
    ]
    assert decided[0]["category"] == "minors"


def test_who_may_open_the_queues(console: TestClient, tokens: dict[str, str]) -> None:
    us, _ = _two_clocks(console, tokens)
    for role in ("auditor", "investigator"):
        as_user(console, role)
        page = console.get("/console/queues/all")
        assert page.status_code == 200 and us in case_ids(page.text)
        assert 'id="bulk-form"' not in page.text and "/assignment" not in page.text
    r = post_form(
        console, "/console/queues/all/confirm", {f"case-{us}": "1", "law": "x"}, "/console/wellness"
    )
    assert r.status_code == 403
    r = post_form(console, f"/console/cases/{us}/assignment", {"claim": "1"}, "/console/wellness")
    assert r.status_code == 403
    as_user(console, "support_centre")
    assert console.get("/console/queues").status_code == 403
    assert console.get("/console/queues/all").status_code == 403


def test_the_queue_page_in_korean(console: TestClient, tokens: dict[str, str]) -> None:
    _two_clocks(console, tokens)
    as_user(console, "moderator")
    post_form(console, "/console/language", {"language": "ko", "back": "/console"}, "/console")
    page = console.get("/console/queues/all").text
    assert "진행 중인 모든 사건" in page and "남음" in page and "기관 명령" in page
