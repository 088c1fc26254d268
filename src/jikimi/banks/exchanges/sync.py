"""The sync loop: pages from an exchange into its bank, each page and its checkpoint in one
transaction.

A page is applied (adds and withdrawals, through :mod:`jikimi.banks.exchanges.apply`) and the
checkpoint after it saved in the same transaction, so a page that fails midway, or a killed
process, never moves the checkpoint past data that was not recorded; the next run resumes from
the last saved checkpoint, and re-applying a page changes nothing. The transaction first locks
the exchange's row and checks the checkpoint is still the one this run started the page from:
two syncs of one exchange at once cannot interleave their pages.

A run stops when the exchange has nothing more, on an error (named with the exchange and the
page; pages before it stay), or when ``max_seconds`` have passed (checked between pages).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jikimi.banks.exchanges import credentials as creds
from jikimi.banks.exchanges.apply import PageChanges, Target, apply_page
from jikimi.banks.exchanges.kinds import ExchangeKind
from jikimi.banks.exchanges.pages import Page
from jikimi.banks.exchanges.store import ExchangeStore, checkpoint_name
from jikimi.banks.service import BankStore
from jikimi.errors import (
    ExchangeBusy,
    ExchangeCredentialsError,
    ExchangeError,
    ExchangePageError,
)
from jikimi.store.checkpoints import Checkpoints
from jikimi.store.db import write_session
from jikimi.store.models import Checkpoint

MAX_ERROR_CHARS = 500
COMMIT_ATTEMPTS = 3


@dataclass(slots=True)
class SyncProgress:
    exchange: str
    pages: int = 0
    added: int = 0
    withdrawn: int = 0
    skipped: int = 0
    _reasons: dict[str, tuple[int, str]] = field(default_factory=dict)

    def add_skips(self, reasons: Mapping[str, tuple[int, str]]) -> None:
        for reason, (count, where) in reasons.items():
            seen, first = self._reasons.get(reason, (0, where))
            self._reasons[reason] = (seen + count, first)
            self.skipped += count

    @property
    def notes(self) -> list[str]:
        """Why values were skipped, once per reason."""
        return [f"{r}: {n} skipped (first: {w})" for r, (n, w) in self._reasons.items()]

    def counts(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "added": self.added,
            "withdrawn": self.withdrawn,
            "skipped": self.skipped,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class SyncResult:
    exchange: str
    status: str  # "ok" (up to date), "timed_out" (resumes next run)
    progress: SyncProgress
    checkpoint: dict[str, Any] | None


class ExchangeSync:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: ExchangeStore,
        kinds: Mapping[str, ExchangeKind],
        *,
        actor: str,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._kinds = kinds
        self._banks = BankStore(sessions)
        self._checkpoints = Checkpoints(sessions)
        self._actor = actor
        self._environ = environ
        self._clock = clock

    def run(
        self,
        name: str,
        *,
        max_seconds: float | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
        on_applied: Callable[[PageChanges], None] | None = None,
    ) -> SyncResult:
        """Sync one exchange. ``on_applied`` gets each committed page's changes (a running
        service applies them to its live matcher); ``on_progress`` the running counts."""
        info = self._store.get(name)
        kind = self._kinds[info.kind]
        values = creds.resolve(
            name, kind.credentials, self._store.stored_credentials(name), self._environ
        )
        progress = SyncProgress(name)
        target = Target(info.id, name, info.bank, self._actor)
        saved = self._checkpoints.load(checkpoint_name(name))
        state = None if saved is None else saved["state"]
        started = self._clock()
        status = "ok"
        try:
            pages = kind.build(name, info.config, values).pages(state)
            while True:
                if max_seconds is not None and self._clock() - started >= max_seconds:
                    status = "timed_out"
                    break
                page = _next_page(pages, name, progress.pages + 1, values)
                if page is None:
                    break
                changes = self._commit_retrying(target, page, progress.pages + 1, state)
                state = page.checkpoint
                progress.pages += 1
                progress.added += len(changes.added)
                progress.withdrawn += len(changes.withdrawn)
                progress.add_skips(page.skipped)
                if on_applied is not None:
                    on_applied(changes)
                if on_progress is not None:
                    on_progress(progress)
        except Exception as exc:
            message = creds.scrub(str(exc), values)[:MAX_ERROR_CHARS]
            self._store.record_sync(name, status="error", counts=progress.counts(), error=message)
            raise
        self._store.record_sync(name, status=status, counts=progress.counts(), error=None)
        return SyncResult(name, status, progress, state)

    def _commit_retrying(
        self, target: Target, page: Page, page_no: int, expected: dict[str, Any] | None
    ) -> PageChanges:
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                return self._commit(target, page, page_no, expected)
            except IntegrityError:
                # PostgreSQL: a concurrent `bank add` inserted one of these values first; the
                # page rolled back whole, and the next attempt finds that entry and maps it.
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _commit(
        self, target: Target, page: Page, page_no: int, expected: dict[str, Any] | None
    ) -> PageChanges:
        name = checkpoint_name(target.exchange)
        with write_session(self._sessions) as session:
            ExchangeStore.lock(session, target.exchange)
            stored = self._checkpoints_in(session, name)
            if (None if stored is None else stored.get("state")) != expected:
                raise ExchangeBusy(
                    f"exchange {target.exchange!r}: another sync moved its checkpoint while "
                    f"page {page_no} was fetched; nothing of that page was applied. Run one "
                    "sync at a time (the next run resumes where the other stopped)"
                )
            changes = apply_page(session, self._banks, target, page, page_no)
            value = {
                "state": page.checkpoint,
                "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self._checkpoints.save(name, value, session=session)
        return changes

    @staticmethod
    def _checkpoints_in(session: Session, name: str) -> dict[str, Any] | None:
        row = session.get(Checkpoint, name, populate_existing=True)
        return None if row is None else dict(row.value)


def _next_page(
    pages: Iterator[Page], exchange: str, page_no: int, values: Mapping[str, creds.Secret]
) -> Page | None:
    """The next page, or None at the end; upstream failures become errors that name the
    exchange and the page, with credentials masked."""
    try:
        return next(pages)
    except StopIteration:
        return None
    except ExchangeError:
        raise
    except Exception as exc:
        raise _upstream_error(exc, exchange, page_no, values) from None


def _upstream_error(
    exc: Exception, exchange: str, page_no: int, values: Mapping[str, creds.Secret]
) -> ExchangeError:
    detail = creds.scrub(f"{type(exc).__name__}: {exc}", values)[:MAX_ERROR_CHARS]
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status in (401, 403):
        return ExchangeCredentialsError(
            f"exchange {exchange!r} refused the credentials (HTTP {status}) on page {page_no}; "
            "check them (`jikimi exchange status` says where each comes from)"
        )
    # requests' errors are OSErrors, except its JSONDecodeError, a ValueError: malformed.
    if isinstance(exc, OSError | httpx.HTTPError) and not isinstance(exc, ValueError):
        return ExchangePageError(
            f"exchange {exchange!r}: page {page_no} could not be fetched ({detail}); pages "
            "before it are kept and the next sync resumes from the last one",
            page=page_no,
        )
    return ExchangePageError(
        f"exchange {exchange!r}: page {page_no} is malformed ({detail}); pages before it are "
        "kept and the next sync retries from the last one",
        page=page_no,
    )
