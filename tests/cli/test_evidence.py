"""``jikimi evidence export`` and ``verify``: the package, the verdict, the exit codes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.cli.conftest import Runner
from tests.evidence.package_case import build_case

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
) -> int:
    """A case in the service's workspace, which the CLI then opens (same home, same store)."""
    case_id = build_case(client, service, tokens).case_id
    monkeypatch.setenv("JIKIMI_DATABASE_URL", database_url)
    return case_id


def test_export_then_verify(built: int, cli: Runner, tmp_path: Path) -> None:
    out = tmp_path / "case.zip"
    done = cli("evidence", "export", str(built), "--out", out, "--json")
    assert done.code == 0, done.err
    [summary] = done.json_lines()
    assert summary["path"] == str(out) and summary["case_id"] == built
    assert len(summary["media_included"]) == 1
    assert summary["timestamps"].startswith("not time-stamped")

    unstamped = cli("evidence", "verify", out)
    assert unstamped.code == 1
    assert "PROBLEM: time-stamps: no valid RFC 3161 time-stamp" in unstamped.out
    assert "proves neither when it was made nor that it was not changed" in unstamped.out
    verified = cli("evidence", "verify", out, "--allow-unstamped")
    assert verified.code == 0, verified.out
    assert "verifies (0 problems)" in verified.out
    assert "holds: custody:" in verified.out
    assert "holds: time-stamps: accepted unstamped (--allow-unstamped)" in verified.out
    as_json = cli("evidence", "verify", out, "--allow-unstamped", "--json").json_lines()[0]
    assert as_json["ok"] is True and as_json["problems"] == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_tampered_package_fails_with_each_problem_named(
    built: int, cli: Runner, tmp_path: Path
) -> None:
    out = tmp_path / "case.zip"
    assert cli("evidence", "export", str(built), "--out", out, "--no-media").code == 0
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(edited, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("data/case.json"):
                data = data.replace(b"Sexual deepfake", b"Sexual deepfakE")
            dst.writestr(name, data)
    done = cli("evidence", "verify", edited)
    assert done.code == 1
    assert "PROBLEM: bag:" in done.out and "data/case.json" in done.out
    assert "PROBLEM: manifest: data/case.json" in done.out
    assert "DOES NOT verify" in done.out


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_truncated_package_gives_a_clear_error(built: int, cli: Runner, tmp_path: Path) -> None:
    out = tmp_path / "case.zip"
    assert cli("evidence", "export", str(built), "--out", out).code == 0
    out.write_bytes(out.read_bytes()[:1000])
    done = cli("evidence", "verify", out)
    assert done.code == 1
    assert "error:" in done.err and "truncated" in done.err


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_exporting_an_unknown_case_says_so(built: int, cli: Runner, tmp_path: Path) -> None:
    done = cli("evidence", "export", str(built + 100), "--out", tmp_path / "x.zip")
    assert done.code == 1
    assert f"no case {built + 100}" in done.err
    assert not (tmp_path / "x.zip").exists()
