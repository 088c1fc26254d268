from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from jikimi.store.db import alembic_config, current_revision, make_engine, migrate
from jikimi.store.models import GENESIS_HASH, Base, CustodyHead


def test_migrate_creates_every_table_and_is_idempotent(raw_database_url: str) -> None:
    engine = make_engine(raw_database_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        first = current_revision(engine)
        tables = set(inspect(engine).get_table_names())
        migrate(engine)
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        assert head is not None and head.isdigit()
        assert current_revision(engine) == first == head
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            heads = conn.execute(select(CustodyHead.seq, CustodyHead.hash)).all()
        assert [tuple(h) for h in heads] == [(0, GENESIS_HASH)]
    finally:
        engine.dispose()


def test_head_matches_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_0013_copies_each_media_pdq_into_its_column(raw_database_url: str) -> None:
    engine = make_engine(raw_database_url)
    pdq = "f" * 60 + "0a0B"
    try:
        command.upgrade(alembic_config(engine), "0012")
        insert = text(
            "INSERT INTO media (sha256, size, signals, notes, kept_in_vault, first_seen, "
            "last_seen) VALUES (:sha, 1, :signals, '[]', false, :now, :now)"
        )
        rows = [
            ("a" * 64, {"pdq": pdq, "md5": "0" * 32}),
            ("b" * 64, {"pdq": "abc"}),  # malformed: left out
            ("c" * 64, {"vpdq": "0,100," + "0" * 64}),  # a video: no PDQ
        ]
        with engine.begin() as conn:
            for sha, signals in rows:
                now = "2026-01-01 00:00:00+00:00"
                conn.execute(insert, {"sha": sha, "signals": json.dumps(signals), "now": now})
        migrate(engine)
        with engine.connect() as conn:
            got = dict(conn.execute(text("SELECT sha256, pdq FROM media")).all())
        assert got == {"a" * 64: pdq.lower(), "b" * 64: None, "c" * 64: None}
    finally:
        engine.dispose()
