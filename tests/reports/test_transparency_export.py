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

from jikimi.reports.figures import Period
from jikimi.reports.transparency import TransparencyReport, read_report
from jikimi.reports.transparency_export import (
    DSA_COLUMNS,
    SHAPES,
    SUMMARY_COLUMNS,
    TAKEDOWN_COLUMNS,
    as_csv,
    as_json,
)
from jikimi.web.service import Service

DOC = Path(__file__).parents[2] / "docs" / "transparency.md"
DSA_SECTIONS = [
    "orders_art9",
    "orders_art10",
    "notices_art16",
    "own_initiative",
    "complaints_art20",
    "disputes_art21",
    "suspensions_art23",
    "automated_means",
]


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


def _dsa(report: TransparencyReport) -> dict[tuple[str, str, str], Any]:
    data = as_json(report, "dsa")
    assert set(data) == {"shape", "template", "period", "sections"}
    assert "2024/2835" in data["template"]
    assert [s["section"] for s in data["sections"]] == DSA_SECTIONS
    out = {}
    for section in data["sections"]:
        assert set(section) == {"section", "title", "fields"} and section["fields"]
        for field in section["fields"]:
            assert set(field) == {"field", "breakdown", "value", "note"}
            assert field["value"] is None or isinstance(field["value"], int | float)
            if field["value"] is None:  # what we cannot fill says why
                assert field["note"], field
            out[(section["section"], field["field"], field["breakdown"] or "")] = field
    return out


def test_the_dsa_shape(report: TransparencyReport) -> None:
    fields = _dsa(report)
    value = {key: f["value"] for key, f in fields.items()}
    assert value[("orders_art9", "number_of_orders", "member_state=KR")] == 1
    assert value[("orders_art9", "median_time_to_give_effect_hours", "")] == 30.0
    assert value[("notices_art16", "number_of_notices", "notice_kind=takedown_request")] == 2
    assert value[("notices_art16", "number_of_notices", "notice_kind=dsa_notice")] == 1
    assert value[("notices_art16", "number_of_notices_submitted_by_trusted_flaggers", "")] == 0
    assert value[("notices_art16", "median_time_to_take_action_hours", "")] == 33.0  # 10, 56
    law = ("notices_art16", "actions_taken_on_the_basis_of_the_law")
    assert value[(*law, "category=adult_ncii;measure=remove")] == 3
    assert value[("complaints_art20", "number_of_complaints_received", "")] == 1
    assert value[("complaints_art20", "number_of_decisions_reversed", "")] == 1
    assert value[("complaints_art20", "median_time_to_decide_hours", "")] == 6.0
    assert value[("suspensions_art23", "suspensions_for_manifestly_unfounded_notices", "")] == 2
    assert value[("suspensions_art23", "suspensions_for_manifestly_illegal_content", "")] is None
    assert value[("disputes_art21", "number_of_disputes_submitted", "")] is None
    rows = _rows(as_csv(report, "dsa"), DSA_COLUMNS)
    assert len(rows) == len(fields)
    flat = {(r["section"], r["field"], r["breakdown"]): r["value"] for r in rows}
    assert flat[("complaints_art20", "number_of_decisions_reversed", "")] == "1"
    assert flat[("disputes_art21", "number_of_disputes_submitted", "")] == ""


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
    names |= {f"`{field}`" for _, field, _ in _dsa(report)}
    missing = sorted(n for n in names if n not in doc)
    assert not missing, f"not in docs/transparency.md: {missing}"


def test_an_unknown_shape_is_refused(report: TransparencyReport) -> None:
    with pytest.raises(ValueError, match="unknown shape"):
        as_json(report, "xlsx")
    with pytest.raises(ValueError, match="unknown shape"):
        as_csv(report, "xlsx")
