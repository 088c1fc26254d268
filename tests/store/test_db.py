from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from jikimi.store.db import make_engine, write_session
from jikimi.store.models import Bank


def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        engine.dispose()


def test_postgres_urls_use_psycopg() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def _bank(name: str, at: datetime) -> Bank:
    return Bank(
        name=name,
        kind="known-abuse",
        pdq_threshold=31,
        try_transforms=True,
        source="local",
        created_at=at,
        created_by="t",
    )


def test_times_come_back_as_utc_and_ids_autoincrement(sessions: sessionmaker[Session]) -> None:
    seoul = timezone(timedelta(hours=9))
    at = datetime(2025, 1, 2, 12, 30, 15, 123456, tzinfo=seoul)
    with write_session(sessions) as s:
        s.add_all([_bank("a", at), _bank("b", at)])
    with sessions() as s:
        rows = s.scalars(select(Bank).order_by(Bank.id)).all()
    assert [r.id for r in rows] == [rows[0].id, rows[0].id + 1]
    assert rows[0].created_at == at
    assert rows[0].created_at.tzinfo == UTC


def test_naive_times_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive"), write_session(sessions) as s:
        s.add(_bank("a", datetime(2025, 1, 1)))
        s.flush()


def test_write_session_rolls_back_on_error(sessions: sessionmaker[Session], engine: Engine) -> None:
    with pytest.raises(RuntimeError), write_session(sessions) as s:
        s.add(_bank("a", datetime.now(UTC)))
        s.flush()
        raise RuntimeError
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM banks")).scalar() == 0
