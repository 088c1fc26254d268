"""The exports of the known history (tests/reports/transparency_seed.py): each shape's JSON
has the documented keys and types, each CSV parses with the documented header, the values
are the figures, and every field and column is named in docs/transparency.md."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.reports.transparency_seed import FIRST_DAY, LAST_DAY, Clock, Seeded, seed

from jikimi.reports.dsa_report import DSA_COLUMNS
from jikimi.reports.figures import Period
from jikimi.reports.transparency import TransparencyReport, read_report
from jikimi.reports.transparency_export import (
    SHAPES,
    SUMMARY_COLUMNS,
    TAKEDOWN_COLUMNS,
    as_csv,
    as_json,
)
from jikimi.web.service import Service

DOC = Path(__file__).parents[2] / "docs" / "transparency.md"
DSA_SECTIONS = [
    "report_identification",
    "categories_names",
    "member_states_orders",
    "notices",
    "own_initiative_illegal",
    "own_initiative_TC",
    "appeals_and_recidivism",
    "automated_means",
    "human_resources",
    "AMAR",
    "qualitative",
    "jikimi_additional",
]
CYBER = "STATEMENT_CATEGORY_CYBER_VIOLENCE"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def report(service: Service, client: TestClient, tokens: dict[str, str], clock: Clock) -> Any:
    seeded: Seeded = seed(client, tokens, clock)
    assert seeded.takedown_case
    with service.ws.sessions() as session:
        return read_report(session, Period.of_dates(FIRST_DAY, LAST_DAY))


def _rows(text: str, header: tuple[str, ...]) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == header
    return list(reader)


Key = tuple[str, str, str, str]  # section, field, category, scope


def _dsa(report: TransparencyReport) -> dict[Key, Any]:
    data = as_json(report, "dsa")
    assert set(data) == {"shape", "template", "period", "sections"}
    assert "2024/2835" in data["template"]
    assert [s["section"] for s in data["sections"]] == DSA_SECTIONS
    out = {}
    for section in data["sections"]:
        assert set(section) == {"section", "title", "fields"} and section["fields"]
        for field in section["fields"]:
            assert set(field) == {"field", "category", "scope", "value", "note"}
            assert field["value"] is None or isinstance(field["value"], int | float | str)
            if field["value"] is None:  # what we cannot fill says why
                assert field["note"], field
            key = (
                section["section"],
                field["field"],
                field["category"] or "",
                field["scope"] or "",
            )
            assert key not in out, key
            out[key] = field
    return out


def test_the_dsa_shape(report: TransparencyReport) -> None:
    fields = _dsa(report)
    value = {key: f["value"] for key, f in fields.items()}
    orders = ("member_states_orders", "Number of orders to act against illegal content received")
    # KCSC's order is not a Member State order: outside the template, in Jikimi's figures.
    assert value[(*orders, "TOTAL", "TOTAL")] == 0
    assert (*orders, "TOTAL", "KR") not in value and (*orders, CYBER, "TOTAL") not in value
    outside = ("jikimi_additional", "orders_from_authorities_outside_the_eu", "", "KR")
    assert value[outside] == 1
    effect = "Median time to give effect to the order to act against illegal content (hours)"
    assert value[("member_states_orders", effect, "TOTAL", "TOTAL")] is None
    received = ("notices", "Number of notices received")
    assert value[(*received, "TOTAL", "")] == 3  # the order is not an Art. 16 notice
    assert value[(*received, CYBER, "")] == 2
    assert value[(*received, "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE", "")] == 1  # incomplete
    flagged = ("notices", "Number of notices received from Trusted flaggers", "TOTAL", "")
    assert value[flagged] == 0
    median = ("notices", "Median time to take action (hours)")
    assert value[(*median, "TOTAL", "")] == value[(*median, CYBER, "")] == 33.0  # 10, 56
    law = ("notices", "Number of actions taken on the basis of the law")
    assert value[(*law, CYBER, "")] == 2  # the order's removal is in member_states_orders
    complaints = (
        "appeals_and_recidivism",
        "Number of complaints submitted to the internal-complaints mechanism",
        "",
    )
    assert value[(*complaints, "Total number")] == 1
    assert value[(*complaints, "Decisions reversed")] == 1
    assert value[(*complaints, "Decisions partially reversed")] == 0
    assert value[(*complaints, "Median time (hours)")] == 6.0
    newly = "Number of restrictions newly imposed as a result of an internal complaint"
    assert value[("appeals_and_recidivism", newly, "", "Total number")] == 1  # a keep reversed
    unfounded = "Number of suspensions enacted for the provision of manifestly unfounded notices"
    assert value[("appeals_and_recidivism", unfounded, "", "Total number")] == 2
    illegal = "Number of suspensions enacted for the provision of manifestly illegal content"
    assert value[("appeals_and_recidivism", illegal, "", "Total number")] is None
    assert value[("jikimi_additional", "p90_hours_to_decision", "", "all")] == 56.0
    assert value[("jikimi_additional", "suspensions_lifted", "", "")] == 1
    rows = _rows(as_csv(report, "dsa"), DSA_COLUMNS)
    assert len(rows) == len(fields)
    flat = {(r["section"], r["field"], r["category"], r["scope"]): r["value"] for r in rows}
    assert flat[(*complaints, "Decisions reversed")] == "1"
    amar = "Number of average monthly active recipients during the reporting period"
    assert flat[("AMAR", amar, "", "TOTAL")] == ""


def test_the_takeitdown_shape(report: TransparencyReport) -> None:
    data = as_json(report, "takeitdown")
    assert set(data) == {"shape", "law", "period", "records"}
    assert data["period"] == {"start": "2026-03-02", "end": "2026-03-05"}
    done, incomplete = data["records"]
    assert all(tuple(r) == TAKEDOWN_COLUMNS for r in data["records"])
    assert done["received_at"] == "2026-03-02T09:00:00Z"
    assert done["removed_at"] == "2026-03-02T19:00:00Z"
    assert (done["valid"], done["hours_to_removal"], done["within_48h"]) == ("yes", 10.0, "yes")
    assert (done["items_removed"], done["identical_copies_removed"]) == (2, 1)
    assert done["deadline_at"] == "2026-03-04T09:00:00Z" and done["notes"] is None
    assert (incomplete["valid"], incomplete["missing"], incomplete["within_48h"]) == (
        "no",
        "signature",
        None,
    )
    rows = _rows(as_csv(report, "takeitdown"), TAKEDOWN_COLUMNS)
    assert [r["within_48h"] for r in rows] == ["yes", ""]
    assert rows[1]["notes"] == "incomplete: missing signature"
    json.dumps(data)  # serialisable as it is


def test_the_summary_shape(report: TransparencyReport) -> None:
    data = as_json(report, "summary")
    assert set(data) == {
        "shape",
        "period",
        "notices",
        "removals",
        "time_to_action",
        "automation",
        "suspensions",
        "appeals",
        "matches_by_bank",
        "takedown_requests",
    }
    assert data["time_to_action"]["all"]["median_hours"] == 30.0
    assert data["time_to_action"]["all"]["p90_hours"] == 56.0
    assert data["time_to_action"]["all"]["share_met"] == 0.6667
    assert data["appeals"]["reversed"] == 1 and data["suspensions"]["active_at_end"] == 1
    rows = _rows(as_csv(report, "summary"), SUMMARY_COLUMNS)
    got = {(r["figure"], r["breakdown"]): r["value"] for r in rows}
    assert got[("notices.by_source", "authority")] == "1"
    assert got[("time_to_action.all", "p90_hours")] == "56.0"
    ground = "ground=illegal;category=adult_ncii;outcome=remove"
    assert got[("removals.by_ground.count", ground)] == "3"
    assert got[("takedown_requests", "")] == "2"


def test_every_field_and_column_is_documented(report: TransparencyReport) -> None:
    doc = DOC.read_text(encoding="utf-8")
    names = {f"`{shape}`" for shape in SHAPES}
    names |= {f"`{c}`" for c in (*SUMMARY_COLUMNS, *DSA_COLUMNS, *TAKEDOWN_COLUMNS)}
    names |= {f"`{section}`" for section in DSA_SECTIONS}
    names |= {f"`{field}`" for _, field, _, _ in _dsa(report)}
    # The template's scopes; not a jurisdiction, nor the rules and banks of our own figures.
    names |= {
        f"`{scope}`"
        for section, _, _, scope in _dsa(report)
        if scope and scope != "KR" and section != "jikimi_additional"
    }
    missing = sorted(n for n in names if n not in doc)
    assert not missing, f"not in docs/transparency.md: {missing}"


def test_an_unknown_shape_is_refused(report: TransparencyReport) -> None:
    with pytest.raises(ValueError, match="unknown shape"):
        as_json(report, "xlsx")
    with pytest.raises(ValueError, match="unknown shape"):
        as_csv(report, "xlsx")
