"""What a condition that holds returns, and how facts are worded and bounded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jikimi.model import Match

# Facts one condition reports; hostile items can carry thousands of matches, and a reason is
# read by a person: the rest is summarised as "and N more".
MAX_FACTS = 12


@dataclass(frozen=True, slots=True)
class Hit:
    """A condition held: ``facts`` say on what; ``matches`` are the bank matches among them."""

    facts: tuple[str, ...]
    matches: tuple[Match, ...] = ()


def merge(hits: Iterable[Hit]) -> Hit:
    """The facts (in order, each once) and matches of several hits."""
    facts: dict[str, None] = {}
    matches: list[Match] = []
    for hit in hits:
        facts.update(dict.fromkeys(hit.facts))
        matches.extend(hit.matches)
    return Hit(tuple(facts), tuple(matches))


def capped(facts: Iterable[str]) -> tuple[str, ...]:
    """``facts`` without repeats, at most :data:`MAX_FACTS` of them plus a count of the rest."""
    unique = list(dict.fromkeys(facts))
    if len(unique) <= MAX_FACTS:
        return tuple(unique)
    return (*unique[:MAX_FACTS], f"and {len(unique) - MAX_FACTS} more")


def distance_text(distance: object) -> str:
    """A distance as a reviewer reads it: whole numbers as such, others to 4 places."""
    if isinstance(distance, bool) or not isinstance(distance, int | float):
        return repr(distance)
    if float(distance).is_integer():
        return str(int(distance))
    return f"{distance:.4g}"


def score_text(score: float) -> str:
    return f"{score:.4g}"
