"""``jikimi retention purge``: the retention period from --days or the setting, dry run, what was
purged and what was kept and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.cli.conftest import Runner
from tests.evidence.package_case import BuiltCase, build_case

from jikimi.store.db import write_session
from jikimi.store.models import Case, MediaRecord, PreservationHold
from jikimi.web.service import Service


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"keep_media": True}


@pytest.fixture
def built(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    database_url: str,
    cli: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> BuiltCase:
    """A case decided 200 days ago (past its appeal window) with kept media last seen 40 days
    ago, in the service's workspace, which the CLI then opens (same home, same store)."""
    built = build_case(client, service, tokens)
    with write_session(service.ws.sessions) as s:
        row = s.get(MediaRecord, built.sha256)
        assert row is not None
        row.last_seen = datetime.now(UTC) - timedelta(days=40)
        case = s.get(Case, built.case_id)
        assert case is not None
        case.closed_at = datetime.now(UTC) - timedelta(days=200)
    monkeypatch.setenv("JIKIMI_DATABASE_URL", database_url)
    return built


def test_without_a_retention_period_it_says_what_to_set(built: BuiltCase, cli: Runner) -> None:
    done = cli("retention", "purge")
    assert done.code == 2
    assert "media_retention_days" in done.err and "--days" in done.err


def test_dry_run_then_purge(
    built: BuiltCase, cli: Runner, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    dry = cli("retention", "purge", "--days", "30", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    [report] = dry.json_lines()
    assert report["dry_run"] is True and report["retention_days"] == 30
    assert [p["sha256"] for p in report["purged"]] == [built.sha256]
    assert report["purged"][0]["custody_seq"] is None
    assert service.ws.vault.has(built.sha256)

    # The setting gives the period when --days is not passed.
    monkeypatch.setenv("JIKIMI_MEDIA_RETENTION_DAYS", "30")
    done = cli("retention", "purge")
    assert done.code == 0, done.err
    assert f"purged {built.sha256} (last seen " in done.out
    assert "purged 1, kept 0 still needed, 0 not yet due (retention 30 days" in done.out
    assert not service.ws.vault.has(built.sha256)
    assert cli("custody", "verify").code == 0

    again = cli("retention", "purge", "--days", "30")
    assert "purged 0, kept 0" in again.out


def test_kept_media_are_listed_with_the_reason(
    built: BuiltCase, cli: Runner, service: Service
) -> None:
    until = datetime.now(UTC) + timedelta(days=365)
    with write_session(service.ws.sessions) as s:
        s.add(PreservationHold(case_id=built.case_id, reason="test", until=until, created_by="t"))

    done = cli("retention", "purge", "--days", "30")

    assert done.code == 0, done.err
    assert (
        f"kept {built.sha256} (last seen {datetime.now(UTC) - timedelta(days=40):%Y-%m-%d}): "
        f"held by case {built.case_id} until {until:%Y-%m-%d}"
    ) in done.out
    assert service.ws.vault.has(built.sha256)
    [report] = cli("retention", "purge", "--days", "30", "--json").json_lines()
    assert report["kept"][0]["cases"] == [built.case_id]


def test_a_missing_file_is_printed_as_a_problem(
    built: BuiltCase, cli: Runner, service: Service
) -> None:
    service.ws.vault.path_of(built.sha256).unlink()

    done = cli("retention", "purge", "--days", "30")

    assert done.code == 0, done.err
    assert "the vault file was already missing" in done.out
    assert f"problem: media {built.sha256}: marked kept, but the vault holds no file" in done.out


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_days_below_one_is_bad_usage(built: BuiltCase, cli: Runner) -> None:
    assert cli("retention", "purge", "--days", "0").code == 2


def test_a_case_open_to_appeal_is_given_as_the_reason(
    built: BuiltCase, cli: Runner, service: Service
) -> None:
    closed = datetime.now(UTC) - timedelta(days=3)
    with write_session(service.ws.sessions) as s:
        case = s.get(Case, built.case_id)
        assert case is not None
        case.closed_at = closed

    done = cli("retention", "purge", "--days", "30")

    assert done.code == 0, done.err
    assert f"case {built.case_id} closed on {closed:%Y-%m-%d}, open to appeal until " in done.out
    assert "purged 0, kept 1 still needed" in done.out
    assert service.ws.vault.has(built.sha256)
