"""The console under test: in-process (TestClient) for pages and forms, and a real
``jikimi serve`` on loopback driven by Debian's chromium (Playwright, no browser download)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.web.helpers import PASSWORD

from jikimi.accounts.roles import Role
from jikimi.settings import load_settings
from jikimi.workspace import Workspace

JIKIMI = [sys.executable, "-m", "jikimi.cli.main"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> None:
    """Sign ``client`` in through the real form (origin header as a browser sends it)."""
    page = client.get("/console/login")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        "/console/login",
        data={"name": name, "password": password, "csrf": csrf, "next": "/console"},
        headers={"origin": "http://testserver"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


@pytest.fixture
def console(client: TestClient, tokens: dict[str, str]) -> TestClient:
    """The in-process app with one user per role (``test-<role>``, password PASSWORD)."""
    return client


# -- a real server and a real browser ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running ``jikimi serve``: its address, its workspace home, API tokens by role."""

    base: str
    home: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, role: str = "platform", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.request(method, self.base + path, headers=headers, timeout=60, **kw)

    def workspace(self) -> Workspace:
        settings = load_settings(home=self.home, operator="tester")
        return Workspace.open(settings)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the browser tests; each test makes the cases it needs."""
    home = tmp_path_factory.mktemp("console") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIKIMI_")}
    env.update(JIKIMI_HOME=str(home), JIKIMI_OPERATOR="tester", JIKIMI_KEEP_MEDIA="true")
    settings = load_settings(home=home, operator="tester", keep_media=True)
    tokens: dict[str, str] = {}
    with Workspace.init(settings) as ws:
        for role in Role:
            name = f"test-{role.value}"
            password = None if role == Role.PLATFORM else PASSWORD
            ws.users.add(name, role.value, password=password, actor="tester")
            tokens[role.value], _ = ws.users.issue_token(name, actor="tester")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [*JIKIMI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "jikimi serve did not become ready"
            time.sleep(0.3)
        yield Served(base, home, tokens)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(20)
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, offline but for loopback."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: scripts/setup.sh dev installs it (apt)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--metrics-recording-only",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def browser_sign_in(page: Any, served: Served, role: str) -> None:
    page.goto(f"{served.base}/console/login")
    page.fill("#name", f"test-{role}")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def screenshot(page: Any, name: str) -> None:
    """Keep a picture of a main page for the README (docs/screenshots/NAME.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
