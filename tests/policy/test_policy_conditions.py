"""Each condition kind against realistic facts: when it holds, and the facts it reports."""

from __future__ import annotations

import textwrap

import pytest
from tests.policy.factsdata import (
    BANKS,
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

from jikimi.model import Match
from jikimi.policy.facts import ItemFacts
from jikimi.policy.hits import MAX_FACTS
from jikimi.policy.rules import parse_policy


def held(when: str, item: ItemFacts) -> tuple[str, ...] | None:
    """The facts the condition ``when`` held on, or None when it did not hold."""
    text = f"""\
        version: "1"
        name: t
        rules:
          - id: r
            when: {when}
            then: {{outcome: review}}
        """
    policy = parse_policy(textwrap.dedent(text), "t.yaml")
    hit = policy.rules[0].condition.test(item)
    return None if hit is None else hit.facts


# -- match --------------------------------------------------------------------------------------


def test_match_reports_bank_kind_flags_and_distance() -> None:
    item = facts(matches=(bank_match("ncii", 4),))
    assert held("{match: {}}", item) == (
        "pdq match in bank 'ncii' (known-abuse, auto-action) at distance 4",
    )


def test_match_filters_by_bank_kind_type_distance_and_flags() -> None:
    m = (bank_match("partner", 12), bank_match("csam", 0, signal_type="sha256"))
    item = facts(matches=m)
    assert held("{match: {bank: partner}}", item) == (
        "pdq match in bank 'partner' (known-abuse) at distance 12",
    )
    assert held("{match: {bank: [nope, csam]}}", item) == (
        "sha256 match in bank 'csam' (known-abuse, auto-action, minors) at distance 0",
    )
    assert held("{match: {signal_type: sha256}}", item) is not None
    assert held("{match: {signal_type: vpdq}}", item) is None
    assert held("{match: {max_distance: 11}}", item) == (
        "sha256 match in bank 'csam' (known-abuse, auto-action, minors) at distance 0",
    )
    assert held("{match: {max_distance: 12}}", item) is not None
    assert held("{match: {auto_action: false}}", item) == (
        "pdq match in bank 'partner' (known-abuse) at distance 12",
    )
    assert held("{match: {minors: true, auto_action: true}}", item) is not None
    assert held("{match: {minors: true, auto_action: false}}", item) is None
    assert held("{match: {bank_kind: known-benign}}", item) is None


def test_match_ignores_suppressed_matches_unless_asked() -> None:
    suppressed = bank_match("ncii", 3, suppressed_by="known-benign:memes")
    item = facts(matches=(suppressed,))
    assert held("{match: {}}", item) is None
    assert held("{match: {include_suppressed: true}}", item) == (
        "pdq match in bank 'ncii' (known-abuse, auto-action) at distance 3, "
        "suppressed by known-benign:memes",
    )


def test_match_never_counts_person_matches_and_unknown_banks_have_no_flags() -> None:
    assert held("{match: {}}", facts(matches=(person_match(),))) is None
    item = facts(matches=(bank_match("elsewhere", 1),))
    assert held("{match: {auto_action: false, minors: false}}", item) == (
        "pdq match in bank 'elsewhere' (known-abuse) at distance 1",
    )


def test_match_reports_the_transform() -> None:
    m = Match("ncii", 1, "pdq", 2, "known-abuse", transform="rotate90")
    assert held("{match: {}}", facts(matches=(m,))) == (
        "pdq match in bank 'ncii' (known-abuse, auto-action) at distance 2 (rotate90)",
    )


def test_many_matches_are_capped_with_a_count() -> None:
    many = tuple(bank_match("partner", i, entry_id=i) for i in range(MAX_FACTS + 5))
    found = held("{match: {}}", facts(matches=many))
    assert found is not None and len(found) == MAX_FACTS + 1
    assert found[-1] == "and 5 more"


# -- person_match -------------------------------------------------------------------------------


def test_person_match_by_id_and_distance_never_names_the_person() -> None:
    item = facts(matches=(person_match("p-1", 0.41), person_match("p-2", 0.3)))
    assert held("{person_match: {}}", item) == (
        "face matches protected person 'p-1' at distance 0.41",
        "face matches protected person 'p-2' at distance 0.3",
    )
    assert held("{person_match: {person: p-2}}", item) == (
        "face matches protected person 'p-2' at distance 0.3",
    )
    assert held("{person_match: {max_distance: 0.35}}", item) == (
        "face matches protected person 'p-2' at distance 0.3",
    )
    assert held("{person_match: {max_distance: 0.2}}", item) is None
    assert "Jane" not in " ".join(held("{person_match: {}}", item) or ())
    assert held("{person_match: {}}", facts(matches=(bank_match(),))) is None


# -- score ----------------------------------------------------------------------------------------


def test_score_bounds_are_inclusive_and_name_the_media() -> None:
    one = facts({"nudity": nudity_finding(0.8)})
    assert held("{score: {signal: nudity, min: 0.8}}", one) == (
        "nudity score 0.8 >= 0.8 on the media",
    )
    assert held("{score: {signal: nudity, min: 0.81}}", one) is None
    assert held("{score: {signal: nudity, max: 0.8}}", one) == (
        "nudity score 0.8 <= 0.8 on the media",
    )
    assert held("{score: {signal: nudity, min: 0.5, max: 0.7}}", one) is None
    two = facts({"nudity": nudity_finding(0.2)}, {"nudity": nudity_finding(0.93)})
    assert held("{score: {signal: nudity, min: 0.6, max: 1}}", two) == (
        "nudity score 0.93 in [0.6, 1] on media 2",
    )


def test_score_reads_skin_synthetic_and_context_and_marks_advisory() -> None:
    item = facts({"skin": skin_finding(0.42), "synthetic": synthetic_finding(0.97)})
    assert held("{score: {signal: skin, min: 0.4}}", item) == (
        "skin score 0.42 >= 0.4 on the media",
    )
    assert held("{score: {signal: synthetic, min: 0.9}}", item) == (
        "synthetic score 0.97 >= 0.9 on the media (advisory)",
    )
    text = facts(text={"context": context_finding(caption="deepfake humiliation room")})
    assert held("{score: {signal: context, min: 0.8}}", text) == (
        "context score 0.9 >= 0.8 on the text",
    )


@pytest.mark.parametrize(
    "finding",
    [
        failed_finding("nudity", "onnxruntime failed"),
        {"status": "ok", "version": "1"},
        {"status": "ok", "value": {"score": "0.99"}},
        {"status": "ok", "value": {"score": True}},
        {"status": "ok", "value": {"score": float("nan")}},
        {"status": "ok", "value": {"score": 7}},
        {"status": "ok", "value": ["score", 0.99]},
        "not a mapping",
    ],
)
def test_score_skips_findings_without_a_usable_score(finding: object) -> None:
    item = facts({"nudity": finding})  # type: ignore[dict-item]
    assert held("{score: {signal: nudity, min: 0}}", item) is None


# -- context --------------------------------------------------------------------------------------


def test_context_categories_terms_score_and_bots() -> None:
    found = context_finding(caption="new deepfake set, t.me/example_undress_bot", chat_title="x")
    item = facts(text={"context": found})
    assert held("{context: {categories: [deepfake, nudify]}}", item) == (
        "context: deepfake term 'deepfake' in caption",
        "context: nudify term 'undress' in caption",
    )
    assert held("{context: {terms: [DeepFake]}}", item) == (
        "context: deepfake term 'deepfake' in caption",
    )
    assert held("{context: {known_bot: true}}", item) == (
        "known generator bot @example_undress_bot in caption, nudify",
    )
    assert held("{context: {categories: school_room}}", item) is None
    # Every key given must hold.
    assert held("{context: {categories: deepfake, min_score: 0.99}}", item) is None
    both = held("{context: {categories: deepfake, min_score: 0.5}}", item)
    assert both is not None and both[-1].startswith("context score 0.9")


def test_context_on_media_and_benign_text() -> None:
    media = facts({"context": context_finding(caption="humiliation room for our school")})
    assert held("{context: {categories: humiliation_room}}", media) is not None
    benign = facts(text={"context": context_finding(caption="lunch by the river")})
    assert held("{context: {min_score: 0}}", benign) == ("context score 0 >= 0",)
    assert held("{context: {known_bot: true}}", benign) is None
    unknown_bot = facts(text={"context": context_finding(caption="try @some_random_bot")})
    assert held("{context: {known_bot: true}}", unknown_bot) is None


# -- provenance -----------------------------------------------------------------------------------


def test_provenance_c2pa_ai_claim_only() -> None:
    assert held("{provenance: {c2pa_ai: true}}", facts({"c2pa": c2pa_finding()})) == (
        "C2PA manifest declares AI generation (trainedAlgorithmicMedia, claim generator "
        "'Adobe Firefly 3', validation Valid) on the media",
    )
    camera = c2pa_finding("http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture")
    assert held("{provenance: {c2pa_ai: true}}", facts({"c2pa": camera})) is None
    assert held("{provenance: {c2pa_ai: true}}", facts({"c2pa": c2pa_absent()})) is None


def test_provenance_watermark_any_or_named_payloads() -> None:
    item = facts({"watermark": watermark_finding("sdxl")})
    assert held("{provenance: {watermark: true}}", item) == (
        "Stable Diffusion watermark 'sdxl' found (46/48 bits) on the media",
    )
    assert held("{provenance: {watermark: [sd1, sd2]}}", item) is None
    assert held("{provenance: {watermark: SDXL}}", item) is not None
    none = facts({"watermark": watermark_finding(None)})
    assert held("{provenance: {watermark: true}}", none) is None


def test_provenance_generator_metadata() -> None:
    item = facts({"generator_metadata": generator_finding()})
    assert held("{provenance: {generator: true}}", item) == (
        "generator metadata names 'AUTOMATIC1111' (png:parameters) on the media",
    )
    assert held("{provenance: {generator: [automatic1111]}}", item) is not None
    assert held("{provenance: {generator: [ComfyUI]}}", item) is None
    clean = facts({"generator_metadata": generator_finding(None)})
    assert held("{provenance: {generator: true}}", clean) is None


def test_provenance_is_any_of_its_keys_and_synthetic_is_advisory() -> None:
    when = "{provenance: {c2pa_ai: true, watermark: true, synthetic_min: 0.9}}"
    assert held(when, facts({"c2pa": c2pa_absent(), "synthetic": synthetic_finding(0.5)})) is None
    assert held(when, facts({"synthetic": synthetic_finding(0.95)})) == (
        "synthetic score 0.95 >= 0.9 on the media (advisory)",
    )
    both = facts({"c2pa": c2pa_finding(), "watermark": watermark_finding("sd1")})
    found = held(when, both)
    assert found is not None and len(found) == 2


# -- finding --------------------------------------------------------------------------------------


def test_finding_status_and_presence() -> None:
    item = facts(
        {
            "nudity": failed_finding("nudity", "model failed on this batch"),
            "faces": faces_finding(2),
        },
        {"faces": faces_finding(0)},
    )
    assert held("{finding: {signal: nudity, status: error}}", item) == (
        "nudity finding on media 1: status error (model failed on this batch)",
    )
    assert held("{finding: {signal: faces, present: true}}", item) == (
        "faces finding on media 1: status ok, present",
    )
    assert held("{finding: {signal: faces, present: false}}", item) == (
        "faces finding on media 2: status ok, not present",
    )
    assert held("{finding: {signal: watermark, status: [ok, error]}}", item) is None


# -- all / any / not ------------------------------------------------------------------------------


def test_all_needs_every_condition_and_merges_their_facts() -> None:
    item = facts({"nudity": nudity_finding(0.9)}, matches=(person_match(),))
    when = "{all: [{person_match: {}}, {score: {signal: nudity, min: 0.8}}]}"
    assert held(when, item) == (
        "face matches protected person 'p-1' at distance 0.41",
        "nudity score 0.9 >= 0.8 on the media",
    )
    assert held(when, facts({"nudity": nudity_finding(0.9)})) is None


def test_any_reports_every_branch_that_held() -> None:
    when = "{any: [{match: {}}, {score: {signal: nudity, min: 0.8}}, {person_match: {}}]}"
    item = facts({"nudity": nudity_finding(0.85)}, matches=(bank_match("partner", 2),))
    assert held(when, item) == (
        "pdq match in bank 'partner' (known-abuse) at distance 2",
        "nudity score 0.85 >= 0.8 on the media",
    )
    assert held(when, facts({"nudity": nudity_finding(0.1)})) is None


def test_not_holds_when_its_condition_does_not() -> None:
    when = "{not: {match: {bank_kind: known-benign, include_suppressed: true}}}"
    assert held(when, facts()) == ("no match (known-benign)",)
    benign = bank_match("memes", 0, kind="known-benign")
    assert held(when, facts(matches=(benign,))) is None


def test_nested_conditions() -> None:
    when = (
        "{all: [{score: {signal: nudity, min: 0.8}}, "
        "{any: [{context: {known_bot: true}}, {not: {finding: {signal: c2pa, present: false}}}]}]}"
    )
    item = facts({"nudity": nudity_finding(0.9), "c2pa": c2pa_absent()})
    assert held(when, item) is None
    item = facts({"nudity": nudity_finding(0.9), "c2pa": c2pa_finding()})
    assert held(when, item) == (
        "nudity score 0.9 >= 0.8 on the media",
        "no c2pa finding not present",
    )


def test_banks_mapping_is_only_read() -> None:
    before = dict(BANKS)
    held("{match: {auto_action: true}}", facts(matches=(bank_match(),)))
    assert dict(BANKS) == before
