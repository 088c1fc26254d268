from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select

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
