"""Find a file's real type from its first bytes, never from its name.

Only a signature at offset 0 counts (the rule of the WHATWG MIME Sniffing Standard and of
libmagic's strength-ordered tests), so a polyglot is classified by what it starts with and
nothing else: a JPEG with a ZIP appended is a JPEG (the trailing bytes are ignored by the decoder
but still part of the file's digests), and HTML with a PNG header inside it is text, never an
image. Anything unrecognised is refused rather than handed to a decoder that would guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Bytes of the head that sniff() needs; callers read at least this much.
HEAD_BYTES = 4096

# ISO BMFF brands that are still images (HEIF/AVIF), decoded by Pillow's AVIF plugin if at all.
_IMAGE_BRANDS = {b"avif": "AVIF", b"avis": "AVIF"}
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc", b"hevx"})
_QUICKTIME_BRANDS = frozenset({b"qt  "})

# DIB header sizes of real BMP files (BITMAPCOREHEADER .. BITMAPV5HEADER); "BM" alone is too
# weak a signature, plenty of text starts with it.
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


@dataclass(frozen=True)
class Sniffed:
    """What the magic bytes say. ``format`` is the Pillow format name for images and the
    container name for videos."""

    kind: Literal["image", "video"]
    mime: str
    format: str


def sniff(head: bytes) -> Sniffed | None:
    """The type of a file from its first bytes (at least :data:`HEAD_BYTES` if the file has
    them), or ``None`` when it is not an image or video we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg", "JPEG")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png", "PNG")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "image/gif", "GIF")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", "WEBP")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "video/x-msvideo", "avi")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "image/tiff", "TIFF")
    if (
        head[:2] == b"BM"
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in (_BMP_DIB_SIZES)
    ):
        return Sniffed("image", "image/bmp", "BMP")
    if head[4:8] == b"ftyp":
        return _sniff_iso_bmff(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: the DocType element names the flavour; it sits in the first few dozen bytes.
        if b"webm" in head[:64]:
            return Sniffed("video", "video/webm", "webm")
        return Sniffed("video", "video/x-matroska", "matroska")
    if head.startswith(b"FLV\x01"):
        return Sniffed("video", "video/x-flv", "flv")
    if head.startswith(b"OggS"):
        return Sniffed("video", "video/ogg", "ogg")
    if head.startswith(b"\x00\x00\x01\xba"):
        return Sniffed("video", "video/mpeg", "mpeg")
    if _is_mpeg_ts(head):
        return Sniffed("video", "video/mp2t", "mpegts")
    return None


def _sniff_iso_bmff(head: bytes) -> Sniffed:
    """ISO base media (MP4, MOV, 3GP, HEIF, AVIF): the major brand decides."""
    brand = head[8:12]
    if brand in _IMAGE_BRANDS:
        return Sniffed("image", "image/avif", _IMAGE_BRANDS[brand])
    if brand in _HEIF_BRANDS:
        return Sniffed("image", "image/heif", "HEIF")
    if brand in _QUICKTIME_BRANDS:
        return Sniffed("video", "video/quicktime", "mov")
    if brand.startswith(b"3g"):
        return Sniffed("video", "video/3gpp", "mp4")
    return Sniffed("video", "video/mp4", "mp4")


def _is_mpeg_ts(head: bytes) -> bool:
    # A transport stream is 188-byte packets each starting with the sync byte 0x47; one byte is
    # too weak, so require the first several packets to line up.
    packets = min(len(head) // 188, 5)
    return packets >= 3 and all(head[i * 188] == 0x47 for i in range(packets))


def describe(head: bytes) -> str:
    """A few words on what an unsupported file looks like, for the error message."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "looks like HTML"
    if stripped.startswith(b"<?xml") or stripped.startswith(b"<svg"):
        return "looks like XML or SVG (vector images are not hashed)"
    if head.startswith(b"PK\x03\x04"):
        return "looks like a ZIP archive"
    if head.startswith(b"%PDF"):
        return "looks like a PDF document"
    if head.startswith(b"\x1f\x8b"):
        return "looks like a gzip archive"
    if head[4:8] == b"ftyp" or head[:4] == b"RIFF":
        return "looks like an audio or unknown container"
    sample = head[:1024]
    if sample and _is_text(sample):
        return "looks like text"
    return "unknown binary data"


def _is_text(sample: bytes) -> bool:
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample's end is still text.
        if exc.start < len(sample) - 3:
            return False
        text = sample[: exc.start].decode("utf-8")
    return all(c.isprintable() or c in "\t\r\n\f" for c in text)
