"""What the policy sees of one item: its matches, its findings per media, and the banks' specs.

Plain values only (DESIGN.md §4: policy is pure). Findings are the recorded form,
``Finding.as_dict()`` (:mod:`jikimi.signals.extractor`), so a verdict can be replayed from what
was stored. Facts come from untrusted media and may be incomplete or odd (a finding missing its
``value``, a score that is not a number): the accessors here skip what does not have the
expected shape rather than raise, so one strange finding never stops an item.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jikimi.model import BankSpec, Match

__all__ = ["ItemFacts", "Located", "unit_score"]


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """One item's facts. ``matches`` holds every media's matches (bank and person matches);
    ``findings`` one dict per media, signal name -> ``Finding.as_dict()``; ``banks`` the spec
    of every bank by name (``auto_action``, ``minors``); ``text_findings`` findings on the
    item's text alone (e.g. ``context``) when it has no media."""

    matches: tuple[Match, ...]
    findings: tuple[Mapping[str, Mapping[str, Any]], ...]
    banks: Mapping[str, BankSpec]
    text_findings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def bank(self, name: str) -> BankSpec | None:
        spec = self.banks.get(name) if isinstance(self.banks, Mapping) else None
        return spec if isinstance(spec, BankSpec) else None

    def bank_matches(self, include_suppressed: bool = False) -> Iterator[Match]:
        """Matches in banks (not protected persons), unsuppressed ones unless told otherwise."""
        for m in self.matches:
            if not isinstance(m, Match) or m.person is not None:
                continue
            if m.suppressed_by is None or include_suppressed:
                yield m

    def person_matches(self) -> Iterator[Match]:
        """Face matches against protected persons that no known-benign bank suppressed."""
        for m in self.matches:
            if isinstance(m, Match) and m.person is not None and m.suppressed_by is None:
                yield m

    def located(self, signal: str) -> Iterator[Located]:
        """Every ``ok`` finding of ``signal`` whose ``value`` is a mapping, on each media and
        then on the text, with where it was found."""
        sources: list[tuple[str, Any]] = []
        many = len(self.findings) > 1
        for i, per_media in enumerate(self.findings, start=1):
            sources.append((f"media {i}" if many else "the media", per_media))
        sources.append(("the text", self.text_findings))
        for where, per in sources:
            found = per.get(signal) if isinstance(per, Mapping) else None
            if not isinstance(found, Mapping) or found.get("status") != "ok":
                continue
            value = found.get("value")
            if isinstance(value, Mapping):
                yield Located(where, value, bool(found.get("advisory")))

    def raw(self, signal: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Every finding of ``signal`` whatever its status, with where it was found."""
        many = len(self.findings) > 1
        for i, per_media in enumerate(self.findings, start=1):
            found = per_media.get(signal) if isinstance(per_media, Mapping) else None
            if isinstance(found, Mapping):
                yield (f"media {i}" if many else "the media"), found
        found = self.text_findings.get(signal) if isinstance(self.text_findings, Mapping) else None
        if isinstance(found, Mapping):
            yield "the text", found


@dataclass(frozen=True, slots=True)
class Located:
    """An ``ok`` finding's value and where it came from (``the media`` when the item has one,
    ``media 2`` when it has several, ``the text``)."""

    where: str
    value: Mapping[str, Any]
    advisory: bool = False

    def score(self) -> float | None:
        return unit_score(self.value.get("score"))


def unit_score(value: Any) -> float | None:
    """``value`` as a finite float in [0, 1], or ``None`` (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) and 0.0 <= f <= 1.0 else None
