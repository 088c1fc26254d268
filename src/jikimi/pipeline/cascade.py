"""The cascade: cheap signals first, expensive models only where they can change the outcome.

The default plan (DESIGN.md principle 1, "hash first, humans decide")::

    1. hashes                      sha256, md5, sha1, pdq (+ transforms) / video_md5, vpdq
    2. extract c2pa, generator_metadata, context      cheap: bytes and text only
    3. match                       banks; a known-abuse or known-benign hit stops the plan
    4. extract skin                share of skin-coloured pixels (under a millisecond)
    5. extract nudity              only when the skin share reaches its threshold
    6. extract faces, watermark, synthetic   only when the nudity score reaches the threshold

``--signals LIST|all`` replaces the plan by: hashes, the named extractors on every media, match.
The plan and what each item actually ran (:class:`~jikimi.model.StepResult`) are recorded with
the item. Steps are data (:class:`Step`): the plan is printable, storable and testable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from jikimi.errors import MediaError
from jikimi.matching.live import LiveMatcher
from jikimi.matching.matcher import Matcher
from jikimi.media.decode import decode_image
from jikimi.media.limits import Limits
from jikimi.model import Match, MediaSignals, StepResult
from jikimi.settings import Settings
from jikimi.signals.compute import compute_signals
from jikimi.signals.extractor import Finding, MediaExtractor, MediaInput, TextExtractor, TextInput
from jikimi.signals.registry import Registry

StepKind = Literal["hashes", "extract", "match"]
FACES = "faces"
STOP_KINDS = ("known-abuse", "known-benign")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a plan. ``when`` = (signal, minimum score): run only if that signal's
    finding has a score at least this high. ``stop_on``: bank kinds whose match ends the plan."""

    kind: StepKind
    signals: tuple[str, ...] = ()
    stop_on: tuple[str, ...] = ()
    when: tuple[str, float] | None = None

    def describe(self) -> str:
        text = self.kind if not self.signals else f"{self.kind} {','.join(self.signals)}"
        if self.stop_on:
            text += f" (stop on {'/'.join(self.stop_on)})"
        if self.when:
            text += f" (if {self.when[0]} >= {self.when[1]:g})"
        return text


def default_plan(settings: Settings) -> tuple[Step, ...]:
    return (
        Step("hashes"),
        Step("extract", ("c2pa", "generator_metadata", "context")),
        Step("match", stop_on=STOP_KINDS),
        Step("extract", ("skin",)),
        Step("extract", ("nudity",), when=("skin", settings.cascade_skin_threshold)),
        Step(
            "extract",
            ("faces", "watermark", "synthetic"),
            when=("nudity", settings.cascade_face_threshold),
        ),
    )


def override_plan(names: Sequence[str], *, match: bool = True) -> tuple[Step, ...]:
    """``--signals``: hashes, then exactly the named extractors on every media, then match."""
    steps = (Step("hashes"), Step("extract", tuple(names)))
    return (*steps, Step("match")) if match else steps


@dataclass(slots=True)
class CascadeResult:
    """Everything the cascade learned about one file; ``media.rgb`` is already released."""

    media: MediaSignals
    matches: list[Match] = field(default_factory=list)
    findings: dict[str, Finding] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    gated: set[str] = field(default_factory=set)  # skipped by a plan condition

    @property
    def stopped(self) -> bool:
        return any(s.note and s.note.startswith("stopped") for s in self.steps)

    def findings_json(self) -> dict[str, Any]:
        return {name: f.as_dict() for name, f in self.findings.items()}


@dataclass
class HashOptions:
    limits: Limits
    min_quality: int = 50
    seconds_per_hash: float = 1.0
    transforms: bool = True
    fast: bool = False
    want: frozenset[str] | None = None  # hash signal types; None for all that apply


