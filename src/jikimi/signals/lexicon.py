"""Context lexicons: normalising text against obfuscation, and loading lexicons as checked data.

**Normalisation.** Matching runs on a normalised copy of the text that keeps, for every character,
the span of the original it came from, so a finding quotes the original. Per character: Unicode
NFKD (full-width Latin, ligatures, compatibility jamo), ``str.casefold``, combining marks dropped
(accents, "zalgo" text); zero-width and other format characters and Hangul fillers vanish;
whitespace, punctuation, symbols and emoji become separators, collapsed to one space. Then runs of
leetspeak characters (``0 1 3 4 5 7 @ $``) touching a Latin letter become letters (``d33pfake``),
and Hangul conjoining jamo are recomposed into syllables, as in NFC, also when typed as
compatibility jamo (``ㄷㅣㅂ`` -> ``딥``). Lexicon terms go through the same function, so a term
and its obfuscated spellings meet in the middle.

**Lexicon files** are YAML, validated at load after Osprey's rules-as-data habit: unknown keys are
rejected, errors name the file and line (:class:`LexiconError`), regexes are compiled once. The
format is documented at the top of the shipped files (``signals/lexicons/*.yaml``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from jikimi.errors import LexiconError

__all__ = [
    "KnownBot",
    "LexiconError",
    "Lexicons",
    "Normalised",
    "Rule",
    "load_lexicons",
    "normalise",
    "shipped_lexicon_paths",
]

FORMAT_VERSION = 1
MAX_PATTERN_CHARS = 500
MAX_PATTERN_REPEAT = 32
# Telegram usernames are 5-32 characters; a bot's ends in "bot".
BOT_NAME = re.compile(r"[a-z][a-z0-9_]{1,28}bot", re.ASCII)
CATEGORY_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}", re.ASCII)
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?", re.ASCII)


# ---------------------------------------------------------------------------------------------
# Normalisation

_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u180e\u034f")
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
# Choseong index -> jongseong index (trailing consonant), for consonants that can end a syllable.
_L_TO_T = {0: 1, 1: 2, 2: 4, 3: 7, 5: 8, 6: 16, 7: 17, 9: 19, 10: 20, 11: 21, 12: 22, 14: 23}
_L_TO_T |= {15: 24, 16: 25, 17: 26, 18: 27}


@functools.lru_cache(maxsize=16384)
def _fold(c: str) -> str:
    """One original character as normalised characters; separators as " "."""
    if c in _INVISIBLE:
        return ""
    out: list[str] = []
    for d in unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", c).casefold()):
        cat = unicodedata.category(d)
        if (cat[0] in "LN" and d not in _INVISIBLE) or d in _LEET:
            out.append(d)
        elif cat in ("Mn", "Me", "Cf") or d in _INVISIBLE:
            continue
        else:
            out.append(" ")
    return "".join(out)


def _script(ch: str) -> str:
    if "\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff":
        return "hangul"
    if "a" <= ch <= "z":
        return "latin"
    if ch.isdigit():
        return "digit"
    return "alpha" if ch.isalpha() else "other"


@dataclass(frozen=True, slots=True)
class Normalised:
    """A normalised copy of ``original``; character ``i`` of ``text`` came from
    ``original[starts[i]:ends[i]]``."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def boundary(self, i: int) -> bool:
        """Whether a word starts or ends at ``i``: a separator, an edge or a change of script
        (``df방`` is the word ``df`` followed by a Korean suffix)."""
        t = self.text
        if i <= 0 or i >= len(t) or t[i - 1] == " " or t[i] == " ":
            return True
        return _script(t[i - 1]) != _script(t[i])

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]``, without separators at its edges."""
        while start < end and self.text[start] == " ":
            start += 1
        while end > start and self.text[end - 1] == " ":
            end -= 1
        if start == end:
            return (0, 0)
        return (self.starts[start], self.ends[end - 1])


def normalise(text: str) -> Normalised:
    """``text`` normalised for matching (see the module docstring), with original spans."""
    chars: list[str] = []
    starts: list[int] = []
    for i, c in enumerate(text):
        for d in _fold(c):
            if d == " " and (not chars or chars[-1] == " "):
                continue
            chars.append(d)
            starts.append(i)
    _resolve_leet(chars)
    return _compose_hangul(text, chars, starts)


def _resolve_leet(chars: list[str]) -> None:
    """Runs of leet characters touching a Latin letter become letters; otherwise their symbols
    become separators and their digits stay digits ("1000 photos" is not "iooo photos")."""
    n, i = len(chars), 0
    while i < n:
        if chars[i] not in _LEET:
            i += 1
            continue
        j = i
        while j < n and chars[j] in _LEET:
            j += 1
        latin = (i > 0 and "a" <= chars[i - 1] <= "z") or (j < n and "a" <= chars[j] <= "z")
        for k in range(i, j):
            if latin:
                chars[k] = _LEET[chars[k]]
            elif not chars[k].isdigit():
                chars[k] = " "
        i = j


def _compose_hangul(original: str, chars: list[str], starts: list[int]) -> Normalised:
    """Conjoining jamo L V (T) -> syllable (the Unicode Hangul composition algorithm, plus a
    leading consonant taken as the final when no vowel follows it, as a Korean keyboard does);
    separators collapsed."""
    out: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    n, i = len(chars), 0
    while i < n:
        c, j = chars[i], i + 1
        if j < n and 0x1100 <= ord(c) <= 0x1112 and 0x1161 <= ord(chars[j]) <= 0x1175:
            code = 0xAC00 + ((ord(c) - 0x1100) * 21 + ord(chars[j]) - 0x1161) * 28
            j += 1
            if j < n and 0x11A8 <= ord(chars[j]) <= 0x11C2:
                code += ord(chars[j]) - 0x11A7
                j += 1
            elif (
                j < n
                and ord(chars[j]) - 0x1100 in _L_TO_T
                and (j + 1 >= n or not 0x1161 <= ord(chars[j + 1]) <= 0x1175)
            ):
                code += _L_TO_T[ord(chars[j]) - 0x1100]
                j += 1
            c = chr(code)
        if c == " " and (not out or out[-1] == " "):
            i = j
            continue
        out.append(c)
        out_starts.append(starts[i])
        out_ends.append(starts[j - 1] + 1)
        i = j
    return Normalised(original, "".join(out), tuple(out_starts), tuple(out_ends))


# ---------------------------------------------------------------------------------------------
# Compiled lexicons


@dataclass(frozen=True, slots=True)
class Rule:
    """One term, whole word or pattern of one category, compiled to run on normalised text."""

    category: str
    term: str  # as written in the lexicon
    language: str
    weight: float
    regex: re.Pattern[str]
    whole_word: bool
    source: str  # "path:line"

    def find(self, norm: Normalised) -> Iterator[tuple[int, int]]:
        """Spans of ``norm.text`` this rule matches. A whole word must start and end at word
        boundaries; any other match that spans several words must start at a word start (so
        "fun dress" is not "undress" but "d e e p f a k e" is "deepfake")."""
        text, pos = norm.text, 0
        while pos < len(text):
            m = self.regex.search(text, pos)
            if m is None:
                return
            s, e = m.span()
            if self.whole_word:
                ok = norm.boundary(s) and norm.boundary(e)
            else:
                ok = e > s and (" " not in text[s:e] or norm.boundary(s))
            if ok:
                yield s, e
                pos = e
            else:
                pos = s + 1


@dataclass(frozen=True, slots=True)
class KnownBot:
    name: str
    category: str | None
    weight: float
    source: str


@dataclass(frozen=True, slots=True)
class Lexicons:
    """Every rule and known bot from a set of lexicon files, in load order."""

    rules: tuple[Rule, ...]
    bots: dict[str, KnownBot]
    files: tuple[str, ...]


def shipped_lexicon_paths() -> list[Path]:
    folder = files("jikimi.signals") / "lexicons"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_lexicons(paths: list[Path], extra_dir: Path | None = None) -> Lexicons:
    """Load and validate ``paths`` and every ``*.yaml`` in ``extra_dir``; raise
    :class:`LexiconError` at the first problem. A term already loaded (same category, same
    normalised form) or a bot already listed is kept from the first file that has it."""
    all_paths = list(paths)
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise LexiconError(str(extra_dir), 0, "context_lexicon_dir is not a folder")
        all_paths += sorted(extra_dir.glob("*.yaml"))
    rules: list[Rule] = []
    bots: dict[str, KnownBot] = {}
    seen: set[tuple[str, str, bool]] = set()
    for path in all_paths:
        for rule in _Loader(path).load_into(bots):
            key = (rule.category, rule.regex.pattern, rule.whole_word)
            if key not in seen:
                seen.add(key)
                rules.append(rule)
    return Lexicons(tuple(rules), bots, tuple(str(p) for p in all_paths))


class _Loader:
    """Reads one file as YAML nodes (which keep line numbers) and checks it key by key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: Node | None, message: str) -> LexiconError:
        line = node.start_mark.line + 1 if node is not None else 1
        return LexiconError(str(self.path), line, message)

    def load_into(self, bots: dict[str, KnownBot]) -> list[Rule]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LexiconError(str(self.path), 0, f"cannot read lexicon: {exc}") from exc
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            raise LexiconError(str(self.path), line, f"not valid YAML: {exc.problem}") from exc
        except yaml.YAMLError as exc:
            raise LexiconError(str(self.path), 1, f"not valid YAML: {exc}") from exc
        if root is None:
            raise LexiconError(str(self.path), 1, "empty lexicon file")
        head = self.mapping(root, "the file", {"kind", "version"}, {"kind", "version"}, loose=True)
        if self.number(head["version"], "version") != FORMAT_VERSION:
            raise self.error(head["version"], f"version must be {FORMAT_VERSION}")
        match self.string(head["kind"], "kind"):
            case "terms":
                return self.terms(root)
            case "bots":
                self.bots(root, bots)
                return []
            case other:
                raise self.error(head["kind"], f"kind must be 'terms' or 'bots', not {other!r}")

    # -- node helpers ---------------------------------------------------------------------------

    def mapping(
        self,
        node: Node,
        what: str,
        allowed: set[str],
        required: set[str],
        *,
        loose: bool = False,
    ) -> dict[str, Node]:
        """``node`` as a mapping of allowed keys; with ``loose`` unknown keys are left for a
        later, stricter read of the same node."""
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        out: dict[str, Node] = {}
        for key_node, value in node.value:
            key = self.string(key_node, "a key")
            if key in out:
                raise self.error(key_node, f"duplicate key {key!r} in {what}")
            if key not in allowed and not loose:
                raise self.error(
                    key_node,
                    f"unknown key {key!r} in {what}; allowed: {', '.join(sorted(allowed))}",
                )
            out[key] = value
        for key in sorted(required - out.keys()):
            raise self.error(node, f"{what} lacks required key {key!r}")
        return out

    def string(self, node: Node, what: str) -> str:
        if not isinstance(node, ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise self.error(node, f"{what} must be a text")
        return str(node.value)

    def number(self, node: Node, what: str) -> float:
        try:
            return float(self.string(node, what))
        except ValueError:
            raise self.error(node, f"{what} must be a number") from None

    def weight(self, node: Node) -> float:
        w = self.number(node, "weight")
        if not 0 < w <= 1:
            raise self.error(node, f"weight must be in (0, 1], not {w}")
        return w

    def strings(self, node: Node, what: str) -> list[tuple[str, Node]]:
        if not isinstance(node, SequenceNode):
            raise self.error(node, f"{what} must be a list")
        return [(self.string(item, f"each of {what}"), item) for item in node.value]

    # -- kinds ----------------------------------------------------------------------------------

    def terms(self, root: Node) -> list[Rule]:
        keys = self.mapping(
            root,
            "a terms lexicon",
            {"kind", "version", "language", "description", "categories"},
            {"language", "categories"},
        )
        language = self.string(keys["language"], "language")
        if not LANGUAGE_CODE.fullmatch(language):
            raise self.error(
                keys["language"], f"language must be a code like 'ko', not {language!r}"
            )
        categories = keys["categories"]
        if not isinstance(categories, MappingNode) or not categories.value:
            raise self.error(categories, "categories must be a non-empty mapping")
        self.mapping(categories, "categories", set(), set(), loose=True)  # duplicates
        rules: list[Rule] = []
        for key_node, body in categories.value:
            name = self.string(key_node, "a category name")
            if not CATEGORY_NAME.fullmatch(name):
                raise self.error(key_node, f"category name {name!r} must be snake_case")
            rules += self.category(name, key_node, body, language)
        return rules

    def category(self, name: str, key_node: Node, body: Node, language: str) -> list[Rule]:
        keys = self.mapping(
            body,
            f"category {name!r}",
            {"weight", "description", "terms", "words", "patterns"},
            {"weight"},
        )
        weight = self.weight(keys["weight"])
        rules: list[Rule] = []
        for field, whole in (("terms", False), ("words", True)):
            for term, node in self.strings(keys.get(field, SequenceNode("", [])), field):
                compact = normalise(term).text.replace(" ", "")
                if len(compact) < 2:
                    raise self.error(node, f"{field[:-1]} {term!r} normalises to under 2 letters")
                regex = re.compile(" ?".join(re.escape(ch) for ch in compact))
                rules.append(Rule(name, term, language, weight, regex, whole, self.where(node)))
        for pattern, node in self.strings(keys.get("patterns", SequenceNode("", [])), "patterns"):
            regex = self.pattern(pattern, node)
            rules.append(Rule(name, pattern, language, weight, regex, False, self.where(node)))
        if not rules:
            raise self.error(key_node, f"category {name!r} has no terms, words or patterns")
        return rules

    def pattern(self, pattern: str, node: Node) -> re.Pattern[str]:
        pattern = unicodedata.normalize("NFC", pattern)
        if len(pattern) > MAX_PATTERN_CHARS:
            raise self.error(node, f"pattern longer than {MAX_PATTERN_CHARS} characters")
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise self.error(node, f"bad regex {pattern!r}: {exc}") from None
        problem = _unsafe(pattern)
        if problem:
            raise self.error(node, f"pattern {pattern!r} {problem}")
        if regex.search("") is not None:
            raise self.error(node, f"pattern {pattern!r} matches empty text")
        return regex

    def bots(self, root: Node, bots: dict[str, KnownBot]) -> None:
        keys = self.mapping(
            root,
            "a bots list",
            {"kind", "version", "description", "weight", "bots"},
            {"weight", "bots"},
        )
        weight = self.weight(keys["weight"])
        listed = keys["bots"]
        if not isinstance(listed, SequenceNode):
            raise self.error(listed, "bots must be a list")
        for item in listed.value:
            entry = self.mapping(item, "a bot", {"name", "category", "note"}, {"name"})
            name = self.string(entry["name"], "name").lstrip("@").lower()
            if not BOT_NAME.fullmatch(name):
                raise self.error(
                    entry["name"],
                    f"{name!r} is not a Telegram bot username (5-32 of a-z, 0-9, _; ends in bot)",
                )
            category = None
            if "category" in entry:
                category = self.string(entry["category"], "category")
                if not CATEGORY_NAME.fullmatch(category):
                    raise self.error(entry["category"], "category must be snake_case")
            bots.setdefault(name, KnownBot(name, category, weight, self.where(item)))

    def where(self, node: Node) -> str:
        return f"{self.path}:{node.start_mark.line + 1}"


def _unsafe(pattern: str) -> str | None:
    """Why a pattern could make the scan slow, or None. Patterns are a restricted dialect so
    that matching stays about linear in the text: every repeat bounded (at most
    ``MAX_PATTERN_REPEAT``), no repeat inside another (an optional ``?`` is fine), no
    backreferences. Python's ``re`` backtracks and has no time limit, so this is checked here."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    repeats = {c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)}

    def walk(items: object, inside_repeat: bool) -> str | None:
        for op, av in items:  # type: ignore[attr-defined]
            if op in (c.GROUPREF, c.GROUPREF_EXISTS):
                return "uses a backreference; not allowed"
            if op in repeats:
                _low, high, sub = av
                if high == c.MAXREPEAT or high > MAX_PATTERN_REPEAT:
                    return f"has an unbounded repeat; write {{0,N}} with N <= {MAX_PATTERN_REPEAT}"
                if high > 1 and inside_repeat:
                    return "nests a repeat inside a repeat; not allowed (catastrophic backtracking)"
                found = walk(sub, inside_repeat or high > 1)
            else:
                found = None
                for part in av if isinstance(av, tuple | list) else (av,):
                    if isinstance(part, _parser.SubPattern):
                        found = found or walk(part, inside_repeat)
                    elif isinstance(part, list):
                        for sub in part:
                            if isinstance(sub, _parser.SubPattern):
                                found = found or walk(sub, inside_repeat)
            if found:
                return found
        return None

    return walk(_parser.parse(pattern), False)
