"""The conditions of the rule language, parsed from YAML nodes and tested against item facts.

A condition is one mapping with one key, its kind: ``match``, ``person_match``, ``score``,
``context``, ``provenance``, ``finding``, or ``all`` / ``any`` / ``not`` of conditions. Testing
a condition returns ``None`` when it does not hold, else a :class:`Hit`: the facts that satisfied
it, in words a reviewer reads, and the bank matches among them (the safeguard that only bank
matches may remove automatically looks at those). Conditions hold over the whole item: any
media, or the item's text. The reference for every key is docs/policy.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from yaml.nodes import Node

from jikimi.model import Match
from jikimi.policy.facts import ItemFacts
from jikimi.policy.findings import FINDING_KEYS_BY_KIND, FINDING_PARSERS
from jikimi.policy.hits import Hit, capped, distance_text, merge
from jikimi.policy.nodes import NodeReader

__all__ = [
    "BANK_KINDS",
    "CONDITION_KEYS",
    "MATCH_SIGNAL_TYPES",
    "AllOf",
    "AnyOf",
    "Condition",
    "MatchCondition",
    "Not",
    "PersonMatch",
    "parse_condition",
]

BANK_KINDS = ("known-abuse", "known-benign")
# The signal types banks hold (jikimi.matching.exact.EXACT_SIGNAL_TYPES, pdq, vpdq).
MATCH_SIGNAL_TYPES = ("md5", "pdq", "sha1", "sha256", "video_md5", "vpdq")
MATCH_KEYS = (
    "bank",
    "bank_kind",
    "signal_type",
    "max_distance",
    "auto_action",
    "minors",
    "include_suppressed",
)
PERSON_KEYS = ("person", "max_distance")
# Every condition kind and the keys it takes (combinators take conditions, not keys).
CONDITION_KEYS: dict[str, tuple[str, ...]] = {
    "match": MATCH_KEYS,
    "person_match": PERSON_KEYS,
    **FINDING_KEYS_BY_KIND,
    "all": (),
    "any": (),
    "not": (),
}


class Condition(Protocol):
    """One compiled condition."""

    def test(self, facts: ItemFacts) -> Hit | None:
        """The facts that satisfy the condition, or ``None`` when it does not hold."""
        ...

    def describe(self) -> str:
        """What the condition asks for, in words (used for ``not``)."""
        ...

    def requires_bank_match(self) -> bool:
        """Whether the condition can only hold when a bank match that could be in a
        known-abuse, auto-action bank holds (the load-time check of ``remove`` rules)."""
        ...


@dataclass(frozen=True, slots=True)
class MatchCondition:
    """A match in a bank, by bank name, bank kind, signal type, distance and bank flags."""

    banks: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    signal_types: frozenset[str] | None = None
    max_distance: float | None = None
    auto_action: bool | None = None
    minors: bool | None = None
    include_suppressed: bool = False

    def test(self, facts: ItemFacts) -> Hit | None:
        found = [m for m in facts.bank_matches(self.include_suppressed) if self._fits(m, facts)]
        if not found:
            return None
        return Hit(capped(_match_fact(m, facts) for m in found), tuple(found))

    def _fits(self, m: Match, facts: ItemFacts) -> bool:
        spec = facts.bank(m.bank)
        checks = (
            self.banks is None or m.bank in self.banks,
            self.kinds is None or m.bank_kind in self.kinds,
            self.signal_types is None or m.signal_type in self.signal_types,
            self.max_distance is None or _within(m.distance, self.max_distance),
            self.auto_action is None or bool(spec and spec.auto_action) == self.auto_action,
            self.minors is None or bool(spec and spec.minors) == self.minors,
        )
        return all(checks)

    def describe(self) -> str:
        parts = []
        if self.signal_types:
            parts.append("/".join(sorted(self.signal_types)))
        parts.append("match")
        if self.banks:
            parts.append("in bank " + " or ".join(repr(b) for b in sorted(self.banks)))
        if self.kinds:
            parts.append("(" + " or ".join(sorted(self.kinds)) + ")")
        flags = {"auto-action": self.auto_action, "minors": self.minors}
        parts += [f"{'' if v else 'not '}{k}" for k, v in flags.items() if v is not None]
        if self.max_distance is not None:
            parts.append(f"at distance <= {distance_text(self.max_distance)}")
        return " ".join(parts)

    def requires_bank_match(self) -> bool:
        return (self.kinds is None or "known-abuse" in self.kinds) and self.auto_action is not False


@dataclass(frozen=True, slots=True)
class PersonMatch:
    """A face matching a protected person, optionally a given person, within a distance."""

    persons: frozenset[str] | None = None
    max_distance: float | None = None

    def test(self, facts: ItemFacts) -> Hit | None:
        found = [
            m
            for m in facts.person_matches()
            if (self.persons is None or m.person in self.persons)
            and (self.max_distance is None or _within(m.distance, self.max_distance))
        ]
        if not found:
            return None
        # By id only: a verdict's reasons travel further than the person's record does.
        return Hit(
            capped(
                f"face matches protected person {m.person!r} at distance "
                f"{distance_text(m.distance)}"
                for m in found
            )
        )

    def describe(self) -> str:
        who = " or ".join(repr(p) for p in sorted(self.persons)) if self.persons else "any"
        limit = "" if self.max_distance is None else f" at distance <= {self.max_distance:g}"
        return f"a face matching protected person {who}{limit}"

    def requires_bank_match(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every condition holds."""

    conditions: tuple[Condition, ...]

    def test(self, facts: ItemFacts) -> Hit | None:
        hits = []
        for c in self.conditions:
            hit = c.test(facts)
            if hit is None:
                return None
            hits.append(hit)
        return merge(hits)

    def describe(self) -> str:
        return "all of (" + "; ".join(c.describe() for c in self.conditions) + ")"

    def requires_bank_match(self) -> bool:
        return any(c.requires_bank_match() for c in self.conditions)


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one condition holds; the facts of every one that holds are reported."""

    conditions: tuple[Condition, ...]

    def test(self, facts: ItemFacts) -> Hit | None:
        hits = [h for h in (c.test(facts) for c in self.conditions) if h is not None]
        return merge(hits) if hits else None

    def describe(self) -> str:
        return "any of (" + "; ".join(c.describe() for c in self.conditions) + ")"

    def requires_bank_match(self) -> bool:
        return all(c.requires_bank_match() for c in self.conditions)


@dataclass(frozen=True, slots=True)
class Not:
    """The condition does not hold. Its matches never count as grounds for anything."""

    condition: Condition

    def test(self, facts: ItemFacts) -> Hit | None:
        if self.condition.test(facts) is not None:
            return None
        return Hit((f"no {self.condition.describe()}",))

    def describe(self) -> str:
        return f"not {self.condition.describe()}"

    def requires_bank_match(self) -> bool:
        return False


def _within(distance: object, limit: float) -> bool:
    if isinstance(distance, bool) or not isinstance(distance, int | float):
        return False
    return 0 <= distance <= limit


def _match_fact(m: Match, facts: ItemFacts) -> str:
    spec = facts.bank(m.bank)
    flags = [m.bank_kind]
    if spec is not None and spec.auto_action:
        flags.append("auto-action")
    if spec is not None and spec.minors:
        flags.append("minors")
    text = (
        f"{m.signal_type} match in bank {m.bank!r} ({', '.join(flags)}) "
        f"at distance {distance_text(m.distance)}"
    )
    if m.transform:
        text += f" ({m.transform})"
    if m.suppressed_by:
        text += f", suppressed by {m.suppressed_by}"
    return text


# -- parsing ------------------------------------------------------------------------------------

Parser = Callable[[NodeReader, Node], Condition]
T = TypeVar("T")


def parse_condition(reader: NodeReader, node: Node) -> Condition:
    """One condition: a mapping with exactly one key, the condition's kind."""
    parsers: dict[str, Parser] = {
        "match": _parse_match,
        "person_match": _parse_person,
        "all": _parse_all,
        "any": _parse_any,
        "not": _parse_not,
        **FINDING_PARSERS,
    }
    keys = reader.mapping(node, "a condition", parsers)
    if len(keys) != 1:
        raise reader.error(
            node,
            f"a condition has exactly one kind, not {len(keys)} ({', '.join(keys) or 'none'}); "
            "combine several with all: [...] or any: [...]",
        )
    ((kind, (_, body)),) = keys.items()
    return parsers[kind](reader, body)


