"""A matcher shared by the threads of a long-running service.

Lookups take a shared (read) lock, changes an exclusive (write) lock, so an entry added or
withdrawn through the API is in or out from the very next lookup and never seen half-written.
Writers go first: once one waits, new readers queue behind it, so a steady stream of lookups
cannot starve a withdrawal. A rebuilt matcher (banks changed in another process) is swapped in
whole, under the write lock.

Changes made by another process (``jikimi bank withdraw``, ``jikimi exchange sync``, a second
server worker) reach the indexes only when the service rebuilds them. So that a withdrawal
made elsewhere still stops matching at the very next lookup, every lookup that found something
passes its matches through ``confirm`` (the service asks the store which entries and persons
are still active) before they count; lookups that found nothing cost nothing more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from jikimi.errors import IndexesLoading
from jikimi.matching.matcher import Matcher
from jikimi.model import BankSpec, Match, MediaSignals

Confirm = Callable[[list[Match]], list[Match]]


class LiveMatcher:
    def __init__(self, matcher: Matcher | None = None, *, confirm: Confirm | None = None) -> None:
        self._matcher = matcher
        self._confirm = confirm
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self.generation = 0
        self.loaded = threading.Event()
        if matcher is not None:
            self.loaded.set()

    @contextmanager
    def read(self) -> Iterator[Matcher]:
        """The current matcher, for lookups; :class:`~jikimi.errors.IndexesLoading` before the
        first load."""
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            if self._matcher is None:
                raise IndexesLoading("the match indexes are still loading; retry in a few seconds")
            yield self._matcher
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[Matcher]:
        """The current matcher, for changes in place (add, withdraw)."""
        with self._exclusive():
            if self._matcher is None:
                raise IndexesLoading("the match indexes are still loading; retry in a few seconds")
            yield self._matcher

    def swap(self, matcher: Matcher, *, unless: Callable[[], bool] | None = None) -> bool:
        """Replace the matcher whole (a rebuild from the store); False, and nothing replaced,
        when ``unless()`` says (under the write lock) that the rebuild is already stale: a
        change applied in place since its snapshot would otherwise be lost. The first load
        always goes in."""
        with self._exclusive():
            if self._matcher is not None and unless is not None and unless():
                return False
            self._matcher = matcher
            self.generation += 1
        self.loaded.set()
        return True

    # -- the Matcher lookups, each under the read lock (the cascade takes a LiveMatcher as its
    # matcher, so hashing and models run outside the lock and only lookups hold it)

    def match_media(self, media: MediaSignals) -> list[Match]:
        with self.read() as matcher:
            found = matcher.match_media(media)
        return self.confirmed(found)

    def match_values(self, pairs: Sequence[tuple[str, str]]) -> list[list[Match]]:
        with self.read() as matcher:
            found = matcher.match_values(pairs)
        return [self.confirmed(matches) for matches in found]

    def confirmed(self, matches: list[Match]) -> list[Match]:
        """``matches`` less those the store no longer holds active (see the module doc)."""
        if not matches or self._confirm is None:
            return matches
        return self._confirm(matches)

    def match_value(self, signal_type: str, value: str) -> list[Match]:
        return self.match_values([(signal_type, value)])[0]

    @property
    def banks(self) -> Mapping[str, BankSpec]:
        with self.read() as matcher:
            return dict(matcher.banks)

    @property
    def faces(self) -> _LockedFaces:
        return _LockedFaces(self)

    def __len__(self) -> int:
        with self.read() as matcher:
            return len(matcher)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class _LockedFaces:
    """``matcher.faces`` of a live matcher: face lookups under the read lock."""

    def __init__(self, live: LiveMatcher) -> None:
        self._live = live

    def match(self, faces: Sequence[tuple[Sequence[int], Any]]) -> list[Match]:
        with self._live.read() as matcher:
            found = matcher.faces.match(faces)
        return self._live.confirmed(found)
