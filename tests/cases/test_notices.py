"""Notice intake: each kind complete, each missing element named, invalid ones with reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jikimi.cases.notices import NOTICE_KINDS, PUBLIC_KINDS, REQUIRED, check_notice
from jikimi.errors import NoticeError

RECEIVED = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
SHA = "ab" * 32
LOCATORS = ["https://t.me/somechannel/123", f"sha256:{SHA}", "pdq:" + "0f" * 32]

COMPLETE: dict[str, dict[str, Any]] = {
    "takedown_request": {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": LOCATORS,
        "explanation": "These are fake images of me.",
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "me@example.org", "phone": "+1 555 010 0199"},
        "on_behalf_of": None,
    },
    "dsa_notice": {
        "kind": "dsa_notice",
        "jurisdiction": "DE",
        "locators": LOCATORS[:1],
        "explanation": "Non-consensual intimate imagery, illegal under StGB 201a.",
        "name": "Erika Mustermann",
        "contact": {"email": "erika@example.de"},
        "good_faith_statement": True,
    },
    "authority_order": {
        "kind": "authority_order",
        "jurisdiction": "KR",
        "issuing_body": "KCSC",
        "reference": "2026-0042",
        "legal_basis": "Act on the Establishment of the KCSC, art. 21",
        "deadline": "2026-03-08T09:00:00+09:00",
        "locators": LOCATORS[:2],
    },
    "trusted_flagger": {
        "kind": "trusted_flagger",
        "flagger_id": "tf-hateaid",
        "locators": LOCATORS[1:],
        "explanation": "Known NCII hash.",
    },
    "user_report": {"kind": "user_report", "reason": "ncii", "reporter": 42, "item_id": "it_1"},
}


def check(body: dict[str, Any]) -> Any:
    return check_notice(body, received_at=RECEIVED)


def test_every_kind_has_a_complete_example() -> None:
    assert set(COMPLETE) == set(NOTICE_KINDS)
    assert set(PUBLIC_KINDS) <= set(NOTICE_KINDS)


@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_complete(kind: str) -> None:
    result = check(COMPLETE[kind])
    assert result.kind == kind
    assert result.missing == () and result.invalid == ()
    assert result.complete


def test_takedown_example_parses_everything() -> None:
    result = check(COMPLETE["takedown_request"])
    assert [loc.kind for loc in result.locators] == ["telegram", "hash", "hash"]
    assert result.locators[1].value == SHA and result.jurisdiction == "US"
    assert result.on_behalf_of is None


MISSING_CASES = [(kind, element) for kind in NOTICE_KINDS for element in REQUIRED[kind]]
assert MISSING_CASES


@pytest.mark.parametrize(("kind", "element"), MISSING_CASES)
def test_each_missing_element_is_named(kind: str, element: str) -> None:
    body = dict(COMPLETE[kind])
    field = element.split(".")[0]
    body.pop(field, None)
    if kind == "user_report" and element == "locators":
        body.pop("item_id")  # an item_id stands in for locators
    result = check(body)
    assert result.missing == (element,)
    assert result.invalid == ()
    assert not result.complete


@pytest.mark.parametrize(
    ("field", "value"),
    [("signature", "   "), ("locators", []), ("good_faith_statement", False), ("contact", {})],
)
def test_blank_false_or_empty_counts_as_missing(field: str, value: Any) -> None:
    body = {**COMPLETE["takedown_request"], field: value}
    assert check(body).missing == (field,)


def test_empty_takedown_names_every_element() -> None:
    result = check({"kind": "takedown_request"})
    assert result.missing == ("signature", "locators", "good_faith_statement", "contact")


def test_contact_by_phone_alone_is_enough_for_takedown() -> None:
    body = {**COMPLETE["takedown_request"], "contact": {"phone": "+82 10-1234-5678"}}
    assert check(body).complete


def test_dsa_needs_an_email_not_a_phone() -> None:
    body = {**COMPLETE["dsa_notice"], "contact": {"phone": "+49 30 1234567"}}
    assert check(body).missing == ("contact.email",)


def test_representative_filing_is_recorded() -> None:
    body = {**COMPLETE["takedown_request"], "on_behalf_of": "Jane Doe (my daughter, 15)"}
    result = check(body)
    assert result.complete
    assert result.on_behalf_of == "Jane Doe (my daughter, 15)"


def test_csam_waives_name_and_email_on_dsa_notice() -> None:
    body = {k: v for k, v in COMPLETE["dsa_notice"].items() if k not in ("name", "contact")}
    assert check(body).missing == ("name", "contact.email")
    result = check({**body, "csam": True})
    assert result.complete
    # the waiver is only for name and email
    assert check({"kind": "dsa_notice", "csam": True}).missing == (
        "explanation",
        "locators",
        "good_faith_statement",
    )


def test_bad_locators_are_invalid_with_reasons_and_good_ones_kept() -> None:
    body = {**COMPLETE["trusted_flagger"], "locators": ["sha256:abc", LOCATORS[0], "nowhere"]}
    result = check(body)
    assert result.missing == ()
    fields = dict(result.invalid)
    assert set(fields) == {"locators[0]", "locators[2]"}
    assert "64 hex characters" in fields["locators[0]"]
    assert "neither a URL" in fields["locators[2]"]
    assert [loc.value for loc in result.locators] == [LOCATORS[0]]


def test_duplicate_locators_collapse() -> None:
    body = {**COMPLETE["trusted_flagger"], "locators": [f"sha256:{SHA}", f"SHA256:{SHA.upper()}"]}
    assert len(check(body).locators) == 1


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        ({"colour": "red"}, "colour", "unknown field"),
        ({"deadline": "2026-03-08T00:00:00Z"}, "deadline", "not a field of a takedown_request"),
        ({"signature": 7.5}, "signature", "must be text"),
        ({"signature": "x" * 501}, "signature", "the limit is 500"),
        ({"explanation": "x" * 20_001}, "explanation", "the limit is 20000"),
        ({"locators": ["https://example.org/"] * 101}, "locators", "the limit is 100"),
        ({"locators": {"a": 1}}, "locators", "must be a list"),
        ({"good_faith_statement": "yes"}, "good_faith_statement", "true or false"),
        ({"contact": "me@example.org"}, "contact", "must be an object"),
        ({"contact": {"email": "not-an-email"}}, "contact.email", "not a valid email"),
        ({"contact": {"email": "a@b.org", "fax": "1"}}, "contact.fax", "unknown field"),
        ({"contact": {"phone": "call me"}}, "contact.phone", "not a valid phone"),
        ({"jurisdiction": "USA"}, "jurisdiction", "two-letter"),
    ],
)
def test_invalid_with_reason(patch: dict[str, Any], field: str, reason: str) -> None:
    result = check({**COMPLETE["takedown_request"], **patch})
    fields = dict(result.invalid)
    assert field in fields, result.invalid
    assert reason in fields[field]
    assert not result.complete


def test_jurisdiction_is_normalised() -> None:
    assert check({**COMPLETE["dsa_notice"], "jurisdiction": "uk"}).jurisdiction == "GB"


def test_authority_deadline_is_read_in_utc() -> None:
    result = check(COMPLETE["authority_order"])
    assert result.deadline == datetime(2026, 3, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("deadline", "reason"),
    [
        ("2026-03-07T11:59:00Z", "before the notice was received"),
        ("2028-03-07T12:00:00Z", "days after receipt"),
        ("2026-03-08T12:00:00", "no time zone"),
        ("2026-02-30T12:00:00Z", "not an ISO 8601"),
        ("tomorrow", "not an ISO 8601"),
        (20260308, "must be an ISO 8601"),
    ],
)
def test_impossible_deadlines(deadline: Any, reason: str) -> None:
    result = check({**COMPLETE["authority_order"], "deadline": deadline})
    assert result.deadline is None
    assert result.missing == ()
    assert len(result.invalid) == 1 and result.invalid[0][0] == "deadline"
    assert reason in result.invalid[0][1]


def test_deadline_is_optional_for_orders() -> None:
    body = {k: v for k, v in COMPLETE["authority_order"].items() if k != "deadline"}
    assert check(body).complete


def test_user_report_takes_locators_instead_of_item_id() -> None:
    body = {**COMPLETE["user_report"], "locators": LOCATORS[:1]}
    del body["item_id"]
    assert check(body).complete


@pytest.mark.parametrize("body", [{"kind": "complaint"}, {}, {"kind": None}, {"kind": ["x"]}])
def test_unknown_kind_raises(body: dict[str, Any]) -> None:
    with pytest.raises(NoticeError, match="is not one of"):
        check(body)


@pytest.mark.parametrize("body", [[], "takedown", None])
def test_not_an_object_raises(body: Any) -> None:
    with pytest.raises(NoticeError, match="JSON object"):
        check(body)


def test_naive_receipt_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        check_notice(COMPLETE["user_report"], received_at=datetime(2026, 3, 7))


def test_receipt_in_another_zone() -> None:
    seoul = RECEIVED.astimezone(ZoneInfo("Asia/Seoul"))
    body = {
        **COMPLETE["authority_order"],
        "deadline": (RECEIVED - timedelta(minutes=1)).isoformat(),
    }
    result = check_notice(body, received_at=seoul)
    assert "before the notice was received" in dict(result.invalid)["deadline"]
