"""Statements of reasons in the DSA Transparency Database schema (API v2)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from jikimi.errors import JikimiError, StatementError
from jikimi.reports import dsa_vocab
from jikimi.reports.statement import DecisionFacts, statement_of_reasons, validate_statement

DECIDED = datetime(2025, 9, 1, 10, 30, tzinfo=UTC)
POSTED = datetime(2025, 8, 30, 23, 0, tzinfo=UTC)


def facts(**changes: object) -> DecisionFacts:
    base = DecisionFacts(
        outcome="remove",
        ground="illegal",
        law="StGB § 201a (DE)",
        terms=None,
        category="adult_ncii",
        reasons="Sexually explicit synthetic image of a real adult, shared without consent.",
        automated_detection=True,
        automated_decision="not",
        source="notice",
        content_date=POSTED,
        decided_at=DECIDED,
        puid="jikimi-decision-42",
        territorial_scope=("DE", "AT"),
        content_language="de",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def good_record() -> dict[str, object]:
    record = statement_of_reasons(facts())
    assert record is not None
    return record


def problems_of(f: DecisionFacts) -> list[str]:
    with pytest.raises(StatementError) as info:
        statement_of_reasons(f)
    return info.value.problems


# -- the issue's values -----------------------------------------------------------------------


def test_adult_ncii_uses_the_issue_values() -> None:
    record = good_record()
    assert record["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert record["category_specification"] == ["KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE"]
    assert record["content_type"] == ["CONTENT_TYPE_SYNTHETIC_MEDIA"]
    assert record["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert validate_statement(record) == []


def test_minors_use_the_issue_values() -> None:
    record = statement_of_reasons(facts(category="minors", law="Directive 2011/93/EU art. 5"))
    assert record is not None
    assert record["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert record["category_specification"] == ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE"]
    assert "CONTENT_TYPE_SYNTHETIC_MEDIA" in record["content_type"]


def test_restrict_disables_access() -> None:
    record = statement_of_reasons(facts(outcome="restrict"))
    assert record is not None
    assert record["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]


def test_keep_produces_no_statement_but_is_checked() -> None:
    assert statement_of_reasons(facts(outcome="keep")) is None
    assert any(p.startswith("reasons:") for p in problems_of(facts(outcome="keep", reasons="")))


def test_escalate_is_refused() -> None:
    problems = problems_of(facts(outcome="escalate"))
    assert len(problems) == 1 and problems[0].startswith("outcome: escalate")


def test_statement_error_is_a_jikimi_error() -> None:
    assert issubclass(StatementError, JikimiError)


# -- grounds ----------------------------------------------------------------------------------


def test_illegal_ground_carries_law_and_explanation() -> None:
    record = good_record()
    assert record["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert record["illegal_content_legal_ground"] == "StGB § 201a (DE)"
    assert record["illegal_content_explanation"] == facts().reasons
    assert "incompatible_content_ground" not in record


def test_illegal_ground_without_law_is_refused() -> None:
    assert any(p.startswith("law:") for p in problems_of(facts(law=None)))
    assert any(p.startswith("law:") for p in problems_of(facts(law="  ")))


def test_terms_ground_carries_terms() -> None:
    record = statement_of_reasons(facts(ground="terms", law=None, terms="Community rules §3.2"))
    assert record is not None
    assert record["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert record["incompatible_content_ground"] == "Community rules §3.2"
    assert record["incompatible_content_explanation"] == facts().reasons
    assert record["incompatible_content_illegal"] == "No"
    assert "illegal_content_legal_ground" not in record


def test_terms_ground_with_a_law_marks_content_illegal_too() -> None:
    record = statement_of_reasons(facts(ground="terms", terms="Rules §3"))
    assert record is not None and record["incompatible_content_illegal"] == "Yes"


def test_terms_ground_without_terms_is_refused() -> None:
    assert any(p.startswith("terms:") for p in problems_of(facts(ground="terms", terms=None)))


def test_other_category_needs_terms_ground_and_a_content_type() -> None:
    problems = problems_of(facts(category="other"))
    assert any("specific category" in p for p in problems)
    assert any(p.startswith("content_types:") for p in problems)
    record = statement_of_reasons(
        facts(
            category="other",
            ground="terms",
            terms="Rules §9",
            content_types=("CONTENT_TYPE_IMAGE",),
        )
    )
    assert record is not None
    assert record["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    assert record["content_type"] == ["CONTENT_TYPE_IMAGE"]
    assert "category_specification" not in record


# -- automation and source --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detected", "decided", "want_detection", "want_decision"),
    [
        (True, "fully", "Yes", "AUTOMATED_DECISION_FULLY"),
        (True, "partially", "Yes", "AUTOMATED_DECISION_PARTIALLY"),
        (False, "not", "No", "AUTOMATED_DECISION_NOT_AUTOMATED"),
    ],
)
def test_automated_flags_map(
    detected: bool, decided: str, want_detection: str, want_decision: str
) -> None:
    record = statement_of_reasons(facts(automated_detection=detected, automated_decision=decided))
    assert record is not None
    assert record["automated_detection"] == want_detection
    assert record["automated_decision"] == want_decision


@pytest.mark.parametrize(
    ("source", "want"),
    [
        ("notice", "SOURCE_ARTICLE_16"),
        ("trusted_flagger", "SOURCE_TRUSTED_FLAGGER"),
        ("authority", "SOURCE_TYPE_OTHER_NOTIFICATION"),
        ("user_report", "SOURCE_TYPE_OTHER_NOTIFICATION"),
        ("own_initiative", "SOURCE_VOLUNTARY"),
    ],
)
def test_sources_map(source: str, want: str) -> None:
    record = statement_of_reasons(facts(source=source))
    assert record is not None and record["source_type"] == want


# -- every problem at once --------------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    bad = facts(
        law=None,
        reasons="   ",
        territorial_scope=("DE", "XX", "EL"),
        content_date=None,
        decided_at=datetime(2025, 9, 1),  # naive
        puid="has spaces!",
        content_language="english",
    )
    problems = problems_of(bad)
    for field in ("law:", "reasons:", "territorial_scope:", "content_date:", "decided_at:",
                  "puid:", "content_language:"):  # fmt: skip
        assert any(p.startswith(field) for p in problems), (field, problems)
    assert any("Greece is GR" in p for p in problems)
    assert str(StatementError(problems)).count(";") >= len(problems) - 1


def test_personal_data_in_reasons_is_refused() -> None:
    problems = problems_of(facts(reasons="Reported by jane@example.org, see https://t.me/x/1"))
    assert problems == ["reasons: remove e-mail addresses and links; the database is public"]


def test_content_posted_after_the_decision_is_refused() -> None:
    assert any(
        "after decided_at" in p
        for p in problems_of(facts(content_date=DECIDED + timedelta(days=2)))
    )


# -- output shape -----------------------------------------------------------------------------


def test_output_is_json_with_iso_dates_in_utc() -> None:
    late = datetime(2025, 9, 1, 1, 0, tzinfo=timezone(timedelta(hours=9)))  # 2025-08-31 in UTC
    record = statement_of_reasons(facts(decided_at=late, content_date=POSTED))
    assert record is not None
    assert json.loads(json.dumps(record)) == record
    assert record["application_date"] == "2025-08-31"
    assert record["content_date"] == "2025-08-30"
    assert record["territorial_scope"] == ["AT", "DE"]
    assert record["content_language"] == "DE"
    assert record["puid"] == "jikimi-decision-42"
    assert set(record) <= dsa_vocab.FIELDS


def test_empty_territorial_scope_means_the_whole_eea() -> None:
    record = statement_of_reasons(facts(territorial_scope=()))
    assert record is not None
    assert record["territorial_scope"] == sorted(dsa_vocab.EEA_COUNTRIES)
    assert len(record["territorial_scope"]) == 30


# -- validate_statement on hand-edited records ------------------------------------------------

REQUIRED = [
    "decision_ground", "category", "content_type", "content_date", "application_date",
    "territorial_scope", "decision_facts", "source_type", "automated_detection",
    "automated_decision", "puid",
]  # fmt: skip


@pytest.mark.parametrize("field", REQUIRED)
def test_each_missing_required_field_is_caught(field: str) -> None:
    record = good_record()
    del record[field]
    assert f"{field}: required" in validate_statement(record)


def test_a_restriction_is_required() -> None:
    record = good_record()
    del record["decision_visibility"]
    assert any(
        "is required" in p and "decision_visibility" in p for p in validate_statement(record)
    )
    record["decision_account"] = "DECISION_ACCOUNT_SUSPENDED"
    assert validate_statement(record) == []


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("decision_visibility", ["DECISION_VISIBILITY_GONE"], "decision_visibility"),
        ("decision_visibility", "DECISION_VISIBILITY_CONTENT_REMOVED", "must be a list"),
        ("decision_ground", "DECISION_GROUND_ILLEGAL", "decision_ground"),
        (
            "category",
            "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
            "use STATEMENT_CATEGORY_CYBER_VIOLENCE",
        ),
        ("category_specification", ["KEYWORD_NON_CONSENSUAL_ITEMS_DEEPFAKE"], "retired"),
        ("content_type", ["CONTENT_TYPE_DEEPFAKE"], "content_type"),
        ("territorial_scope", ["DE", "UK"], "territorial_scope"),
        ("territorial_scope", "DE", "must be a list"),
        ("content_language", "de", "content_language"),
        ("content_date", "2025-08-30T23:00:00", "YYYY-MM-DD"),
        ("content_date", "1999-12-31", "2000-01-01"),
        ("application_date", "2025-02-30", "YYYY-MM-DD"),
        ("source_type", "SOURCE_USER", "source_type"),
        ("automated_detection", True, "automated_detection"),
        ("automated_decision", "AUTOMATED_DECISION_NO", "automated_decision"),
        ("puid", "a/b", "puid"),
        ("puid", "x" * 501, "at most 500"),
        ("decision_facts", "x" * 5001, "at most 5000"),
        ("illegal_content_explanation", "x" * 2001, "at most 2000"),
        ("nickname", "x", "unknown fields"),
    ],
)
def test_each_invalid_field_is_caught(field: str, value: object, needle: str) -> None:
    record = good_record()
    record[field] = value
    problems = validate_statement(record)
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize(
    ("old", "hint"),
    [
        (
            "KEYWORD_INSUFFICIENT_INFORMATION_TRADERS",
            "use KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
        ),
        ("KEYWORD_MISINFORMATION", "use KEYWORD_MISINFORMATION_DISINFORMATION"),
        ("KEYWORD_DISINFORMATION", "use KEYWORD_MISINFORMATION_DISINFORMATION"),
        ("KEYWORD_FOREIGN_INFORMATION_MANIPULATION", "use KEYWORD_MISINFORMATION_DISINFORMATION"),
        ("KEYWORD_DANGEROUS_TOYS", "see the API v2 changelog"),
        ("KEYWORD_GENDER_BASED_VIOLENCE", "see the API v2 changelog"),
        ("KEYWORD_REGULATED_GOODS_SERVICES", "see the API v2 changelog"),
    ],
)
def test_a_v1_keyword_is_named_retired(old: str, hint: str) -> None:
    record = good_record()
    record["category_specification"] = [old]
    problems = validate_statement(record)
    assert any(f"({old} is a v1 value retired on 2025-07-01; {hint})" in p for p in problems)


def test_every_replacement_of_a_retired_name_is_a_v2_name() -> None:
    v2 = dsa_vocab.CATEGORIES | dsa_vocab.KEYWORDS
    assert not set(dsa_vocab.RETIRED) & v2
    assert {new for new in dsa_vocab.RETIRED.values() if new} <= v2


def test_conditional_fields_are_required() -> None:
    record = good_record()
    del record["illegal_content_legal_ground"]
    del record["illegal_content_explanation"]
    record["decision_visibility"] = ["DECISION_VISIBILITY_OTHER"]
    record["content_type"] = ["CONTENT_TYPE_OTHER"]
    problems = validate_statement(record)
    assert (
        "illegal_content_legal_ground: required when decision_ground is "
        "DECISION_GROUND_ILLEGAL_CONTENT" in problems
    )
    assert any(p.startswith("illegal_content_explanation: required") for p in problems)
    assert any(p.startswith("decision_visibility_other: required") for p in problems)
    assert any(p.startswith("content_type_other: required") for p in problems)

    terms = good_record()
    terms["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    problems = validate_statement(terms)
    assert any(p.startswith("incompatible_content_ground: required") for p in problems)
    assert any(p.startswith("incompatible_content_explanation: required") for p in problems)


def test_keyword_under_the_wrong_category_is_caught() -> None:
    record = good_record()
    record["category_specification"] = ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE"]
    assert any("belongs under STATEMENT_CATEGORY_PROTECTION_OF_MINORS" in p
               for p in validate_statement(record))  # fmt: skip
    record["category_addition"] = ["STATEMENT_CATEGORY_PROTECTION_OF_MINORS"]
    assert validate_statement(record) == []


def test_end_date_before_application_date_is_caught() -> None:
    record = good_record()
    record["end_date_visibility_restriction"] = "2025-08-01"
    assert "end_date_visibility_restriction: before application_date" in validate_statement(record)


def test_validation_reports_every_problem_of_an_empty_record() -> None:
    problems = validate_statement({})
    assert len(problems) == len(REQUIRED) + 1
