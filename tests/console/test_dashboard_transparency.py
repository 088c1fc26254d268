"""The dashboard's transparency part on the known history (tests/reports/transparency_seed.py):
the 90th percentile, removals by ground, appeals and suspensions, and the exports an
``audit:read`` holder downloads with the console's session (no token)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from tests.console.conftest import sign_in
from tests.reports.transparency_seed import T0, Clock, seed

from jikimi.reports.transparency_export import TAKEDOWN_COLUMNS

EXPORT = "/console/dashboard/export"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def seeded(console: TestClient, tokens: dict[str, str], clock: Clock) -> TestClient:
    seed(console, tokens, clock)
    clock.at = T0 + timedelta(days=4)  # 6 March: the last 7 days hold everything
    return console


def _panel(html: str, panel: str) -> str:
    return html.split(f'id="panel-{panel}"')[1].split("</section>")[0]


def _cells(html: str) -> list[str]:
    return re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", html)


def test_the_new_figures(seeded: TestClient) -> None:
    sign_in(seeded, "test-auditor")
    html = seeded.get("/console/dashboard?days=7").text
    # Time to decision 10, 30 and 56 hours: median 30, 90th percentile 56 (nearest rank).
    assert "Median time to decision: 30.0 hours; 90th percentile: 56.0 hours." in html
    assert "Reviewers&#39; removals and restrictions in this period: 3." in html
    assert "Appeals filed in this period: 1; 1 of 1 decided appeals reversed the decision." in html
    appeals = _cells(_panel(html, "appeals"))
    assert appeals[appeals.index("Decision reversed") + 1] == "1"
    assert appeals[appeals.index("Median hours to decide") + 1] == "6.0"
    assert "Notifiers suspended for manifestly unfounded notices in this period: 2." in html
    held = _cells(_panel(html, "suspensions"))
    assert held[held.index("Lifted") + 1] == "1"
    assert held[held.index("In force at the end of the period") + 1] == "1"
    # Still counts only: no notifier, case or content.
    assert "spam@example.org" not in html and "Erika" not in html


def test_an_auditor_downloads_the_exports(seeded: TestClient) -> None:
    sign_in(seeded, "test-auditor")
    html = seeded.get("/console/dashboard?days=7").text
    links = re.findall(r'href="(/console/dashboard/export\?[^"]+)"', html)
    assert len(links) == 6  # three shapes, CSV and JSON
    log = seeded.get(f"{EXPORT}?days=7&shape=takeitdown&format=csv")
    assert log.status_code == 200 and log.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(log.text))
    assert tuple(reader.fieldnames or ()) == TAKEDOWN_COLUMNS
    rows = list(reader)
    assert [r["within_48h"] for r in rows] == ["yes", ""]
    dsa = seeded.get(f"{EXPORT}?days=7&shape=dsa&format=json").json()
    assert dsa["period"] == {"start": "2026-02-28", "end": "2026-03-06"}
    assert seeded.get(f"{EXPORT}?days=7&shape=xlsx").status_code == 422


def test_who_may_download(seeded: TestClient) -> None:
    assert seeded.get(EXPORT, follow_redirects=False).status_code == 303  # not signed in
    sign_in(seeded, "test-moderator")  # opens the dashboard, but has no audit:read
    assert "/console/dashboard/export" not in seeded.get("/console/dashboard").text
    assert seeded.get(EXPORT, follow_redirects=False).status_code == 403
    seeded.cookies.clear()
    sign_in(seeded, "test-investigator")
    assert seeded.get(EXPORT).status_code == 200
