"""The dashboard in-process: who may open it, the figures behind each chart after notices,
decisions and an automated removal made through the API on the service's clock, the empty
states, the period switch and the Korean texts."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.console.conftest import csrf_of, sign_in
from tests.web.helpers import bearer, jpeg

from jikimi.signals.registry import Registry
from jikimi.web.service import Service, ServiceOptions
from jikimi.workspace import Workspace

NS = "{http://www.w3.org/2000/svg}"
REMOVE = {
    "outcome": "remove",
    "ground": "illegal",
    "law": "TAKE IT DOWN Act, 47 U.S.C. 223(h)",
    "category": "adult_ncii",
    "reasons": "Sexual deepfake of a person who did not consent.",
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
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


# Four days ago at 09:00 UTC: the first notices arrive then.
DAY0 = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=4)


@pytest.fixture
def clock() -> Clock:
    return Clock(DAY0)


@pytest.fixture
def service(ws: Workspace, registry: Registry, clock: Clock) -> Iterator[Service]:
    options = ServiceOptions(
        run_dispatcher=False, watch_seconds=0.2, registry=registry, clock=clock
    )
    svc = Service(ws, options)
    yield svc
    svc.stop()


def _notice(client: TestClient, body: dict[str, Any], message: int, token: str = "") -> int:
    notice = {**body, "locators": [f"https://t.me/c/1001/{message}"]}
    r = client.post("/v1/notices", json=notice, headers=bearer(token) if token else {})
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def _auto_removal(client: TestClient, service: Service, token: str) -> None:
    """An upload matching a bank trusted for automatic removal: removed without a person."""
    image = jpeg(71)
    path = service.tmp / "bank.jpg"
    path.write_bytes(image)
    try:
        pdq = service.check_pipeline.cascade.run(path).media.signals["pdq"].value
    finally:
        path.unlink()
    service.ws.banks.create("trusted-hashes", auto_action=True, actor="tester")
    service.ws.banks.add("trusted-hashes", [("pdq", pdq)], actor="tester")
    service.refresh_matcher(force=True)
    meta = {"platform": "telegram", "chat_id": "-100900", "message_id": "1"}
    r = client.post(
        "/v1/items",
        data={"item": json.dumps(meta)},
        files={"media": ("x.jpg", image, "image/jpeg")},
        headers=bearer(token),
    )
    assert r.status_code == 201 and r.json()["verdict"]["outcome"] == "remove", r.text


def _seed(client: TestClient, service: Service, tokens: dict[str, str], clock: Clock) -> None:
    moderator = bearer(tokens["moderator"])
    met = _notice(client, TAKEDOWN, 1)  # a 48-hour clock
    _notice(client, DSA, 2)  # 72 hours, never decided: overdue by now
    clock.at = DAY0 + timedelta(hours=10)
    r = client.post(f"/v1/cases/{met}/decisions", json=REMOVE, headers=moderator)
    assert r.status_code == 201, r.text
    clock.at = DAY0 + timedelta(days=1)
    late = _notice(client, ORDER, 3, tokens["investigator"])  # 24 hours
    clock.at = DAY0 + timedelta(days=1, hours=30)
    r = client.post(f"/v1/cases/{late}/decisions", json=REMOVE, headers=moderator)
    assert r.status_code == 201, r.text
    _auto_removal(client, service, tokens["platform"])
    clock.at = datetime.now(UTC)


def _svgs(html: str) -> dict[str, ET.Element]:
    found = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    charts = [ET.fromstring(markup) for markup in found]
    return {str(svg.get("id")): svg for svg in charts}


def _marks(svg: ET.Element, tag: str = "rect") -> dict[tuple[str, str], str]:
    return {
        (str(e.get("data-category", "")), str(e.get("data-series"))): str(e.get("data-value"))
        for e in svg.iter(f"{NS}{tag}")
        if "data-series" in e.attrib
    }


def _day(days_after: int) -> str:
    return (DAY0 + timedelta(days=days_after)).date().isoformat()


def test_the_charts_show_what_happened(
    console: TestClient, service: Service, tokens: dict[str, str], clock: Clock
) -> None:
    _seed(console, service, tokens, clock)
    sign_in(console, "test-auditor")
    page = console.get("/console/dashboard?days=7")
    assert page.status_code == 200, page.text
    html = page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'style="' not in html and "<script>" not in html
    assert 'href="/console/dashboard?days=7" aria-current="page"' in html
    charts = _svgs(html)
    assert set(charts) == {
        "chart-notices",
        "chart-removals",
        "chart-deadlines",
        "chart-queues",
        "chart-sources",
        "chart-banks",
    }
    for svg in charts.values():
        assert svg.get("role") == "img"
        assert svg.find(f"{NS}title") is not None and svg.find(f"{NS}desc") is not None

    # 1. Notices per day by kind, and removals per day by who removed.
    assert "Notices received in the last 7 days: 3." in html
    notices = _marks(charts["chart-notices"])
    assert notices == {
        (_day(0), "takedown_request"): "1",
        (_day(0), "dsa_notice"): "1",
        (_day(1), "authority_order"): "1",
    }
    removals = _marks(charts["chart-removals"])
    reviewer = {day: v for (day, series), v in removals.items() if series == "reviewer"}
    assert reviewer == {_day(0): "1", _day(2): "1"}  # decided at 19:00 and, 30 h on, 15:00
    assert sum(int(v) for (_, s), v in removals.items() if s == "automated") == 1
    assert "Removals in the last 7 days: 3 (1 automated, 2 by reviewers)." in html

    # 2. Time to decision against the deadline: 10 h of 48 (in time), 30 h of 24 (late).
    deadlines = charts["chart-deadlines"]
    dots = _marks(deadlines, "circle")
    assert set(dots.values()) == {"10", "30"}
    assert {s for _, s in dots} == {"met", "missed"}
    marks = sorted(
        e.get("data-mark") for e in deadlines.iter(f"{NS}line") if "data-mark" in e.attrib
    )
    assert marks == ["24", "48"]
    assert "1 of 2 cases with a legal deadline" in html and "(50%)" in html
    # 90th percentile by nearest rank of (10, 30): the second value.
    assert "Median time to decision: 20.0 hours; 90th percentile: 30.0 hours." in html

    # 3. Open cases now: the DSA notice, 72 hours gone by.
    queues = _marks(charts["chart-queues"])
    assert queues == {("adult_ncii", "overdue"): "1"}
    assert "Open cases now: 1, of which 1 are past their deadline." in html
    assert "auto_removed" not in queues  # removed without a person: no one's work

    # 4. One automated removal against two reviewers' decisions.
    sources = _marks(charts["chart-sources"], "circle")
    assert sources == {("", "automated"): "1", ("", "reviewer"): "2"}
    assert ">33%<" in html

    # 5. Matches by bank: the upload matched the trusted bank.
    assert _marks(charts["chart-banks"]) == {("trusted-hashes", "matched"): "1"}

    # 6. Both removals were on the law, intimate images of adults; no appeal, no suspension.
    assert "Reviewers&#39; removals and restrictions in this period: 2." in html
    grounds = html.split('id="panel-grounds"')[1].split("</section>")[0]
    assert re.findall(r"<td[^>]*>([^<]*)</td>", grounds) == [
        "Intimate images of adults",
        "Removed",
        "2",
    ]
    assert "Appeals filed in this period: 0; 0 of 0 decided appeals reversed" in html
    assert "Notifiers suspended for manifestly unfounded notices in this period: 0." in html
    # An auditor (audit:read) gets the exports of the period shown.
    assert 'href="/console/dashboard/export?days=7&amp;shape=dsa&amp;format=csv"' in html

    # Tables carry the same numbers; no case, item or notifier appears anywhere.
    assert html.count("<table>") == 6
    assert "/console/cases" not in html and "victim@example.org" not in html
    assert "Erika" not in html and "2026-심의-0311" not in html


def test_in_korean(
    console: TestClient, service: Service, tokens: dict[str, str], clock: Clock
) -> None:
    _seed(console, service, tokens, clock)
    sign_in(console, "test-moderator")  # cases:decide alone is enough
    csrf = csrf_of(console.get("/console/dashboard").text)
    r = console.post(
        "/console/language",
        data={"csrf": csrf, "language": "ko", "back": "/console/dashboard"},
        headers={"origin": "http://testserver"},
    )
    assert r.status_code == 200
    html = r.text
    assert '<html lang="ko">' in html
    assert "일별 신고 접수" in html and "최근 30일 동안 접수된 신고는 3건입니다." in html
    assert "기한 48시간" in html and "기한 24시간" in html  # the deadline rows
    day = DAY0.date()
    assert f"{day.month}월 {day.day}일" in html  # a day on the axis
    assert "Notices per day" not in html
    assert "90번째 백분위수는 30.0시간입니다." in html and "근거별 삭제·제한" in html
    assert "/console/dashboard/export" not in html  # cases:decide alone: no exports


def test_who_may_open_it(console: TestClient) -> None:
    for role, status in (
        ("auditor", 200),
        ("moderator", 200),
        ("child_safety", 200),
        ("investigator", 200),  # audit:read
        ("admin", 200),
        ("support_centre", 403),
    ):
        console.cookies.clear()
        sign_in(console, f"test-{role}")
        r = console.get("/console/dashboard", follow_redirects=False)
        assert r.status_code == status, role
    console.cookies.clear()
    r = console.get("/console/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


def test_an_empty_workspace_shows_empty_states(console: TestClient) -> None:
    sign_in(console, "test-auditor")
    html = console.get("/console/dashboard?days=bogus").text
    assert 'href="/console/dashboard?days=30" aria-current="page"' in html  # the default
    assert "<svg" not in html and "<table>" not in html
    for text in (
        "No notices were received in this period.",
        "Nothing was removed in this period.",
        "No case with a legal deadline was closed in this period.",
        "No case is open.",
        "No decisions were made in this period.",
        "No matches were recorded in this period.",
    ):
        assert text in html


def test_the_period_switch(console: TestClient, service: Service, clock: Clock) -> None:
    _notice(console, TAKEDOWN, 9)  # on the day the clock shows
    sign_in(console, "test-auditor")
    week = console.get("/console/dashboard?days=7").text
    quarter = console.get("/console/dashboard?days=90").text
    assert "Notices received in the last 7 days: 1." in week
    assert "Notices received in the last 90 days: 1." in quarter
    assert len(_svgs(quarter)["chart-notices"].findall(f".//{NS}rect[@data-series]")) == 1
    clock.at = DAY0 + timedelta(days=8)  # a week on, the notice has left the 7-day window
    assert (
        "No notices were received in this period." in console.get("/console/dashboard?days=7").text
    )
