"""Fixtures for the service (API and console): a workspace on each backend, the app in-process,
tokens by role. Loaded for every test directory by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.web.helpers import PASSWORD

from jikimi.accounts.roles import Role
from jikimi.settings import load_settings
from jikimi.signals.registry import Registry, load_registry
from jikimi.web.app import create_app
from jikimi.web.service import Service, ServiceOptions
from jikimi.workspace import Workspace


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The real extractors, loaded once for the whole session (models take a while)."""
    return load_registry(load_settings())


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {}


@pytest.fixture
def ws(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    settings_overrides: dict[str, object],
) -> Iterator[Workspace]:
    home = tmp_path / "home"
    monkeypatch.setenv("JIKIMI_HOME", str(home))
    settings = load_settings(
        home=home, database_url=database_url, operator="tester", **settings_overrides
    )
    with Workspace.init(settings) as workspace:
        yield workspace


@pytest.fixture
def clock() -> Callable[[], datetime]:
    """The service's clock: real time, unless a test module overrides this fixture with a
    clock it moves by hand (notices' deadlines, decisions, transparency figures)."""
    return lambda: datetime.now(UTC)


@pytest.fixture
def service(ws: Workspace, registry: Registry, clock: Callable[[], datetime]) -> Iterator[Service]:
    options = ServiceOptions(
        run_dispatcher=False, watch_seconds=0.2, registry=registry, clock=clock
    )
    svc = Service(ws, options)
    yield svc
    svc.stop()


@pytest.fixture
def app(service: Service) -> FastAPI:
    return create_app(service)


@pytest.fixture
def client(app: FastAPI, service: Service) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        assert service.matcher.loaded.wait(30), "match indexes did not load"
        yield c


@pytest.fixture
def tokens(ws: Workspace) -> dict[str, str]:
    """One user and token per role: ``tokens["platform"]`` etc."""
    out = {}
    for role in Role:
        name = f"test-{role.value}"
        password = None if role == Role.PLATFORM else PASSWORD
        ws.users.add(name, role.value, password=password, actor="tester")
        out[role.value], _ = ws.users.issue_token(name, actor="tester")
    return out


@pytest.fixture
def ws_second_platform(ws: Workspace) -> str:
    """A token of a second platform user."""
    ws.users.add("other-platform", "platform", password=None, actor="tester")
    token, _ = ws.users.issue_token("other-platform", actor="tester")
    return token
