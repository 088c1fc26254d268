"""PDQ indexes: the brute-force reference and multi-index hashing, result for result."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conformance.index import (
    PdqIndexConformance,
    clustered_corpus,
    flip,
    random_corpus,
    reference_results,
)

from jikimi.errors import SignalValueError
from jikimi.matching.hexbits import as_words, bytes_to_pdq, chunk_keys, flip_masks, hamming_rows
from jikimi.matching.pdq_index import (
    BruteForcePdqIndex,
    MultiIndexPdqIndex,
    numba_available,
    pdq_to_bytes,
)

RADII = (0, 8, 31, 32, 64)
NEEDS_NUMBA = pytest.mark.skipif(not numba_available(), reason="numba is not installed")
#: both query engines, each checked against the reference (the numba kernel is compiled once per
#: machine: ``cache=True``)
BACKENDS = [pytest.param("numba", marks=NEEDS_NUMBA), "numpy"]


class TestBruteForceConformance(PdqIndexConformance):
    def make_index(self) -> BruteForcePdqIndex:
        return BruteForcePdqIndex()


class TestMultiIndexConformance(PdqIndexConformance):
    def make_index(self) -> MultiIndexPdqIndex:
        return MultiIndexPdqIndex()


@NEEDS_NUMBA
class TestMultiIndexNumbaConformance(PdqIndexConformance):
    """Small indexes scan rather than probe: this runs the numba kernel's probes throughout."""

    def make_index(self) -> MultiIndexPdqIndex:
        index = MultiIndexPdqIndex(backend="numba")
        index._PROBE_COST = 0
        return index


class TestMultiIndexNumpyConformance(PdqIndexConformance):
    def make_index(self) -> MultiIndexPdqIndex:
        index = MultiIndexPdqIndex(backend="numpy")
        index._PROBE_COST = 0
        return index


class TestMultiIndexTinyTailConformance(PdqIndexConformance):
    """Every add goes through the table merge, 13-bit substrings straddle word boundaries."""

    def make_index(self) -> MultiIndexPdqIndex:
        return MultiIndexPdqIndex(substring_bits=13, tail_limit=0)


class TestMultiIndexTinyTailNumpyConformance(TestMultiIndexTinyTailConformance):
    def make_index(self) -> MultiIndexPdqIndex:
        return MultiIndexPdqIndex(substring_bits=13, tail_limit=0, backend="numpy")


def test_backend_selection() -> None:
    assert MultiIndexPdqIndex(backend="numpy").backend == "numpy"
    auto = MultiIndexPdqIndex().backend
    assert auto == ("numba" if numba_available() else "numpy")
    if numba_available():
        assert MultiIndexPdqIndex(backend="numba").backend == "numba"
    else:
        with pytest.raises(ImportError):
            MultiIndexPdqIndex(backend="numba")
    with pytest.raises(ValueError):
        MultiIndexPdqIndex(backend="gpu")  # type: ignore[arg-type]


