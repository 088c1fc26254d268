"""Conformance base class for PDQ indexes (STYLE.md: one base test class per protocol).

An index's tests subclass :class:`PdqIndexConformance` and supply ``make_index``; every test
below then runs against it. Each test checks behaviour against known answers built here, and
:func:`reference_results` (a plain Python linear scan, independent of numpy) is the truth.
Also home to the seeded corpora the matching tests share: uniform random codes and clustered
families of near-duplicates, whose results crowd the radius boundary.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from jikimi.errors import SignalValueError
from jikimi.matching.pdq_index import PdqIndex


def flip(rng: np.random.Generator, code: np.ndarray, k: int) -> np.ndarray:
    """A copy of one ``(32,) uint8`` code with exactly ``k`` distinct bits flipped."""
    bits = np.unpackbits(code)
    bits[rng.choice(256, size=k, replace=False)] ^= 1
    return np.packbits(bits)


def random_corpus(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32), dtype=np.uint8)


def clustered_corpus(families: int, size: int, seed: int, max_flips: int = 40) -> np.ndarray:
    """``families`` centres, each with ``size - 1`` copies of ``0..max_flips`` flipped bits."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, (families, 32), dtype=np.uint8)
    rows = []
    for c in centres:
        rows.append(c)
        rows += [flip(rng, c, int(rng.integers(0, max_flips + 1))) for _ in range(size - 1)]
    return np.stack(rows)


def reference_results(
    ids: np.ndarray, codes: np.ndarray, query: np.ndarray, radius: int
) -> list[tuple[int, int]]:
    """Every ``(id, distance)`` within ``radius``, by Python ints: the slowest possible truth."""
    q = int.from_bytes(query.tobytes(), "big")
    out = []
    for i, c in zip(ids.tolist(), codes, strict=True):
        d = (int.from_bytes(c.tobytes(), "big") ^ q).bit_count()
        if d <= radius:
            out.append((i, d))
    return sorted(out)


class PdqIndexConformance:
    """Behaviour every :class:`PdqIndex` must have."""

    #: radii every exactness test runs at (edge cases of the 0..64 threshold range)
    RADII: ClassVar[tuple[int, ...]] = (0, 8, 31, 32, 64)

    def make_index(self) -> PdqIndex:
        raise NotImplementedError

    def _filled(self, n: int = 500, seed: int = 1) -> tuple[PdqIndex, np.ndarray, np.ndarray]:
        index = self.make_index()
        codes = random_corpus(n, seed)
        ids = np.arange(n, dtype=np.int64) * 10 + 3
        index.add(ids, codes)
        return index, ids, codes

    def test_is_a_pdq_index(self) -> None:
        assert isinstance(self.make_index(), PdqIndex)

    def test_empty_index_finds_nothing(self) -> None:
        index = self.make_index()
        assert len(index) == 0
        assert index.query(random_corpus(1, 0)[0], 64) == []
        assert index.query_many(random_corpus(3, 0), 31) == [[], [], []]

    def test_radius_is_inclusive_and_exact(self) -> None:
        rng = np.random.default_rng(7)
        centre = random_corpus(1, 7)[0]
        codes = np.stack([flip(rng, centre, k) for k in (0, 1, 30, 31, 32, 33)])
        index = self.make_index()
        index.add(np.array([10, 11, 130, 131, 132, 133]), codes)
        assert index.query(centre, 31) == [(10, 0), (11, 1), (130, 30), (131, 31)]
        assert index.query(centre, 32) == [(10, 0), (11, 1), (130, 30), (131, 31), (132, 32)]
        assert index.query(centre, 0) == [(10, 0)]

    @pytest.mark.parametrize("radius", RADII)
    def test_matches_reference_on_random_corpus(self, radius: int) -> None:
        index, ids, codes = self._filled()
        rng = np.random.default_rng(radius)
        flips = [int(rng.integers(0, 60)) if i % 4 else 0 for i in range(40)]
        queries = np.stack([flip(rng, codes[i], k) for i, k in enumerate(flips)])
        got = index.query_many(queries, radius)
        assert got == [reference_results(ids, codes, q, radius) for q in queries]
        assert any(got), "the near-duplicate queries must find something"

    def test_query_many_equals_query(self) -> None:
        index, _, codes = self._filled()
        assert index.query_many(codes[:20], 31) == [index.query(c, 31) for c in codes[:20]]

    def test_remove_is_visible_to_the_next_query(self) -> None:
        index, ids, codes = self._filled()
        assert index.query(codes[5], 0) == [(int(ids[5]), 0)]
        index.remove([int(ids[5]), 999_999])  # unknown ids are ignored
        assert index.query(codes[5], 0) == []
        assert len(index) == len(ids) - 1

    def test_re_add_after_remove_and_replace(self) -> None:
        index, ids, codes = self._filled()
        index.remove([int(ids[0])])
        index.add(ids[:1], codes[:1])
        assert index.query(codes[0], 0) == [(int(ids[0]), 0)]
        index.add(ids[:1], codes[1:2])  # same id, new code: replaced
        assert index.query(codes[0], 0) == []
        assert index.query(codes[1], 0) == [(int(ids[0]), 0), (int(ids[1]), 0)]
        assert len(index) == len(ids)

    def test_rejects_malformed_input(self) -> None:
        index = self.make_index()
        with pytest.raises(SignalValueError):
            index.add(np.array([1]), np.zeros((1, 31), dtype=np.uint8))
        with pytest.raises(ValueError):
            index.add(np.array([1, 2]), np.zeros((1, 32), dtype=np.uint8))
        with pytest.raises(ValueError):
            index.add(np.array([1, 1]), np.zeros((2, 32), dtype=np.uint8))
        with pytest.raises(ValueError):
            index.query(np.zeros(32, dtype=np.uint8), -1)
