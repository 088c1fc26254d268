"""The shipped default policy: it loads, every rule is explained, it behaves sensibly on
realistic items, and no item without an auto-action bank match is ever removed, by it or by
a policy written to remove as much as the language allows."""

from __future__ import annotations

import re
import textwrap
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.policy.factsdata import (
    bank_match,
    c2pa_absent,
    c2pa_finding,
    context_finding,
    faces_finding,
    facts,
    failed_finding,
    generator_finding,
    nudity_finding,
    person_match,
    skin_finding,
    synthetic_finding,
    watermark_finding,
)

from jikimi.model import OUTCOMES, BankSpec, Match, Verdict
from jikimi.policy.facts import ItemFacts
from jikimi.policy.rules import DEFAULT_SOURCE, Policy, load_policy, parse_policy


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy()


def summary(v: Verdict) -> tuple[str, str | None, int, bool]:
    return (v.outcome, v.queue, v.priority, v.automated)


def fired(v: Verdict) -> list[str]:
    return [r.rule for r in v.reasons]


def test_default_policy_is_packaged_and_versioned(default: Policy) -> None:
    assert files("jikimi.policy").joinpath("default.yaml").is_file()
    assert default.source == DEFAULT_SOURCE
    assert default.name == "default"
    assert re.fullmatch(r"2026\.\d+\.\d+@[0-9a-f]{12}", default.version)
    assert len(default.rules) >= 8
    assert default.default.outcome == "allow"


def test_every_default_rule_has_a_comment_and_a_description(default: Policy) -> None:
    lines = files("jikimi.policy").joinpath("default.yaml").read_text("utf-8").splitlines()
    for rule in default.rules:
        assert rule.description, rule.id
        at = next(i for i, line in enumerate(lines) if line.strip() == f"- id: {rule.id}")
        above = lines[at - 1].strip()
        assert above.startswith("#") and len(above) > 20, f"rule {rule.id} lacks a comment"


def test_auto_action_bank_match_is_removed_automatically(default: Policy) -> None:
    v = default.evaluate(facts({"nudity": nudity_finding(0.97)}, matches=(bank_match("ncii"),)))
    assert summary(v) == ("remove", None, 0, True)
    assert v.actions == ("delete_message", "notify")
    assert fired(v)[0] == "known-abuse-auto-remove"


def test_other_known_abuse_banks_go_to_people_first(default: Policy) -> None:
    v = default.evaluate(facts({"nudity": nudity_finding(0.97)}, matches=(bank_match("partner"),)))
    assert summary(v) == ("review", "known_abuse", 95, False)


def test_protected_person_with_nudity_is_urgent(default: Policy) -> None:
    v = default.evaluate(facts({"nudity": nudity_finding(0.7)}, matches=(person_match(),)))
    assert summary(v) == ("review", "adult_ncii", 90, False)
    assert fired(v) == ["protected-person-nudity", "protected-person-match"]
    assert v.reasons[0].facts == (
        "face matches protected person 'p-1' at distance 0.41",
        "nudity score 0.7 >= 0.6 on the media",
    )


def test_protected_person_alone_is_reviewed(default: Policy) -> None:
    v = default.evaluate(facts({"nudity": nudity_finding(0.05)}, matches=(person_match(),)))
    assert summary(v) == ("review", "adult_ncii", 60, False)


def test_nudity_in_deepfake_context_is_reviewed(default: Policy) -> None:
    caption = context_finding(caption="지인능욕 딥페이크 new set")
    v = default.evaluate(facts({"nudity": nudity_finding(0.85), "context": caption}))
    assert summary(v) == ("review", "adult_ncii", 80, False)
    bot = context_finding(caption="made with t.me/example_undress_bot")
    v = default.evaluate(facts({"nudity": nudity_finding(0.85)}, text={"context": bot}))
    assert summary(v) == ("review", "adult_ncii", 80, False)
    assert fired(v) == ["nudity-with-deepfake-context", "generator-bot-advertised"]


@pytest.mark.parametrize(
    ("signal", "finding"),
    [
        ("c2pa", c2pa_finding()),
        ("watermark", watermark_finding("sd1")),
        ("generator_metadata", generator_finding()),
        ("synthetic", synthetic_finding(0.95)),
    ],
)
def test_nudity_with_ai_provenance_is_reviewed(
    default: Policy, signal: str, finding: dict[str, Any]
) -> None:
    v = default.evaluate(facts({"nudity": nudity_finding(0.85), signal: finding}))
    assert summary(v) == ("review", "provenance", 70, False)
    assert fired(v) == ["nudity-with-ai-provenance"]