def _queries(rng: np.random.Generator, codes: np.ndarray, count: int) -> np.ndarray:
    near = [
        flip(rng, codes[int(rng.integers(len(codes)))], int(rng.integers(0, 41)))
        for _ in range(count // 2)
    ]
    return np.concatenate(
        [np.stack(near), random_corpus(count - count // 2, int(rng.integers(99)))]
    )


def _corpora() -> dict[str, np.ndarray]:
    return {
        "random": random_corpus(20_000, 11),
        "clustered": np.concatenate([clustered_corpus(300, 25, 12), random_corpus(5_000, 13)]),
    }


CORPORA = _corpora()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("corpus", sorted(CORPORA))
@pytest.mark.parametrize(
    "params",
    [{}, {"substring_bits": 9, "tail_limit": 700}, {"substring_bits": 16}, {"threads": 2}],
    ids=["auto", "b9-merges", "b16", "threads"],
)
def test_fast_index_equals_reference_through_removes_and_re_adds(
    corpus: str, params: dict[str, int], backend: str
) -> None:
    codes = CORPORA[corpus]
    rng = np.random.default_rng(5)
    ids = rng.permutation(len(codes)).astype(np.int64) * 3 + 1
    fast = MultiIndexPdqIndex(**params, backend=backend)  # type: ignore[arg-type]
    ref = BruteForcePdqIndex()
    assert fast.backend == backend
    fast._PROBE_COST = 0  # probe the tables at every radius, even where a scan is cheaper
    half = len(codes) // 2
    for index in (fast, ref):  # a bulk build, then adds that land in the tail and merge
        index.add(ids[:half], codes[:half])
        for lo in range(half, len(codes), 1_500):
            index.add(ids[lo : lo + 1_500], codes[lo : lo + 1_500])
    queries = _queries(rng, codes, 120)

    def same() -> int:
        total = 0
        for radius in RADII:
            got = fast.query_many(queries, radius)
            assert got == ref.query_many(queries, radius), radius
            total += sum(map(len, got))
        return total

    assert same() > 0
    fast._PROBE_COST = MultiIndexPdqIndex._PROBE_COST  # and by a linear scan where cheaper
    same()
    fast._PROBE_COST = 0
    gone = rng.choice(ids, size=len(ids) // 3, replace=False).tolist()
    fast.remove(gone)
    ref.remove(gone)
    assert len(fast) == len(ref) == len(ids) - len(gone)
    same()
    back = np.array(gone[:2_000], dtype=np.int64)
    fast.add(back, codes[:2_000])
    ref.add(back, codes[:2_000])
    same()


def test_clustered_results_crowd_the_boundary() -> None:
    """The clustered corpus really exercises the radius edge (else the test above is weak)."""
    codes = CORPORA["clustered"]
    index = MultiIndexPdqIndex()
    index.add(np.arange(len(codes)), codes)
    found = [d for row in index.query_many(codes[:2_000:25], 32) for _, d in row]
    assert sum(d in (30, 31, 32) for d in found) >= 20


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    flips=st.lists(st.integers(0, 64), min_size=1, max_size=60),
    radius=st.integers(0, 64),
    removed=st.lists(st.integers(0, 59), max_size=20),
    bits=st.sampled_from([None, 8, 11, 16, 20]),
    backend=st.sampled_from(["numba", "numpy"] if numba_available() else ["numpy"]),
)
def test_property_fast_equals_reference(
    seed: int, flips: list[int], radius: int, removed: list[int], bits: int | None, backend: str
) -> None:
    rng = np.random.default_rng(seed)
    centre = random_corpus(1, seed % 1000)[0]
    codes = np.stack([flip(rng, centre, k) for k in flips])
    ids = np.arange(len(codes), dtype=np.int64)
    fast = MultiIndexPdqIndex(
        substring_bits=bits,
        tail_limit=int(rng.integers(0, 30)),
        backend=backend,  # type: ignore[arg-type]
    )
    fast._PROBE_COST = 0  # always probe the tables, never fall back to a linear scan
    fast.add(ids, codes)
    fast.remove(removed)
    keep = ~np.isin(ids, removed)
    for query in (centre, flip(rng, centre, int(rng.integers(0, 40)))):
        assert fast.query(query, radius) == reference_results(ids[keep], codes[keep], query, radius)


def test_tombstones_then_compaction() -> None:
    codes = random_corpus(4_000, 21)
    ids = np.arange(4_000, dtype=np.int64)
    index = MultiIndexPdqIndex(tail_limit=100)
    index.add(ids, codes)
    index.remove(range(0, 1_100))  # over a quarter dead: the next compaction rebuilds
    assert index.query(codes[10], 0) == []
    assert index.query(codes[2_000], 0) == [(2_000, 0)]
    index.add(np.array([10]), codes[10:11])  # lands in the tail, found without a rebuild
    assert index.query(codes[10], 0) == [(10, 0)]
    assert index._n > index._indexed
    index.add(np.arange(5_000, 5_200), random_corpus(200, 22))  # tail over its limit
    assert index._n == index._indexed == len(index) == 2_900 + 1 + 200
    assert index.query(codes[2_000], 0) == [(2_000, 0)]
    assert index.query(codes[10], 0) == [(10, 0)]
    index.compact()
    assert index.query(codes[3_999], 3) == [(3_999, 0)]


def test_pdq_to_bytes_round_trip_and_validation() -> None:
    values = ["f" * 64, "0" * 63 + "1", "A" * 64]
    codes = pdq_to_bytes(values)
    assert codes.shape == (3, 32) and codes.dtype == np.uint8
    assert bytes_to_pdq(codes) == ["f" * 64, "0" * 63 + "1", "a" * 64]
    assert pdq_to_bytes([]).shape == (0, 32)
    for bad in ["f" * 63, "g" * 64, ""]:
        with pytest.raises(SignalValueError):
            pdq_to_bytes([bad])


@pytest.mark.parametrize(("start", "width"), [(0, 8), (60, 9), (13, 23), (230, 23), (224, 32)])
def test_chunk_keys_are_the_bit_substrings(start: int, width: int) -> None:
    codes = random_corpus(50, 3)
    keys = chunk_keys(as_words(codes), start, width)
    for code, key in zip(codes, keys.tolist(), strict=True):
        bits = "".join(f"{b:08b}" for b in code.tolist())
        assert key == int(bits[start : start + width], 2)


def test_flip_masks_and_distances() -> None:
    masks = flip_masks(23, 2)
    assert len(masks) == 1 + 23 + comb(23, 2) == len(set(masks.tolist()))
    assert np.bitwise_count(masks).max() == 2
    a, b = random_corpus(100, 1), random_corpus(100, 2)
    expected = [
        (int.from_bytes(x.tobytes(), "big") ^ int.from_bytes(y.tobytes(), "big")).bit_count()
        for x, y in zip(a, b, strict=True)
    ]
    assert hamming_rows(as_words(a), as_words(b)).tolist() == expected
    full = np.full((1, 32), 255, dtype=np.uint8)
    assert hamming_rows(as_words(full), as_words(np.zeros((1, 32), np.uint8))).tolist() == [256]


@NEEDS_NUMBA
def test_numba_rows_over_the_result_cap_are_redone_exactly() -> None:
    codes = CORPORA["clustered"]
    ids = np.arange(len(codes), dtype=np.int64)
    index, ref = MultiIndexPdqIndex(backend="numba", threads=2), BruteForcePdqIndex()
    index._CAP = 2  # most rows overflow the first pass
    index._PROBE_COST = 0
    index.add(ids, codes)
    ref.add(ids, codes)
    queries = codes[:1_000:25]
    got = index.query_many(queries, 40)
    assert got == ref.query_many(queries, 40)
    assert max(map(len, got)) > 2
