"""Evaluation: the strongest outcome wins, queues and priorities, reasons, and the built-in
safeguards that no policy file can turn off."""

from __future__ import annotations

import textwrap

from tests.policy.factsdata import (
    bank_match,
    c2pa_finding,
    context_finding,
    facts,
    nudity_finding,
    person_match,
    watermark_finding,
)

from jikimi.model import BankSpec, Reason
from jikimi.policy.rules import Policy, parse_policy

POLICY = """\
version: "7"
name: test
rules:
  - id: auto
    when: {match: {bank_kind: known-abuse}}
    then: {outcome: remove, actions: [delete_message, notify]}
  - id: auto-ban
    when: {match: {bank: ncii, max_distance: 2}}
    then: {outcome: remove, actions: [ban_author, delete_message]}
  - id: person-nudity
    when: {all: [{person_match: {}}, {score: {signal: nudity, min: 0.8}}]}
    then: {outcome: review, queue: adult_ncii, priority: 90}
  - id: person
    when: {person_match: {}}
    then: {outcome: review, queue: persons, priority: 60}
  - id: ai-nudity
    when: {all: [{score: {signal: nudity, min: 0.8}}, {provenance: {watermark: true}}]}
    then: {outcome: review, queue: provenance, priority: 60}
  - id: nudity
    when: {score: {signal: nudity, min: 0.9}}
    then: {outcome: review}
  - id: benign
    when: {match: {bank_kind: known-benign}}
    then: {outcome: allow}
"""


def policy(text: str = POLICY) -> Policy:
    return parse_policy(textwrap.dedent(text), "test.yaml")


def rules_of(reasons: tuple[Reason, ...]) -> list[str]:
    return [r.rule for r in reasons]


def test_no_rule_fires_the_default_allows_and_says_so() -> None:
    p = policy()
    v = p.evaluate(facts({"nudity": nudity_finding(0.1)}))
    assert (v.outcome, v.automated, v.queue, v.priority, v.actions) == ("allow", True, None, 0, ())
    assert v.reasons == (Reason("default", "allow", (), note="no rule fired"),)
    assert v.policy_version == p.version and v.policy_version.startswith("7@")
    assert v.suspected_minor is False


def test_default_review_uses_its_queue() -> None:
    p = policy('version: "1"\nname: t\nrules: []\ndefault: {outcome: review, priority: 3}\n')
    v = p.evaluate(facts())
    assert (v.outcome, v.queue, v.priority, v.automated) == ("review", "review", 3, False)
    assert v.reasons[0].outcome == "review"


def test_an_allow_rule_gives_its_reason_and_no_default() -> None:
    v = policy().evaluate(facts(matches=(bank_match("memes", 0, kind="known-benign"),)))
    assert v.outcome == "allow" and v.automated
    assert rules_of(v.reasons) == ["benign"]


def test_remove_on_an_auto_action_bank_match_wins_and_is_automated() -> None:
    item = facts({"nudity": nudity_finding(0.95)}, matches=(bank_match("ncii", 1),))
    v = policy().evaluate(item)
    assert v.outcome == "remove" and v.automated
    assert v.queue is None and v.priority == 0
    # Union of the firing remove rules' actions, in rule order, each once.
    assert v.actions == ("delete_message", "notify", "ban_author")
    assert rules_of(v.reasons) == ["auto", "auto-ban", "nudity"]
    assert v.reasons[0].facts == (
        "pdq match in bank 'ncii' (known-abuse, auto-action) at distance 1",
    )
    assert v.reasons[2] == Reason("nudity", "review", ("nudity score 0.95 >= 0.9 on the media",))


def test_review_takes_queue_and_priority_of_the_highest_priority_review_rule() -> None:
    item = facts({"nudity": nudity_finding(0.95)}, matches=(person_match(),))
    v = policy().evaluate(item)
    assert (v.outcome, v.queue, v.priority, v.automated) == ("review", "adult_ncii", 90, False)
    assert rules_of(v.reasons) == ["person-nudity", "person", "nudity"]
    assert v.actions == ()


