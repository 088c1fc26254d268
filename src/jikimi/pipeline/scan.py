"""The scan: walk → cascade (hashes, cheap signals, matching, models) → record with custody.

The cascade runs in worker processes, forked from this one so they share its match indexes
(copy-on-write; a scan matches against the banks as they were when it started). Recording
happens here, one transaction per media, so a killed scan loses nothing already written and a
re-run skips media already recorded (by SHA-256) after reading each file once.
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

from sqlalchemy.orm import Session

from jikimi.matching.matcher import Matcher
from jikimi.media.limits import Limits
from jikimi.model import Match, MediaSignals, Signal
from jikimi.pipeline.cascade import (
    Cascade,
    CascadeResult,
    HashOptions,
    Step,
    default_plan,
    face_templates,
    flagged,
    override_plan,
)
from jikimi.pipeline.walk import WalkProblem, walk
from jikimi.settings import Settings
from jikimi.signals.registry import Registry, load_registry
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
    """``signals``: ``None`` follows the cascade plan; a tuple of extractor names runs exactly
    those on every media (``--signals``)."""

    signals: tuple[str, ...] | None = None
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
    steps: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None
    error_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def known_abuse(self) -> bool:
        return any(m.known_abuse for m in self.matches)

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
        if self.steps:
            out["steps"] = self.steps
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


# Worker state. The matcher is set before the pool forks, so workers share its indexes.
_shared_matcher: Matcher | None = None
_worker: tuple[Cascade, MediaStore] | None = None


def _init_worker(
    database_url: str, settings: Settings, plan: tuple[Step, ...], options: HashOptions
) -> None:
    global _worker
    assert _shared_matcher is not None
    cascade = Cascade(load_registry(settings), _shared_matcher, plan, options)
    _worker = (cascade, MediaStore(make_sessions(make_engine(database_url))))


def _run_in_worker(path: str) -> CascadeResult:
    assert _worker is not None
    cascade, store = _worker
    return cascade.run(Path(path), skip=store.seen)


class Scanner:
    """Scans paths into a workspace. ``run`` yields one :class:`ScanResult` per file."""

    def __init__(
        self,
        workspace: Workspace,
        options: ScanOptions | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.ws = workspace
        self.options = options or ScanOptions()
        self.summary = ScanSummary(scan_id=uuid.uuid4().hex)
        settings = workspace.settings
        self._matcher = workspace.matcher()
        self._registry = registry
        self.plan = self._plan(settings)
        self._hash_options = HashOptions(
            limits=Limits.from_settings(settings),
            min_quality=settings.pdq_min_quality,
            seconds_per_hash=settings.vpdq_seconds_per_hash,
            transforms=self.options.transforms,
            fast=self.options.fast,
        )

    def _plan(self, settings: Settings) -> tuple[Step, ...]:
        if self.options.signals is None:
            return default_plan(settings)
        return override_plan(self.options.signals)

    def walk(self, paths: Iterable[Path]) -> list[Path | WalkProblem]:
        """Everything the scan will visit, so progress can show a total."""
        return list(walk(paths))

    def run(self, planned: list[Path | WalkProblem]) -> Iterator[ScanResult]:
        started = time.monotonic()
        try:
            for item, outcome in self._outcomes(planned):
                result = self._handle(item, outcome)
                self._count(result)
                yield result
        finally:
            self.summary.seconds = time.monotonic() - started

    def _outcomes(
        self, planned: list[Path | WalkProblem]
    ) -> Iterator[tuple[Path | WalkProblem, CascadeResult | None]]:
        jobs = ((item, None if isinstance(item, WalkProblem) else str(item)) for item in planned)
        if self.options.workers <= 0:
            registry = self._registry or load_registry(self.ws.settings)
            cascade = Cascade(registry, self._matcher, self.plan, self._hash_options)
            for item, path in jobs:
                yield (
                    item,
                    None if path is None else cascade.run(Path(path), skip=self.ws.media.seen),
                )
            return
        global _shared_matcher
        _shared_matcher = self._matcher
        self.ws.engine.dispose()  # no open database connection crosses the fork
        try:
            with ProcessPoolExecutor(
                max_workers=self.options.workers,
                mp_context=get_context("fork"),
                initializer=_init_worker,
                initargs=(
                    self.ws.settings.resolved_database_url,
                    self.ws.settings,
                    self.plan,
                    self._hash_options,
                ),
            ) as pool:
                yield from _in_order(pool, _run_in_worker, jobs, window=4 * self.options.workers)
        finally:
            _shared_matcher = None

    def _handle(self, item: Path | WalkProblem, outcome: CascadeResult | None) -> ScanResult:
        if isinstance(item, WalkProblem):
            return ScanResult(file=item.path, error=item.message, error_reason=item.reason)
        assert outcome is not None
        if outcome.media.skipped and outcome.media.sha256:
            return self._skipped(item, outcome.media.sha256)
        return self._record(item, outcome)

    def _skipped(self, path: Path, sha256: str) -> ScanResult:
        stored = self.ws.media.get(sha256) or {}
        hashes = dict(stored.get("signals") or {})
        media = MediaSignals(file=str(path), size=int(stored.get("size") or 0), sha256=sha256)
        media.signals = {n: Signal(n, v) for n, v in hashes.items() if isinstance(v, str)}
        return ScanResult(
            file=str(path),
            sha256=sha256,
            media_type=stored.get("media_type"),
            signals={**hashes, **(stored.get("findings") or {})},
            matches=self._matcher.match_media(media),
            skipped="already recorded",
        )

    def _record(self, path: Path, outcome: CascadeResult) -> ScanResult:
        media = outcome.media
        steps = [s.as_dict() for s in outcome.steps]
        findings = outcome.findings_json()
        result = ScanResult(
            file=str(path),
            sha256=media.sha256,
            media_type=media.info.media_type if media.info else None,
            signals={**_hashes_json(media), **findings},
            matches=outcome.matches,
            steps=steps,
            error=media.error,
            error_reason=media.error_reason,
            notes=list(media.notes),
        )
        if media.sha256 is None:
            self.ws.media.record_failure(media, source_path=str(path), scan_id=self.summary.scan_id)
            return result
        faces = face_templates(outcome.findings.get("faces"))
        keep_faces = faces and flagged(outcome, self.ws.settings.cascade_face_threshold)

        def keep_face_templates(session: Session) -> None:
            # Purpose limitation: only faces in flagged media are kept, for retroactive search.
            self.ws.persons.keep_face_templates(media.sha256 or "", faces, session=session)

        kept = False
        vault, sha = self.ws.vault, media.sha256
        if self.options.keep_media and media.error is None:
            kept = vault.put_file(path, sha) or vault.has(sha)
        self.ws.media.record(
            media,
            source_path=str(path),
            matches=outcome.matches,
            scan_id=self.summary.scan_id,
            actor=self.ws.operator,
            custody=self.ws.custody,
            tool_version=TOOL,
            kept_in_vault=kept,
            findings=findings,
            plan=outcome.plan,
            steps=steps,
            also=keep_face_templates if keep_faces else None,
            still_kept=lambda: vault.has(sha) or vault.put_file(path, sha),
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


def _hashes_json(media: MediaSignals) -> dict[str, Any]:
    out: dict[str, Any] = {name: sig.value for name, sig in media.signals.items()}
    if media.pdq_quality is not None:
        out["pdq_quality"] = media.pdq_quality
    return out
