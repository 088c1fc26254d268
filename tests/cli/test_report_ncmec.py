"""``jikimi report ncmec CASE [--dry-run] [--xml FILE] [--json]`` against the fake NCMEC."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.conftest import Runner
from tests.support.fake_cybertipline import (
    PASSWORD,
    USERNAME,
    FakeCyberTipline,
    SeededCase,
    seed_case,
)

from jikimi.workspace import Workspace


@pytest.fixture
def fake(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCyberTipline]:
    with FakeCyberTipline() as server:
        monkeypatch.setenv("JIKIMI_NCMEC_URL", server.url)
        monkeypatch.setenv("JIKIMI_NCMEC_USERNAME", USERNAME)
        monkeypatch.setenv("JIKIMI_NCMEC_PASSWORD", PASSWORD)
        monkeypatch.setenv("JIKIMI_NCMEC_REPORTER_EMAIL", "reports@example.org")
        yield server


def seeded(tmp_path: Path, queue: str = "child_safety") -> SeededCase:
    with Workspace.open() as ws:
        return seed_case(ws, tmp_path, queue=queue)


def test_dry_run_writes_the_document_and_sends_nothing(
    cli: Runner, fake: FakeCyberTipline, tmp_path: Path
) -> None:
    case = seeded(tmp_path)
    out = tmp_path / "report.xml"
    run = cli("report", "ncmec", case.case_id, "--dry-run", "--xml", out)
    assert run.code == 0, run.err
    assert "would be sent" in run.out
    assert ET.fromstring(out.read_bytes()).tag == "report"
    assert fake.calls == []


def test_dry_run_lists_the_problems_and_fails(
    cli: Runner, fake: FakeCyberTipline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIKIMI_NCMEC_REPORTER_EMAIL")
    case = seeded(tmp_path)
    run = cli("report", "ncmec", case.case_id, "--dry-run", "--json")
    assert run.code == 1
    (line,) = run.json_lines()
    assert line["problems"] == ["report/reporter/reportingPerson: required <email> is missing"]


def test_report_is_sent_and_finished(cli: Runner, fake: FakeCyberTipline, tmp_path: Path) -> None:
    case = seeded(tmp_path)
    run = cli("report", "ncmec", case.case_id)
    assert run.code == 0, run.err
    (report_id,) = fake.reports
    assert f"CyberTipline report {report_id} finished (2 files, 1 uploaded" in run.out
    again = cli("report", "ncmec", case.case_id, "--json")
    (line,) = again.json_lines()
    assert line["state"] == "finished" and line["external_id"] == report_id
    assert "report_xml" not in line["detail"]
    assert len(fake.reports) == 1


def test_a_case_outside_child_safety_is_refused(
    cli: Runner, fake: FakeCyberTipline, tmp_path: Path
) -> None:
    case = seeded(tmp_path, queue="default")
    run = cli("report", "ncmec", case.case_id)
    assert run.code == 1
    assert "only child-safety cases are reported to NCMEC" in run.err
    assert fake.calls == []


def test_a_report_in_doubt_is_sent_again_only_with_force_new(
    cli: Runner, fake: FakeCyberTipline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIKIMI_NCMEC_TIMEOUT_SECONDS", "0.5")
    case = seeded(tmp_path)
    fake.hang_once("/submit", 1.5)
    assert cli("report", "ncmec", case.case_id).code == 1
    doubt = cli("report", "ncmec", case.case_id)
    assert doubt.code == 1
    assert "Check with NCMEC" in doubt.err and "--force-new" in doubt.err
    assert fake.reports == {}
    forced = cli("report", "ncmec", case.case_id, "--force-new")
    assert forced.code == 0, forced.err
    (report_id,) = fake.reports
    assert f"CyberTipline report {report_id} finished" in forced.out