def test_equal_priorities_take_the_first_rule() -> None:
    item = facts(
        {"nudity": nudity_finding(0.85), "watermark": watermark_finding("sdxl")},
        matches=(person_match(),),
    )
    v = policy().evaluate(item)
    assert (v.queue, v.priority) == ("adult_ncii", 90)
    item = facts(
        {"nudity": nudity_finding(0.5)},
        {"watermark": watermark_finding()},
        matches=(person_match(),),
    )
    # person (60, persons) and no ai-nudity (nudity too low): persons.
    assert policy().evaluate(item).queue == "persons"
    item = facts(
        {"nudity": nudity_finding(0.85), "watermark": watermark_finding()},
        matches=(person_match(distance=0.2),),
    )
    text = POLICY.replace("queue: adult_ncii, priority: 90", "queue: adult_ncii, priority: 10")
    assert policy(text).evaluate(item).queue == "persons"  # persons (60) before provenance (60)


def test_a_review_rule_without_queue_or_priority_uses_the_defaults() -> None:
    v = policy().evaluate(facts({"nudity": nudity_finding(0.99)}))
    assert (v.outcome, v.queue, v.priority) == ("review", "review", 50)
    p = policy(POLICY.replace("name: test\n", "name: test\nreview_queue: triage\n"))
    assert p.evaluate(facts({"nudity": nudity_finding(0.99)})).queue == "triage"


# -- safeguard 1: only auto-action bank matches remove ------------------------------------------


def test_remove_rule_on_a_bank_without_auto_action_becomes_review() -> None:
    v = policy().evaluate(facts(matches=(bank_match("partner", 5),)))
    assert (v.outcome, v.automated, v.actions) == ("review", False, ())
    assert (v.queue, v.priority) == ("review", 90)
    assert rules_of(v.reasons) == ["auto", "safeguard:hash-only-removal"]
    assert v.reasons[0].outcome == "remove"  # what the rule asked for, on what
    guard = v.reasons[1]
    assert guard.outcome == "review"
    assert guard.facts == ("rule 'auto' asked for remove",)
    assert guard.note and "auto_action" in guard.note


def test_demoted_remove_keeps_the_rule_queue_and_priority() -> None:
    text = POLICY.replace(
        "then: {outcome: remove, actions: [delete_message, notify]}",
        "then: {outcome: remove, actions: [delete_message], queue: known_abuse, priority: 97}",
    )
    v = policy(text).evaluate(facts(matches=(bank_match("partner", 5),)))
    assert (v.outcome, v.queue, v.priority) == ("review", "known_abuse", 97)


def test_only_rules_grounded_on_auto_action_matches_contribute_actions() -> None:
    # auto holds on ncii (auto-action); auto-ban only on... ncii too, at distance 2, so move it.
    text = POLICY.replace("{match: {bank: ncii, max_distance: 2}}", "{match: {bank: partner}}")
    item = facts(matches=(bank_match("ncii", 9), bank_match("partner", 1)))
    v = policy(text).evaluate(item)
    assert v.outcome == "remove"
    assert v.actions == ("delete_message", "notify")  # not auto-ban's ban_author
    assert "safeguard:hash-only-removal" in rules_of(v.reasons)


def test_suppressed_auto_action_matches_never_remove() -> None:
    item = facts(matches=(bank_match("ncii", 0, suppressed_by="known-benign:memes"),))
    assert policy().evaluate(item).outcome == "allow"
    permissive = policy(
        'version: "1"\nname: p\nrules:\n  - id: any\n'
        "    when: {match: {include_suppressed: true}}\n"
        "    then: {outcome: remove, actions: [delete_message]}\n"
    )
    v = permissive.evaluate(item)
    assert (v.outcome, v.automated) == ("review", False)
    assert rules_of(v.reasons) == ["any", "safeguard:hash-only-removal"]


