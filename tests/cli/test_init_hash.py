"""`jikimi init` and `jikimi hash` through the real entry point."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

from tests.cli.conftest import Runner
from tests.support.testdata import shared_testdata


def test_init_creates_private_workspace_and_is_rerunnable(cli: Runner, home: Path) -> None:
    assert cli("init").code == 0
    assert (home / "settings.toml").read_text().count("pdq_threshold = 31") == 1
    assert (home / "jikimi.db").is_file()
    key = home / "master.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == 32
    first_key = key.read_bytes()
    assert cli("init").code == 0
    assert key.read_bytes() == first_key


def test_commands_refuse_an_uninitialised_workspace(cli: Runner, home: Path) -> None:
    run = cli("bank", "list")
    assert run.code == 1
    assert "jikimi init" in run.err
    assert not home.exists()


def test_bad_setting_names_the_setting(cli: Runner, monkeypatch) -> None:
    monkeypatch.setenv("JIKIMI_PDQ_THRESHOLD", "99")
    run = cli("init")
    assert run.code == 1
    assert "pdq_threshold" in run.err


def test_hash_json_matches_reference_and_flags_low_quality(cli: Runner) -> None:
    images = shared_testdata() / "pdq" / "images"
    with open(shared_testdata() / "pdq" / "expected.csv") as handle:
        expected = {r["file"]: r for r in csv.DictReader(handle)}
    run = cli("hash", images / "bridge-aaa-orig.jpg", images / "small.jpg", "--json")
    assert run.code == 0, run.err
    bridge, small = run.json_lines()
    assert bridge["pdq"] == expected["bridge-aaa-orig.jpg"]["pdq"]
    assert bridge["pdq_quality"] == 100
    assert bridge["media_type"] == "image"
    assert len(bridge["sha256"]) == 64 and len(bridge["md5"]) == 32 and len(bridge["sha1"]) == 40
    assert small["pdq"] is None
    assert small["pdq_quality"] == 0
    assert "quality" in small["note"]
    assert "error" not in small


def test_hash_reports_bad_files_and_goes_on(cli: Runner, tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("hello, not an image")
    good = shared_testdata() / "pdq" / "images" / "wee.jpg"
    run = cli("hash", bad, good, "--json")
    assert run.code == 3
    first, second = run.json_lines()
    assert first["file"].endswith("notes.jpg")
    assert first["error"]
    assert len(first["sha256"]) == 64  # exact hashes even for files that do not decode
    assert first["pdq"] is None
    assert second["pdq"] and "error" not in second


def test_hash_video_has_vpdq_and_video_md5(cli: Runner) -> None:
    video = shared_testdata() / "vpdq" / "chair-19-sd-bar.mp4"
    run = cli("hash", video, "--json")
    assert run.code == 0, run.err
    (record,) = run.json_lines()
    assert record["media_type"] == "video"
    assert record["video_md5"] == record["md5"]
    assert record["vpdq"].startswith('["')


def test_hash_signals_option_rejects_unknown_names(cli: Runner) -> None:
    run = cli("hash", "x.jpg", "--signals", "sha256,bogus")
    assert run.code == 2
    assert "bogus" in run.err
