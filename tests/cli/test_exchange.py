"""`jikimi exchange ...` through the real entry point: add with stored or environment
credentials, sync with progress counts, a withdrawal that `jikimi match` no longer finds,
status without secrets, clear errors."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.conftest import Runner
from tests.support.fake_stopncii import FUNCTION_KEY, SUBSCRIPTION_KEY, FakeStopNCII

BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
OTHER = "e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064"


@pytest.fixture
def stopncii() -> Iterator[FakeStopNCII]:
    with FakeStopNCII(page_size=1) as fake:
        fake.add(BRIDGE)
        fake.add(OTHER)
        yield fake


def _add_stopncii(cli: Runner, fake: FakeStopNCII, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{SUBSCRIPTION_KEY}\n{FUNCTION_KEY}\n"))
    run = cli(
        "exchange",
        "add",
        "sn",
        "--kind",
        "stopncii",
        "--url",
        fake.url,
        "--set-credential",
        "subscription_key",
        "--set-credential",
        "fetch_function_key",
    )
    assert run.code == 0, run.err
    assert "stored encrypted" in run.out and SUBSCRIPTION_KEY not in run.out


def test_sync_then_withdrawal_reaches_match(
    cli: Runner, workspace: Path, stopncii: FakeStopNCII, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_stopncii(cli, stopncii, monkeypatch)

    run = cli("exchange", "sync", "--json")
    assert run.code == 0, run.err
    (result,) = run.json_lines()
    assert result == {
        "exchange": "sn",
        "status": "ok",
        "pages": 2,
        "added": 2,
        "withdrawn": 0,
        "skipped": 0,
        "notes": [],
    }
    matched = cli("match", "pdq", BRIDGE, "--json")
    assert matched.code == 4 and matched.json_lines()[0]["matches"][0]["bank"] == "sn"

    stopncii.set_status(BRIDGE, "Withdrawn")
    run = cli("exchange", "sync", "sn")
    assert run.code == 0, run.err
    assert "sn: ok, 2 pages, 0 added, 1 withdrawn, 0 skipped" in run.out

    after = cli("match", "pdq", BRIDGE, "--json")
    assert after.code == 0 and after.json_lines()[0]["matches"] == []
    assert cli("match", "pdq", OTHER).code == 4


def test_status_and_list_show_no_secrets(
    cli: Runner, workspace: Path, stopncii: FakeStopNCII, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_stopncii(cli, stopncii, monkeypatch)
    cli("exchange", "sync")

    (status,) = cli("exchange", "status", "sn", "--json").json_lines()
    assert status["credentials"] == {"subscription_key": "stored", "fetch_function_key": "stored"}
    assert (
        status["checkpoint"]["state"]["update_time"] == stopncii.records[OTHER]["lastModtimestamp"]
    )
    assert (status["active_entries"], status["last_sync_status"]) == (2, "ok")
    assert status["last_sync_counts"]["added"] == 2 and status["last_sync_error"] is None

    outputs = [
        cli("exchange", "status").out,
        cli("exchange", "status", "--json").out,
        cli("exchange", "list").out,
        cli("exchange", "list", "--json").out,
        cli("custody", "verify").out,
    ]
    assert "checkpoint:" in outputs[0] and "2 active, 0 withdrawn" in outputs[0]
    for text in outputs:
        assert SUBSCRIPTION_KEY not in text and FUNCTION_KEY not in text


def test_credentials_from_env_and_a_clear_error_when_refused(
    cli: Runner, workspace: Path, stopncii: FakeStopNCII, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = cli(
        "exchange",
        "add",
        "sn",
        "--kind",
        "stopncii",
        "--url",
        stopncii.url,
        "--credentials-from-env",
    )
    assert run.code == 0, run.err
    assert "JIKIMI_EXCHANGE_SN_SUBSCRIPTION_KEY" in run.out

    missing = cli("exchange", "sync", "sn")
    assert missing.code == 1 and "set JIKIMI_EXCHANGE_SN_SUBSCRIPTION_KEY" in missing.err

    monkeypatch.setenv("JIKIMI_EXCHANGE_SN_SUBSCRIPTION_KEY", "wrong-subscription-key")
    monkeypatch.setenv("JIKIMI_EXCHANGE_SN_FETCH_FUNCTION_KEY", FUNCTION_KEY)
    refused = cli("exchange", "sync", "sn", "--json")
    assert refused.code == 1
    assert "refused the credentials (HTTP 401)" in refused.err
    assert "wrong-subscription-key" not in refused.err + refused.out
    (line,) = refused.json_lines()
    assert line["status"] == "error"
    status = cli("exchange", "status", "sn").out
    assert "last error: exchange 'sn' refused the credentials" in status

    monkeypatch.setenv("JIKIMI_EXCHANGE_SN_SUBSCRIPTION_KEY", SUBSCRIPTION_KEY)
    assert cli("exchange", "sync", "sn").code == 0
    assert cli("match", "pdq", BRIDGE).code == 4


def test_url_list_from_a_file_with_a_removed_line(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    hashes = tmp_path / "list.txt"
    hashes.write_text(f"pdq {BRIDGE}\npdq {OTHER}\ntext hello\n")
    assert cli("exchange", "add", "local", "--kind", "url_list", "--path", hashes).code == 0

    first = cli("exchange", "sync", "local")
    assert "local: ok, 1 pages, 2 added, 0 withdrawn, 1 skipped" in first.out
    assert "note: signal type 'text' is not supported: 1 skipped (first: line 3)" in first.out

    hashes.write_text(f"pdq {OTHER}\n")
    second = cli("exchange", "sync", "local", "--from-start")
    assert "1 withdrawn" in second.out
    assert cli("match", "pdq", BRIDGE).code == 0
    assert cli("match", "pdq", OTHER).code == 4


def test_add_refuses_bad_usage(cli: Runner, workspace: Path) -> None:
    assert cli("exchange", "add", "x", "--kind", "moon").code == 2
    run = cli("exchange", "add", "x", "--kind", "file")
    assert run.code == 1 and "needs --path" in run.err
    run = cli("exchange", "sync", "nope")
    assert run.code == 1 and "no exchange named 'nope'" in run.err
