"""Exchange settings, kept in the ``exchanges`` table: kind, bank, non-secret settings, the
encrypted credentials and the outcome of the last sync. ``add`` creates the exchange's bank
(source ``exchange:<name>``, known-abuse, no automatic action)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.banks.exchanges.credentials import CredentialCipher, Secret
from jikimi.banks.exchanges.kinds import ExchangeKind, validate_config
from jikimi.banks.service import BankStore
from jikimi.errors import BankNotFound, ExchangeError, ExchangeExists, ExchangeNotFound
from jikimi.evidence.custody import CustodyLog
from jikimi.store.db import write_session
from jikimi.store.models import Exchange, utcnow

CHECKPOINT_PREFIX = "exchange:"


def checkpoint_name(exchange: str) -> str:
    return f"{CHECKPOINT_PREFIX}{exchange}"


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    """An exchange's settings and last sync; never its credentials."""

    id: int
    name: str
    kind: str
    bank: str
    config: dict[str, Any]
    stored_credentials: tuple[str, ...]
    created_at: datetime
    created_by: str
    last_sync_at: datetime | None
    last_sync_status: str | None
    last_sync_error: str | None
    last_sync_counts: dict[str, Any] | None


def _info(row: Exchange) -> ExchangeInfo:
    config = dict(row.config)
    stored = tuple(config.pop("stored_credentials", ()))
    return ExchangeInfo(
        id=row.id,
        name=row.name,
        kind=row.kind,
        bank=row.bank,
        config=config,
        stored_credentials=stored,
        created_at=row.created_at,
        created_by=row.created_by,
        last_sync_at=row.last_sync_at,
        last_sync_status=row.last_sync_status,
        last_sync_error=row.last_sync_error,
        last_sync_counts=row.last_sync_counts,
    )


class ExchangeStore:
    def __init__(self, sessions: sessionmaker[Session], master_key: bytes) -> None:
        self._sessions = sessions
        self._cipher = CredentialCipher(master_key)
        self._banks = BankStore(sessions)
        self._custody = CustodyLog(sessions)

    def add(
        self,
        name: str,
        kind: ExchangeKind,
        *,
        bank: str | None,
        config: Mapping[str, Any],
        credentials: Mapping[str, Secret],
        actor: str,
    ) -> ExchangeInfo:
        """Record an exchange and create its bank. ``credentials`` (possibly empty) are stored
        encrypted; the ones not given come from the environment at sync time."""
        if not name or len(name) > 100 or name != name.strip() or "/" in name:
            raise ExchangeError(f"exchange name {name!r} must be 1-100 characters, no '/'")
        settings = {k: v for k, v in config.items() if v is not None}
        validate_config(kind, settings)
        unknown = set(credentials) - {f.name for f in kind.credentials}
        if unknown:
            known = ", ".join(f.name for f in kind.credentials) or "none"
            raise ExchangeError(
                f"a {kind.name} exchange has no credential {', '.join(sorted(unknown))} "
                f"(it takes: {known})"
            )
        bank = bank or name
        with self._sessions() as session:
            if session.scalar(select(Exchange.id).where(Exchange.name == name)) is not None:
                raise ExchangeExists(f"an exchange named {name!r} exists; pick another name")
        try:
            self._banks.get(bank)
        except BankNotFound:
            pass
        else:
            raise ExchangeError(
                f"a bank named {bank!r} exists; an exchange feeds its own new bank: pick "
                "another --bank"
            )
        self._banks.create(bank, minors=kind.minors, source=f"exchange:{name}", actor=actor)
        try:
            return self._insert(name, kind, bank, settings, credentials, actor)
        except IntegrityError:
            # Another `exchange add` of this name won the race: its bank is not ours to keep.
            self._banks.delete(bank, actor=actor)
            raise ExchangeExists(f"an exchange named {name!r} exists; pick another name") from None

    def _insert(
        self,
        name: str,
        kind: ExchangeKind,
        bank: str,
        settings: dict[str, Any],
        credentials: Mapping[str, Secret],
        actor: str,
    ) -> ExchangeInfo:
        with write_session(self._sessions) as session:
            row = Exchange(
                name=name,
                kind=kind.name,
                bank=bank,
                config={**settings, "stored_credentials": sorted(credentials)},
                credentials=self._cipher.encrypt(name, credentials) if credentials else None,
                created_at=utcnow(),
                created_by=actor,
            )
            session.add(row)
            session.flush()
            payload = {
                "kind": kind.name,
                "bank": bank,
                "config": settings,
                "stored_credentials": sorted(credentials),
            }
            self._custody.append(
                "exchange.added",
                f"exchange:{name}",
                payload,
                actor=actor,
                tool_version=__version__,
                session=session,
            )
            return _info(row)

    def get(self, name: str) -> ExchangeInfo:
        with self._sessions() as session:
            return _info(self._row(session, name))

    def list(self) -> list[ExchangeInfo]:
        with self._sessions() as session:
            return [_info(r) for r in session.scalars(select(Exchange).order_by(Exchange.name))]

    def stored_credentials(self, name: str) -> dict[str, Secret]:
        with self._sessions() as session:
            blob = self._row(session, name).credentials
        return self._cipher.decrypt(name, blob) if blob else {}

    def record_sync(
        self, name: str, *, status: str, counts: Mapping[str, Any], error: str | None
    ) -> None:
        with write_session(self._sessions) as session:
            row = self._row(session, name)
            row.last_sync_at = utcnow()
            row.last_sync_status = status
            row.last_sync_counts = dict(counts)
            row.last_sync_error = error

    @staticmethod
    def _row(session: Session, name: str) -> Exchange:
        row = session.scalars(select(Exchange).where(Exchange.name == name)).one_or_none()
        if row is None:
            raise ExchangeNotFound(f"no exchange named {name!r}; see `jikimi exchange list`")
        return row

    @staticmethod
    def lock(session: Session, name: str) -> Exchange:
        """The exchange's row, locked for the rest of ``session``'s transaction (PostgreSQL;
        SQLite's write transactions are already exclusive)."""
        row = session.scalars(
            select(Exchange).where(Exchange.name == name).with_for_update()
        ).one_or_none()
        if row is None:
            raise ExchangeNotFound(f"no exchange named {name!r}; see `jikimi exchange list`")
        return row
