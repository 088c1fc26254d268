"""Named checkpoints that survive restarts (the ``checkpoints`` table).

A connector reads its position on start and moves it only after everything before it is
recorded: a bot's next ``getUpdates`` offset, an exchange's sync checkpoint, an export's
progress. ``save`` may join the caller's transaction, so a checkpoint and the data it covers
commit together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jikimi.store.db import write_session
from jikimi.store.models import Checkpoint, utcnow

__all__ = ["Checkpoints"]


class Checkpoints:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load(self, name: str) -> dict[str, Any] | None:
        """The saved value, or None when nothing was saved under ``name``."""
        with self._sessions() as session:
            row = session.get(Checkpoint, name)
            return dict(row.value) if row is not None else None

    def save(self, name: str, value: dict[str, Any], *, session: Session | None = None) -> None:
        """Replace the value; inside ``session`` when given (committed by its owner)."""
        if session is not None:
            _put(session, name, value)
            return
        with write_session(self._sessions) as own:
            _put(own, name, value)

    def delete(self, name: str) -> None:
        with write_session(self._sessions) as session:
            row = session.get(Checkpoint, name)
            if row is not None:
                session.delete(row)

    def names(self, prefix: str = "") -> list[str]:
        with self._sessions() as session:
            rows = session.query(Checkpoint.name).filter(Checkpoint.name.startswith(prefix))
            return sorted(name for (name,) in rows)


def _put(session: Session, name: str, value: dict[str, Any]) -> None:
    row = session.get(Checkpoint, name)
    if row is None:
        session.add(Checkpoint(name=name, value=dict(value), updated_at=utcnow()))
    else:
        row.value = dict(value)
        row.updated_at = utcnow()