def test_provenance_without_nudity_is_allowed(default: Policy) -> None:
    item = facts({"nudity": nudity_finding(0.1), "c2pa": c2pa_finding()})
    assert summary(default.evaluate(item)) == ("allow", None, 0, True)


def test_nudity_alone_is_reviewed_last(default: Policy) -> None:
    v = default.evaluate(facts({"nudity": nudity_finding(0.93)}))
    assert summary(v) == ("review", "review", 20, False)
    assert summary(default.evaluate(facts({"nudity": nudity_finding(0.85)})))[0] == "allow"


def test_a_known_bot_advert_without_media_is_reviewed(default: Policy) -> None:
    text = context_finding(text="undress anyone: @example_undress_bot")
    v = default.evaluate(facts(text={"context": text}))
    assert summary(v) == ("review", "review", 40, False)


def test_an_ordinary_photo_is_allowed(default: Policy) -> None:
    media = {
        "skin": skin_finding(0.2),
        "nudity": nudity_finding(0.02),
        "faces": faces_finding(2),
        "c2pa": c2pa_absent(),
        "generator_metadata": generator_finding(None),
        "watermark": watermark_finding(None),
        "context": context_finding(caption="family picnic by the Han river"),
    }
    v = default.evaluate(facts(media))
    assert summary(v) == ("allow", None, 0, True)
    assert fired(v) == ["default"]


def test_failed_extractors_do_not_break_the_default(default: Policy) -> None:
    media = {
        "nudity": failed_finding("nudity", "model failed"),
        "faces": failed_finding("faces", "x"),
    }
    assert default.evaluate(facts(media)).outcome == "allow"


def test_minors_words_route_to_child_safety(default: Policy) -> None:
    caption = context_finding(caption="여중생 딥페이크")
    v = default.evaluate(facts({"nudity": nudity_finding(0.95), "context": caption}))
    assert summary(v) == ("review", "child_safety", 90, False)
    assert v.suspected_minor


def test_minors_bank_match_is_removed_and_queued_for_child_safety(default: Policy) -> None:
    v = default.evaluate(facts(matches=(bank_match("csam", 0, signal_type="md5"),)))
    assert summary(v) == ("remove", "child_safety", 90, True)
    assert v.suspected_minor


# -- the property: nothing without an auto-action bank match is ever removed ------------------

PERMISSIVE = textwrap.dedent(
    """\
    version: "1"
    name: permissive
    rules:
      - id: any-match
        when: {match: {include_suppressed: true}}
        then: {outcome: remove, actions: [delete_message, ban_author]}
      - id: benign-too
        when: {match: {bank_kind: [known-benign, known-abuse], include_suppressed: true}}
        then: {outcome: remove, actions: [ban_author]}
      - id: match-or-match
        when: {any: [{match: {minors: true}}, {match: {bank: [partner, memes]}}]}
        then: {outcome: remove, actions: [restrict_author]}
      - id: match-with-anything
        when:
          all:
            - match: {include_suppressed: true}
            - any:
                - score: {signal: nudity, min: 0}
                - person_match: {}
                - context: {min_score: 0}
                - not: {finding: {signal: c2pa, present: true}}
        then: {outcome: remove, actions: [warn_chat]}
      - id: scores
        when: {any: [{score: {signal: nudity, min: 0}}, {person_match: {}},
                     {provenance: {c2pa_ai: true, watermark: true, generator: true,
                                   synthetic_min: 0}}]}
        then: {outcome: review, priority: 100}
    """
)

BANK_NAMES = ("ncii", "partner", "csam", "memes", "unknown")
KINDS = ("known-abuse", "known-benign", "protected-person")

_FINDINGS: dict[str, list[Any]] = {
    "nudity": [failed_finding("nudity", "x")],
    "context": [
        context_finding(caption="deepfake t.me/example_undress_bot"),
        context_finding(caption="underage"),
        context_finding(caption="nothing here"),
    ],
    "c2pa": [c2pa_finding(), c2pa_absent()],
    "watermark": [watermark_finding("sdxl"), watermark_finding(None)],
    "generator_metadata": [generator_finding(), generator_finding(None)],
    "faces": [faces_finding(1), faces_finding(0)],
}
_JUNK = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.just({"status": "ok", "value": {"score": float("nan")}}),
    st.just({"status": "ok", "value": {"categories": "minors", "matches": "x", "bots": [1]}}),
    st.just({"status": "ok", "value": {"ai_generated": "yes", "payload": 3, "also": [None]}}),
)


