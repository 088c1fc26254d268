"""Resource limits for decoding untrusted media.

Every decoder in :mod:`jikimi.media` checks these before it spends memory or CPU on a file, the
way libvips and ImageMagick's ``policy.xml`` bound untrusted input: size on disk, pixels claimed by
the header (decompression bombs) and video duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jikimi.settings import Settings


@dataclass(frozen=True)
class Limits:
    """The largest file, image and video Jikimi will decode. Defaults match :class:`Settings`."""

    max_file_bytes: int = 2 * 1024**3
    max_image_pixels: int = 100_000_000
    max_video_seconds: float = 4 * 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_file_bytes=settings.max_file_bytes,
            max_image_pixels=settings.max_image_pixels,
            max_video_seconds=settings.max_video_seconds,
        )