def _parse_match(reader: NodeReader, node: Node) -> Condition:
    get = reader.fields(node, "match", MATCH_KEYS, nullable=True)
    kinds = _choices(reader, get.get("bank_kind"), "bank_kind", BANK_KINDS, person_hint=True)
    types = _choices(reader, get.get("signal_type"), "signal_type", MATCH_SIGNAL_TYPES)
    return MatchCondition(
        banks=frozenset(reader.strings(get["bank"], "bank")) if "bank" in get else None,
        kinds=kinds,
        signal_types=types,
        max_distance=_opt(get, "max_distance", lambda n: reader.number(n, "max_distance", 0)),
        auto_action=_opt(get, "auto_action", lambda n: reader.boolean(n, "auto_action")),
        minors=_opt(get, "minors", lambda n: reader.boolean(n, "minors")),
        include_suppressed=bool(
            _opt(get, "include_suppressed", lambda n: reader.boolean(n, "include_suppressed"))
        ),
    )


def _parse_person(reader: NodeReader, node: Node) -> Condition:
    get = reader.fields(node, "person_match", PERSON_KEYS, nullable=True)
    persons = reader.strings(get["person"], "person") if "person" in get else None
    return PersonMatch(
        persons=frozenset(persons) if persons else None,
        max_distance=_opt(get, "max_distance", lambda n: reader.number(n, "max_distance", 0)),
    )


def _parse_all(reader: NodeReader, node: Node) -> Condition:
    return AllOf(_parse_list(reader, node, "all"))


def _parse_any(reader: NodeReader, node: Node) -> Condition:
    return AnyOf(_parse_list(reader, node, "any"))


def _parse_not(reader: NodeReader, node: Node) -> Condition:
    return Not(parse_condition(reader, node))


def _parse_list(reader: NodeReader, node: Node, what: str) -> tuple[Condition, ...]:
    items = reader.sequence(node, what)
    if not items:
        raise reader.error(node, f"{what} needs at least one condition")
    return tuple(parse_condition(reader, item) for item in items)


def _choices(
    reader: NodeReader,
    node: Node | None,
    what: str,
    options: Iterable[str],
    *,
    person_hint: bool = False,
) -> frozenset[str] | None:
    if node is None:
        return None
    values = reader.strings(node, what)
    for value in values:
        if value not in options:
            hint = (
                "; use person_match for protected persons"
                if person_hint and value == "protected-person"
                else ""
            )
            raise reader.error(node, f"{what} {value!r} is not one of {', '.join(options)}{hint}")
    return frozenset(values)


def _opt(get: dict[str, Node], key: str, read: Callable[[Node], T]) -> T | None:
    return read(get[key]) if key in get else None
