"""Probe untrusted videos with PyAV (FFmpeg) under explicit limits.

The probe reads container headers only (no frame is decoded) and refuses what the hashers
should never start on: no video stream, a frame larger than the pixel limit, a duration over
the limit, and ISO BMFF files (MP4, MOV) whose top-level boxes run past the end of the file, the
cheap, certain sign of a truncated upload (ISO/IEC 14496-12 box structure).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from jikimi.errors import (
    CorruptMedia,
    DecompressionBomb,
    MediaError,
    UnsupportedMedia,
    VideoTooLong,
)
from jikimi.media.limits import Limits
from jikimi.media.sniff import HEAD_BYTES, sniff
from jikimi.model import MediaInfo

# A moov or mdat box can be preceded by many small ones; stop walking after this many.
_MAX_TOP_LEVEL_BOXES = 10_000


def probe_video(path: Path, limits: Limits) -> MediaInfo:
    """Size, frame count and duration of the first video stream of ``path``.

    Raises ``UnsupportedMedia`` (no video stream), ``CorruptMedia`` (FFmpeg cannot read it, or
    it is truncated), ``DecompressionBomb`` (frame over the pixel limit) or ``VideoTooLong``.
    """
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    sniffed = sniff(head)
    mime = sniffed.mime if sniffed is not None else "video/unknown"
    if head[4:8] == b"ftyp":
        check_iso_boxes(path)
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise _unreadable(exc) from None
    try:
        return _probe_container(container, mime, limits)
    except MediaError:
        raise
    except (av.FFmpegError, ValueError, OverflowError) as exc:
        raise _unreadable(exc) from None
    finally:
        container.close()


def _unreadable(exc: Exception) -> CorruptMedia:
    detail = " ".join(str(exc).split())
    return CorruptMedia(f"the video cannot be read by FFmpeg ({detail}); the file is damaged")


def _probe_container(
    container: av.container.InputContainer, mime: str, limits: Limits
) -> MediaInfo:
    if not container.streams.video:
        raise UnsupportedMedia("the file has no video stream (audio only?); nothing to hash")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise CorruptMedia(f"the video stream claims {width}x{height} pixels; the file is damaged")
    if width * height > limits.max_image_pixels:
        raise DecompressionBomb(
            f"video frames of {width}x{height} pixels are over the limit of "
            f"{limits.max_image_pixels}; raise max_image_pixels if it is genuine"
        )
    duration = _duration_seconds(container, stream)
    if duration is None:
        raise CorruptMedia("the video has no readable duration; the file is damaged")
    if duration > limits.max_video_seconds:
        raise VideoTooLong(
            f"the video lasts {duration:.1f} s, over the limit of {limits.max_video_seconds:g} s; "
            "raise max_video_seconds if it should be hashed"
        )
    return MediaInfo(
        media_type="video",
        mime=mime,
        width=width,
        height=height,
        frames=max(int(stream.frames), 0) or _estimate_frames(stream, duration),
        duration=duration,
        mode=stream.codec_context.name,
    )


def _duration_seconds(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(Fraction(container.duration, av.time_base))
    # No header says how long it is (some WebM, raw streams): read packet times without
    # decoding. Bounded by the file size limit checked before we got here.
    last = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = packet.pts + (packet.duration or 0)
            seconds = float(end * packet.time_base)
            last = seconds if last is None else max(last, seconds)
    return last


def _estimate_frames(stream: av.video.stream.VideoStream, duration: float) -> int:
    rate = stream.average_rate or stream.guessed_rate
    return max(1, round(duration * float(rate))) if rate else 1


def check_iso_boxes(path: Path) -> None:
    """Raise ``CorruptMedia`` when a top-level ISO BMFF box extends past the end of the file."""
    size = path.stat().st_size
    offset = 0
    with path.open("rb") as fh:
        for _ in range(_MAX_TOP_LEVEL_BOXES):
            if offset >= size:
                break
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                break
            box_size = int.from_bytes(header[:4], "big")
            if box_size == 1:
                if len(header) < 16:
                    break
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                return  # the last box runs to the end of the file by definition
            if box_size < 8:
                raise CorruptMedia(
                    f"the {header[4:8]!r} box at byte {offset} has an impossible size {box_size}; "
                    "the file is damaged"
                )
            offset += box_size
        else:
            return
    if offset != size:
        raise CorruptMedia(
            f"the video is truncated: its boxes need {offset} bytes but the file has {size}; "
            "fetch the complete file"
        )
