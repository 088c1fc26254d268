"""`jikimi watch FOLDER --once`: the drop box from the command line."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Runner
from tests.web.helpers import jpeg


def test_watch_once_takes_the_dropped_files_and_acts_on_a_known_one(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    known = tmp_path / "known.jpg"
    known.write_bytes(jpeg(21))
    assert cli("bank", "create", "known", "--auto-action").code == 0
    assert cli("bank", "add", "known", known).code == 0
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "seen.jpg").write_bytes(known.read_bytes())
    (inbox / "other.jpg").write_bytes(jpeg(22))
    (inbox / "bad.jpg").write_bytes(jpeg(23))
    (inbox / "bad.jpg.jikimi.json").write_text("[]")

    run = cli("watch", inbox, "--once", "--settle-seconds", "0", "--json")

    assert run.code == 3, run.err  # one file failed; the rest went on
    taken = {t["file"]: t for t in run.json_lines()}
    assert (
        taken["seen.jpg"]["outcome"] == "remove" and taken["seen.jpg"]["case_id"]
    )  # auto_removed queue
    assert taken["other.jpg"]["item_id"] and taken["other.jpg"]["error"] is None
    assert "must hold a JSON object" in taken["bad.jpg"]["error"]
    assert (inbox / ".jikimi" / "done" / "seen.jpg").exists()
    assert (inbox / ".jikimi" / "failed" / "bad.jpg.error.txt").exists()
    again = cli("watch", inbox, "--once", "--settle-seconds", "0")
    assert again.code == 0 and again.out == ""


def test_watch_names_a_missing_folder(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    run = cli("watch", tmp_path / "nowhere", "--once")
    assert run.code == 1
    assert "is not a folder" in run.err
