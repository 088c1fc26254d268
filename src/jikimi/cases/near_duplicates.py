"""Near-duplicates of removed media: the other items that hold a perceptually similar image.

When a decision removes some media, copies that were resized, recompressed, cropped a little or
turned grey are usually still up elsewhere. :func:`find_near_duplicates` finds the items that
hold them: every stored media whose PDQ lies within ``threshold`` bits (Hamming, inclusive) of
a removed media's PDQ, after Meta's PDQ matching rule (``hashing/pdq/README.md`` in
facebook/ThreatExchange: same image when the distance is at most 31). Byte-identical copies
(media whose sha256 is itself removed) are left to the exact-match path.

It is the plain linear scan, the slow reference that STYLE.md asks for beside any fast index:
media rows are read in keyset pages ordered by primary key (``sha256 > last``), so a store with a
million media is never held in memory at once, and each page is compared with every removed
hash in numpy (:func:`jikimi.matching.hexbits.hamming_rows`). The PDQ is read from the media's
``pdq`` column (migration 0013), not from its signals JSON.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from jikimi.errors import SignalValueError
from jikimi.matching.hexbits import PDQ_BYTES, as_words, check_radius, hamming_rows, pdq_to_bytes
from jikimi.signals.base import validate_value
from jikimi.store.models import ItemMedia, MediaRecord

__all__ = ["NearDuplicate", "find_near_duplicates"]

# Media ids per ``IN (...)`` when looking up the items: below SQLite's 999 bound parameters of
# old builds, and far below PostgreSQL's 65,535.
_IN_BATCH = 500


@dataclass(frozen=True, slots=True)
class NearDuplicate:
    """An item holding ``media_sha256``, whose PDQ is ``distance`` bits from removed media
    ``of_media`` (the closest removed one)."""

    item_id: int
    media_sha256: str
    of_media: str
    distance: int


@dataclass(frozen=True, slots=True)
class _Removed:
    """The removed hashes as ``(r, 4) uint64`` words, with their media ids in the same order."""

    shas: tuple[str, ...]
    words: np.ndarray


def find_near_duplicates(
    session: Session,
    removed: Mapping[str, str],
    *,
    threshold: int,
    exclude_items: Collection[int],
    chunk: int = 10_000,
) -> list[NearDuplicate]:
    """Items outside ``exclude_items`` holding a media within ``threshold`` of a removed PDQ.

    ``removed`` maps each removed media's sha256 to its PDQ hex; a malformed value there is the
    caller's error (:class:`SignalValueError`), while malformed values in the store are skipped.
    One entry per (item, media), naming the closest removed media (ties go to the smallest
    sha256), sorted by ``(distance, item_id, media_sha256)``. ``chunk`` is how many media rows
    are read and compared at a time.
    """
    radius = check_radius(threshold)
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk!r}")
    if not removed:
        return []
    targets = _removed_words(removed)
    hits: dict[str, tuple[int, str]] = {}
    for shas, words in _stored_pdqs(session, removed.keys(), chunk):
        hits.update(_closest_within(shas, words, targets, radius))
    return _items_holding(session, hits, exclude_items)


def _removed_words(removed: Mapping[str, str]) -> _Removed:
    """The removed hashes in sha256 order, so that ties between them resolve the same way on
    every run and every backend."""
    shas = tuple(sorted(removed))
    return _Removed(shas, as_words(pdq_to_bytes([removed[s] for s in shas])))


def _stored_pdqs(
    session: Session, skip: Collection[str], chunk: int
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Pages of ``(media ids, (n, 4) uint64 PDQ words)`` of every media with a well-formed
    PDQ, except those in ``skip``. Pages are keyset-paginated by primary key: each query is
    short and indexed, and no server-side cursor stays open between pages."""
    skipped = frozenset(skip)
    last: str | None = None
    while True:
        rows = _media_page(session, last, chunk)
        if not rows:
            return
        last = rows[-1][0]
        shas, raw = _well_formed(rows, skipped)
        if shas:
            codes = np.frombuffer(raw, dtype=np.uint8).reshape(len(shas), PDQ_BYTES)
            yield shas, as_words(codes)
        if len(rows) < chunk:
            return


def _media_page(session: Session, after: str | None, chunk: int) -> list[tuple[str, Any]]:
    """Up to ``chunk`` ``(sha256, pdq)`` rows with a PDQ after ``after`` in sha256 order (the
    ``pdq`` column: no JSON is decoded)."""
    query = (
        select(MediaRecord.sha256, MediaRecord.pdq)
        .where(MediaRecord.pdq.is_not(None))
        .order_by(MediaRecord.sha256)
        .limit(chunk)
    )
    if after is not None:
        query = query.where(MediaRecord.sha256 > after)
    return [(sha, pdq) for sha, pdq in session.execute(query)]


def _well_formed(rows: Sequence[tuple[str, Any]], skip: frozenset[str]) -> tuple[list[str], bytes]:
    """The media ids and PDQ bytes of the rows that have a valid PDQ and are not in ``skip``.
    A page is decoded at once (the usual case: every value well formed); only a page holding a
    malformed value (wrong width, not hex) is checked row by row. Such media are not this
    lookup's business: they simply cannot be compared."""
    kept = [(sha, value) for sha, value in rows if sha not in skip and isinstance(value, str)]
    try:
        raw = bytes.fromhex("".join(value for _, value in kept))
        if len(raw) == len(kept) * PDQ_BYTES:
            return [sha for sha, _ in kept], raw
    except ValueError:
        pass
    shas: list[str] = []
    hexes: list[str] = []
    for sha, value in kept:
        try:
            hexes.append(validate_value("pdq", value))
        except SignalValueError:
            continue
        shas.append(sha)
    return shas, bytes.fromhex("".join(hexes))


def _closest_within(
    shas: Sequence[str], words: np.ndarray, targets: _Removed, radius: int
) -> Iterator[tuple[str, tuple[int, str]]]:
    """``(media id, (distance, closest removed id))`` for the rows within ``radius``.

    One pass per removed hash keeps memory at O(rows) however many hashes were removed; a
    strict ``<`` keeps the first (smallest sha256) removed media on ties.
    """
    best = np.full(len(shas), np.iinfo(np.uint32).max, dtype=np.uint32)
    which = np.zeros(len(shas), dtype=np.intp)
    for i, target in enumerate(targets.words):
        dist = hamming_rows(words, target)
        closer = dist < best
        best[closer] = dist[closer]
        which[closer] = i
    for row in np.flatnonzero(best <= radius).tolist():
        yield shas[row], (int(best[row]), targets.shas[which[row]])


def _items_holding(
    session: Session, hits: Mapping[str, tuple[int, str]], exclude_items: Collection[int]
) -> list[NearDuplicate]:
    """One :class:`NearDuplicate` per (item, media) for the items holding the ``hits`` media.

    ``exclude_items`` is applied here rather than in SQL: it may be long, and the hits are few.
    """
    excluded = frozenset(exclude_items)
    pairs: set[tuple[int, str]] = set()
    media = sorted(hits)
    for lo in range(0, len(media), _IN_BATCH):
        query = select(ItemMedia.item_id, ItemMedia.media_sha256).where(
            ItemMedia.media_sha256.in_(media[lo : lo + _IN_BATCH])
        )
        pairs.update((item, sha) for item, sha in session.execute(query) if item not in excluded)
    found = [NearDuplicate(item, sha, hits[sha][1], hits[sha][0]) for item, sha in sorted(pairs)]
    found.sort(key=lambda d: (d.distance, d.item_id, d.media_sha256))
    return found
