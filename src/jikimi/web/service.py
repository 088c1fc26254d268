"""The service's parts, wired once: workspace, live matcher, policy, pipelines, stores, outbox
dispatcher, metrics. The API routers call these; nothing here knows HTTP.

Startup builds the match indexes in a background thread (``/readyz`` says 503 until done), and
a watcher thread rebuilds them when another process (the CLI, a second server) changes banks or
persons; changes made through this service's own API apply in place at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from jikimi.actions.dispatcher import Dispatcher
from jikimi.actions.effects import Target, effects_for, restore_effects
from jikimi.actions.outbox import OutboxStore
from jikimi.actions.sinks.base import Sink
from jikimi.actions.sinks.registry import build_sinks, configured, configured_notifications
from jikimi.cases.deadlines import load_profiles
from jikimi.cases.decisions import Decided, DecisionStore, Ruling
from jikimi.cases.notices import NoticeCheck
from jikimi.cases.notifiers import NotifierStore
from jikimi.cases.notifying import CaseNotifier
from jikimi.cases.store import CaseStore, NoticeReceipt
from jikimi.errors import BankNotFound
from jikimi.evidence.anchors import Anchorer
from jikimi.evidence.retention import purge_media
from jikimi.evidence.timestamps import stamper_for
from jikimi.matching.live import LiveMatcher
from jikimi.matching.matcher import Matcher
from jikimi.media.limits import Limits
from jikimi.model import Match, Reason, Verdict
from jikimi.pipeline.cascade import Cascade, HashOptions, Step, default_plan
from jikimi.pipeline.item import ItemAnalysis, ItemPipeline, Upload
from jikimi.policy.holder import PolicyHolder
from jikimi.settings import Settings
from jikimi.signals.extractor import TextInput
from jikimi.signals.registry import Registry, load_registry
from jikimi.store.items_repo import ItemStore, MediaLink, NewItem, RecordedItem
from jikimi.store.leases import Leases, process_holder
from jikimi.web.metrics import Metrics
from jikimi.web.periodic import PeriodicJob, run_periodically
from jikimi.workspace import TOOL, Workspace

log = logging.getLogger("jikimi.service")

# Custody event kinds after which the match indexes must be rebuilt.
MATCHER_EVENTS = (
    "bank.created",
    "bank.deleted",
    "bank.entries_added",
    "bank.entry_withdrawn",
    "bank.imported",
    "person.enrolled",
    "person.deleted",
    "person.hashes_added",
)
HASHES_ONLY: tuple[Step, ...] = (Step("hashes"), Step("match"))
# What a check always computes; md5 and sha1 only while a bank holds such entries.
# The workspace's own bank of media removed by people's decisions (future uploads stopped).
DECIDED_BANK = "decided-removals"
ANCHOR_JOB = "custody-anchor"  # the periodic jobs' (and their leases') names
PURGE_JOB = "retention-purge"
PURGE_BATCH = 10_000
CHECK_ALWAYS = frozenset({"sha256", "pdq", "video_md5", "vpdq"})


@dataclass
class ServiceOptions:
    run_dispatcher: bool = True
    watch_seconds: float = 5.0  # how often to look for bank changes made elsewhere
    purge_seconds: float = 24 * 3600.0  # how often to purge media past media_retention_days
    check_plan: tuple[Step, ...] | None = None  # None: the settings' cascade
    registry: Registry | None = None  # tests inject a registry with stub extractors
    # The service's clock (UTC): notices' receipt times, decisions, time left. Tests move it.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def dispatcher_for(
    settings: Settings,
    outbox: OutboxStore,
    sinks: Mapping[str, Sink],
    *,
    observe: Callable[[str, str, str], None] | None = None,
) -> Dispatcher:
    """The outbox dispatcher as the settings configure it."""
    return Dispatcher(
        outbox,
        sinks,
        max_attempts=settings.outbox_max_attempts,
        backoff_seconds=settings.outbox_backoff_seconds,
        backoff_max_seconds=settings.outbox_backoff_max_seconds,
        lease_seconds=settings.outbox_lease_seconds,
        observe=observe,
    )


class Service:
    def __init__(self, ws: Workspace, options: ServiceOptions | None = None) -> None:
        self.ws = ws
        self.options = options or ServiceOptions()
        settings = ws.settings
        self.metrics = Metrics()
        self.registry = self.options.registry or load_registry(settings)
        self.matcher = LiveMatcher(confirm=self._still_active)
        self.policy = PolicyHolder(settings.policy_file, settings.policy_reload_seconds)
        self.items = ItemStore(ws.sessions, ws.custody)
        self.cases = CaseStore(ws.sessions, ws.custody)
        self.decisions = DecisionStore(
            ws.sessions, ws.custody, near_threshold=settings.near_duplicate_threshold
        )
        self.notifiers = NotifierStore(ws.sessions, ws.custody)
        self.deadlines = load_profiles(settings.deadline_profiles)
        self.outbox = OutboxStore(ws.sessions, ws.custody)
        self.metrics.watch_outbox(self.outbox.counts)
        self.sinks = build_sinks(settings)
        self._sink_config = configured(settings)
        self.notifier = CaseNotifier(
            self.outbox,
            routes=configured_notifications(settings),
            item_routes=self._sink_config,
            appeal_url=settings.appeal_url,
            uploader_statements=settings.uploader_statements,
            in_eu=self._in_eu,
        )
        limits = Limits.from_settings(settings)
        check_hashing = HashOptions(
            limits=limits,
            min_quality=settings.pdq_min_quality,
            seconds_per_hash=settings.vpdq_seconds_per_hash,
            fast=settings.check_fast_hash,
            want=CHECK_ALWAYS,
        )
        self._check_hashing = check_hashing
        item_hashing = HashOptions(
            limits=limits,
            min_quality=settings.pdq_min_quality,
            seconds_per_hash=settings.vpdq_seconds_per_hash,
        )
        plan = default_plan(settings)
        check_plan = self.options.check_plan or (
            HASHES_ONLY if settings.check_signals == "hashes" else plan
        )
        self.check_pipeline = ItemPipeline(
            Cascade(self.registry, self.matcher, check_plan, check_hashing), self._policy
        )
        self.item_pipeline = ItemPipeline(
            Cascade(self.registry, self.matcher, plan, item_hashing), self._policy
        )
        # Uploads wait here (mode 0700, in the system's temp folder) while they are analysed;
        # each file is deleted when its request ends, the folder when the service stops.
        self.tmp = Path(tempfile.mkdtemp(prefix="jikimi-uploads-"))
        # CPU-bound analysis runs on at most this many threads: an overload queues requests
        # instead of making 40 threads fight over the cores (measured: docs/benchmarks.md).
        cores_each = max(1, (os.cpu_count() or 2) // settings.serve_workers)
        self.cpu_limiter = anyio.CapacityLimiter(settings.check_threads or cores_each)
        self._stop = threading.Event()
        self._wake = threading.Event()  # the index watcher looks now, not at its next round
        self._threads: list[threading.Thread] = []
        self._matcher_seq = -1
        # Periodic jobs run in one server process at a time: the one holding the job's lease.
        self.leases = Leases(ws.sessions)
        self.holder = process_holder()
        self.load_error: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the indexes and start the background threads (idempotent)."""
        if self._threads:
            return
        self.tmp.mkdir(mode=0o700, exist_ok=True)  # a restarted service needs it again
        self._stop.clear()
        self._spawn("jikimi-indexes", self._watch_banks)
        if self.options.run_dispatcher:
            self._spawn("jikimi-dispatcher", self._dispatch)
        if self.ws.settings.tsa_urls and self.ws.settings.custody_anchor_minutes:
            self._spawn("jikimi-anchors", lambda: self._run_periodically(self.anchor_job()))
        if self.ws.settings.media_retention_days:
            self._spawn("jikimi-retention", lambda: self._run_periodically(self.purge_job()))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _dispatch(self) -> None:
        self.dispatcher().run_forever(self._stop, poll_seconds=1.0)

    def _run_periodically(self, job: PeriodicJob) -> None:
        run_periodically(job, self._stop, self.leases, self.holder, self.now)

    def anchor_job(self) -> PeriodicJob:
        """Anchoring the custody log every ``custody_anchor_minutes``."""
        settings = self.ws.settings
        anchorer = Anchorer(
            self.ws.sessions,
            self.ws.custody,
            stamper_for(settings),
            actor=self.ws.operator,
            tool_version=TOOL,
        )

        def anchor() -> str | None:
            made = anchorer.anchor()
            if made is None:
                return None
            return f"seq {made.first_seq}..{made.last_seq}, root {made.merkle_root}"

        return PeriodicJob(ANCHOR_JOB, settings.custody_anchor_minutes * 60, anchor)

    def purge_job(self) -> PeriodicJob:
        """Purging kept media past ``media_retention_days`` (at most ``PURGE_BATCH`` blobs a
        round; the next round goes on)."""
        days = self.ws.settings.media_retention_days
        assert days is not None

        def purge() -> str | None:
            report = purge_media(
                self.ws.sessions,
                self.ws.vault,
                self.ws.custody,
                now=self.now(),
                retention_days=days,
                actor=self.ws.operator,
                tool_version=TOOL,
                limit=PURGE_BATCH,
            )
            for problem in report.problems:
                log.warning("retention purge: %s", problem)
            if not report.purged:
                return None
            more = "; more are due, next round goes on" if report.limited else ""
            return (
                f"{len(report.purged)} kept media purged past {days} days, "
                f"{len(report.kept)} kept for cases{more}"
            )

        return PeriodicJob(PURGE_JOB, self.options.purge_seconds, purge)

    def dispatcher(self) -> Dispatcher:
        return dispatcher_for(
            self.ws.settings, self.outbox, self.sinks, observe=self.metrics.observe_action
        )

    def _watch_banks(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh_matcher()
            except Exception as exc:  # keep serving with the indexes we have; /readyz tells
                self.load_error = f"{type(exc).__name__}: {exc}"
                log.exception("rebuilding the match indexes failed")
            self._wake.wait(self.options.watch_seconds)
            self._wake.clear()

    def _still_active(self, matches: list[Match]) -> list[Match]:
        """The matches whose bank entry (or protected person) the store still holds active. A
        withdrawal, bank deletion or consent withdrawal made by another process is not in the
        indexes until the watcher rebuilds them; it must not match meanwhile, so every hit is
        confirmed here, and a stale hit wakes the watcher."""
        entries = {m.entry_id for m in matches if m.person is None}
        persons = {m.person for m in matches if m.person is not None}
        active_entries = self.ws.banks.active_entry_ids(entries)
        active_persons = self.ws.persons.active_ids(persons)
        kept = [
            m
            for m in matches
            if (
                m.person in active_persons if m.person is not None else m.entry_id in active_entries
            )
        ]
        if len(kept) < len(matches):
            self._wake.set()
        return kept

    def refresh_matcher(self, *, force: bool = False) -> bool:
        """Rebuild the indexes if banks or persons changed since the last build."""
        seq = self.ws.custody.last_seq(MATCHER_EVENTS)
        if not force and seq == self._matcher_seq:
            return False
        matcher = self.ws.matcher()
        # A bank change made while building (and applied in place to the old matcher) is not
        # in this build: keep the old one, and the next round rebuilds with the change.
        if not self.matcher.swap(matcher, unless=lambda: self._banks_changed_since(seq)):
            return False
        self._check_wants(matcher)
        self._matcher_seq = seq
        self.load_error = None
        return True

    def _banks_changed_since(self, seq: int) -> bool:
        return self.ws.custody.last_seq(MATCHER_EVENTS) != seq

    def now(self) -> datetime:
        return self.options.clock()

    def appeal(self, case_id: int, *, reasons: str, filed_by: str) -> int:
        return self.decisions.appeal(case_id, reasons=reasons, filed_by=filed_by, now=self.now())

    def assign(
        self, case_id: int, assignee: str | None, *, actor: str, force: bool = False
    ) -> str | None:
        return self.decisions.assign(case_id, assignee, actor=actor, now=self.now(), force=force)

    def apply_in_place(self, change: Callable[[Matcher], None]) -> None:
        """Apply a bank change already written to the store to the live matcher too (under
        its write lock, so the next lookup sees it; changes are idempotent, so a rebuild that
        got there first does no harm). When that change is the only one since the indexes
        were built, the watcher need not rebuild them; otherwise (another process changed
        banks meanwhile) it rebuilds as usual."""
        custody = self.ws.custody
        before = self._matcher_seq
        with self.matcher.write() as matcher:
            change(matcher)
            self._check_wants(matcher)
        if before >= 0 and custody.count_since(MATCHER_EVENTS, before) == 1:
            self._matcher_seq = custody.last_seq(MATCHER_EVENTS)

    def _check_wants(self, matcher: Matcher) -> None:
        """Checks compute the digests some bank can match, and the perceptual hashes."""
        self._check_hashing.want = CHECK_ALWAYS | matcher.signal_types()

    # -- health -------------------------------------------------------------------------------

    def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            with self.ws.sessions() as session:
                session.execute(sql_text("SELECT 1"))
            checks["store"] = "ok"
        except Exception as exc:  # readiness reports, never raises
            checks["store"] = f"unreachable: {type(exc).__name__}"
        if self.matcher.loaded.is_set():
            checks["indexes"] = "ok"
        else:
            checks["indexes"] = self.load_error or "loading"
        policy = self.policy.current
        checks["policy"] = policy.version
        if self.policy.last_error:
            checks["policy_error"] = self.policy.last_error
        checks["ready"] = checks["store"] == "ok" and checks["indexes"] == "ok"
        return checks

    # -- the work -----------------------------------------------------------------------------

    def _policy(self) -> Any:
        return self.policy.current

    def check(
        self,
        uploads: Sequence[Upload],
        *,
        text: TextInput | None,
        signals: Sequence[tuple[str, str]],
    ) -> ItemAnalysis:
        """A pre-publication check: nothing is recorded."""
        analysis = self.check_pipeline.analyze(uploads, text=text, signals=signals)
        self._observe(analysis, "check")
        return analysis

    def ingest(
        self,
        item: NewItem,
        uploads: Sequence[Upload],
        *,
        text: TextInput | None,
        signals: Sequence[tuple[str, str]],
        actor: str,
        file_ids: Sequence[str] = (),
        missing_media: Sequence[MediaLink] = (),
    ) -> tuple[RecordedItem, ItemAnalysis | None]:
        """Analyse and record an item: media, item, verdict, case, outbox effects.
        ``file_ids`` are the platform's ids of the media, in upload order; ids beyond the
        uploads are media the caller could not fetch (recorded so copies can be found).
        ``missing_media``: media the item refers to but the caller does not have (an export
        that did not save the file), recorded after the uploads with their ``error``."""
        if item.external_id is not None:
            existing = self.items.find_external(item.submitted_by, item.external_id)
            if existing is not None:
                return existing, None
        analysis = self.item_pipeline.analyze(uploads, text=text, signals=signals)
        self._observe(analysis, "items")
        links = [self._record_media(upload, result, actor) for upload, result in analysis.media]
        links = [*_with_file_ids(links, file_ids), *missing_media]
        verdict = analysis.verdict
        assert verdict is not None
        target = Target(
            platform=item.platform,
            chat_id=item.chat_id,
            message_id=item.message_id,
            author_id=item.author_id,
            url=item.url,
        )

        def enqueue_effects(session: Session, item_id: int, verdict_id: int) -> None:
            self._enqueue(session, verdict, target, item_id, verdict_id)

        recorded = self.items.record(item, links, verdict, actor=actor, also=enqueue_effects)
        return recorded, analysis

    def _enqueue(
        self, session: Session, verdict: Verdict, target: Target, item_id: int, verdict_id: int
    ) -> None:
        effects = effects_for(
            verdict,
            replace(target, item_id=item_id),
            origin=f"verdict:{verdict_id}",
            **self._sink_config,
        )
        self.outbox.enqueue(session, effects, item_id=item_id)

    def file_notice(
        self, body: dict[str, Any], check: NoticeCheck, received: datetime, submitted_by: str
    ) -> NoticeReceipt:
        """Record a notice; a complete one opens or joins a case on its legal clock."""
        jurisdiction = body.get("jurisdiction")
        jurisdiction = jurisdiction.upper() if isinstance(jurisdiction, str) else None
        deadline = None
        if check.complete:
            ordered_by = _parse_time(body.get("deadline"))
            deadline = self.deadlines.deadline(
                jurisdiction=jurisdiction,
                kind=check.kind,
                received_at=received,
                ordered_by=ordered_by,
            )
        return self.cases.record_notice(
            body,
            check,
            deadline,
            received_at=received,
            submitted_by=submitted_by,
            jurisdiction=jurisdiction,
            notifier=_notifier(body),
            also=lambda session, answer: self.notifier.receipt(session, body, answer),
        )

    def _in_eu(self, jurisdiction: str | None) -> bool:
        """Whether a case's jurisdiction is the EU or one of its member states."""
        return jurisdiction == "EU" or self.deadlines.groups.get(jurisdiction or "") == "EU"

    def decide(self, case_id: int, ruling: Ruling, *, actor: str) -> Decided:
        """Record a reviewer's ruling; a removal sends the removal of every item of the case
        and of every identical copy through the outbox, and banks the media's hashes in the
        workspace's own bank so later uploads are stopped."""
        decided = self.decisions.decide(
            case_id,
            ruling,
            actor=actor,
            now=self.now(),
            also=partial(self._enqueue_removals, ruling),
            on_reverse=self._enqueue_restores,
            after=self.notifier.decided,
        )
        self._bank_decided(decided, actor)
        return decided

    def resolve_task(self, case_id: int, task_id: int, ruling: Ruling, *, actor: str) -> Decided:
        """Resolve a near-duplicate review task; a removal acts as :meth:`decide`'s does."""
        decided = self.decisions.resolve_task(
            case_id,
            task_id,
            ruling,
            actor=actor,
            now=self.now(),
            also=partial(self._enqueue_removals, ruling),
            after=self.notifier.decided,
        )
        self._bank_decided(decided, actor)
        return decided

    def _enqueue_removals(
        self, ruling: Ruling, session: Session, decision_id: int, items: list[Any]
    ) -> None:
        verdict = Verdict(
            outcome="remove",
            reasons=(Reason("decision", "remove", (ruling.reasons[:500],)),),
            policy_version="decision",
            automated=False,
            actions=("delete_message", "notify"),
        )
        for item in items:
            effects = effects_for(
                verdict, Target.of_item(item), origin=f"decision:{decision_id}", **self._sink_config
            )
            self.outbox.enqueue(session, effects, item_id=item.id)

    def _enqueue_restores(self, session: Session, decision_id: int, items: list[Any]) -> None:
        for item in items:
            effects = restore_effects(
                Target.of_item(item), origin=f"decision:{decision_id}", **self._sink_config
            )
            self.outbox.enqueue(session, effects, item_id=item.id)

    def _bank_decided(self, decided: Decided, actor: str) -> None:
        if decided.media and decided.reversed:
            self._unbank(decided.media, actor=actor)
        elif decided.media:
            self._bank_removed(decided.media, actor=actor)

    def _unbank(self, media: list[str], *, actor: str) -> None:
        """A reversed removal: its media leave the bank of decided removals."""
        try:
            entries = self.ws.banks.entries(DECIDED_BANK)
        except BankNotFound:
            return
        wanted = set(media)
        pdqs = {(self.ws.media.get(sha) or {}).get("signals", {}).get("pdq") for sha in media}
        for entry in entries:
            if entry.value in wanted or entry.value in pdqs:
                self.ws.banks.withdraw(
                    DECIDED_BANK, entry.entry_id, actor=actor, reason="removal reversed on appeal"
                )
                self.apply_in_place(lambda m, e=entry.entry_id: m.withdraw(e))

    def _bank_removed(self, media: list[str], *, actor: str) -> None:
        banks = self.ws.banks
        try:
            banks.get(DECIDED_BANK)
        except BankNotFound:
            info = banks.create(DECIDED_BANK, auto_action=True, source="decisions", actor=actor)
            self.apply_in_place(lambda m: m.add_bank(info.spec()))
        pairs: list[tuple[str, str]] = []
        for sha256 in media:
            pairs.append(("sha256", sha256))
            stored = self.ws.media.get(sha256) or {}
            pdq = (stored.get("signals") or {}).get("pdq")
            if isinstance(pdq, str):
                pairs.append(("pdq", pdq))
        added = banks.add(DECIDED_BANK, pairs, actor=actor, note="removed by a decision")
        specs = [e.spec() for e in added]
        self.apply_in_place(lambda m: m.add_entries(specs))

    def _record_media(self, upload: Upload, result: Any, actor: str) -> MediaLink:
        media = result.media
        if media.sha256 is None:
            return MediaLink(None, upload.filename, media.error)
        md5 = media.signals.get("md5")
        kept = False
        vault, sha = self.ws.vault, media.sha256
        if self.ws.settings.keep_media and media.error is None:
            kept = vault.put_file(upload.path, sha) or vault.has(sha)
        self.ws.media.record(
            media,
            source_path=f"upload:{upload.filename or ''}",
            matches=result.matches,
            scan_id="api",
            actor=actor,
            custody=self.ws.custody,
            tool_version=TOOL,
            kept_in_vault=kept,
            findings=result.findings_json(),
            plan=result.plan,
            steps=[s.as_dict() for s in result.steps],
            still_kept=lambda: vault.has(sha) or vault.put_file(upload.path, sha),
        )
        return MediaLink(media.sha256, upload.filename, media.error, md5=md5.value if md5 else None)

    def _observe(self, analysis: ItemAnalysis, via: str) -> None:
        assert analysis.verdict is not None
        names = [n for _, r in analysis.media for n in (*r.media.signals, *r.findings)]
        names.extend(analysis.text_findings)
        self.metrics.observe_verdict(analysis.verdict, analysis.matches, names, via)


def _with_file_ids(links: list[MediaLink], file_ids: Sequence[str]) -> list[MediaLink]:
    """Each upload's link with its platform file id; the ids left over are media that were
    not sent (too large to fetch, say), recorded by id alone."""
    out = [replace(link, file_id=fid) for link, fid in zip(links, file_ids, strict=False)]
    out.extend(links[len(out) :])
    out.extend(
        MediaLink(None, error="not retrieved: only the platform's file id is known", file_id=fid)
        for fid in file_ids[len(links) :]
    )
    return out


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _notifier(body: dict[str, Any]) -> str | None:
    """Who sent a notice, for per-notifier counts: an email, a flagger, an issuing body."""
    contact = body.get("contact")
    if isinstance(contact, dict) and isinstance(contact.get("email"), str):
        return contact["email"][:320]
    for key in ("flagger_id", "issuing_body", "reporter"):
        if isinstance(body.get(key), str):
            return body[key][:320]
    return None
