"""vPDQ, Meta's video hash: PDQ of sampled frames, through the ``vpdq`` package (Meta's C++
with FFmpeg). Values are serialised by :mod:`jikimi.signals.vpdq_format`, python-threatexchange's
vPDQ signal format.

Limits are checked by :func:`jikimi.media.video.probe_video` before hashing; this module only
hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jikimi.errors import CorruptMedia
from jikimi.signals.vpdq_format import VpdqFrame


@dataclass(frozen=True, slots=True)
class NumberedFrame:
    """A vPDQ frame with its frame number in the stream, as the reference ``.frames.txt`` has."""

    number: int
    frame: VpdqFrame


class VpdqHasher:
    """vPDQ of a video file; ``seconds_per_hash=0`` hashes every frame (the vpdq package's
    convention), otherwise one frame per that many seconds."""

    name = "vpdq"
    media: tuple[str, ...] = ("video",)

    def hash_file(self, path: Path, seconds_per_hash: float = 1.0) -> list[VpdqFrame]:
        return [n.frame for n in self.hash_file_numbered(path, seconds_per_hash)]

    def hash_file_numbered(self, path: Path, seconds_per_hash: float = 1.0) -> list[NumberedFrame]:
        """Frames with their numbers. Raises ``CorruptMedia`` when FFmpeg cannot decode the
        video or no frame comes out of it."""
        import vpdq  # optional extra "video": imported here so images work without it

        if seconds_per_hash < 0:
            raise ValueError(f"seconds_per_hash must be >= 0, got {seconds_per_hash}")
        try:
            features = vpdq.computeHash(str(path), seconds_per_hash=seconds_per_hash)
        except Exception as exc:  # vpdq raises a bare Exception for every decoding failure
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise CorruptMedia(
                f"the video cannot be decoded for vPDQ ({detail}); the file is damaged"
            ) from None
        if not features:
            raise CorruptMedia("no video frame could be decoded for vPDQ; the file is damaged")
        return [
            NumberedFrame(
                int(f.frame_number),
                VpdqFrame(f.hex.lower(), int(f.quality), round(float(f.timestamp), 3)),
            )
            for f in features
        ]
