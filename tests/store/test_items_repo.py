"""Items, verdicts and cases: one transaction, all or nothing, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jikimi.evidence.custody import CustodyLog
from jikimi.model import Reason, Verdict
from jikimi.store import items_repo
from jikimi.store.items_repo import ItemStore, MediaLink, NewItem, RecordedItem
from jikimi.store.models import Case, CustodyEventRecord, Item, VerdictRecord


def _verdict(outcome: str, **kw: object) -> Verdict:
    return Verdict(
        outcome=outcome,  # type: ignore[arg-type]
        reasons=(Reason("r1", outcome, ("fact one",)),),  # type: ignore[arg-type]
        policy_version="test@000000000000",
        automated=outcome != "review",
        **kw,  # type: ignore[arg-type]
    )


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_an_item_its_verdict_and_case_are_recorded_together(
    sessions: sessionmaker[Session],
) -> None:
    custody = CustodyLog(sessions)
    store = ItemStore(sessions, custody)
    item = NewItem(platform="telegram", submitted_by="edge", chat_id="-1", message_id="7")
    review = store.record(
        item,
        [MediaLink(None, "bad.jpg", "corrupt")],
        _verdict("review", queue="adult_ncii", priority=80),
        actor="edge",
    )
    assert review.created and review.case_id is not None
    allowed = store.record(item, [], _verdict("allow"), actor="edge")
    assert allowed.case_id is None
    removed = store.record(item, [], _verdict("remove", actions=("delete_message",)), actor="e")
    with sessions() as s:
        cases = {c.id: (c.state, c.queue, c.priority) for c in s.scalars(select(Case))}
    assert cases == {
        review.case_id: ("new", "adult_ncii", 80),
        removed.case_id: ("actioned", "auto_removed", 0),
    }
    got = store.get(review.item_id)
    assert got is not None
    assert got["media"] == [
        {"position": 0, "sha256": None, "filename": "bad.jpg", "error": "corrupt"}
    ]
    assert got["verdicts"][0]["reasons"] == [
        {"rule": "r1", "outcome": "review", "facts": ["fact one"]}
    ]
    assert [e.kind for e in custody.events(subject=f"item:{review.item_id}")] == [
        "item.received",
        "item.verdict",
    ]
    assert custody.verify().ok


def test_a_failure_inside_the_transaction_records_nothing(
    sessions: sessionmaker[Session],
) -> None:
    store = ItemStore(sessions, CustodyLog(sessions))

    def broken_outbox(session: Session, item_id: int, verdict_id: int) -> None:
        raise RuntimeError("the outbox write failed")

    with pytest.raises(RuntimeError):
        store.record(
            NewItem(platform="web", submitted_by="edge"),
            [],
            _verdict("remove"),
            actor="edge",
            also=broken_outbox,
        )
    for model in (Item, VerdictRecord, Case, CustodyEventRecord):
        assert _count(sessions, model) == 0, model


def test_an_external_id_is_recorded_once_per_submitter(
    sessions: sessionmaker[Session],
) -> None:
    store = ItemStore(sessions, CustodyLog(sessions))

    def send(by: str, outcome: str) -> RecordedItem:
        item = NewItem(platform="web", submitted_by=by, external_id="x1")
        return store.record(item, [], _verdict(outcome), actor=by)

    first = send("a", "allow")
    again = send("a", "review")
    other = send("b", "allow")
    assert again.item_id == first.item_id and not again.created
    assert again.verdict_id == first.verdict_id
    assert other.item_id != first.item_id
    assert store.find_external("a", "x1") == again
    assert _count(sessions, Item) == 2


def test_two_requests_racing_on_one_external_id_record_it_once(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ItemStore(sessions, CustodyLog(sessions))
    item = NewItem(platform="web", submitted_by="a", external_id="race")
    first = store.record(item, [], _verdict("review"), actor="a")
    real = items_repo._existing
    looks: list[str] = []

    def not_yet_committed(session: Session, submitted_by: str, external_id: str) -> object:
        looks.append(external_id)
        return None if len(looks) == 1 else real(session, submitted_by, external_id)

    monkeypatch.setattr(items_repo, "_existing", not_yet_committed)
    second = store.record(item, [], _verdict("review"), actor="a")

    assert looks  # the check inside the transaction saw nothing: the insert had to fail
    assert second.item_id == first.item_id and not second.created
    assert _count(sessions, Item) == 1 and _count(sessions, Case) == 1
