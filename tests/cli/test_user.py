"""`jikimi user ...` through the real entry point: no default password, a token printed once
that authenticates, lists without secrets, disable."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from tests.cli.conftest import Runner

from jikimi.accounts.roles import Role
from jikimi.errors import AuthenticationFailed
from jikimi.workspace import Workspace

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r"jkm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Standard input the test fills; not a terminal."""
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stdin", buffer)
    return buffer


def _feed(stdin: io.StringIO, text: str) -> None:
    stdin.seek(0)
    stdin.truncate()
    stdin.write(text)
    stdin.seek(0)


def _db_text(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.glob("*.db*"))


def test_add_with_password_stdin_and_login(
    cli: Runner, workspace: Path, stdin: io.StringIO
) -> None:
    _feed(stdin, PASSWORD + "\n")
    run = cli("user", "add", "alice", "--role", "moderator", "--password-stdin")
    assert run.code == 0, run.err
    assert "added user alice (moderator)" in run.out
    assert PASSWORD not in run.out + run.err
    with Workspace.open() as ws:
        assert ws.users.login("alice", PASSWORD).role is Role.MODERATOR
    assert PASSWORD.encode() not in _db_text(workspace)


def test_no_password_no_terminal_is_refused(
    cli: Runner, workspace: Path, stdin: io.StringIO
) -> None:
    run = cli("user", "add", "alice", "--role", "admin")
    assert run.code == 1
    assert "--password-stdin" in run.err and "no default password" in run.err
    _feed(stdin, "\n")
    run = cli("user", "add", "alice", "--role", "admin", "--password-stdin")
    assert run.code == 1 and "no password" in run.err
    _feed(stdin, "short\n")
    assert cli("user", "add", "alice", "--role", "admin", "--password-stdin").code == 1
    assert cli("user", "list", "--json").json_lines() == []
    assert cli("user", "add", "alice", "--role", "wizard").code == 2


def test_token_printed_once_alone_on_the_last_line_and_authenticates(
    cli: Runner, workspace: Path
) -> None:
    assert cli("user", "add", "bot", "--role", "platform").code == 0
    run = cli("user", "token", "bot", "--label", "ingest", "--days", "7")
    assert run.code == 0, run.err
    token = run.out.splitlines()[-1]
    assert TOKEN.fullmatch(token)
    assert run.out == token + "\n"  # notes go to stderr: $(jikimi user token NAME) is the token
    assert "shown only now" in run.err and token not in run.err
    with Workspace.open() as ws:
        principal = ws.users.authenticate(token)
    assert (principal.name, principal.role) == ("bot", Role.PLATFORM)
    assert token.encode() not in _db_text(workspace)

    (listed,) = cli("user", "tokens", "bot", "--json").json_lines()
    assert listed["prefix"] == token[4:12] and listed["label"] == "ingest"
    assert listed["state"] == "active" and "token" not in listed
    assert token not in cli("user", "tokens", "bot").out

    (issued,) = cli("user", "token", "bot", "--json").json_lines()
    assert TOKEN.fullmatch(issued["token"]) and issued["user"] == "bot"


def test_list_json_disable_and_revoke(cli: Runner, workspace: Path, stdin: io.StringIO) -> None:
    _feed(stdin, PASSWORD + "\n")
    assert cli("user", "add", "alice", "--role", "auditor", "--password-stdin").code == 0
    assert cli("user", "add", "bot", "--role", "platform").code == 0
    first = cli("user", "token", "bot").out.strip()
    second = cli("user", "token", "bot").out.strip()

    listed = {u["name"]: u for u in cli("user", "list", "--json").json_lines()}
    assert set(listed) == {"alice", "bot"}
    assert listed["alice"]["role"] == "auditor" and listed["alice"]["has_password"]
    assert listed["bot"]["created_by"] == "tester"  # the operator is the actor
    assert all("password_hash" not in u for u in listed.values())
    assert "alice\tauditor\tactive" in cli("user", "list").out

    run = cli("user", "revoke-token", first[4:12])
    assert run.code == 0, run.err
    with Workspace.open() as ws:
        with pytest.raises(AuthenticationFailed):
            ws.users.authenticate(first)
        ws.users.authenticate(second)

    assert cli("user", "disable", "bot").code == 0
    with Workspace.open() as ws, pytest.raises(AuthenticationFailed):
        ws.users.authenticate(second)
    (bot,) = [u for u in cli("user", "list", "--json").json_lines() if u["name"] == "bot"]
    assert bot["disabled_by"] == "tester"
    assert cli("user", "disable", "bot").code == 1
    assert cli("user", "disable", "nobody").code == 1
    assert cli("user", "token", "bot").code == 1
    assert cli("custody", "verify").code == 0


def test_password_command(cli: Runner, workspace: Path, stdin: io.StringIO) -> None:
    _feed(stdin, PASSWORD + "\n")
    assert cli("user", "add", "alice", "--role", "investigator", "--password-stdin").code == 0
    _feed(stdin, "a different passphrase\r\n")
    run = cli("user", "password", "alice", "--password-stdin")
    assert run.code == 0, run.err
    with Workspace.open() as ws:
        assert ws.users.login("alice", "a different passphrase").name == "alice"
    assert cli("user", "password", "alice").code == 1  # no terminal, no --password-stdin