def test_bank_flags_come_from_the_bank_specs_not_the_file() -> None:
    item = facts(matches=(bank_match("ncii", 1),), banks={"ncii": BankSpec("ncii")})
    assert policy().evaluate(item).outcome == "review"
    item = facts(matches=(bank_match("ncii", 1),), banks={})
    assert policy().evaluate(item).outcome == "review"
    # A spec that says known-benign never grounds a removal, whatever the match says.
    benign = {"ncii": BankSpec("ncii", "known-benign", auto_action=True)}
    assert policy().evaluate(facts(matches=(bank_match("ncii", 1),), banks=benign)).outcome == (
        "review"
    )


def test_remove_under_any_needs_its_match_branch_to_hold() -> None:
    text = (
        'version: "1"\nname: p\nrules:\n  - id: r\n'
        "    when: {any: [{match: {bank: ncii}}, {match: {bank: partner}}]}\n"
        "    then: {outcome: remove, actions: [delete_message]}\n"
    )
    assert policy(text).evaluate(facts(matches=(bank_match("partner", 0),))).outcome == "review"
    assert policy(text).evaluate(facts(matches=(bank_match("ncii", 0),))).outcome == "remove"


# -- safeguard 2: suspected minors ----------------------------------------------------------------


def test_minors_bank_match_forces_review_in_child_safety() -> None:
    text = 'version: "1"\nname: quiet\nrules: []\n'
    v = policy(text).evaluate(facts(matches=(bank_match("csam-unverified", 3),)))
    assert (v.outcome, v.queue, v.priority, v.automated) == ("review", "child_safety", 90, False)
    assert v.suspected_minor is True
    assert rules_of(v.reasons) == ["default", "safeguard:minors"]
    assert v.reasons[1].facts == (
        "pdq match in bank 'csam-unverified', a bank of child abuse (minors)",
    )


def test_minors_auto_action_removal_is_kept_and_queued_for_child_safety() -> None:
    v = policy().evaluate(facts(matches=(bank_match("csam", 0, signal_type="sha256"),)))
    assert (v.outcome, v.automated, v.queue, v.priority) == ("remove", True, "child_safety", 90)
    assert v.actions == ("delete_message", "notify")
    assert v.suspected_minor


def test_minors_review_keeps_a_higher_priority() -> None:
    text = POLICY.replace(
        "then: {outcome: remove, actions: [delete_message, notify]}",
        "then: {outcome: remove, actions: [notify], priority: 99}",
    )
    v = policy(text).evaluate(facts(matches=(bank_match("csam-unverified", 3),)))
    assert (v.outcome, v.queue, v.priority) == ("review", "child_safety", 99)


def test_minors_context_routes_reviews_to_child_safety_but_forces_nothing() -> None:
    minors = context_finding(caption="underage girls deepfake")
    v = policy().evaluate(facts({"nudity": nudity_finding(0.95), "context": minors}))
    assert (v.outcome, v.queue, v.priority, v.suspected_minor) == (
        "review",
        "child_safety",
        90,
        True,
    )
    assert v.reasons[-1].rule == "safeguard:minors"
    assert v.reasons[-1].facts == ("context: minors term 'underage' in caption",)
    quiet = policy().evaluate(facts(text={"context": minors}))
    assert (quiet.outcome, quiet.queue, quiet.suspected_minor, quiet.automated) == (
        "allow",
        None,
        True,
        True,
    )
    assert quiet.reasons[-1].note and "no review forced" in quiet.reasons[-1].note


def test_suppressed_minors_match_is_not_a_suspected_minor() -> None:
    m = bank_match("csam-unverified", 3, suppressed_by="known-benign:memes")
    v = policy('version: "1"\nname: q\nrules: []\n').evaluate(facts(matches=(m,)))
    assert (v.outcome, v.suspected_minor) == ("allow", False)


# -- determinism -----------------------------------------------------------------------------------


def test_evaluation_is_deterministic_and_verdicts_serialise() -> None:
    import json

    item = facts(
        {"nudity": nudity_finding(0.95), "c2pa": c2pa_finding()},
        matches=(person_match(), bank_match("partner", 3)),
    )
    p = policy()
    first = p.evaluate(item)
    assert all(p.evaluate(item) == first for _ in range(5))
    assert json.loads(json.dumps(first.as_dict()))["policy_version"] == p.version
