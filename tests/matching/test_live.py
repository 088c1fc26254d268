"""The live matcher: lookups share, changes exclude, writers are not starved, swaps are whole."""

from __future__ import annotations

import threading
import time

import pytest

from jikimi.matching.live import LiveMatcher
from jikimi.matching.matcher import Matcher
from jikimi.model import BankSpec, EntrySpec

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _matcher(*entries: EntrySpec) -> Matcher:
    return Matcher([BankSpec("b")], entries)


def test_lookups_before_the_first_load_say_so() -> None:
    live = LiveMatcher()
    assert not live.loaded.is_set()
    with pytest.raises(RuntimeError, match="loading"):
        live.match_value("md5", MD5)
    live.swap(_matcher())
    assert live.loaded.is_set() and live.generation == 1
    assert live.match_value("md5", MD5) == []


def test_changes_in_place_are_seen_by_the_next_lookup() -> None:
    live = LiveMatcher(_matcher())
    with live.write() as m:
        m.add_entries([EntrySpec(1, "b", "md5", MD5)])
    assert [x.entry_id for x in live.match_value("md5", MD5)] == [1]
    assert dict(live.banks) == {"b": BankSpec("b")}
    with live.write() as m:
        m.withdraw(1)
    assert live.match_value("md5", MD5) == []


def test_a_writer_waits_for_readers_and_new_readers_wait_for_a_writer() -> None:
    live = LiveMatcher(_matcher())
    order: list[str] = []
    reader_in = threading.Event()
    release_reader = threading.Event()

    def long_reader() -> None:
        with live.read():
            reader_in.set()
            release_reader.wait(5)
            order.append("reader done")

    def writer() -> None:
        with live.write() as m:
            order.append("writer")
            m.add_entries([EntrySpec(1, "b", "md5", MD5)])

    def late_reader() -> None:
        found = live.match_value("md5", MD5)
        order.append(f"late reader saw {len(found)}")

    threads = [threading.Thread(target=long_reader)]
    threads[0].start()
    assert reader_in.wait(5)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    time.sleep(0.1)  # the writer is now waiting for the long reader
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    time.sleep(0.1)
    assert order == []  # the late reader queued behind the waiting writer
    release_reader.set()
    for t in threads:
        t.join(5)
    assert order == ["reader done", "writer", "late reader saw 1"]


def test_many_threads_looking_up_during_changes_never_see_a_broken_index() -> None:
    live = LiveMatcher(_matcher())
    errors: list[BaseException] = []
    stop = threading.Event()

    def lookups() -> None:
        while not stop.is_set():
            try:
                live.match_values([("md5", MD5), ("pdq", "f" * 64)])
            except BaseException as exc:
                errors.append(exc)

    readers = [threading.Thread(target=lookups) for _ in range(4)]
    for t in readers:
        t.start()
    for i in range(1, 200):
        with live.write() as m:
            m.add_entries([EntrySpec(i, "b", "pdq", f"{i:064x}")])
            if i % 3 == 0:
                m.withdraw(i - 1)
    live.swap(_matcher(EntrySpec(1, "b", "md5", MD5)))
    stop.set()
    for t in readers:
        t.join(5)
    assert errors == []
    assert len(live) == 1 and live.generation == 1
