"""The scan: walk → (skip if recorded) → signals → matching → record with custody.

Signals are computed in worker processes (CPU-bound); matching and recording happen in the
calling process, one transaction per media, so a killed scan loses nothing already written
and a re-run skips media already recorded (by SHA-256) without decoding them again.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

from jikimi.media.limits import Limits
from jikimi.model import Match, MediaSignals, Signal
from jikimi.pipeline.walk import WalkProblem, walk
from jikimi.signals.compute import compute_signals
from jikimi.store.db import make_engine, make_sessions
from jikimi.store.media_repo import MediaStore
from jikimi.workspace import TOOL, Workspace

EXIT_OK = 0
EXIT_FILES_FAILED = 3
EXIT_MATCH = 4
EXIT_MATCH_AND_FILES_FAILED = 5

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class ScanOptions:
    want: frozenset[str] | None = None
    keep_media: bool = False
    fast: bool = False
    transforms: bool = True
    workers: int = 0  # 0: in this process; N: N worker processes


@dataclass(slots=True)
class ScanResult:
    """One line of scan output: a media, a skipped media, or a file or path that failed."""

    file: str
    sha256: str | None = None
    media_type: str | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    matches: list[Match] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None
    error_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def known_abuse(self) -> bool:
        return any(m.bank_kind == "known-abuse" and not m.suppressed_by for m in self.matches)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "sha256": self.sha256,
            "media_type": self.media_type,
            "signals": self.signals,
            "matches": [m.as_dict() for m in self.matches],
        }
        for key in ("skipped", "error", "error_reason"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.notes:
            out["notes"] = self.notes
        return out


@dataclass(slots=True)
class ScanSummary:
    scan_id: str
    files: int = 0
    recorded: int = 0
    skipped: int = 0
    failed: int = 0
    matched: int = 0
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.matched and self.failed:
            return EXIT_MATCH_AND_FILES_FAILED
        if self.matched:
            return EXIT_MATCH
        return EXIT_FILES_FAILED if self.failed else EXIT_OK


@dataclass(frozen=True, slots=True)
class _Job:
    path: str
    limits: Limits
    min_quality: int
    seconds_per_hash: float
    options: ScanOptions


# Each worker process opens its own read connection to ask "already recorded?".
_worker_store: MediaStore | None = None


def _init_worker(database_url: str) -> None:
    global _worker_store
    _worker_store = MediaStore(make_sessions(make_engine(database_url)))


def _signals(job: _Job, store: MediaStore | None = None) -> MediaSignals:
    """Signals of one file; only its digests (``skipped``) when it is already recorded."""
    store = store or _worker_store
    media = compute_signals(
        Path(job.path),
        job.limits,
        min_quality=job.min_quality,
        seconds_per_hash=job.seconds_per_hash,
        transforms=job.options.transforms,
        fast=job.options.fast,
        want=job.options.want,
        skip=None if store is None else store.seen,
    )
    return media


class Scanner:
    """Scans paths into a workspace. ``run`` yields one :class:`ScanResult` per file."""

    def __init__(self, workspace: Workspace, options: ScanOptions | None = None) -> None:
        self.ws = workspace
        self.options = options or ScanOptions()
        self.summary = ScanSummary(scan_id=uuid.uuid4().hex)
        self._matcher = workspace.matcher()
        settings = workspace.settings
        self._job = _Job(
            path="",
            limits=Limits.from_settings(settings),
            min_quality=settings.pdq_min_quality,
            seconds_per_hash=settings.vpdq_seconds_per_hash,
            options=self.options,
        )

    def plan(self, paths: Iterable[Path]) -> list[Path | WalkProblem]:
        """Everything the scan will visit, so progress can show a total."""
        return list(walk(paths))

    def run(self, planned: list[Path | WalkProblem]) -> Iterator[ScanResult]:
        started = time.monotonic()
        try:
            for item, outcome in self._compute(planned):
                result = self._handle(item, outcome)
                self._count(result)
                yield result
        finally:
            self.summary.seconds = time.monotonic() - started

    def _compute(
        self, planned: list[Path | WalkProblem]
    ) -> Iterator[tuple[Path | WalkProblem, MediaSignals | None]]:
        jobs = (
            (item, None if isinstance(item, WalkProblem) else _replace_path(self._job, item))
            for item in planned
        )
        if self.options.workers <= 0:
            for item, job in jobs:
                yield item, None if job is None else _signals(job, self.ws.media)
            return
        url = self.ws.settings.resolved_database_url
        with ProcessPoolExecutor(
            max_workers=self.options.workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(url,),
        ) as pool:
            yield from _in_order(pool, _signals, jobs, window=4 * self.options.workers)

    def _handle(self, item: Path | WalkProblem, outcome: MediaSignals | None) -> ScanResult:
        if isinstance(item, WalkProblem):
            return ScanResult(file=item.path, error=item.message, error_reason=item.reason)
        assert outcome is not None
        if outcome.skipped and outcome.sha256:
            return self._skipped(item, outcome.sha256)
        return self._record(item, outcome)

    def _skipped(self, path: Path, sha256: str) -> ScanResult:
        stored = self.ws.media.get(sha256) or {}
        signals = dict(stored.get("signals") or {})
        media = MediaSignals(file=str(path), size=int(stored.get("size") or 0), sha256=sha256)
        media.signals = _signals_from_json(signals)
        return ScanResult(
            file=str(path),
            sha256=sha256,
            media_type=stored.get("media_type"),
            signals=signals,
            matches=self._matcher.match_media(media),
            skipped="already recorded",
        )

    def _record(self, path: Path, media: MediaSignals) -> ScanResult:
        result = ScanResult(
            file=str(path),
            sha256=media.sha256,
            media_type=media.info.media_type if media.info else None,
            signals=_signals_to_json(media),
            error=media.error,
            error_reason=media.error_reason,
            notes=list(media.notes),
        )
        if media.sha256 is None:
            self.ws.media.record_failure(media, source_path=str(path), scan_id=self.summary.scan_id)
            return result
        result.matches = self._matcher.match_media(media)
        kept = False
        if self.options.keep_media and media.error is None:
            kept = self.ws.vault.put_file(path, media.sha256) or self.ws.vault.has(media.sha256)
        self.ws.media.record(
            media,
            source_path=str(path),
            matches=result.matches,
            scan_id=self.summary.scan_id,
            actor=self.ws.operator,
            custody=self.ws.custody,
            tool_version=TOOL,
            kept_in_vault=kept,
        )
        return result

    def _count(self, result: ScanResult) -> None:
        s = self.summary
        s.files += 1
        if result.skipped:
            s.skipped += 1
        elif result.sha256 is not None:
            s.recorded += 1
        if result.error:
            s.failed += 1
        if result.known_abuse:
            s.matched += 1


def _replace_path(job: _Job, path: Path) -> _Job:
    return _Job(str(path), job.limits, job.min_quality, job.seconds_per_hash, job.options)


def _in_order(
    pool: Executor,
    fn: Callable[[T], R],
    items: Iterable[tuple[Any, T | None]],
    window: int,
) -> Iterator[tuple[Any, R | None]]:
    """Like ``pool.map`` but lazy and bounded: at most ``window`` jobs in flight, input order."""
    pending: deque[tuple[Any, Future[R] | None]] = deque()
    for key, arg in items:
        pending.append((key, None if arg is None else pool.submit(fn, arg)))
        while len(pending) > window:
            k, fut = pending.popleft()
            yield k, None if fut is None else fut.result()
    while pending:
        k, fut = pending.popleft()
        yield k, None if fut is None else fut.result()


def _signals_to_json(media: MediaSignals) -> dict[str, Any]:
    out: dict[str, Any] = {name: sig.value for name, sig in media.signals.items()}
    if media.pdq_quality is not None:
        out["pdq_quality"] = media.pdq_quality
    return out


def _signals_from_json(stored: dict[str, Any]) -> dict[str, Any]:
    return {
        name: Signal(name, value)
        for name, value in stored.items()
        if isinstance(value, str) and name != "pdq_quality"
    }
