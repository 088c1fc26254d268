"""`jikimi scan EXPORT_FOLDER`: a Telegram Desktop export ingested message by message, with
exit codes for problems and known-abuse matches. Benign generated data only."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from pytest import MonkeyPatch
from tests.cli.conftest import Runner
from tests.connectors.export_factory import build_export, jpeg, message

PHOTO = "photos/photo_1@15-11-2023_07-13-21.jpg"


def _clean(folder: Path) -> Path:
    """An export without problems: text, a reply, a photo, a missing file."""
    msgs = [
        message(1, text="hello"),
        message(2, photo=PHOTO, text="tomatoes"),
        message(3, text="nice", reply_to_message_id=2),
        message(4, photo="(File not included. Change data exporting settings to download.)"),
    ]
    return build_export(folder, messages=msgs).folder


def _items(home: Path) -> int:
    with sqlite3.connect(home / "jikimi.db") as db:
        return int(db.execute("select count(*) from items").fetchone()[0])


def test_an_export_prints_one_line_per_message_and_a_summary(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    folder = _clean(tmp_path / "export")
    run = cli("scan", folder)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("ok       chat 4242 message 1  item ")
    assert "1 media" in lines[1]
    assert "1 missing" in lines[3]
    assert "4 messages: 4 recorded, 0 already recorded, 1 media, 1 missing media" in run.err
    assert _items(workspace) == 4

    again = cli("scan", folder, "--json")
    assert again.code == 0
    results = again.json_lines()
    assert [r["skipped"] for r in results] == ["already recorded"] * 4
    assert set(results[0]) >= {"chat", "message_id", "item_id", "verdict", "media", "problems"}
    assert results[1]["media"][0]["sha256"] and results[3]["media"] == [
        {"field": "photo", "missing": "not_included"}
    ]
    assert _items(workspace) == 4
    assert "4 already recorded" in again.err


def test_problems_in_an_export_exit_3(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    export = build_export(tmp_path / "export")
    run = cli("scan", export.folder, "--json")
    assert run.code == 3, run.err
    by_id = {r["message_id"]: r for r in run.json_lines()}
    assert by_id[9]["problems"][0].startswith("photo refused: path climbs out")
    assert by_id[9]["item_id"] is not None
    assert by_id[6]["problems"] == []


def test_a_truncated_export_records_what_came_before_and_exits_3(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    folder = _clean(tmp_path / "export")
    result = folder / "result.json"
    data = result.read_bytes()
    result.write_bytes(data[: data.index(b'"id": 3')])
    run = cli("scan", folder)
    assert run.code == 3
    assert run.out.splitlines()[-1].startswith(
        "FAILED   result.json: result.json is truncated or malformed after 2 messages"
    )
    assert "Export again from Telegram Desktop" in run.out
    assert _items(workspace) == 2


def test_a_known_abuse_photo_in_an_export_exits_4(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    folder = _clean(tmp_path / "export")
    cli("bank", "create", "known")
    assert cli("bank", "add", "known", folder / PHOTO).code == 0
    run = cli("scan", folder)
    assert run.code == 4, run.err
    (hit,) = [line for line in run.out.splitlines() if line.startswith("MATCH")]
    assert "chat 4242 message 2" in hit and "known#" in hit
    assert "1 known-abuse matches" in run.err
    assert cli("scan", folder).code == 4, "a re-run still reports the match"


def test_exports_and_files_in_one_scan(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    folder = _clean(tmp_path / "export")
    photo = tmp_path / "loose" / "photo.jpg"
    photo.parent.mkdir()
    photo.write_bytes(jpeg(50))
    run = cli("scan", folder, photo.parent, "--json", "--workers", "0")
    assert run.code == 0, run.err
    lines = run.json_lines()
    assert len(lines) == 5
    assert lines[-1]["file"].endswith("photo.jpg")
    assert "4 messages" in run.err and "1 files" in run.err
    assert cli("scan", folder, "--csv").code == 2


def test_an_export_scan_on_both_stores(
    cli: Runner, workspace: Path, tmp_path: Path, database_url: str, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv("JIKIMI_DATABASE_URL", database_url)
    export = build_export(tmp_path / "export", layout="account")
    first = cli("scan", export.folder, "--json")
    assert first.code == 3, first.err  # the path climbing out of the folder
    again = cli("scan", export.folder, "--json")
    ids = [r["item_id"] for r in first.json_lines()]
    assert len(set(ids)) == 14 and [r["item_id"] for r in again.json_lines()] == ids
    assert all(r["skipped"] == "already recorded" for r in again.json_lines())
    assert cli("custody", "verify").code == 0


def test_a_killed_export_scan_resumes_without_duplicates(workspace: Path, tmp_path: Path) -> None:
    msgs = [message(i, text=f"note {i}") for i in range(1, 301)]
    msgs[10] = message(11, photo=PHOTO, text="tomatoes")
    folder = build_export(tmp_path / "export", messages=msgs).folder
    env = {**os.environ, "JIKIMI_HOME": str(workspace), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "jikimi.cli.main", "scan", str(folder), "--json"]
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        seen = [proc.stdout.readline() for _ in range(20)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert all(seen)
    killed_at = _items(workspace)
    assert 20 <= killed_at < 300, "killed part way"

    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    results = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert len(results) == 300
    assert sum(1 for r in results if r.get("skipped")) == killed_at
    assert _items(workspace) == 300
    assert f"300 messages: {300 - killed_at} recorded, {killed_at} already recorded" in (
        resumed.stderr
    )
