"""Decode untrusted images with Pillow under explicit limits.

Safety: the type comes from :func:`jikimi.media.sniff.sniff` and Pillow is only allowed that
format's plugin; the pixel count claimed by the header is checked against
:class:`~jikimi.media.limits.Limits` before any pixel is decoded; truncated files are errors
(``ImageFile.LOAD_TRUNCATED_IMAGES`` is never set).

Pixels: the array handed to PDQ follows python-threatexchange's ``pdq_hasher.py`` (the
reference the conformance data was made with): RGB as stored, RGBA with its alpha ignored (PDQ
reads the first three channels), L repeated into three channels, LA and I;16 through Pillow's
``convert("RGB")``. Where the reference hashes something other than the picture we differ on
purpose: palette (P, PA) images use their palette colours, not the indices; CMYK is converted to
RGB, not read as if it were RGB; bilevel (1) images become 0/255, not 0/1. EXIF orientation is
recorded, not applied, as in the reference: banks hold hashes of the stored pixels.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from jikimi.errors import (
    CorruptMedia,
    DecompressionBomb,
    EmptyMedia,
    MediaTooLarge,
    UnsupportedMedia,
)
from jikimi.media.limits import Limits
from jikimi.media.sniff import HEAD_BYTES, Sniffed, describe, sniff
from jikimi.model import MediaInfo

# Fast mode decodes JPEGs at a reduced DCT scale only while the shorter side stays at least
# this long: PDQ downsamples to 64x64 anyway, and above this the hash moves by a few bits at most.
DRAFT_MIN_SIDE = 512

# Fast mode resamples the drafted luma so PDQ's box window is at most this many pixels (odd).
_MAX_WINDOW = 5

# Formats whose multi-frame files are animations (multi-page TIFF and MPO are still images).
_ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "PNG"})

# Errors Pillow's plugins raise on bad data; anything of these kinds means a corrupt file.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)

_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class DecodedImage:
    """The pixels PDQ hashes: uint8, shape (H, W, 3), C-contiguous (in fast mode, large JPEGs:
    a read-only view of one luma plane as three channels); and what decoding learned."""

    rgb: np.ndarray
    info: MediaInfo


def decode_image(path: Path, limits: Limits, *, draft: bool = False) -> DecodedImage:
    """Decode the image (first frame of an animation) at ``path`` within ``limits``.

    Raises a :class:`~jikimi.errors.MediaError`: ``EmptyMedia``, ``MediaTooLarge``,
    ``UnsupportedMedia`` (not an image), ``DecompressionBomb`` or ``CorruptMedia``.
    """
    size = path.stat().st_size
    check_file_size(size, limits)
    data = path.read_bytes()
    sniffed = sniff(data[:HEAD_BYTES])
    if sniffed is None or sniffed.kind != "image":
        what = describe(data[:HEAD_BYTES]) if sniffed is None else f"a {sniffed.mime} video"
        raise UnsupportedMedia(f"not an image: {what}; check the file")
    im, info = open_image(data, sniffed, limits)
    with im:
        return DecodedImage(load_rgb(im, draft=draft), info)


def check_file_size(size: int, limits: Limits) -> None:
    if size == 0:
        raise EmptyMedia("the file is empty (0 bytes); check the upload or export")
    if size > limits.max_file_bytes:
        raise MediaTooLarge(
            f"the file is {size} bytes, over the limit of {limits.max_file_bytes}; "
            "raise max_file_bytes if it should be hashed"
        )


def open_image(data: bytes, sniffed: Sniffed, limits: Limits) -> tuple[Image.Image, MediaInfo]:
    """Open the image header and check it against ``limits``; no pixel is decoded yet.

    The caller closes the returned image.
    """
    name = sniffed.format
    if name not in Image.OPEN:
        Image.init()  # registers every plugin Pillow was built with
    if name not in Image.OPEN:
        raise UnsupportedMedia(
            f"{sniffed.mime} images are not decoded here; convert to PNG or JPEG"
        )
    try:
        # Our own pixel limit is the one that counts; Pillow's global check would warn (an error
        # under -W error) between its default and twice that, so silence only that warning here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[name])
    except Image.DecompressionBombError as exc:
        raise DecompressionBomb(
            f"{name} refused before decoding: {_one_line(exc)} Raise max_image_pixels only if "
            "it is genuine (Pillow refuses more than twice its MAX_IMAGE_PIXELS regardless)"
        ) from None
    except UnidentifiedImageError:
        if name in ("AVIF", "HEIF"):
            raise UnsupportedMedia(
                f"{sniffed.mime} images are not decoded here; convert to PNG or JPEG"
            ) from None
        raise CorruptMedia(f"{name} header cannot be read; the file is damaged") from None
    except _DECODE_ERRORS as exc:
        raise CorruptMedia(f"{name} header cannot be read ({exc}); the file is damaged") from None
    try:
        info = _check_header(im, sniffed, limits)
    except BaseException:
        im.close()
        raise
    return im, info


def _check_header(im: Image.Image, sniffed: Sniffed, limits: Limits) -> MediaInfo:
    width, height = im.size
    if width <= 0 or height <= 0:
        raise CorruptMedia(f"{sniffed.format} header claims {width}x{height} pixels")
    if width * height > limits.max_image_pixels:
        raise DecompressionBomb(
            f"{sniffed.format} header claims {width}x{height} = {width * height} pixels, over the "
            f"limit of {limits.max_image_pixels}; refused before decoding (decompression bomb?)"
        )
    try:
        frames = int(getattr(im, "n_frames", 1))
        if frames > 1:
            im.seek(0)
        orientation = _orientation(im)
    except _DECODE_ERRORS as exc:
        raise CorruptMedia(f"{sniffed.format} frames cannot be read ({exc})") from None
    animated = frames > 1 and sniffed.format in _ANIMATED_FORMATS
    return MediaInfo(
        media_type="animation" if animated else "image",
        mime=sniffed.mime,
        width=width,
        height=height,
        frames=frames,
        orientation=orientation,
        mode=im.mode,
    )


def _orientation(im: Image.Image) -> int | None:
    """The EXIF orientation tag, read without decoding pixels."""
    if im.format == "PNG":
        # Pillow's PNG getexif() decodes the whole image to look for an eXIf chunk after the
        # pixel data; one before it (the usual place) is already in info.
        raw = im.info.get("exif")
        exif = Image.Exif()
        if isinstance(raw, bytes):
            exif.load(raw)
    else:
        exif = im.getexif()
    value = exif.get(_EXIF_ORIENTATION)
    return int(value) if isinstance(value, int) else None


def load_rgb(im: Image.Image, *, draft: bool = False) -> np.ndarray:
    """Decode the pixels of an opened image into the uint8 (H, W, 3) array PDQ hashes.

    ``draft`` (fast mode): large JPEGs are decoded as luma only at a reduced size (see
    :func:`_draft_luma`); the result is then a read-only view whose three channels are that one
    plane. Everything else is decoded in full, exactly as without ``draft``.
    """
    target = _draft_luma(im) if draft else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
        if target is not None and im.mode == "L":
            return _luma_as_rgb(im, target)
        rgb = to_rgb_array(im)
    except Image.DecompressionBombError as exc:
        raise DecompressionBomb(f"{exc}; raise max_image_pixels if it is genuine") from None
    except _DECODE_ERRORS as exc:
        raise CorruptMedia(
            f"{im.format or 'image'} data cannot be decoded ({_one_line(exc)}); "
            "the file is truncated or damaged"
        ) from None
    return rgb


def _draft_luma(im: Image.Image) -> tuple[int, int] | None:
    """Ask libjpeg for the luma plane only (JPEG's Y uses PDQ's BT.601 luma weights, so chroma
    decoding, upsampling and colour conversion are skipped) at 1/2, 1/4 or 1/8 DCT scale, the
    smallest that keeps the shorter side at least :data:`DRAFT_MIN_SIDE`. Returns the size to
    resample the plane to before hashing (:func:`pdq_friendly_size`), or ``None`` when the image
    is decoded in full: not a YCbCr/grey JPEG, or a shorter side under ``2 * DRAFT_MIN_SIDE``,
    which keeps every such image bit-exact with the reference."""
    if im.format != "JPEG" or im.mode not in ("RGB", "L"):
        return None
    width, height = im.size
    short = min(width, height)
    if short < 2 * DRAFT_MIN_SIDE:
        return None
    # Pillow picks the largest scale whose result is at least the requested size.
    factor = DRAFT_MIN_SIDE / short
    if im.draft("L", (math.ceil(width * factor), math.ceil(height * factor))) is None:
        return None
    return pdq_friendly_size((width, height), im.size)


def pdq_friendly_size(full: tuple[int, int], decoded: tuple[int, int]) -> tuple[int, int]:
    """Per axis, the size at most ``decoded`` at which PDQ's own blur matches its blur of the
    full-size image.

    PDQ blurs with two box passes of ``ceil(n / 128)`` pixels (the Jarosz filter) before taking
    64 samples. For an axis of ``n`` full-size pixels with window ``w``, resampling it to
    ``n * k / w`` pixels (``k < w``) gives window ``k``, the same width in full-size pixels. ``k``
    is odd because PDQ's box is off-centre by half a pixel for even windows (measured: even ``k``
    moves the hash 2-3 times as far), and at most :data:`_MAX_WINDOW`, which bounds the pixels
    PDQ filters. 1920x1080 becomes 640x360 (windows 15 and 9 become 5 and 3).
    """
    return (
        _friendly_axis(full[0], decoded[0]),
        _friendly_axis(full[1], decoded[1]),
    )


def _friendly_axis(full: int, decoded: int) -> int:
    window = -(-full // 128)
    for k in range(_MAX_WINDOW, 0, -2):
        if k < window and (size := round(full * k / window)) <= decoded:
            return size
    return decoded


def _luma_as_rgb(im: Image.Image, size: tuple[int, int]) -> np.ndarray:
    if im.size != size:
        im = im.resize(size, Image.Resampling.BILINEAR)
    luma = np.asarray(im)
    # PDQ's luma of three equal channels is that channel (the weights sum to 1); a broadcast
    # view, not a copy. It is read-only, which pdqhash accepts.
    return np.broadcast_to(luma[:, :, np.newaxis], (*luma.shape, 3))


def to_rgb_array(im: Image.Image) -> np.ndarray:
    """Pixels of a loaded image as uint8 (H, W, 3), converted as the module docstring says."""
    mode = im.mode
    if mode == "RGB":
        arr = np.asarray(im)
    elif mode in ("I", "F"):
        arr = _wide_to_rgb(np.asarray(im))
    elif mode == "I;16":
        # The reference's convert("RGB") clips 16-bit grey at 255; conformance data relies on it.
        arr = np.asarray(im.convert("RGB"))
    elif mode.startswith("I;16"):
        # Other byte orders: the same clipping as I;16 so one picture hashes one way.
        arr = np.asarray(im.convert("I").convert("RGB"))
    elif mode in ("P", "PA"):
        # Through RGBA so palette transparency is honoured without Pillow's warning; the
        # colours are the palette's, alpha is then dropped like any RGBA image.
        arr = np.asarray(im.convert("RGBA").convert("RGB"))
    else:
        # RGBA drops alpha (PDQ ignores channel 4), L/LA repeat grey, P/PA map the palette,
        # 1 becomes 0/255, CMYK/YCbCr/LAB/HSV convert to RGB: all by Pillow's converters.
        arr = np.asarray(im.convert("RGB"))
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    return arr


def _wide_to_rgb(arr: np.ndarray) -> np.ndarray:
    """32-bit integer (I) and float (F) grey to 8 bits: 0..255 data as is, 16-bit data scaled
    by 1/257, float data in 0..1 scaled by 255; everything else clipped."""
    values = arr.astype(np.float64)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    low = float(finite.min()) if finite.size else 0.0
    if arr.dtype.kind == "f" and top <= 1.0 and low >= 0.0:
        values = values * 255.0
    elif top > 255.0:
        values = values / 257.0
    grey = np.clip(np.nan_to_num(np.rint(values), nan=0.0), 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, np.newaxis], 3, axis=2)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
