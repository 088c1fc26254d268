"""Statements as the DSA Transparency Database API takes them: checks, payloads, batches, and
the client against a fake endpoint on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.support.fake_transparency_db import TOKEN, FakeTransparencyDb

from jikimi.errors import ReportAuthError, ReportInvalid, ReportRejected, ReportUnavailable
from jikimi.reports.statement import DecisionFacts, statement_of_reasons
from jikimi.reports.transparency_db import (
    MAX_BATCH,
    RULES,
    batch_payload,
    batches,
    check_batch,
    check_statement,
    statement_payload,
)
from jikimi.reports.transparency_db_client import TransparencyDbClient


def statement(puid: str = "jikimi-1-aa", **changes: Any) -> dict[str, Any]:
    record = statement_of_reasons(
        DecisionFacts(
            outcome="remove",
            ground="illegal",
            law="성폭력처벌법 제14조의2",
            terms=None,
            category="adult_ncii",
            reasons="Synthetic sexual image of a real adult shared without consent.",
            automated_detection=True,
            automated_decision="not",
            source="notice",
            content_date=datetime(2026, 3, 1, tzinfo=UTC),
            decided_at=datetime(2026, 3, 2, tzinfo=UTC),
            puid="built",
        )
    )
    assert record is not None
    record.update(puid=puid, **changes)
    return {k: v for k, v in record.items() if v is not None}


@pytest.fixture
def fake() -> Iterator[FakeTransparencyDb]:
    with FakeTransparencyDb() as server:
        yield server


@pytest.fixture
def client(fake: FakeTransparencyDb) -> Iterator[TransparencyDbClient]:
    with TransparencyDbClient(fake.url, TOKEN, timeout=5) as c:
        yield c


# -- checks -----------------------------------------------------------------------------------


def test_a_built_statement_passes_every_check() -> None:
    assert RULES, "no extra rules"
    assert check_statement(statement()) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"decision_ground": "ILLEGAL"}, "decision_ground"),
        ({"automated_detection": "maybe"}, "automated_detection"),
        ({"puid": "a b/c"}, "puid: only letters"),
        ({"puid": "x" * 501}, "puid: 501 characters"),
        ({"decision_facts": "x" * 5001}, "decision_facts: 5001 characters"),
        ({"illegal_content_legal_ground": "x" * 501}, "illegal_content_legal_ground: 501"),
        ({"application_date": "2026-3-2"}, "application_date: '2026-3-2' is not a date"),
        ({"territorial_scope": ["EL"]}, "territorial_scope"),
        ({"content_id": {"EAN-13": "4006381333932"}}, "content_id: '4006381333932'"),
        ({"content_id": {"ISBN": "4006381333931"}}, "content_id: must be"),
        ({"category_specification_other": "x"}, "category_specification_other: only with"),
        ({"decision_ground_reference_url": "see terms"}, "decision_ground_reference_url"),
        ({"decision_facts": "Reported by a@b.example"}, "decision_facts: remove e-mail"),
        ({"source_type": "SOURCE_VOLUNTARY", "source_identity": "x"}, "source_identity"),
        ({"decision_facts": float("nan")}, "not plain JSON"),
    ],
)
def test_each_rule_names_the_field(changes: dict[str, Any], expected: str) -> None:
    problems = check_statement(statement(**changes))
    assert any(expected in p for p in problems), problems


def test_a_valid_ean13_content_id_passes() -> None:
    assert check_statement(statement(content_id={"EAN-13": "4006381333931"})) == []


def test_statement_payload_sets_the_puid_and_refuses_an_invalid_one() -> None:
    assert statement_payload(statement(), "jikimi-9-ff")["puid"] == "jikimi-9-ff"
    with pytest.raises(ReportInvalid) as info:
        statement_payload(statement(category="STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR"), "p")
    assert "retired" in str(info.value)
    assert info.value.problems


def test_batches_of_250_are_100_100_50() -> None:
    assert [len(b) for b in batches(list(range(250)))] == [100, 100, 50]
    with pytest.raises(ValueError):
        list(batches([1], MAX_BATCH + 1))


def test_check_batch_indexes_problems_as_the_api_does() -> None:
    good, bad = statement("p-0"), statement("p-1", automated_detection="maybe")
    problems = check_batch([good, bad, statement("p-0")])
    assert any(p.startswith("statement_1.automated_detection") for p in problems)
    assert "statement_2.puid: p-0 repeats statement_0" in problems
    assert check_batch([]) == ["statements: 0 in one call; send 1 to 100"]
    too_many = [statement(f"p-{n}") for n in range(101)]
    assert check_batch(too_many)[0].startswith("statements: 101")
    assert batch_payload([good]) == {"statements": [good]}


# -- the client ------------------------------------------------------------------------------


def test_single_submit_is_created_with_its_uuid(
    fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    sent = client.submit(statement("one-1"))
    assert not sent.existing and sent.uuid == fake.stored["one-1"]["uuid"]
    assert fake.auth_headers == [f"Bearer {TOKEN}"]


def test_a_known_puid_is_not_a_duplicate(
    fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    first = client.submit(statement("again-1"))
    second = client.submit(statement("again-1"))
    assert second.existing and second.uuid == first.uuid
    assert len(fake.stored) == 1


def test_an_invalid_statement_is_refused_before_sending(
    fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    with pytest.raises(ReportInvalid) as info:
        client.submit(statement("bad-1", decision_ground="GROUND"))
    assert "decision_ground" in str(info.value)
    with pytest.raises(ReportInvalid):
        client.submit_batch([statement("ok-1"), statement("bad 2")])
    assert fake.calls == []


def test_batch_submit_and_existing_puids(
    fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    client.submit(statement("b-1"))
    sent = client.submit_batch([statement("b-0"), statement("b-1"), statement("b-2")])
    assert {(s.puid, s.existing) for s in sent} == {("b-0", False), ("b-1", True), ("b-2", False)}
    assert sorted(fake.stored) == ["b-0", "b-1", "b-2"]
    # refused once for the known PUID, then sent without it
    assert fake.calls[1:] == [("/api/v1/statements", 3), ("/api/v1/statements", 2)]


def test_a_batch_of_only_known_puids_sends_nothing_new(
    fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    client.submit_batch([statement("k-1")])
    assert [s.existing for s in client.submit_batch([statement("k-1")])] == [True]
    assert len(fake.stored) == 1


def test_the_servers_422_becomes_field_problems(
    fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    # A rule the database enforces and we do not know of: its answer, field by field.
    errors = {"statement_0": {"decision_monetary": ["The selected decision monetary is invalid."]}}
    fake.fail(422, body={"errors": errors})
    with pytest.raises(ReportRejected) as info:
        client.submit_batch([statement("r-1")])
    assert info.value.status == 422
    assert info.value.problems == [
        "statement_0.decision_monetary: The selected decision monetary is invalid."
    ]


def test_bad_token_is_an_auth_error_without_the_token(fake: FakeTransparencyDb) -> None:
    c = TransparencyDbClient(fake.url, "X|wrong-token-secret", timeout=5)
    with c, pytest.raises(ReportAuthError) as info:
        c.submit(statement("t-1"))
    assert "wrong-token-secret" not in str(info.value)
    with pytest.raises(ReportAuthError):
        TransparencyDbClient(fake.url, None)


def test_429_and_5xx_say_when_to_try_again(
    fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    fake.fail(429, retry_after="120")
    with pytest.raises(ReportUnavailable) as info:
        client.submit_batch([statement("s-1")])
    assert info.value.retry_after == 120 and "after 120 s" in str(info.value)
    fake.fail(503)
    with pytest.raises(ReportUnavailable) as info:
        client.submit(statement("s-1"))
    assert info.value.retry_after is None
    assert fake.stored == {}


def test_unreachable_is_unavailable() -> None:
    c = TransparencyDbClient("http://127.0.0.1:9", TOKEN, timeout=2)
    with c, pytest.raises(ReportUnavailable):
        c.submit(statement("u-1"))


def test_the_token_never_reaches_the_logs(
    fake: FakeTransparencyDb, client: TransparencyDbClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info("sent with %s", TOKEN)
    client.submit(statement("l-1"))
    assert TOKEN not in caplog.text
    assert "<redacted>" in caplog.text
