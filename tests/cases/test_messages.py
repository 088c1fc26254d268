"""Messages to notifiers and uploaders: the facts each must carry, in English and in Korean."""

from __future__ import annotations

import inspect
import json
import re
import string
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from jikimi.cases import message_texts, messages
from jikimi.cases.messages import (
    APPEAL_MONTHS,
    LANGUAGES,
    Message,
    appeal_outcome_message,
    appeal_page,
    appeal_path,
    outcome_message,
    receipt_message,
    uploader_statement_text,
)
from jikimi.cases.notices import REQUIRED
from jikimi.reports.statement import DecisionFacts, statement_of_reasons

TO = "notifier@example.org"
RECEIPT = "rcpt_0123456789abcdef01234567"
DUE = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
DECIDED = datetime(2026, 8, 31, 14, 5, tzinfo=UTC)
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def receipt(**changes: Any) -> Message:
    args: dict[str, Any] = {
        "to": TO,
        "language": "en",
        "kind": "takedown_request",
        "receipt": RECEIPT,
        "notice_id": 7,
        "case_id": 12,
        "due_at": DUE,
        "missing": (),
        "joined": False,
        "already_removed": (),
        "suspended": False,
    }
    return receipt_message(**{**args, **changes})


def outcome(**changes: Any) -> Message:
    args: dict[str, Any] = {
        "to": TO,
        "language": "en",
        "case_id": 12,
        "receipt": RECEIPT,
        "outcome": "remove",
        "ground": "illegal",
        "law": "47 U.S.C. 223a",
        "terms": None,
        "reasons": "A sexual image of a real adult, made with AI and shared without consent.",
        "decided_at": DECIDED,
        "appeal_url": None,
    }
    return outcome_message(**{**args, **changes})


# -- receipts --------------------------------------------------------------------------------------


def test_a_receipt_for_a_complete_notice() -> None:
    m = receipt()
    assert (m.kind, m.to, m.language) == ("receipt", TO, "en")
    assert "case 12" in m.subject
    assert RECEIPT not in m.subject  # the code proves standing to appeal: not in subject lines
    assert "opened case 12" in m.text
    assert f"receipt code: {RECEIPT}" in m.text and "appeal" in m.text
    assert "2026-03-08T09:00:00+00:00" in m.text
    assert "Sunday 8 March 2026, 09:00 UTC" in m.text
    assert "What happens next" in m.text
    assert "Notice number: 7" in m.text
    assert TO not in m.text


def test_a_receipt_across_time_zones_is_told_in_utc() -> None:
    seoul = DUE.astimezone(timezone(timedelta(hours=9)))
    assert receipt(due_at=seoul).text == receipt().text


def test_a_receipt_for_a_notice_that_joined_a_case() -> None:
    m = receipt(joined=True, already_removed=[4, 5])
    assert "already covered by an open case, case 12" in m.text
    assert "2 of the items you reported had already been removed" in m.text


def test_a_receipt_without_a_clock() -> None:
    m = receipt(due_at=None)
    assert "no fixed deadline" in m.text
    assert RECEIPT in m.text


