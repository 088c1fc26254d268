"""Fixtures for CLI tests: a workspace in a temp folder and an in-process runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from jikimi.cli.main import main


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


Runner = Callable[..., Run]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("JIKIMI_HOME", str(home))
    monkeypatch.delenv("JIKIMI_DATABASE_URL", raising=False)
    monkeypatch.setenv("JIKIMI_OPERATOR", "tester")
    return home


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run ``jikimi ARGS`` in-process through the real entry point; returns code and output."""

    def run(*args: str | Path) -> Run:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def workspace(cli: Runner, home: Path) -> Path:
    assert cli("init").code == 0
    return home
