from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jikimi.banks.service import BankStore
from jikimi.errors import (
    BankError,
    BankExists,
    BankNotFound,
    EntryNotFound,
    SignalValueError,
    UnknownSignalType,
)
from jikimi.evidence.custody import CustodyLog
from jikimi.model import BankSpec, EntrySpec

PDQ_A = "f" * 64
PDQ_B = "0123456789abcdef" * 4
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
VPDQ = '["' + PDQ_A + ',100,0.000","' + PDQ_B + ',90,1.000"]'


@pytest.fixture
def banks(sessions: sessionmaker[Session]) -> BankStore:
    return BankStore(sessions)


def test_create_list_get(banks: BankStore) -> None:
    info = banks.create("ncii", pdq_threshold=20, actor="alice")
    assert (info.name, info.kind, info.pdq_threshold, info.try_transforms) == (
        "ncii",
        "known-abuse",
        20,
        True,
    )
    assert info.created_at.utcoffset() is not None
    banks.create("benign", kind="known-benign", try_transforms=False, actor="alice")
    assert [b.name for b in banks.list()] == ["benign", "ncii"]
    assert banks.get("ncii").active_entries == 0
    with pytest.raises(BankExists):
        banks.create("ncii", actor="alice")
    with pytest.raises(BankNotFound):
        banks.get("nope")
    with pytest.raises(BankError, match="kind"):
        banks.create("x", kind="bad", actor="alice")
    assert banks.bank_specs() == [
        BankSpec("benign", "known-benign", 31, False),
        BankSpec("ncii", "known-abuse", 20, True),
    ]


def test_add_normalises_and_dedupes(banks: BankStore) -> None:
    banks.create("b", actor="alice")
    added = banks.add(
        "b",
        [("pdq", PDQ_A.upper()), ("md5", MD5), ("pdq", PDQ_A), ("vpdq", VPDQ)],
        actor="bob",
        note="from report 7",
        labels=["nudity", "ai"],
    )
    assert [e.value for e in added[:3]] == [PDQ_A, MD5, PDQ_A]
    assert added[0].entry_id == added[2].entry_id  # in-call duplicate: one row
    assert added[0].labels == ["nudity", "ai"]
    assert added[0].added_by == "bob"
    again = banks.add("b", [("md5", MD5)], actor="carol")
    assert again[0].entry_id == added[1].entry_id
    assert again[0].added_by == "bob"
    assert len(banks.entries("b")) == 3
    assert banks.get("b").active_entries == 3


def test_add_rejects_bad_values_before_writing(banks: BankStore) -> None:
    banks.create("b", actor="alice")
    with pytest.raises(SignalValueError):
        banks.add("b", [("md5", MD5), ("pdq", "xyz")], actor="bob")
    with pytest.raises(UnknownSignalType):
        banks.add("b", [("phash", MD5)], actor="bob")
    assert banks.entries("b") == []
    with pytest.raises(BankNotFound):
        banks.add("missing", [("md5", MD5)], actor="bob")


def test_withdraw_keeps_a_tombstone_and_leaves_matching(banks: BankStore) -> None:
    banks.create("b", actor="alice")
    md5, pdq = banks.add("b", [("md5", MD5), ("pdq", PDQ_A)], actor="bob")
    gone = banks.withdraw("b", md5.entry_id, actor="carol", reason="false positive")
    assert gone.withdrawn_by == "carol"
    assert gone.withdraw_reason == "false positive"
    assert gone.withdrawn_at is not None
    assert [e.entry_id for e in banks.entries("b")] == [pdq.entry_id]
    every = banks.entries("b", include_withdrawn=True)
    assert [e.entry_id for e in every] == [md5.entry_id, pdq.entry_id]
    assert list(banks.active_entries()) == [EntrySpec(pdq.entry_id, "b", "pdq", PDQ_A)]
    info = banks.get("b")
    assert (info.active_entries, info.withdrawn_entries) == (1, 1)
    # Withdrawing again changes nothing; a withdrawn value may be added back as a new entry.
    assert banks.withdraw("b", md5.entry_id, actor="dave").withdrawn_by == "carol"
    (back,) = banks.add("b", [("md5", MD5)], actor="erin")
    assert back.entry_id != md5.entry_id
    with pytest.raises(EntryNotFound):
        banks.withdraw("b", 10**9, actor="carol")


def test_withdraw_checks_the_entry_belongs_to_the_bank(banks: BankStore) -> None:
    banks.create("a", actor="x")
    banks.create("b", actor="x")
    (entry,) = banks.add("a", [("md5", MD5)], actor="x")
    with pytest.raises(EntryNotFound):
        banks.withdraw("b", entry.entry_id, actor="x")


def test_delete_takes_entries_out_of_matching_and_is_recorded(
    banks: BankStore, sessions: sessionmaker[Session]
) -> None:
    banks.create("a", actor="x")
    banks.create("b", actor="x")
    banks.add("a", [("md5", MD5)], actor="x")
    (kept,) = banks.add("b", [("md5", MD5)], actor="x")
    banks.delete("a", actor="mallory")
    assert [b.name for b in banks.list()] == ["b"]
    assert list(banks.active_entries()) == [EntrySpec(kept.entry_id, "b", "md5", MD5)]
    with pytest.raises(BankNotFound):
        banks.entries("a")
    banks.create("a", actor="x")  # the name is free again
    assert banks.get("a").active_entries == 0
    log = CustodyLog(sessions)
    deleted = [e for e in log.events(subject="bank:a") if e.kind == "bank.deleted"]
    assert [(e.actor, e.payload) for e in deleted] == [("mallory", {"active_entries": 1})]
    assert log.verify().ok


def test_same_value_in_two_banks_is_two_entries(banks: BankStore) -> None:
    banks.create("a", actor="x")
    banks.create("b", actor="x")
    (a,) = banks.add("a", [("pdq", PDQ_B)], actor="x")
    (b,) = banks.add("b", [("pdq", PDQ_B)], actor="x")
    assert a.entry_id != b.entry_id
    assert {(e.bank, e.value) for e in banks.active_entries()} == {("a", PDQ_B), ("b", PDQ_B)}


def test_long_vpdq_values_are_stored_whole(banks: BankStore) -> None:
    frames = ",".join(f'"{PDQ_B},100,{i}.000"' for i in range(5000))  # ~390 kB
    banks.create("v", actor="x")
    (entry,) = banks.add("v", [("vpdq", f"[{frames}]")], actor="x")
    (again,) = banks.add("v", [("vpdq", f"[{frames}]")], actor="x")
    assert again.entry_id == entry.entry_id
    (spec,) = banks.active_entries()
    assert spec.value == entry.value
    assert len(spec.value) > 390_000


def test_concurrent_adds_of_one_value_make_one_entry(banks: BankStore) -> None:
    banks.create("b", actor="x")
    values = [("pdq", f"{i:064x}") for i in range(200)]
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append([e.entry_id for e in banks.add("b", values, actor="x")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(banks.entries("b")) == 200
    assert all(r == results[0] for r in results)