def _listed(text: str) -> list[str]:
    return [line[2:].split(":")[0] for line in text.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_incomplete_notice_lists_exactly_what_is_missing(language: str) -> None:
    m = receipt(
        language=language,
        kind="dsa_notice",
        case_id=None,
        due_at=None,
        missing=("name", "contact.email", "good_faith_statement"),
    )
    assert _listed(m.text) == ["name", "contact.email", "good_faith_statement"]
    assert RECEIPT in m.text and "7" in m.subject
    assert "case" not in m.subject.lower() and "사건" not in m.text


def test_an_incomplete_notice_says_to_send_it_again_and_names_refused_fields() -> None:
    m = receipt(case_id=None, due_at=None, missing=("signature",), invalid=("locators[2]",))
    assert "- signature: your signature (your full name)" in m.text
    assert "could not be accepted" in m.text and "locators[2]" in m.text
    assert "send your takedown request again" in m.text
    assert _listed(m.text) == ["signature"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_required_element_is_explained(language: str) -> None:
    elements = sorted({e for required in REQUIRED.values() for e in required})
    assert elements
    m = receipt(language=language, case_id=None, due_at=None, missing=elements)
    for element in elements:
        line = next(x for x in m.text.splitlines() if x.startswith(f"- {element}:"))
        assert line.split(": ", 1)[1].strip(), line


def test_a_suspended_notifier_is_told_how_to_contest() -> None:
    m = receipt(suspended=True, case_id=None, due_at=None)
    assert "opens no case" in m.text and "Art. 23" in m.text
    assert "contest" in m.text and RECEIPT in m.text
    assert "case 12" not in m.text


# -- outcomes --------------------------------------------------------------------------------


def test_an_outcome_says_what_why_and_how_to_appeal() -> None:
    m = outcome()
    assert (m.kind, m.to) == ("outcome", TO)
    assert "case 12" in m.subject
    assert "the content was removed" in m.text
    assert "Ground: illegal content under 47 U.S.C. 223a" in m.text
    assert "made with AI and shared without consent" in m.text
    assert "Monday 31 August 2026, 14:05 UTC" in m.text
    assert f"within {APPEAL_MONTHS} months" in m.text and "Art. 20" in m.text
    assert "until 28 February 2027" in m.text  # six months on, in a shorter month
    assert RECEIPT in m.text
    # The page first, for a person, the case number to enter named; then the API.
    assert "appeal page of this service, /report/appeal?case=12," in m.text
    assert "case number 12" in m.text
    assert m.text.index("/report/appeal") < m.text.index("POST /v1/cases/12/appeals")
    body = json.loads(next(x for x in m.text.splitlines() if x.startswith("Body: "))[6:])
    assert set(body) == {"receipt", "reasons"} and body["receipt"] == RECEIPT
    assert TO not in m.text


def test_the_appeal_address_comes_from_settings() -> None:
    m = outcome(appeal_url="https://trust.example.org/v1/cases/{case_id}/appeals")
    assert "POST https://trust.example.org/v1/cases/12/appeals" in m.text
    assert "/report/appeal" not in m.text  # appeals go to the operator's address only
    assert appeal_path(5) == "/v1/cases/5/appeals"
    assert appeal_path(5, "https://x.example.org/appeal") == "https://x.example.org/appeal"
    assert appeal_page(5) == "/report/appeal?case=5"
    assert appeal_page(5, "https://x.example.org/appeal") is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"outcome": "restrict"}, "access to the content was disabled"),
        ({"outcome": "keep"}, "Examined against: 47 U.S.C. 223a"),
        ({"ground": "terms", "law": None, "terms": "Rules §3"}, "terms of service (Rules §3)"),
        ({"outcome": "keep", "ground": "terms", "terms": "Rules §3"}, "Examined against: our"),
        ({"law": None}, "illegal content under not specified"),
    ],
)
def test_outcome_variants(changes: dict[str, Any], expected: str) -> None:
    assert expected in outcome(**changes).text


def test_escalations_and_bad_values_are_not_sent() -> None:
    with pytest.raises(ValueError, match="escalate"):
        outcome(outcome="escalate")
    with pytest.raises(ValueError, match="ground"):
        outcome(ground="vibes")
    with pytest.raises(ValueError, match="time-zone"):
        outcome(decided_at=datetime(2026, 8, 31, 14, 5))


@pytest.mark.parametrize(("upheld", "expected"), [(True, "upheld"), (False, "changed")])
def test_an_appeal_outcome(upheld: bool, expected: str) -> None:
    m = appeal_outcome_message(
        to=TO, language="en", case_id=12, upheld=upheld, reasons="Checked again.", decided_at=DUE
    )
    assert (m.kind, m.to) == ("appeal_outcome", TO)
    assert expected in m.text and "case 12" in m.text and "Checked again." in m.text
    assert "Art. 21" in m.text and "court" in m.text


# -- statements of reasons to uploaders ------------------------------------------------------


