"""`jikimi bank ...` and `jikimi match` through the real entry point."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Runner
from tests.support.testdata import shared_testdata

BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
SHARPEN = "d8f8f0cec0f4a84f8e370a22038f67f0b36a2ed597231e1d72e6b39c4a9c9b22"  # a near copy


def test_bank_lifecycle_and_match(cli: Runner, workspace: Path) -> None:
    assert cli("bank", "create", "ncii", "--pdq-threshold", "31").code == 0
    run = cli("bank", "add", "ncii", "--signal", f"pdq:{BRIDGE.upper()}", "--json")
    assert run.code == 0, run.err
    (entry,) = run.json_lines()
    assert entry["signal_type"] == "pdq" and entry["value"] == BRIDGE  # normalised

    run = cli("match", "pdq", SHARPEN, "--json")
    assert run.code == 4  # a known-abuse match
    (result,) = run.json_lines()
    assert result["signal_type"] == "pdq"
    (m,) = result["matches"]
    assert m["bank"] == "ncii" and m["entry_id"] == entry["entry_id"]
    assert 0 < m["distance"] <= 31

    listed = cli("bank", "list", "--json").json_lines()
    assert [(b["name"], b["active_entries"]) for b in listed] == [("ncii", 1)]

    assert cli("bank", "withdraw", "ncii", str(entry["entry_id"]), "--reason", "test").code == 0
    run = cli("match", "pdq", SHARPEN, "--json")
    assert run.code == 0
    assert run.json_lines()[0]["matches"] == []
    shown = cli("bank", "show", "ncii", "--withdrawn", "--json").json_lines()[0]
    (tomb,) = shown["entries"]
    assert tomb["withdrawn_by"] == "tester" and tomb["withdraw_reason"] == "test"


def test_threshold_is_per_bank(cli: Runner, workspace: Path) -> None:
    cli("bank", "create", "strict", "--pdq-threshold", "4")
    cli("bank", "add", "strict", "--signal", f"pdq:{BRIDGE}")
    run = cli("match", "pdq", SHARPEN, "--json")
    assert run.code == 0 and run.json_lines()[0]["matches"] == []


def test_bank_add_from_files_and_export_import_roundtrip(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    images = shared_testdata() / "pdq" / "images"
    cli("bank", "create", "local")
    run = cli("bank", "add", "local", images / "bridge-aaa-orig.jpg", images / "wee.jpg", "--json")
    assert run.code == 0, run.err
    types = sorted(e["signal_type"] for e in run.json_lines())
    assert types == sorted(["sha256", "md5", "sha1", "pdq"] * 2)

    exported = cli("bank", "export", "local").out
    assert f"pdq {BRIDGE}" in exported.splitlines()
    hashlist = tmp_path / "list.txt"
    hashlist.write_text(exported)
    cli("bank", "create", "copy")
    run = cli("bank", "import", "copy", hashlist)
    assert run.code == 0, run.err
    assert "imported 8" in run.out

    csv_text = cli("bank", "export", "copy", "--format", "csv").out
    assert csv_text.splitlines()[0].startswith("signal_type,value")


def test_import_rejects_bad_lines_with_line_numbers(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    cli("bank", "create", "b")
    hashlist = tmp_path / "bad.txt"
    hashlist.write_text(f"# comment\npdq {BRIDGE}\nfoo 1234\npdq zzzz\nmd5 {'a' * 32}\n")
    run = cli("bank", "import", "b", hashlist)
    assert run.code == 3
    assert ":3:" in run.err and ":4:" in run.err
    assert "imported 2" in run.out


def test_match_file_batch(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    cli("bank", "create", "b")
    cli("bank", "add", "b", "--signal", f"md5:{'b' * 32}")
    batch = tmp_path / "q.txt"
    batch.write_text(f"md5 {'b' * 32}\nmd5 {'c' * 32}\npdq {BRIDGE}\n")
    run = cli("match", "--file", batch, "--json")
    assert run.code == 4
    counts = [len(r["matches"]) for r in run.json_lines()]
    assert counts == [1, 0, 0]


def test_known_benign_bank_suppresses(cli: Runner, workspace: Path) -> None:
    cli("bank", "create", "abuse")
    cli("bank", "create", "benign", "--kind", "known-benign")
    cli("bank", "add", "abuse", "--signal", f"pdq:{BRIDGE}")
    cli("bank", "add", "benign", "--signal", f"pdq:{BRIDGE}")
    run = cli("match", "pdq", BRIDGE, "--json")
    assert run.code == 0  # suppressed: not a known-abuse hit
    matches = run.json_lines()[0]["matches"]
    abuse = next(m for m in matches if m["bank"] == "abuse")
    assert abuse["suppressed_by"] == "known-benign:benign"


def test_bad_signal_value_is_a_clear_error(cli: Runner, workspace: Path) -> None:
    cli("bank", "create", "b")
    run = cli("bank", "add", "b", "--signal", "pdq:1234")
    assert run.code == 1
    assert "64 hex" in run.err
    run = cli("bank", "add", "b", "--signal", "nope:1234")
    assert run.code == 1
    assert "unknown signal type" in run.err