class Cascade:
    """Runs a plan over one file at a time. Pure of storage: values in, values out."""

    def __init__(
        self,
        registry: Registry,
        matcher: Matcher | LiveMatcher,
        plan: Sequence[Step],
        options: HashOptions,
    ) -> None:
        self.registry = registry
        self.matcher = matcher
        self.plan = tuple(plan)
        self.options = options

    def run(
        self,
        path: Path,
        *,
        text: TextInput | None = None,
        skip: Callable[[str], bool] | None = None,
    ) -> CascadeResult:
        started = time.perf_counter()
        opts = self.options
        media = compute_signals(
            path,
            opts.limits,
            min_quality=opts.min_quality,
            seconds_per_hash=opts.seconds_per_hash,
            transforms=opts.transforms,
            fast=opts.fast,
            want=opts.want,
            skip=skip,
        )
        result = CascadeResult(media=media, plan=[s.describe() for s in self.plan])
        result.steps.append(
            StepResult(
                "hashes",
                "compute_signals",
                ok=media.error is None,
                duration_ms=(time.perf_counter() - started) * 1000,
                error=media.error,
                note="already recorded" if media.skipped else None,
            )
        )
        if media.skipped or media.sha256 is None:
            media.rgb = None
            return result
        item = self._media_input(path, media)
        try:
            for step in self.plan[1:]:
                if not self._run_step(step, result, item, text):
                    break
        finally:
            media.rgb = None
        return result

    def _media_input(self, path: Path, media: MediaSignals) -> MediaInput | None:
        if media.info is None or media.error is not None:
            return None  # undecodable: only exact hashes and text signals apply
        kept = media.rgb
        limits = self.options.limits

        def load_rgb() -> np.ndarray | None:
            if media.info is None or media.info.media_type == "video":
                return None
            try:
                return decode_image(path, limits).rgb
            except MediaError:  # changed on disk since it was hashed: nothing to look at
                return None

        return MediaInput(
            path, info=media.info, rgb=kept, load_rgb=None if kept is not None else load_rgb
        )

    def _run_step(
        self, step: Step, result: CascadeResult, item: MediaInput | None, text: TextInput | None
    ) -> bool:
        """Run one step; False ends the plan."""
        if step.kind == "match":
            started = time.perf_counter()
            result.matches.extend(self.matcher.match_media(result.media))
            hit = sorted({m.bank_kind for m in result.matches if m.bank_kind in step.stop_on})
            result.steps.append(
                StepResult(
                    "match",
                    "matcher",
                    ok=True,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    note=f"stopped: {' and '.join(hit)} match" if hit else None,
                )
            )
            return not hit
        if step.when is not None:
            signal, threshold = step.when
            score = _score(result.findings.get(signal))
            # Fails open: without a score (model disabled, or it failed on this media) the
            # gated step runs, so a broken classifier never hides media from detection. A
            # signal that a condition skipped on purpose closes its dependents too.
            note = None
            if signal in result.gated:
                note = f"skipped: {signal} did not run"
            elif score is not None and score < threshold:
                note = f"skipped: {signal} {score:.3f} < {threshold:g}"
            if note is not None:
                result.gated.update(step.signals)
                for name in step.signals:
                    result.steps.append(StepResult("extract", name, ok=True, note=note))
                return True
        for name in step.signals:
            self._extract(name, result, item, text)
        return True

    def _extract(
        self, name: str, result: CascadeResult, item: MediaInput | None, text: TextInput | None
    ) -> None:
        if name not in self.registry.extractors:
            reason = self.registry.disabled.get(name)
            note = f"disabled: {reason.reason}" if reason else "not installed"
            result.steps.append(StepResult("extract", name, ok=True, note=note))
            return
        extractor = self.registry.extractors[name]
        started = time.perf_counter()
        finding: Finding | None
        if isinstance(extractor, TextExtractor):
            finding = extractor.extract_text([text])[0] if text is not None else None
            why = "no text with this media"
        elif isinstance(extractor, MediaExtractor) and item is not None:
            applies = item.info.media_type in extractor.media
            finding = extractor.extract([item])[0] if applies else None
            why = f"does not apply to {item.info.media_type}"
        else:
            finding, why = None, "media could not be decoded"
        elapsed = (time.perf_counter() - started) * 1000
        if finding is None:
            result.steps.append(StepResult("extract", name, ok=True, note=f"skipped: {why}"))
            return
        finding.duration_ms = finding.duration_ms or elapsed
        result.findings[name] = finding
        if name == FACES and finding.status == "ok":
            result.matches.extend(self.matcher.faces.match(face_templates(finding)))
        result.steps.append(
            StepResult(
                "extract",
                name,
                ok=finding.status != "error",
                duration_ms=elapsed,
                error=finding.error if finding.status == "error" else None,
                note="not applicable" if finding.status == "not_applicable" else None,
            )
        )


def face_templates(finding: Finding | None) -> list[tuple[list[int], np.ndarray]]:
    """(box, template) of every face a ``faces`` finding holds in memory."""
    if finding is None or not isinstance(finding.private, dict):
        return []
    templates = finding.private.get("templates") or []
    faces = finding.value.get("faces") or []
    return [(f["box"], t) for f, t in zip(faces, templates, strict=False)]


def flagged(result: CascadeResult, nudity_threshold: float) -> bool:
    """Whether a media is flagged: a nudity score at the threshold, or an unsuppressed
    known-abuse or protected-person match. Only flagged media keep face templates for
    retroactive search (purpose limitation)."""
    score = _score(result.findings.get("nudity"))
    if score is not None and score >= nudity_threshold:
        return True
    return any(
        m.bank_kind in ("known-abuse", "protected-person") and not m.suppressed_by
        for m in result.matches
    )


def _score(finding: Finding | None) -> float | None:
    if finding is None or finding.status != "ok":
        return None
    score = finding.value.get("score")
    return float(score) if isinstance(score, int | float) else None
