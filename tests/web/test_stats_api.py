"""``GET /v1/stats`` on the known history (tests/reports/transparency_seed.py), on SQLite and
PostgreSQL: who may read it, each shape as JSON and as a CSV download, the default period,
and bad parameters as problem details."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from tests.reports.transparency_seed import Clock, seed
from tests.web.helpers import bearer

from jikimi.reports.dsa_report import DSA_COLUMNS
from jikimi.reports.transparency_export import TAKEDOWN_COLUMNS

PERIOD = {"from": "2026-03-02", "to": "2026-03-05"}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def seeded(client: TestClient, tokens: dict[str, str], clock: Clock) -> TestClient:
    seed(client, tokens, clock)
    return client


def test_who_may_read_it(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/v1/stats").status_code == 401
    for role, status in (
        ("admin", 200),
        ("investigator", 200),
        ("auditor", 200),
        ("moderator", 403),
        ("platform", 403),
        ("support_centre", 403),
    ):
        r = client.get("/v1/stats", headers=bearer(tokens[role]))
        assert r.status_code == status, (role, r.text)


def test_the_summary_and_the_dsa_report(seeded: TestClient, tokens: dict[str, str]) -> None:
    auditor = bearer(tokens["auditor"])
    summary = seeded.get("/v1/stats", params=PERIOD, headers=auditor)
    assert summary.status_code == 200, summary.text
    data = summary.json()
    assert data["shape"] == "summary" and data["notices"]["total"] == 4
    assert data["time_to_action"]["all"]["p90_hours"] == 56.0
    assert data["removals"]["by_ground"] == [
        {"ground": "illegal", "category": "adult_ncii", "outcome": "remove", "count": 3}
    ]
    dsa = seeded.get("/v1/stats", params={**PERIOD, "shape": "dsa"}, headers=auditor).json()
    complaints = next(s for s in dsa["sections"] if s["section"] == "appeals_and_recidivism")
    values = {(f["field"], f["scope"]): f["value"] for f in complaints["fields"]}
    complaint = "Number of complaints submitted to the internal-complaints mechanism"
    assert values[(complaint, "Decisions reversed")] == 1


def test_a_csv_download(seeded: TestClient, tokens: dict[str, str]) -> None:
    headers = bearer(tokens["investigator"])
    for shape, header in (("dsa", DSA_COLUMNS), ("takeitdown", TAKEDOWN_COLUMNS)):
        r = seeded.get(
            "/v1/stats", params={**PERIOD, "shape": shape, "format": "csv"}, headers=headers
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        name = f"jikimi-{shape}-2026-03-02-2026-03-05.csv"
        assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
        reader = csv.DictReader(io.StringIO(r.text))
        assert tuple(reader.fieldnames or ()) == header and list(reader)


def test_the_default_is_the_last_30_days(
    seeded: TestClient, tokens: dict[str, str], clock: Clock
) -> None:
    clock.set(days=29)  # 31 March 09:00: 2 March is the first of the 30 days
    r = seeded.get("/v1/stats", headers=bearer(tokens["admin"])).json()
    assert r["period"] == {"start": "2026-03-02", "end": "2026-03-31"}
    assert r["notices"]["total"] == 4
    clock.set(days=30)
    r = seeded.get("/v1/stats", headers=bearer(tokens["admin"])).json()
    # 3 March to 1 April: the notices (2 March) are out; the cases closed on 3 and 4 March
    # (30 h and 56 h after them) are still in.
    assert r["notices"]["total"] == 0 and r["time_to_action"]["all"]["cases"] == 2


def test_bad_parameters_are_problems(client: TestClient, tokens: dict[str, str]) -> None:
    auditor = bearer(tokens["auditor"])
    for params, says in (
        ({"from": "02/03/2026"}, "YYYY-MM-DD"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "after"),
        ({"shape": "xlsx"}, "shape must be one of summary, dsa, takeitdown"),
        ({"format": "xml"}, "format must be one of json, csv"),
    ):
        r = client.get("/v1/stats", params=params, headers=auditor)
        assert r.status_code == 422, params
        assert r.headers["content-type"].startswith("application/problem+json")
        assert says in r.json()["detail"], r.json()
