"""One item, start to verdict: each media through the cascade, the item's text through the
text extractors, any signals the caller computed itself through the matcher, then the policy.

Pure of storage, like the cascade: the service records what this returns. Used by
``POST /v1/check`` (nothing recorded) and ``POST /v1/items`` (everything recorded).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jikimi.errors import JikimiError
from jikimi.model import Match, StepResult, Verdict
from jikimi.pipeline.cascade import Cascade, CascadeResult
from jikimi.policy.facts import ItemFacts
from jikimi.policy.rules import Policy
from jikimi.signals.extractor import Finding, TextExtractor, TextInput


@dataclass(frozen=True, slots=True)
class Upload:
    """One media file of an item, already in a private temporary file."""

    path: Path
    filename: str | None = None


@dataclass(slots=True)
class ItemAnalysis:
    """What the pipeline learned about one item, and the verdict."""

    media: list[tuple[Upload, CascadeResult]] = field(default_factory=list)
    # Matches of signals the caller sent instead of media, per (signal_type, value).
    given: list[tuple[str, str, list[Match]]] = field(default_factory=list)
    text_findings: dict[str, Finding] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    verdict: Verdict | None = None

    @property
    def matches(self) -> list[Match]:
        out = [m for _, result in self.media for m in result.matches]
        out.extend(m for _, _, found in self.given for m in found)
        return out

    def facts(self, banks: Mapping[str, Any]) -> ItemFacts:
        return ItemFacts(
            matches=tuple(self.matches),
            findings=tuple(result.findings_json() for _, result in self.media),
            banks=banks,
            text_findings={n: f.as_dict() for n, f in self.text_findings.items()},
        )


class ItemPipeline:
    """Runs items through ``cascade`` (and its matcher: a :class:`Matcher` or a
    :class:`~jikimi.matching.live.LiveMatcher`) and ``policy`` (a callable, so a reloaded
    policy is used from the next item on)."""

    def __init__(
        self,
        cascade: Cascade,
        policy: Callable[[], Policy],
    ) -> None:
        self.cascade = cascade
        self._policy = policy

    def analyze(
        self,
        uploads: Sequence[Upload],
        *,
        text: TextInput | None = None,
        signals: Sequence[tuple[str, str]] = (),
    ) -> ItemAnalysis:
        """Signals, matches and the verdict of one item. Bad media never raise: the cascade
        records the error on the media and the item goes on. A malformed given signal raises
        :class:`~jikimi.errors.SignalValueError` (the caller's mistake, reported as such)."""
        analysis = ItemAnalysis()
        matcher = self.cascade.matcher
        for upload in uploads:
            analysis.media.append((upload, self.cascade.run(upload.path, text=text)))
        if signals:
            found = matcher.match_values(list(signals))
            analysis.given = [(t, v, m) for (t, v), m in zip(signals, found, strict=True)]
        if not uploads and text is not None:
            self._text_only(text, analysis)
        analysis.verdict = self._policy().evaluate(analysis.facts(matcher.banks))
        return analysis

    def _text_only(self, text: TextInput, analysis: ItemAnalysis) -> None:
        """An item without media still has text signals (context: bots, trade terms)."""
        for name, extractor in sorted(self.cascade.registry.extractors.items()):
            if not isinstance(extractor, TextExtractor):
                continue
            started = time.perf_counter()
            try:
                finding = extractor.extract_text([text])[0]
            except JikimiError as exc:  # extractors should not raise; if one does, it is data
                finding = Finding.failed(name, extractor.version, str(exc))
            elapsed = (time.perf_counter() - started) * 1000
            analysis.text_findings[name] = finding
            analysis.steps.append(
                StepResult("extract", name, ok=finding.status != "error", duration_ms=elapsed)
            )
