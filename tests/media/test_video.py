"""probe_video: header facts and limits, via PyAV."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.testdata import shared_testdata

from jikimi.errors import CorruptMedia, DecompressionBomb, UnsupportedMedia, VideoTooLong
from jikimi.media.limits import Limits
from jikimi.media.video import check_iso_boxes, probe_video

VIDEO = shared_testdata() / "vpdq" / "chair-20-sd-bar.mp4"


def test_probe() -> None:
    info = probe_video(VIDEO, Limits())
    assert (info.media_type, info.mime, info.width, info.height) == ("video", "video/mp4", 480, 720)
    assert info.frames == 614
    assert info.duration == pytest.approx(20.4667, abs=0.01)


def test_limits() -> None:
    with pytest.raises(VideoTooLong, match=r"20\.5 s"):
        probe_video(VIDEO, Limits(max_video_seconds=20))
    assert probe_video(VIDEO, Limits(max_video_seconds=21)).frames == 614
    with pytest.raises(DecompressionBomb, match="480x720"):
        probe_video(VIDEO, Limits(max_image_pixels=480 * 720 - 1))


def test_truncated_and_garbage(tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(VIDEO.read_bytes()[:-1])
    with pytest.raises(CorruptMedia, match="truncated"):
        check_iso_boxes(cut)
    with pytest.raises(CorruptMedia, match="truncated"):
        probe_video(cut, Limits())
    check_iso_boxes(VIDEO)  # the whole file passes
    junk = tmp_path / "junk.webm"
    junk.write_bytes(b"\x1a\x45\xdf\xa3" + b"\xff" * 200)
    with pytest.raises(CorruptMedia):
        probe_video(junk, Limits())


def test_no_video_stream(tmp_path: Path) -> None:
    import av
    import numpy as np

    path = tmp_path / "silence.mka"  # Matroska, sniffed as video, holding only audio
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 8000), dtype=np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    with pytest.raises(UnsupportedMedia, match="no video stream"):
        probe_video(path, Limits())
