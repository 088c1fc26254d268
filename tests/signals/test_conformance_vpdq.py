"""vPDQ against Meta's reference frames (shared/testdata/vpdq): the reference rule is the same
frame count and frame numbers and, where both qualities are >= 50, distance < 31 per frame."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conformance.hasher import HasherConformance, KnownAnswer
from tests.support.testdata import shared_testdata

from jikimi.media.limits import Limits
from jikimi.signals.base import hamming_hex
from jikimi.signals.compute import compute_signals
from jikimi.signals.vpdq import VpdqHasher
from jikimi.signals.vpdq_format import VpdqFrame, format_vpdq, parse_vpdq

VPDQ_DIR = shared_testdata() / "vpdq"
VIDEOS = sorted(VPDQ_DIR.glob("*.mp4"))
QUALITY = 50
MAX_DISTANCE = 30  # "< 31"


def _reference(video: Path) -> list[tuple[int, int, str, float]]:
    rows = []
    for line in video.with_suffix(".frames.txt").read_text().splitlines():
        number, quality, pdq, seconds = line.split(",")
        rows.append((int(number), int(quality), pdq, float(seconds)))
    return rows


def test_videos_found() -> None:
    assert len(VIDEOS) == 2


@pytest.mark.parametrize("video", VIDEOS, ids=[v.name for v in VIDEOS])
def test_every_frame_matches_reference(video: Path) -> None:
    expected = _reference(video)
    result = compute_signals(video, Limits(), seconds_per_hash=0)
    assert result.error is None
    got = result.vpdq_frames
    assert [f[0] for f in got] == [f[0] for f in expected]
    compared = [(g, e) for g, e in zip(got, expected, strict=True) if min(g[1], e[1]) >= QUALITY]
    assert len(compared) > len(expected) // 2, "too few frames of quality >= 50 to compare"
    far = [(g[0], hamming_hex(g[2], e[2])) for g, e in compared if hamming_hex(g[2], e[2])]
    assert all(d <= MAX_DISTANCE for _, d in far), far
    for g, e in zip(got, expected, strict=True):
        assert g[3] == pytest.approx(e[3], abs=0.001)


class TestVpdqHasherConformance(HasherConformance):
    signal_type = "vpdq"

    def make_hasher(self) -> VpdqHasher:
        return VpdqHasher()

    def hash_value(self, hasher: VpdqHasher, path: Path) -> str | None:
        return format_vpdq(hasher.hash_file(path, seconds_per_hash=0))

    def distance(self, a: str, b: str) -> int:
        fa, fb = parse_vpdq(a), parse_vpdq(b)
        if len(fa) != len(fb):
            return 256
        pairs = [(x, y) for x, y in zip(fa, fb, strict=True) if min(x.quality, y.quality) >= 50]
        return max((hamming_hex(x.pdq, y.pdq) for x, y in pairs), default=0)

    def known_answers(self) -> list[KnownAnswer]:
        return [
            KnownAnswer(
                v,
                format_vpdq([VpdqFrame(p, q, s) for _, q, p, s in _reference(v)]),
                MAX_DISTANCE,
            )
            for v in VIDEOS
        ]
