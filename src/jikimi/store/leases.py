"""Leases (the ``leases`` table): one process at a time runs a named periodic job.

Several server processes serve one workspace (``serve_workers``); each would otherwise anchor
the custody log or purge media on its own, racing and wasting time-stamp requests. Before a
round, a process claims the job's lease for a while; the holder renews it each round, and when
it dies the lease expires and another process takes the job over.

A claim is one conditional ``UPDATE`` (held by me, or expired), or an ``INSERT`` when the row
does not exist yet, so two processes claiming at once cannot both win on SQLite or PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jikimi.store.db import write_session
from jikimi.store.models import Lease

__all__ = ["Leases", "process_holder"]


def process_holder() -> str:
    """A name for this process that no other process (here or on another host) shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def claim(self, name: str, holder: str, *, now: datetime, seconds: float) -> bool:
        """Take or renew lease ``name`` for ``holder`` until ``now + seconds``; False while
        another holder's lease runs."""
        until = now + timedelta(seconds=seconds)
        taken = (
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.until <= now))
            .values(holder=holder, until=until)
        )
        try:
            with write_session(self._sessions) as session:
                if session.execute(taken).rowcount == 1:  # type: ignore[attr-defined]
                    return True
                if session.get(Lease, name) is not None:
                    return False
                session.add(Lease(name=name, holder=holder, until=until))
        except IntegrityError:  # another process inserted it first
            return False
        return True

    def release(self, name: str, holder: str, *, now: datetime) -> None:
        """End ``holder``'s lease now (a stopping server), so another takes over at once."""
        with write_session(self._sessions) as session:
            session.execute(
                update(Lease).where(Lease.name == name, Lease.holder == holder).values(until=now)
            )

    def holder(self, name: str, *, now: datetime) -> str | None:
        """Who holds ``name`` now, if anyone."""
        with self._sessions() as session:
            row = session.get(Lease, name)
            return row.holder if row is not None and row.until > now else None
