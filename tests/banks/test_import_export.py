from __future__ import annotations

import hashlib
import io
import time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jikimi.banks.formats import iter_lines
from jikimi.banks.service import BankStore
from jikimi.errors import BankNotFound
from jikimi.evidence.custody import CustodyLog

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _hex(i: int, width: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()[:width]


@pytest.fixture
def banks(sessions: sessionmaker[Session]) -> BankStore:
    store = BankStore(sessions)
    store.create("b", actor="alice")
    return store


def test_import_keeps_good_lines_and_reports_bad_ones(banks: BankStore) -> None:
    lines = ["# list", f"md5 {MD5}", "phash 00", f"pdq {'a' * 64}", "md5 nothex", f"md5 {MD5}"]
    report = banks.import_lines("b", lines, fmt="txt", actor="bob", source="file:list.txt")
    assert [(e.signal_type, e.value) for e in report.added] == [("md5", MD5), ("pdq", "a" * 64)]
    assert [line for line, _ in report.rejected] == [3, 5]
    assert "unknown signal type" in report.rejected[0][1]
    assert report.duplicates == 1
    assert all(e.source == "file:list.txt" and e.added_by == "bob" for e in report.added)
    # Importing the same list again adds nothing.
    again = banks.import_lines("b", lines, fmt="txt", actor="bob", source="file:list.txt")
    assert again.added == [] and again.duplicates == 3


def test_import_csv_and_export_round_trip(banks: BankStore) -> None:
    lines = [
        "signal_type,value,note,labels",
        f"md5,{MD5},seen twice,ai;nudity",
        f"pdq,{'b' * 64},,",
    ]
    report = banks.import_lines("b", lines, fmt="csv", actor="bob", source="csv")
    assert report.rejected == []
    assert report.added[0].labels == ["ai", "nudity"]
    assert report.added[0].note == "seen twice"
    assert list(banks.export("b", "txt")) == [f"md5 {MD5}", f"pdq {'b' * 64}"]
    assert list(banks.export("b", "csv")) == [
        "signal_type,value,note,labels",
        f"md5,{MD5},seen twice,ai;nudity",
        f"pdq,{'b' * 64},,",
    ]
    banks.withdraw("b", report.added[0].entry_id, actor="bob")
    assert list(banks.export("b", "txt")) == [f"pdq {'b' * 64}"]
    with pytest.raises(BankNotFound):
        list(banks.export("missing", "txt"))


def test_hostile_line_is_rejected_and_the_rest_imported(banks: BankStore) -> None:
    data = f"md5 {MD5}\n".encode() + b"pdq " + b"f" * (10 * 1024 * 1024) + b"\nmd5 zz\n"
    report = banks.import_lines(
        "b", iter_lines(io.BytesIO(data)), fmt="txt", actor="bob", source="x"
    )
    assert [e.value for e in report.added] == [MD5]
    assert [line for line, _ in report.rejected] == [2, 3]
    assert "longer than" in report.rejected[0][1]
    assert len(report.rejected[0][1]) < 200


def test_bulk_import_of_20k_lines_is_fast_and_recorded(
    banks: BankStore, sessions: sessionmaker[Session]
) -> None:
    lines = [f"pdq {_hex(i, 64)}" for i in range(10_000)]
    lines += [f"md5 {_hex(i, 32)}" for i in range(10_000)]
    started = time.perf_counter()
    report = banks.import_lines("b", iter(lines), fmt="txt", actor="bob", source="bulk")
    elapsed = time.perf_counter() - started
    assert len(report.added) == 20_000 and report.rejected == []
    assert elapsed < 20, f"20k-line import took {elapsed:.1f}s"
    assert banks.get("b").active_entries == 20_000
    assert len({e.entry_id for e in report.added}) == 20_000
    streamed = list(banks.active_entries())
    assert [(e.entry_id, e.value) for e in streamed] == [
        (e.entry_id, e.value) for e in report.added
    ]
    (event,) = [e for e in CustodyLog(sessions).events() if e.kind == "bank.imported"]
    assert event.payload["added"] == 20_000
    assert event.payload["first_entry_id"] == report.added[0].entry_id
    expected = hashlib.sha256("".join(f"{line}\n" for line in lines).encode()).hexdigest()
    assert event.payload["sha256_of_lines"] == expected
