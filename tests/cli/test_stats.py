"""``jikimi stats`` in-process on the known history (tests/reports/transparency_seed.py), on
SQLite and PostgreSQL: each shape and format, the period options, and bad input."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from tests.cli.conftest import Runner
from tests.reports.transparency_seed import Clock, seed

from jikimi.reports.dsa_report import DSA_COLUMNS
from jikimi.reports.transparency_export import SUMMARY_COLUMNS, TAKEDOWN_COLUMNS

PERIOD = ("--from", "2026-03-02", "--to", "2026-03-05")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stats(
    client: TestClient,
    tokens: dict[str, str],
    clock: Clock,
    cli: Runner,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Runner:
    """``jikimi ...`` over the seeded workspace (the same home and database)."""
    seed(client, tokens, clock)
    monkeypatch.setenv("JIKIMI_DATABASE_URL", database_url)
    return cli


def test_the_summary_as_json(stats: Runner) -> None:
    run = stats("stats", *PERIOD, "--json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert data["shape"] == "summary"
    assert data["period"] == {"start": "2026-03-02", "end": "2026-03-05"}
    assert data["notices"]["total"] == 4 and data["notices"]["incomplete"] == 1
    assert data["time_to_action"]["all"]["median_hours"] == 30.0
    assert data["time_to_action"]["all"]["p90_hours"] == 56.0
    assert data["appeals"]["reversed"] == 1
    assert data["suspensions"] == {"imposed": 2, "lifted": 1, "active_at_end": 1}
    assert stats("stats", *PERIOD, "--format", "json").out == run.out


def test_each_shape_as_csv(stats: Runner) -> None:
    for shape, header in (
        ("summary", SUMMARY_COLUMNS),
        ("dsa", DSA_COLUMNS),
        ("takeitdown", TAKEDOWN_COLUMNS),
    ):
        run = stats("stats", *PERIOD, "--shape", shape, "--format", "csv")
        assert run.code == 0, run.err
        reader = csv.DictReader(io.StringIO(run.out))
        assert tuple(reader.fieldnames or ()) == header
        rows = list(reader)
        assert rows, shape
    log = stats("stats", *PERIOD, "--shape", "takeitdown", "--format", "csv").out
    first = next(csv.DictReader(io.StringIO(log)))
    assert (first["hours_to_removal"], first["identical_copies_removed"]) == ("10.0", "1")


def test_the_table(stats: Runner) -> None:
    run = stats("stats", *PERIOD)
    assert run.code == 0, run.err
    assert "2026-03-02 to 2026-03-05" in run.out and "appeals.reversed" in run.out


def test_a_period_with_nothing(stats: Runner) -> None:
    run = stats("stats", "--from", "2025-01-01", "--to", "2025-01-31", "--json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert data["notices"]["total"] == 0 and data["time_to_action"]["by_rule"] == []
    assert data["time_to_action"]["all"]["median_hours"] is None


def test_bad_input_says_what_is_wrong(stats: Runner) -> None:
    for args, says in (
        (("--from", "March"), "YYYY-MM-DD"),
        (("--from", "2026-03-05", "--to", "2026-03-01"), "after"),
        (("--shape", "xlsx"), "--shape must be one of"),
        (("--format", "xml"), "--format must be one of"),
    ):
        run = stats("stats", *args)
        assert run.code == 2 and says in run.err, (args, run.err)
