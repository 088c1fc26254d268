"""vPDQ video matching by python-threatexchange's reference rule (``vpdq_brute_matcher``).

Both frame lists are deduplicated by hash (first occurrence kept) and then filtered to frames of
quality ``>= quality``. A frame matches when some frame of the other video lies within
``distance`` bits. The query-match percentage is the share of the query's filtered frames that
match the entry; the entry-match percentage the converse. A video entry matches when the
query-match percentage is at least :data:`QUERY_MATCH_PCT` (80), the entry-match percentage at
least :data:`ENTRY_MATCH_PCT` (0), as threatexchange's ``VPDQ_*_MATCH_THRESHOLD_PERCENT``.

:class:`VpdqIndex` compares a query with every stored frame (brute force, vectorised). Its cost
is ``query frames x stored frames`` per lookup, fine for thousands of videos, not for millions:
a frame-level PDQ index (one ``MultiIndexPdqIndex`` over all frames, counting distinct matched
query frames per entry) is the next step when banks grow.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from jikimi.matching.hexbits import as_words, hamming_rows, pdq_to_bytes
from jikimi.signals.vpdq_format import VpdqFrame

QUALITY = 50
DISTANCE = 31
QUERY_MATCH_PCT = 80.0
ENTRY_MATCH_PCT = 0.0


def _filtered(frames: Iterable[VpdqFrame], quality: int) -> list[VpdqFrame]:
    seen: set[str] = set()
    out = []
    for f in frames:
        if f.pdq not in seen:
            seen.add(f.pdq)
            if f.quality >= quality:
                out.append(f)
    return out


def _words(frames: list[VpdqFrame]) -> np.ndarray:
    return as_words(pdq_to_bytes([f.pdq for f in frames]))


def _within(a: np.ndarray, b: np.ndarray, distance: int) -> np.ndarray:
    """``(len(a), len(b))`` boolean matrix: frame pairs within ``distance``."""
    out = np.empty((len(a), len(b)), dtype=bool)
    for i, row in enumerate(a):
        out[i] = hamming_rows(b, row) <= distance
    return out


def vpdq_match(
    query: list[VpdqFrame],
    entry: list[VpdqFrame],
    *,
    quality: int = QUALITY,
    distance: int = DISTANCE,
) -> tuple[float, float]:
    """``(query_match_pct, entry_match_pct)`` as threatexchange's ``match_VPDQ_hash_brute``.

    Where a side has no frame left after filtering its percentage is ``0.0`` (the reference
    divides by zero there).
    """
    q, e = _filtered(query, quality), _filtered(entry, quality)
    if not q or not e:
        return 0.0, 0.0
    near = _within(_words(q), _words(e), distance)
    return (
        float(near.any(axis=1).sum()) * 100 / len(q),
        float(near.any(axis=0).sum()) * 100 / len(e),
    )


def vpdq_distance(query_match_pct: float) -> int:
    """``Match.distance`` of a vPDQ match: ``100 - round(query_match_pct)``, so 0 means every
    usable query frame was found in the entry and a match has distance at most 20."""
    return 100 - round(query_match_pct)


class VpdqIndex:
    """Brute-force vPDQ index over entries (see the module docstring for its limit)."""

    def __init__(self, *, quality: int = QUALITY, distance: int = DISTANCE) -> None:
        self._quality, self._distance = quality, distance
        self._frames: dict[int, np.ndarray] = {}  # entry id -> filtered frame words
        self._words = np.empty((0, 4), dtype=np.uint64)
        self._owner = np.empty(0, dtype=np.int64)
        self._stale = False

    def add(self, entry_id: int, frames: list[VpdqFrame]) -> None:
        """Index ``entry_id``'s frames (an id already present is replaced)."""
        kept = _filtered(frames, self._quality)
        words = _words(kept) if kept else np.empty((0, 4), dtype=np.uint64)
        self._frames[entry_id] = words
        self._stale = True

    def remove(self, entry_id: int) -> None:
        if self._frames.pop(entry_id, None) is not None:
            self._stale = True

    def __len__(self) -> int:
        return len(self._frames)

    def _flat(self) -> None:
        if self._stale:
            items = [(i, w) for i, w in self._frames.items() if len(w)]
            self._words = np.concatenate([w for _, w in items]) if items else self._words[:0]
            self._owner = (
                np.concatenate([np.full(len(w), i, dtype=np.int64) for i, w in items])
                if items
                else self._owner[:0]
            )
            self._stale = False

    def query(
        self,
        frames: list[VpdqFrame],
        *,
        query_match_pct: float = QUERY_MATCH_PCT,
        entry_match_pct: float = ENTRY_MATCH_PCT,
    ) -> list[tuple[int, float, float]]:
        """``(entry_id, query_match_pct, entry_match_pct)`` of every matching entry, by id."""
        q = _filtered(frames, self._quality)
        self._flat()
        if not q or not len(self._words):
            return []
        near = _within(_words(q), self._words, self._distance)  # (query frames, stored frames)
        owners, inverse = np.unique(self._owner, return_inverse=True)
        stored_hit = near.any(axis=0)
        entry_hits = np.bincount(inverse, weights=stored_hit, minlength=len(owners))
        entry_sizes = np.bincount(inverse, minlength=len(owners))
        # query frames matched per entry: any over that entry's stored frames
        per_entry = np.zeros((len(q), len(owners)), dtype=bool)
        np.logical_or.at(per_entry, (slice(None), inverse), near)
        query_hits = per_entry.sum(axis=0)
        out = []
        for k, eid in enumerate(owners.tolist()):
            qp = float(query_hits[k]) * 100 / len(q)
            ep = float(entry_hits[k]) * 100 / float(entry_sizes[k])
            if qp >= query_match_pct and ep >= entry_match_pct:
                out.append((eid, qp, ep))
        return out


__all__ = [
    "DISTANCE",
    "ENTRY_MATCH_PCT",
    "QUALITY",
    "QUERY_MATCH_PCT",
    "VpdqIndex",
    "vpdq_distance",
    "vpdq_match",
]
