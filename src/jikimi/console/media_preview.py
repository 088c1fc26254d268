"""The only picture of media a reviewer sees without asking: small, grey and blurred.

Made in memory from the vault's plaintext (nothing is written to disk) with Pillow: decoded
under the workspace's limits (:func:`jikimi.media.decode.open_image`: the sniffed format's
plugin only, the pixel count checked before decoding), turned to greyscale, shrunk to at most
:data:`PREVIEW_SIDE` pixels and blurred (Gaussian) before it is encoded as JPEG. A video's
preview is its first decodable frame (PyAV), treated the same way. The original never leaves
through here; see ``pages/media.py`` for the logged reveal.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageFilter, ImageOps

from jikimi.errors import CorruptMedia, UnsupportedMedia
from jikimi.media.decode import open_image
from jikimi.media.limits import Limits
from jikimi.media.sniff import HEAD_BYTES, sniff

__all__ = ["PREVIEW_SIDE", "preview_jpeg"]

PREVIEW_SIDE = 320
# A video is read this far for a frame to show; a preview must not decode a whole film.
MAX_VIDEO_PACKETS = 120


def _veil(im: Image.Image, radius: float) -> bytes:
    grey = ImageOps.exif_transpose(im).convert("L")
    grey.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.BILINEAR)
    blurred = grey.filter(ImageFilter.GaussianBlur(radius))
    out = io.BytesIO()
    blurred.save(out, format="JPEG", quality=70)
    return out.getvalue()


def _first_frame(data: bytes, limits: Limits) -> Image.Image:
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise UnsupportedMedia("no video stream")
            stream = container.streams.video[0]
            if stream.width * stream.height > limits.max_image_pixels:
                raise CorruptMedia("video frame over the pixel limit")
            for n, packet in enumerate(container.demux(stream)):
                for frame in packet.decode():
                    image: Image.Image = frame.to_image()
                    return image
                if n >= MAX_VIDEO_PACKETS:
                    break
    except (av.FFmpegError, ValueError, OverflowError) as exc:
        raise CorruptMedia(f"the video cannot be decoded ({exc})") from None
    raise CorruptMedia("no frame of the video could be decoded")


def preview_jpeg(data: bytes, *, limits: Limits, radius: float) -> bytes:
    """A greyscale, downscaled, blurred JPEG of an image or a video's first frame.

    Raises :class:`~jikimi.errors.MediaError` for what cannot be decoded safely."""
    sniffed = sniff(data[:HEAD_BYTES])
    if sniffed is None:
        raise UnsupportedMedia("not an image or video we decode")
    if sniffed.kind == "video":
        return _veil(_first_frame(data, limits), radius)
    im, _ = open_image(data, sniffed, limits)
    with im:
        if im.format == "JPEG":
            # Decode at a reduced DCT scale: a 320-pixel preview needs no full-size pixels.
            im.draft("L", (PREVIEW_SIDE * 2, PREVIEW_SIDE * 2))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise CorruptMedia(f"the image cannot be decoded ({exc})") from None
        return _veil(im, radius)
