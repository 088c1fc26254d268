"""Conditions over extractor findings: ``score``, ``context``, ``provenance`` and ``finding``.

They read the recorded shapes of the extractors' findings (``Finding.as_dict()``), documented in
each extractor's module: ``nudity``/``skin``/``synthetic`` ``{"score"}``,
:mod:`jikimi.signals.context`, :mod:`jikimi.signals.c2pa_manifest` (``ai_generated``,
``ingredient_ai_generated``), :mod:`jikimi.signals.watermark` (``payload`` when present),
:mod:`jikimi.signals.generator_metadata` (``generator``, ``also``). A finding that lacks what a
condition reads simply does not satisfy it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from yaml.nodes import Node

from jikimi.policy.facts import ItemFacts, Located, unit_score
from jikimi.policy.hits import Hit, capped, score_text
from jikimi.policy.nodes import BOOL, NodeReader
from jikimi.signals.generator_metadata import GENERATORS
from jikimi.signals.lexicon import CATEGORY_NAME
from jikimi.signals.watermark import PAYLOADS

if TYPE_CHECKING:
    from jikimi.policy.conditions import Condition

__all__ = [
    "FINDING_KEYS_BY_KIND",
    "FINDING_PARSERS",
    "FINDING_SIGNALS",
    "SCORE_SIGNALS",
    "ContextCondition",
    "FindingCondition",
    "ProvenanceCondition",
    "ScoreCondition",
]

# Built-in extractors (pyproject entry points ``jikimi.extractors``); a name outside these is
# refused so that a typo cannot leave a rule silently never firing.
FINDING_SIGNALS = (
    "c2pa",
    "context",
    "faces",
    "generator_metadata",
    "nudity",
    "skin",
    "synthetic",
    "watermark",
)
SCORE_SIGNALS = ("context", "nudity", "skin", "synthetic")
STATUSES = ("ok", "not_applicable", "error")
SCORE_KEYS = ("signal", "min", "max")
CONTEXT_KEYS = ("categories", "terms", "min_score", "known_bot")
PROVENANCE_KEYS = ("c2pa_ai", "watermark", "generator", "synthetic_min")
FINDING_KEYS = ("signal", "status", "present")
GENERATOR_NAMES = tuple(name for name, _ in GENERATORS)
ERROR_CHARS = 120


@dataclass(frozen=True, slots=True)
class ScoreCondition:
    """A finding's ``score`` within [min, max] (both inclusive) on any media or the text."""

    signal: str
    low: float | None = None
    high: float | None = None

    def test(self, facts: ItemFacts) -> Hit | None:
        found = []
        for loc in facts.located(self.signal):
            score = loc.score()
            if score is not None and self._fits(score):
                found.append(f"{self.signal} score {score_text(score)} {self._bound()}{_at(loc)}")
        return Hit(capped(found)) if found else None

    def _fits(self, score: float) -> bool:
        return (self.low is None or score >= self.low) and (self.high is None or score <= self.high)

    def _bound(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in [{self.low:g}, {self.high:g}]"
        return f">= {self.low:g}" if self.low is not None else f"<= {self.high:g}"

    def describe(self) -> str:
        return f"{self.signal} score {self._bound()}"

    def requires_bank_match(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class ContextCondition:
    """The ``context`` finding names one of ``categories`` (or ``terms``), scores at least
    ``min_score``, and/or mentions a known generator bot; every key given must hold."""

    categories: frozenset[str] | None = None
    terms: frozenset[str] | None = None
    min_score: float | None = None
    known_bot: bool = False

    def test(self, facts: ItemFacts) -> Hit | None:
        found: list[str] = []
        for loc in facts.located("context"):
            found += self._one(loc.value) or []
        return Hit(capped(found)) if found else None

    def _one(self, value: Mapping[str, Any]) -> list[str] | None:
        parts: list[list[str]] = []
        if self.categories is not None:
            parts.append(self._terms(value, lambda m: m.get("category") in self.categories))
        if self.terms is not None:
            parts.append(self._terms(value, lambda m: str(m.get("term")).casefold() in self.terms))
        if self.min_score is not None:
            score = unit_score(value.get("score"))
            ok = score is not None and score >= self.min_score
            parts.append([f"context score {score_text(score)} >= {self.min_score:g}"] if ok else [])
        if self.known_bot:
            parts.append(list(_bots(value)))
        return [f for part in parts for f in part] if all(parts) else None

    @staticmethod
    def _terms(value: Mapping[str, Any], want: Callable[[Mapping[str, Any]], bool]) -> list[str]:
        return [
            f"context: {m.get('category')} term {m.get('term')!r} in {m.get('field')}"
            for m in _dicts(value.get("matches"))
            if want(m)
        ]

    def describe(self) -> str:
        parts = []
        if self.categories:
            parts.append("category " + " or ".join(sorted(self.categories)))
        if self.terms:
            parts.append("term " + " or ".join(repr(t) for t in sorted(self.terms)))
        if self.min_score is not None:
            parts.append(f"score >= {self.min_score:g}")
        if self.known_bot:
            parts.append("a known generator bot")
        return "context " + ", ".join(parts)

    def requires_bank_match(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class ProvenanceCondition:
    """Evidence that media was machine-made; holds when ANY of the given kinds is found."""

    c2pa_ai: bool = False
    watermarks: frozenset[str] | None = None  # empty: any known payload
    generators: frozenset[str] | None = None  # casefolded; empty: any generator
    synthetic_min: float | None = None

    def test(self, facts: ItemFacts) -> Hit | None:
        found: list[str] = []
        if self.c2pa_ai:
            found += [f + _at(loc) for loc in facts.located("c2pa") for f in _c2pa(loc.value)]
        if self.watermarks is not None:
            found += [f"{f}{_at(loc)}" for loc in facts.located("watermark") for f in self._wm(loc)]
        if self.generators is not None:
            found += [
                f"{f}{_at(loc)}"
                for loc in facts.located("generator_metadata")
                for f in self._gen(loc)
            ]
        if self.synthetic_min is not None:
            for loc in facts.located("synthetic"):
                score = loc.score()
                if score is not None and score >= self.synthetic_min:
                    found.append(
                        f"synthetic score {score_text(score)} >= {self.synthetic_min:g}{_at(loc)}"
                    )
        return Hit(capped(found)) if found else None

    def _wm(self, loc: Located) -> Iterator[str]:
        payload = loc.value.get("payload")
        if isinstance(payload, str) and (not self.watermarks or payload in self.watermarks):
            bits = f"{loc.value.get('bits_matching')}/{loc.value.get('of')} bits"
            yield f"Stable Diffusion watermark {payload!r} found ({bits})"

    def _gen(self, loc: Located) -> Iterator[str]:
        named = [(loc.value.get("generator"), loc.value.get("source"))]
        named += [(a.get("generator"), a.get("source")) for a in _dicts(loc.value.get("also"))]
        for name, source in named:
            if not isinstance(name, str):
                continue
            if not self.generators or name.casefold() in self.generators:
                yield f"generator metadata names {name!r} ({source})"

    def describe(self) -> str:
        kinds = []
        if self.c2pa_ai:
            kinds.append("a C2PA AI-generation claim")
        if self.watermarks is not None:
            kinds.append("a Stable Diffusion watermark")
        if self.generators is not None:
            kinds.append("generator metadata")
        if self.synthetic_min is not None:
            kinds.append(f"synthetic score >= {self.synthetic_min:g}")
        return "provenance evidence: " + " or ".join(kinds)

    def requires_bank_match(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class FindingCondition:
    """A finding's ``status`` and/or ``present`` flag, for any signal."""

    signal: str
    statuses: frozenset[str] | None = None
    present: bool | None = None

    def test(self, facts: ItemFacts) -> Hit | None:
        found = []
        for where, f in facts.raw(self.signal):
            status = f.get("status")
            if self.statuses is not None and status not in self.statuses:
                continue
            if self.present is not None and f.get("present") is not self.present:
                continue
            text = f"{self.signal} finding on {where}: status {status}"
            if self.present is not None:
                text += ", present" if self.present else ", not present"
            if isinstance(f.get("error"), str):
                text += f" ({f['error'][:ERROR_CHARS]})"
            found.append(text)
        return Hit(capped(found)) if found else None

    def describe(self) -> str:
        parts = [f"{self.signal} finding"]
        if self.statuses:
            parts.append("with status " + " or ".join(sorted(self.statuses)))
        if self.present is not None:
            parts.append("present" if self.present else "not present")
        return " ".join(parts)

    def requires_bank_match(self) -> bool:
        return False


def _at(loc: Located) -> str:
    return f" on {loc.where} (advisory)" if loc.advisory else f" on {loc.where}"


def _dicts(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list | tuple):
        yield from (v for v in value if isinstance(v, Mapping))


def _bots(value: Mapping[str, Any]) -> Iterator[str]:
    for bot in _dicts(value.get("bots")):
        if bot.get("known") is True:
            what = f", {bot['category']}" if isinstance(bot.get("category"), str) else ""
            yield f"known generator bot @{bot.get('name')} in {bot.get('field')}{what}"


def _c2pa(value: Mapping[str, Any]) -> Iterator[str]:
    generator = value.get("claim_generator")
    by = f", claim generator {generator!r}" if isinstance(generator, str) else ""
    state = value.get("validation_state")
    checked = f", validation {state}" if isinstance(state, str) else ""
    if value.get("ai_generated") is True:
        dst = str(value.get("digital_source_type") or "").rstrip("/").rsplit("/", 1)[-1]
        yield f"C2PA manifest declares AI generation ({dst}{by}{checked})"
    if value.get("ingredient_ai_generated") is True:
        yield f"C2PA manifest has an AI-generated ingredient ({by[2:] or 'no generator'}{checked})"


# -- parsing ------------------------------------------------------------------------------------


def _parse_score(reader: NodeReader, node: Node) -> Condition:
    keys = reader.fields(node, "score", SCORE_KEYS, ("signal",))
    signal = _one_of(reader, keys["signal"], "signal", SCORE_SIGNALS)
    low = reader.number(keys["min"], "min", 0, 1) if "min" in keys else None
    high = reader.number(keys["max"], "max", 0, 1) if "max" in keys else None
    if low is None and high is None:
        raise reader.error(node, "score needs min, max or both")
    if low is not None and high is not None and low > high:
        raise reader.error(keys["max"], f"max {high:g} is below min {low:g}")
    return ScoreCondition(signal, low, high)


def _parse_context(reader: NodeReader, node: Node) -> Condition:
    keys = reader.fields(node, "context", CONTEXT_KEYS)
    if not keys:
        raise reader.error(node, f"context needs at least one of {', '.join(CONTEXT_KEYS)}")
    categories = None
    if "categories" in keys:
        categories = reader.strings(keys["categories"], "categories")
        for name in categories:
            if not CATEGORY_NAME.fullmatch(name):
                raise reader.error(keys["categories"], f"category {name!r} must be snake_case")
    terms = reader.strings(keys["terms"], "terms") if "terms" in keys else None
    return ContextCondition(
        categories=frozenset(categories) if categories else None,
        terms=frozenset(t.casefold() for t in terms) if terms else None,
        min_score=reader.number(keys["min_score"], "min_score", 0, 1)
        if "min_score" in keys
        else None,
        known_bot=reader.true(keys["known_bot"], "known_bot") if "known_bot" in keys else False,
    )


def _parse_provenance(reader: NodeReader, node: Node) -> Condition:
    keys = reader.fields(node, "provenance", PROVENANCE_KEYS)
    if not keys:
        raise reader.error(node, f"provenance needs at least one of {', '.join(PROVENANCE_KEYS)}")
    generators = _true_or_names(reader, keys.get("generator"), "generator", GENERATOR_NAMES)
    return ProvenanceCondition(
        c2pa_ai=reader.true(keys["c2pa_ai"], "c2pa_ai") if "c2pa_ai" in keys else False,
        watermarks=_true_or_names(reader, keys.get("watermark"), "watermark", tuple(PAYLOADS)),
        generators=frozenset(g.casefold() for g in generators) if generators is not None else None,
        synthetic_min=reader.number(keys["synthetic_min"], "synthetic_min", 0, 1)
        if "synthetic_min" in keys
        else None,
    )


def _parse_finding(reader: NodeReader, node: Node) -> Condition:
    keys = reader.fields(node, "finding", FINDING_KEYS, ("signal",))
    signal = _one_of(reader, keys["signal"], "signal", FINDING_SIGNALS)
    statuses = None
    if "status" in keys:
        statuses = reader.strings(keys["status"], "status")
        for status in statuses:
            if status not in STATUSES:
                raise reader.error(
                    keys["status"], f"status {status!r} is not one of {', '.join(STATUSES)}"
                )
    present = reader.boolean(keys["present"], "present") if "present" in keys else None
    if statuses is None and present is None:
        raise reader.error(node, "finding needs status, present or both")
    return FindingCondition(signal, frozenset(statuses) if statuses else None, present)


def _one_of(reader: NodeReader, node: Node, what: str, options: tuple[str, ...]) -> str:
    value = reader.string(node, what)
    if value not in options:
        raise reader.error(node, f"{what} {value!r} is not one of {', '.join(options)}")
    return value


def _true_or_names(
    reader: NodeReader, node: Node | None, what: str, options: tuple[str, ...]
) -> frozenset[str] | None:
    """``true`` (any) -> empty set; a name or list of names -> those (checked, case-insensitive
    against ``options``); absent -> ``None``."""
    if node is None:
        return None
    if node.tag == BOOL:
        reader.true(node, what)
        return frozenset()
    folded = {o.casefold(): o for o in options}
    names = reader.strings(node, what)
    for name in names:
        if name.casefold() not in folded:
            raise reader.error(node, f"{what} {name!r} is not one of {', '.join(options)}, or true")
    return frozenset(folded[n.casefold()] for n in names)


FINDING_KEYS_BY_KIND: dict[str, tuple[str, ...]] = {
    "score": SCORE_KEYS,
    "context": CONTEXT_KEYS,
    "provenance": PROVENANCE_KEYS,
    "finding": FINDING_KEYS,
}
FINDING_PARSERS: dict[str, Callable[[NodeReader, Node], Condition]] = {
    "score": _parse_score,
    "context": _parse_context,
    "provenance": _parse_provenance,
    "finding": _parse_finding,
}
