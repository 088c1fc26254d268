"""Evaluating a policy on one item's facts: every rule, then the built-in safeguards.

Every rule is tested; each that holds gives a :class:`~jikimi.model.Reason` with the facts it
held on. The strongest outcome asked for wins (``remove`` > ``review`` > ``allow``); a review
goes to the queue of the firing review rule with the highest priority (the first such rule on
a tie). When no rule fires, the policy's ``default`` decides. Then the safeguards, which no
policy file can turn off (DESIGN.md §2.1, "hash first, humans decide"), each recorded as a
reason ``safeguard:<name>``:

1. ``hash-only-removal``: a ``remove`` stands only for a rule that held on an unsuppressed
   match in a known-abuse bank marked ``auto_action``; any other remove rule is demoted to a
   review (its queue, else the policy's ``review_queue``; its priority, else 90). Classifier
   scores, context, person matches and provenance therefore never remove on their own.
2. ``minors``: an unsuppressed match in a bank marked ``minors``, or a ``context`` finding in
   the ``minors`` category, marks the verdict ``suspected_minor``; such a bank match forces at
   least a review, and every review or remove of a suspected minor goes to the
   ``child_safety`` queue with priority at least 90.
3. ``automated`` is true for ``allow`` and for a ``remove`` that passed safeguard 1, false for
   a review.

Pure and deterministic: the same policy and facts give the same verdict, reasons in rule order
and then the safeguards'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jikimi.model import Match, Outcome, Reason, Verdict
from jikimi.policy.hits import Hit, capped
from jikimi.policy.rules import (
    CHILD_SAFETY_QUEUE,
    DEMOTED_PRIORITY,
    REVIEW_PRIORITY,
    Rule,
)

if TYPE_CHECKING:
    from jikimi.policy.facts import ItemFacts
    from jikimi.policy.rules import Policy

__all__ = ["MINORS_CATEGORY", "MINORS_PRIORITY", "auto_removable", "evaluate"]

MINORS_CATEGORY = "minors"
MINORS_PRIORITY = 90
HASH_ONLY = "safeguard:hash-only-removal"
MINORS = "safeguard:minors"


@dataclass(frozen=True, slots=True)
class _Review:
    """A claim on the review queue: a review rule, or a remove rule the safeguard demoted."""

    rule: str
    queue: str
    priority: int


def evaluate(policy: Policy, facts: ItemFacts) -> Verdict:
    """The verdict of ``policy`` on ``facts`` (see the module docstring)."""
    fired = _fired(policy, facts)
    reasons = [Reason(rule.id, rule.outcome, hit.facts) for rule, hit in fired]
    removes = [(r, h) for r, h in fired if r.outcome == "remove"]
    kept = [r for r, h in removes if any(auto_removable(m, facts) for m in h.matches)]
    demoted = [r for r, _ in removes if all(k.id != r.id for k in kept)]
    reviews = [_review(r, policy) for r, _ in fired if r.outcome == "review"]
    reviews += [_review(r, policy) for r in demoted]
    reasons += [_demotion(r) for r in demoted]

    if not fired:
        reasons.insert(0, Reason("default", policy.default.outcome, (), note="no rule fired"))
    outcome: Outcome = "allow"
    queue, priority, actions = None, 0, ()
    if kept:
        outcome = "remove"
        actions = tuple(dict.fromkeys(a for r in kept for a in r.actions))
        priority = max((r.priority or 0) for r in kept)
    elif reviews:
        best = max(reviews, key=lambda c: c.priority)  # max keeps the first on a tie
        outcome, queue, priority = "review", best.queue, best.priority
    elif not fired and policy.default.outcome == "review":
        outcome, queue = "review", policy.default.queue or policy.review_queue
        priority = _priority(policy.default.priority, REVIEW_PRIORITY)

    minor = _minor_facts(facts)
    if minor.facts:
        if outcome == "allow" and minor.matches:
            outcome = "review"
        if outcome != "allow":
            queue, priority = CHILD_SAFETY_QUEUE, max(priority, MINORS_PRIORITY)
        reasons.append(Reason(MINORS, outcome, minor.facts, note=_minors_note(outcome, minor)))
    if outcome == "remove" and not minor.facts:
        queue, priority = None, 0
    return Verdict(
        outcome=outcome,
        reasons=tuple(reasons),
        policy_version=policy.version,
        automated=outcome != "review",
        queue=queue,
        priority=priority,
        actions=actions if outcome == "remove" else (),
        suspected_minor=bool(minor.facts),
    )


def _fired(policy: Policy, facts: ItemFacts) -> list[tuple[Rule, Hit]]:
    out = []
    for rule in policy.rules:
        hit = rule.condition.test(facts)
        if hit is not None:
            out.append((rule, hit))
    return out


def auto_removable(m: Match, facts: ItemFacts) -> bool:
    """Whether ``m`` may ground an automatic removal: a bank match, not suppressed by a
    known-benign bank, in a bank that is known-abuse and marked ``auto_action``."""
    if not isinstance(m, Match) or m.person is not None or m.suppressed_by is not None:
        return False
    spec = facts.bank(m.bank)
    return (
        m.bank_kind == "known-abuse"
        and spec is not None
        and spec.kind == "known-abuse"
        and spec.auto_action
    )


def _review(rule: Rule, policy: Policy) -> _Review:
    default = DEMOTED_PRIORITY if rule.outcome == "remove" else REVIEW_PRIORITY
    return _Review(rule.id, rule.queue or policy.review_queue, _priority(rule.priority, default))


def _priority(given: int | None, default: int) -> int:
    return default if given is None else given


def _demotion(rule: Rule) -> Reason:
    return Reason(
        HASH_ONLY,
        "review",
        (f"rule {rule.id!r} asked for remove",),
        note=(
            "no unsuppressed match in a known-abuse bank marked auto_action grounds it; "
            "only such a match may remove content without a human, so it goes to review"
        ),
    )


def _minor_facts(facts: ItemFacts) -> Hit:
    """Facts that suggest a minor: bank matches in ``minors`` banks (as ``matches``) and
    ``minors`` context terms."""
    found: list[str] = []
    matches: list[Match] = []
    for m in facts.bank_matches():
        spec = facts.bank(m.bank)
        if spec is not None and spec.minors:
            matches.append(m)
            found.append(
                f"{m.signal_type} match in bank {m.bank!r}, a bank of child abuse (minors)"
            )
    for loc in facts.located("context"):
        categories = loc.value.get("categories")
        if not isinstance(categories, list | tuple) or MINORS_CATEGORY not in categories:
            continue
        terms = [
            f"context: minors term {m.get('term')!r} in {m.get('field')}"
            for m in loc.value.get("matches") or []
            if isinstance(m, Mapping) and m.get("category") == MINORS_CATEGORY
        ]
        found += terms or [f"context finding on {loc.where} lists the minors category"]
    return Hit(capped(found), tuple(matches))


def _minors_note(outcome: Outcome, minor: Hit) -> str:
    if outcome == "allow":
        return "suspected minor (text only): flagged, no review forced"
    forced = " at least a review;" if minor.matches else ""
    return f"suspected minor:{forced} routed to {CHILD_SAFETY_QUEUE} with priority >= 90"
