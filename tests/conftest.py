"""Shared fixtures: a migrated database on SQLite and on PostgreSQL.

``database_url`` is parametrised ``sqlite`` / ``postgres``. The PostgreSQL case creates a fresh
database ``jikimi_test_<hex>`` on the server at 127.0.0.1:5432 and drops it afterwards. If that
server is unreachable the test fails, unless ``JIKIMI_SKIP_POSTGRES=1`` says to skip.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from jikimi.store.db import make_engine, make_sessions, migrate

# The service fixtures (ws, service, app, client, tokens) for the API and console tests.
pytest_plugins = ("tests.service_fixtures",)

POSTGRES_ADMIN_URL = os.environ.get(
    "JIKIMI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_admin() -> Engine:
    return create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; its URL."""
    name = f"jikimi_test_{secrets.token_hex(6)}"
    admin = _postgres_admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("JIKIMI_SKIP_POSTGRES") == "1":
            pytest.skip(f"PostgreSQL unreachable and JIKIMI_SKIP_POSTGRES=1: {exc}")
        pytest.fail(
            f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable ({exc}); start it, or set "
            "JIKIMI_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
        )
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def raw_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, unmigrated database on each backend."""
    if backend == "postgres":
        return request.getfixturevalue("postgres_database")
    return f"sqlite:///{tmp_path / 'jikimi.db'}"


@pytest.fixture
def database_url(raw_database_url: str) -> str:
    """A migrated database on each backend (``sqlite``, ``postgres``)."""
    engine = make_engine(raw_database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return raw_database_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessions(engine)


def pytest_configure(config: pytest.Config) -> None:
    """The whole suite runs offline: sockets to anything but loopback are refused."""
    from tests.support import offline

    offline.install()