def statement(**changes: Any) -> dict[str, Any]:
    facts = DecisionFacts(
        outcome="remove",
        ground="illegal",
        law="StGB § 201a (DE)",
        terms=None,
        category="adult_ncii",
        reasons="Sexually explicit synthetic image of a real adult, shared without consent.",
        automated_detection=True,
        automated_decision="not",
        source="notice",
        content_date=datetime(2025, 8, 30, 23, 0, tzinfo=UTC),
        decided_at=datetime(2025, 8, 31, 10, 30, tzinfo=UTC),
        puid="jikimi-decision-42",
    )
    record = statement_of_reasons(replace(facts, **changes))
    assert record is not None
    return record


def test_an_uploader_is_told_what_why_and_how_to_challenge_it() -> None:
    text = uploader_statement_text(statement(), language="en")
    assert text.startswith("Your content was removed.")
    assert "illegal content under StGB § 201a (DE)" in text
    assert "intimate images shared without consent" in text
    assert "shared without consent." in text  # the decision's facts
    assert "detected by automated means" in text and "not detected" not in text
    assert "taken by a person" in text
    assert "31 August 2025" in text and "jikimi-decision-42" in text
    assert "6 months" in text and "until 28 February 2026" in text
    assert "Art. 20" in text and "Art. 21" in text and "court" in text


def test_statement_variants() -> None:
    restricted = uploader_statement_text(
        statement(outcome="restrict", automated_detection=False, automated_decision="partially"),
        language="en",
    )
    assert restricted.startswith("Access to your content was disabled.")
    assert "not detected by automated means" in restricted
    assert "partly by automated means" in restricted
    terms = uploader_statement_text(
        statement(ground="terms", law=None, terms="Community rules §4", category="other",
                  content_types=("CONTENT_TYPE_IMAGE",)),
        language="en",
    )  # fmt: skip
    assert "incompatible with the terms of service (Community rules §4)" in terms
    assert "a breach of the terms of service" in terms


# -- languages -------------------------------------------------------------------------------


def _all_korean() -> list[str]:
    return [
        receipt(language="ko").text,
        receipt(language="ko", joined=True, already_removed=[1]).text,
        receipt(language="ko", case_id=None, missing=("signature",), invalid=("locators[0]",)).text,
        receipt(language="ko", suspended=True, case_id=None).text,
        outcome(language="ko").text,
        outcome(language="ko", outcome="keep", ground="terms", terms="약관 제3조").text,
        appeal_outcome_message(
            to=TO, language="ko", case_id=1, upheld=True, reasons="재검토함", decided_at=DUE
        ).text,
        uploader_statement_text(statement(), language="ko"),
    ]


def test_the_korean_variant_is_korean_and_polite() -> None:
    for text in _all_korean():
        letters = [c for c in text if c.isalpha() and not c.isascii()]
        assert len(letters) > 40 and all(HANGUL.match(c) for c in letters if c != "·"), text
        # 합니다체: every Korean sentence ends in -니다, -십시오 or the greeting's -니까.
        for ending in re.findall(r"([\uac00-\ud7a3])\.(?:\s|$)", text):
            assert ending in "다오까", (ending, text)
    m = outcome(language="ko")
    assert m.language == "ko" and HANGUL.search(m.subject)
    assert "6개월" in m.text and "제20조" in m.text and "2027년 2월 28일" in m.text
    assert "2026년 8월 31일 (월) 14:05 UTC" in m.text
    assert "이의 제기 페이지(/report/appeal?case=12)" in m.text
    assert "- signature: 서명(성명)" in _all_korean()[2]


def test_an_unknown_language_is_english() -> None:
    assert receipt(language="fr") == receipt(language="en")
    assert receipt(language="fr").language == "en"


def test_both_languages_say_the_same_things() -> None:
    """Every text exists in both languages with the same placeholders."""
    tables = [message_texts.TEXTS, message_texts.KINDS, message_texts.ELEMENTS]
    tables.append(message_texts.CATEGORIES)
    for table in tables:
        english, korean = table["en"], table["ko"]
        assert set(english) == set(korean)
        for key, text in english.items():
            assert _fields(text) == _fields(korean[key]), key


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_all_matches_the_public_api() -> None:
    defined = {
        n
        for n, obj in vars(messages).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == messages.__name__
    }
    assert defined <= set(messages.__all__)
    assert all(hasattr(messages, n) for n in messages.__all__)
