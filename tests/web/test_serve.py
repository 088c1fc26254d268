"""The real thing: `jikimi serve` as a process on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.web.helpers import jpeg

JIKIMI = [sys.executable, "-m", "jikimi.cli.main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIKIMI_")}
    env.update(JIKIMI_HOME=str(home), JIKIMI_OPERATOR="tester")
    return env


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("the server did not become ready")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_jikimi_serve_answers_on_loopback_and_stops_cleanly(tmp_path: Path, workers: int) -> None:
    home = tmp_path / "home"
    env = _env(home)
    subprocess.run([*JIKIMI, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*JIKIMI, "user", "add", "edge", "--role", "platform"],
        env=env,
        check=True,
        capture_output=True,
    )
    token = (
        subprocess.run([*JIKIMI, "user", "token", "edge"], env=env, check=True, capture_output=True)
        .stdout.decode()
        .strip()
        .splitlines()[-1]
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [*JIKIMI, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_ready(base, proc)
        headers = {"Authorization": f"Bearer {token}"}
        # /readyz speaks for the worker that answered it; another may still be loading its
        # indexes and say 503 with Retry-After, as a client is told to honour.
        for _ in range(30):
            r = httpx.post(
                f"{base}/v1/check",
                files={"media": ("a.jpg", jpeg(3), "image/jpeg")},
                headers=headers,
                timeout=60,
            )
            if r.status_code != 503:
                break
            time.sleep(float(r.headers["retry-after"]) / 5)
        assert r.status_code == 200, r.text
        assert r.json()["verdict"]["outcome"] in ("allow", "review")
        assert httpx.get(f"{base}/v1/banks", timeout=5).status_code == 401
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        assert 'route="/v1/check",status="200"' in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    # uvicorn shuts down gracefully, then exits by the signal it caught.
    assert proc.returncode in (0, -signal.SIGTERM), err.decode()
    assert "Application shutdown complete" in err.decode()
    assert token not in err.decode()
