"""`jikimi scan` end to end: matches, bad files, resume, custody, vault, both stores."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from tests.cli.conftest import Runner

from jikimi.demo.synthetic import photo_like


def _samples(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    known = photo_like(seed=1)
    paths = {
        "known": folder / "known.jpg",
        "resized": folder / "sub" / "known-small.jpg",
        "rotated": folder / "known-rotated.png",
        "other": folder / "other.jpg",
        "empty": folder / "empty.jpg",
        "text": folder / "notes.jpg",
        "truncated": folder / "truncated.jpg",
    }
    paths["resized"].parent.mkdir()
    known.save(paths["known"], quality=92)
    known.resize((320, 240)).save(paths["resized"], quality=80)
    known.transpose(Image.Transpose.ROTATE_90).save(paths["rotated"])
    photo_like(seed=2).save(paths["other"], quality=90)
    paths["empty"].write_bytes(b"")
    paths["text"].write_text("not a picture\n")
    data = paths["other"].read_bytes()
    paths["truncated"].write_bytes(data[: len(data) // 3])
    return paths


def _by_name(results: list[dict]) -> dict[str, dict]:
    return {Path(r["file"]).name: r for r in results}


def test_scan_finds_copies_reports_bad_files_and_resumes(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    paths = _samples(tmp_path / "in")
    cli("bank", "create", "known")
    assert cli("bank", "add", "known", paths["known"]).code == 0

    run = cli("scan", tmp_path / "in", "--json", "--workers", "0")
    assert run.code == 5, run.err  # a known-abuse match and some failed files
    results = _by_name(run.json_lines())
    assert len(results) == 7
    assert {m["signal_type"] for m in results["known.jpg"]["matches"]} >= {"sha256", "pdq"}
    small = results["known-small.jpg"]["matches"]
    assert [m["signal_type"] for m in small] == ["pdq"] and small[0]["distance"] <= 31
    (rot,) = results["known-rotated.png"]["matches"]
    assert rot["transform"] and rot["transform"] != "original"
    assert results["other.jpg"]["matches"] == []
    assert results["empty.jpg"]["error_reason"] == "empty"
    assert results["notes.jpg"]["error_reason"] == "unsupported"
    assert results["truncated.jpg"]["error_reason"] == "corrupt"
    assert "7 files" in run.err

    again = cli("scan", tmp_path / "in", "--json", "--workers", "0")
    rerun = _by_name(again.json_lines())
    assert rerun["known.jpg"]["skipped"] == "already recorded"
    assert rerun["known.jpg"]["matches"], "skipped media are still matched against banks"
    assert rerun["other.jpg"]["skipped"] == "already recorded"

    verified = cli("custody", "verify", "--json").json_lines()[0]
    assert verified["ok"] is True
    assert verified["checked"] >= 4


def test_scan_in_worker_processes_gives_same_results(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    _samples(tmp_path / "a")
    _samples(tmp_path / "b")
    pooled = cli("scan", tmp_path / "a", "--json", "--workers", "2")
    assert pooled.code == 3, pooled.err
    inline = cli("scan", tmp_path / "b", "--json", "--workers", "0", "--hash-only")

    def key(r: dict) -> tuple:
        return Path(r["file"]).name, r["sha256"], r["signals"].get("pdq"), r.get("error_reason")

    # Same folder walked in the same order; b's media are already recorded from a.
    assert [key(r) for r in pooled.json_lines()] == [key(r) for r in inline.json_lines()]


def test_scan_csv_and_table_output(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    _samples(tmp_path / "in")
    run = cli("scan", tmp_path / "in", "--csv", "--workers", "0")
    lines = run.out.splitlines()
    assert lines[0].startswith("file,sha256,media_type,pdq")
    assert len(lines) == 8
    table = cli("scan", tmp_path / "in", "--workers", "0")
    assert "skipped" in table.out and "notes.jpg" in table.out


def test_scan_reports_walk_problems_without_stopping(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    _samples(folder)
    (folder / "loop").symlink_to(folder)
    (folder / "dangling").symlink_to(tmp_path / "nowhere")
    run = cli("scan", folder, tmp_path / "missing", "--json", "--workers", "0")
    reasons = {Path(r["file"]).name: r.get("error_reason") for r in run.json_lines()}
    assert reasons["loop"] == "symlink_loop"
    assert reasons["dangling"] == "broken_link"
    assert reasons["missing"] == "missing"
    assert reasons["other.jpg"] is None


def test_keep_media_stores_encrypted_copies(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    paths = _samples(tmp_path / "in")
    assert cli("scan", paths["other"], "--keep-media", "--workers", "0").code == 0
    blobs = [p for p in (workspace / "vault").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    assert paths["other"].read_bytes()[:64] not in blobs[0].read_bytes()


def test_hash_only_by_default(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    paths = _samples(tmp_path / "in")
    assert cli("scan", paths["other"], "--workers", "0").code == 0
    vault = workspace / "vault"
    assert not vault.exists() or not any(p.is_file() for p in vault.rglob("*"))


def test_scan_on_both_stores(
    cli: Runner, workspace: Path, tmp_path: Path, database_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("JIKIMI_DATABASE_URL", database_url)
    paths = _samples(tmp_path / "in")
    cli("bank", "create", "known")
    cli("bank", "add", "known", paths["known"])
    run = cli("scan", tmp_path / "in", "--json", "--workers", "0")
    assert run.code == 5, run.err
    again = cli("scan", tmp_path / "in", "--json", "--workers", "0")
    assert sum(1 for r in again.json_lines() if r.get("skipped")) == 4
    assert cli("custody", "verify").code == 0


def test_killed_scan_loses_nothing_and_resumes(workspace: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        photo_like(800, 600, seed=100 + i).save(folder / f"p{i:03d}.jpg", quality=90)
    env = {**os.environ, "JIKIMI_HOME": str(workspace)}
    cmd = [sys.executable, "-m", "jikimi.cli.main", "scan", str(folder), "--json", "--workers", "0"]
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        seen = [proc.stdout.readline() for _ in range(5)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert all(seen)

    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    results = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert len(results) == 40
    skipped = sum(1 for r in results if r.get("skipped"))
    assert skipped >= 5  # everything printed before the kill had been committed
    verify = subprocess.run(
        [sys.executable, "-m", "jikimi.cli.main", "custody", "verify"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout


@pytest.mark.parametrize("flag", ["--json", "--csv"])
def test_scan_rejects_unknown_engine(cli: Runner, workspace: Path, flag: str) -> None:
    run = cli("scan", ".", flag, "--engine", "ray")
    assert run.code == 2


def test_custody_verify_catches_an_edited_event(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    _samples(tmp_path / "in")
    cli("scan", tmp_path / "in", "--workers", "0")
    assert cli("custody", "verify").code == 0
    with sqlite3.connect(workspace / "jikimi.db") as db:
        db.execute("UPDATE custody_events SET actor = 'someone else' WHERE seq = 2")
    db.close()
    run = cli("custody", "verify", "--json")
    assert run.code == 1
    report = run.json_lines()[0]
    assert report["ok"] is False
    assert any("2" in problem for problem in report["problems"])