def _finding(name: str) -> st.SearchStrategy[Any]:
    if name in ("nudity", "skin", "synthetic"):
        make = {"nudity": nudity_finding, "skin": skin_finding, "synthetic": synthetic_finding}
        real = st.floats(0, 1).map(make[name])
        return st.one_of(real, st.sampled_from(_FINDINGS.get(name, [None])), _JUNK)
    return st.one_of(st.sampled_from(_FINDINGS[name]), _JUNK)


_NAMES = ("nudity", "skin", "synthetic", "context", "c2pa", "watermark", "generator_metadata")
_MEDIA = st.fixed_dictionaries({}, optional={n: _finding(n) for n in (*_NAMES, "faces")})


@st.composite
def _match(draw: st.DrawFn) -> Match:
    kind = draw(st.sampled_from(KINDS))
    person = draw(st.sampled_from(["p-1", "p-2"])) if kind == "protected-person" else None
    return Match(
        bank=f"person:{person}" if person else draw(st.sampled_from(BANK_NAMES)),
        entry_id=draw(st.integers(0, 5)),
        signal_type=draw(st.sampled_from(["pdq", "md5", "sha256", "vpdq", "faces"])),
        distance=draw(st.one_of(st.integers(0, 256), st.floats(0, 2))),
        bank_kind=kind,
        suppressed_by=draw(st.sampled_from([None, None, "known-benign:memes"])),
        person=person,
    )


@st.composite
def _banks(draw: st.DrawFn, auto: st.SearchStrategy[bool]) -> dict[str, BankSpec]:
    out = {}
    for name in draw(st.sets(st.sampled_from(BANK_NAMES))):
        kind = draw(st.sampled_from(["known-abuse", "known-benign"]))
        out[name] = BankSpec(name, kind, auto_action=draw(auto), minors=draw(st.booleans()))
    return out


def _items(auto: st.SearchStrategy[bool]) -> st.SearchStrategy[ItemFacts]:
    return st.builds(
        ItemFacts,
        matches=st.lists(_match(), max_size=6).map(tuple),
        findings=st.lists(_MEDIA, max_size=3).map(tuple),
        banks=_banks(auto),
        text_findings=st.fixed_dictionaries({}, optional={"context": _finding("context")}),
    )


def _has_auto_action_match(item: ItemFacts) -> bool:
    """Written out here, independently of the code under test."""
    for m in item.matches:
        spec = item.banks.get(m.bank)
        if (
            m.person is None
            and m.suppressed_by is None
            and m.bank_kind == "known-abuse"
            and spec is not None
            and spec.kind == "known-abuse"
            and spec.auto_action
        ):
            return True
    return False


POLICIES = [load_policy(), parse_policy(PERMISSIVE, "permissive.yaml")]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(item=_items(st.just(False)), which=st.sampled_from([0, 1]))
def test_no_auto_action_bank_means_no_removal(item: ItemFacts, which: int) -> None:
    v = POLICIES[which].evaluate(item)
    assert v.outcome != "remove"
    assert v.actions == ()
    assert v.automated is (v.outcome == "allow")


@SETTINGS
@given(item=_items(st.booleans()), which=st.sampled_from([0, 1]))
def test_removal_always_rests_on_an_auto_action_bank_match(item: ItemFacts, which: int) -> None:
    v = POLICIES[which].evaluate(item)
    assert v.outcome in OUTCOMES
    assert v.automated is (v.outcome != "review")
    if v.outcome == "remove":
        assert _has_auto_action_match(item)
        assert v.actions
    if v.outcome == "review":
        assert v.queue
    if v.suspected_minor and v.outcome != "allow":
        assert (v.queue, v.priority >= 90) == ("child_safety", True)
    assert v.reasons and all(r.rule for r in v.reasons)


def test_the_permissive_policy_does_remove_on_auto_action_matches() -> None:
    # The property above must be able to fail: this policy removes whenever it may.
    v = POLICIES[1].evaluate(facts(matches=(bank_match("ncii"),)))
    assert v.outcome == "remove"
    assert v.actions == ("delete_message", "ban_author", "warn_chat")
