"""Exact-value indexes and vPDQ matching (against threatexchange's reference matcher)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conformance.index import flip, random_corpus

from jikimi.errors import SignalValueError, UnknownSignalType
from jikimi.matching.exact import EXACT_SIGNAL_TYPES, ExactIndex
from jikimi.matching.hexbits import bytes_to_pdq
from jikimi.matching.vpdq import VpdqIndex, vpdq_distance, vpdq_match
from jikimi.signals.base import signal_format
from jikimi.signals.vpdq_format import VpdqFrame


@pytest.mark.parametrize("signal_type", EXACT_SIGNAL_TYPES)
def test_exact_index_add_query_remove(signal_type: str) -> None:
    width = signal_format(signal_type).hex_chars
    assert width
    index = ExactIndex(signal_type)
    value = "ab" * (width // 2)
    index.add(value.upper(), 7)
    index.add(value, 9)
    assert index.query(value) == [7, 9]
    index.remove(7)
    index.remove(12345)  # unknown: ignored
    assert index.query(value) == [9]
    assert index.query("cd" * (width // 2)) == []
    with pytest.raises(SignalValueError):
        index.query(value[:-1])
    with pytest.raises(SignalValueError):
        index.add("zz" * (width // 2), 1)


def test_exact_index_refuses_non_exact_types() -> None:
    with pytest.raises(SignalValueError):
        ExactIndex("pdq")
    with pytest.raises(UnknownSignalType):
        ExactIndex("crc32")


def _video(codes: np.ndarray, quality: int = 90) -> list[VpdqFrame]:
    return [VpdqFrame(h, quality, float(i)) for i, h in enumerate(bytes_to_pdq(codes))]


def test_vpdq_match_rule_known_answers() -> None:
    rng = np.random.default_rng(3)
    entry = random_corpus(10, 30)
    # 8 frames within 31 bits of the entry, 2 unrelated: exactly the 80% boundary
    near = np.stack([flip(rng, entry[i], 31) for i in range(8)] + list(random_corpus(2, 31)))
    q, e = vpdq_match(_video(near), _video(entry))
    assert (q, e) == (80.0, 80.0)
    # a frame at 32 bits does not count
    far = np.stack([flip(rng, entry[i], 32) for i in range(8)] + list(random_corpus(2, 32)))
    assert vpdq_match(_video(far), _video(entry)) == (0.0, 0.0)
    # low-quality frames are ignored; duplicates count once
    noisy = _video(near) + _video(random_corpus(5, 33), quality=49) + _video(near[:1])
    assert vpdq_match(noisy, _video(entry)) == (80.0, 80.0)
    assert vpdq_match(_video(near, quality=10), _video(entry)) == (0.0, 0.0)
    assert vpdq_distance(80.0) == 20 and vpdq_distance(100.0) == 0


def test_vpdq_match_equals_threatexchange_reference() -> None:
    brute = pytest.importorskip("threatexchange.extensions.vpdq.vpdq_brute_matcher")
    from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature

    rng = np.random.default_rng(8)
    for trial in range(30):
        base = random_corpus(int(rng.integers(3, 25)), trial)
        picks = rng.integers(0, len(base), int(rng.integers(3, 30)))
        query = np.stack([flip(rng, base[i], int(rng.integers(0, 45))) for i in picks])
        qf = [
            VpdqFrame(h, int(rng.integers(30, 101)), float(i))
            for i, h in enumerate(bytes_to_pdq(query))
        ]
        ef = [
            VpdqFrame(h, int(rng.integers(30, 101)), float(i))
            for i, h in enumerate(bytes_to_pdq(base))
        ]
        ef += ef[:2]  # duplicates, deduplicated by hash as the reference does

        def compact(frames: list[VpdqFrame]) -> list[VpdqCompactFeature]:
            return [VpdqCompactFeature(f.pdq, f.quality, f.timestamp) for f in frames]

        ours = vpdq_match(qf, ef)
        try:
            ref = brute.match_VPDQ_hash_brute(compact(qf), compact(ef), 50, 31)
        except ZeroDivisionError:
            assert ours == (0.0, 0.0)
            continue
        assert ours == pytest.approx((ref.query_match_percent, ref.compared_match_percent))


def test_vpdq_index_matches_at_80_percent_and_forgets_removed() -> None:
    rng = np.random.default_rng(4)
    a, b = random_corpus(10, 40), random_corpus(10, 41)
    index = VpdqIndex()
    index.add(1, _video(a))
    index.add(2, _video(b))
    index.add(3, _video(a[:5]))
    query = np.stack([flip(rng, c, 10) for c in a[:8]] + list(random_corpus(2, 42)))
    found = index.query(_video(query))
    assert [(i, q) for i, q, _ in found] == [(1, 80.0)]
    assert index.query(_video(a)) == [(1, 100.0, 100.0)]
    index.remove(1)
    assert index.query(_video(a)) == []
    assert len(index) == 2
