"""The ``context`` signal: where deepfake sexual-abuse imagery is traded, read from the text.

Captions, chat titles, usernames and any other text field of an item are matched against
lexicons (Korean and English ship; operators add theirs) of the words that mark the practice:
deepfake, "humiliation rooms" (지인능욕), "mutual-acquaintance rooms" (겹지인), rooms organised by
school, nudify and face-swap tools, words that say the people shown are children. Telegram bot
links and mentions are extracted from every field and checked against known generator bots.
Matching runs on a normalised copy of the text that defeats common obfuscation (see
:mod:`jikimi.signals.lexicon`); a match quotes the original.

The finding's value::

    {"matches": [{"category", "term", "field", "text", "language"}],
     "bots": [{"name", "field", "known", "category"?}],
     "categories": [...], "score": 0..1,
     "truncated"?: {"fields": [...], "max_chars": N}, "ignored_fields"?: [...]}

``term`` is the lexicon term (or pattern) as written, ``text`` the matched original, at most
``SNIPPET_CHARS`` characters. One match is reported per category, term and field (the first);
a match inside a longer match of the same category is not reported. ``score`` is
``1 - prod(1 - w)`` over the distinct categories found, ``w`` being the highest weight of the
category's matches, with known bots as one more category (``known_bot``, weight from the bots
list): one strong category scores its weight, independent categories add up without ever
reaching 1. Unknown bots are reported but do not score. ``present`` is true when anything
matched or a known bot was mentioned. It is context: a reason to look, never alone a ground for
removal (DESIGN.md, "hash first, humans decide").

Hostile text is bounded: each field is scanned up to ``MAX_CHARS_PER_FIELD`` characters (longer
fields are cut and listed under ``truncated``; Telegram's own limit is 4,096), at most
``MAX_FIELDS`` fields, lone surrogates are replaced, and lexicon patterns are a restricted regex
dialect with no nested or unbounded repeats.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jikimi.settings import Settings
from jikimi.signals.extractor import CostClass, Finding, ModelInfo, TextInput
from jikimi.signals.lexicon import (
    BOT_NAME,
    Lexicons,
    Normalised,
    Rule,
    load_lexicons,
    normalise,
    shipped_lexicon_paths,
)

__all__ = [
    "MAX_CHARS_PER_FIELD",
    "MAX_FIELDS",
    "NAME",
    "VERSION",
    "ContextExtractor",
    "extract_bots",
    "load",
    "load_context",
]

NAME = "context"
VERSION = "1"
MAX_CHARS_PER_FIELD = 65_536
MAX_FIELDS = 64
SNIPPET_CHARS = 80
HITS_PER_RULE = 8  # occurrences looked at per rule and field before deduplication
KNOWN_BOT = "known_bot"

_NAME = r"([a-z][a-z0-9_]{1,28}bot)(?![a-z0-9_])"
_LINK = r"(?<![a-z0-9_.-])(?:https?://)?(?:www\.)?(?:t|telegram)\.(?:me|dog)/(?:s/)?@?"
_RESOLVE = r"(?<![a-z0-9_])tg://resolve\?(?:[^\s#&]{0,256}&){0,8}domain=@?"
_MENTION = r"(?<![a-z0-9_.@/])@"
_BOT_REFERENCE = re.compile(
    f"{_LINK}{_NAME}|{_RESOLVE}{_NAME}|{_MENTION}{_NAME}",
    re.IGNORECASE | re.ASCII,
)


def extract_bots(text: str) -> list[str]:
    """Telegram bot usernames (lower case, in order, once each) linked or mentioned in
    ``text``: ``t.me/<name>bot``, ``telegram.me/...``, ``tg://resolve?domain=<name>bot``,
    ``@<name>bot``; or ``text`` itself when it is a bare bot username (a username field)."""
    found: dict[str, None] = {}
    bare = text.strip().lstrip("@").lower()
    if len(bare) <= 32 and BOT_NAME.fullmatch(bare):
        found[bare] = None
    for m in _BOT_REFERENCE.finditer(text):
        name = next(g for g in m.groups() if g)
        found[name.lower()] = None
    return list(found)


class ContextExtractor:
    """Lexicon and bot matching over the text fields of an item."""

    name = NAME
    version = VERSION
    media: tuple[str, ...] = ("text",)
    cost: CostClass = "cheap"

    def __init__(self, lexicons: Lexicons, *, max_chars: int = MAX_CHARS_PER_FIELD) -> None:
        self.lexicons = lexicons
        self.max_chars = max_chars

    def models(self) -> list[ModelInfo]:
        return []

    def extract_text(self, items: Sequence[TextInput]) -> list[Finding]:
        return [self._one(item) for item in items]

    def _one(self, item: TextInput) -> Finding:
        start = time.perf_counter()
        try:
            finding = self._scan(item)
        except Exception as exc:  # one bad input must not spoil the batch (failures are data)
            finding = Finding.failed(NAME, VERSION, f"context scan failed: {exc!r}")
        finding.duration_ms = (time.perf_counter() - start) * 1000
        return finding

    def _scan(self, item: TextInput) -> Finding:
        fields = item.fields if isinstance(item.fields, dict) else {}
        matches: list[dict[str, Any]] = []
        bots: list[dict[str, Any]] = []
        truncated: list[str] = []
        ignored: list[str] = []
        for n, (where, raw) in enumerate(fields.items()):
            field = str(where)
            if n >= MAX_FIELDS or not isinstance(raw, str):
                if raw is not None:
                    ignored.append(field)
                continue
            if len(raw) > self.max_chars:
                truncated.append(field)
                raw = raw[: self.max_chars]
            text = _clean(raw)
            matches += self._matches(field, normalise(text))
            bots += self._bots(field, text)
        return self._finding(matches, bots, truncated, ignored)

    def _matches(self, field: str, norm: Normalised) -> list[dict[str, Any]]:
        hits: list[tuple[int, int, Rule]] = []
        for rule in self.lexicons.rules:
            for k, (s, e) in enumerate(rule.find(norm)):
                hits.append((s, e, rule))
                if k + 1 >= HITS_PER_RULE:
                    break
        hits.sort(key=lambda h: (h[0], h[0] - h[1]))
        kept: list[tuple[int, int, Rule]] = []
        reported: set[tuple[str, str]] = set()
        out: list[dict[str, Any]] = []
        for s, e, rule in hits:
            if any(k.category == rule.category and ks <= s and e <= ke for ks, ke, k in kept):
                continue
            kept.append((s, e, rule))
            if (rule.category, rule.term) in reported:
                continue
            reported.add((rule.category, rule.term))
            a, b = norm.original_span(s, e)
            out.append(
                {
                    "category": rule.category,
                    "term": rule.term,
                    "field": field,
                    "text": _snippet(norm.original[a:b]),
                    "language": rule.language,
                    "weight": rule.weight,
                }
            )
        return out

    def _bots(self, field: str, text: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name in extract_bots(text):
            known = self.lexicons.bots.get(name)
            entry: dict[str, Any] = {"name": name, "field": field, "known": known is not None}
            if known is not None:
                entry["weight"] = known.weight
                if known.category:
                    entry["category"] = known.category
            out.append(entry)
        return out

    def _finding(
        self,
        matches: list[dict[str, Any]],
        bots: list[dict[str, Any]],
        truncated: list[str],
        ignored: list[str],
    ) -> Finding:
        weights: dict[str, float] = {}
        for m in matches:
            weights[m["category"]] = max(weights.get(m["category"], 0.0), m.pop("weight"))
        for b in bots:
            if b["known"]:
                weights[KNOWN_BOT] = max(weights.get(KNOWN_BOT, 0.0), b.pop("weight"))
        score = 1 - math.prod(1 - w for w in weights.values())
        value: dict[str, Any] = {
            "matches": matches,
            "bots": bots,
            "categories": sorted(weights),
            "score": round(score, 4),
        }
        if truncated:
            value["truncated"] = {"fields": truncated, "max_chars": self.max_chars}
        if ignored:
            value["ignored_fields"] = ignored
        present = bool(matches) or any(b["known"] for b in bots)
        return Finding(NAME, "ok", VERSION, value, present=present)


def _clean(text: str) -> str:
    """Lone surrogates (from broken JSON or bytes decoded with ``surrogateescape``) replaced,
    so every snippet encodes as UTF-8; surrogate pairs joined."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _snippet(text: str) -> str:
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def load_context(
    extra_dir: Path | None = None, *, max_chars: int = MAX_CHARS_PER_FIELD
) -> ContextExtractor:
    """The extractor with the shipped lexicons plus every ``*.yaml`` in ``extra_dir``; a lexicon
    that does not validate raises :class:`~jikimi.signals.lexicon.LexiconError` (file:line)."""
    return ContextExtractor(load_lexicons(shipped_lexicon_paths(), extra_dir), max_chars=max_chars)


def load(settings: Settings) -> ContextExtractor:
    """Registry factory (entry point ``context``). A bad lexicon in ``context_lexicon_dir``
    stops loading with its file and line, like a bad setting: silently running without the
    operator's lexicon would hide matches."""
    return load_context(settings.context_lexicon_dir)
