"""Type sniffing from magic bytes only."""

from __future__ import annotations

import io

import pytest
from tests.support.testdata import shared_testdata

from jikimi.demo.synthetic import photo_like
from jikimi.media.sniff import describe, sniff


def _saved(fmt: str) -> bytes:
    buf = io.BytesIO()
    photo_like(64, 48).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("GIF", "image/gif"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
    ],
)
def test_images_written_by_pillow(fmt: str, mime: str) -> None:
    found = sniff(_saved(fmt)[:4096])
    assert found is not None
    assert (found.kind, found.mime, found.format) == ("image", mime, fmt)


@pytest.mark.parametrize(
    ("head", "kind", "mime"),
    [
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "video", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "video", "video/quicktime"),
        (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00", "video", "video/3gpp"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "image", "image/avif"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image", "image/heif"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video", "video/webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video", "video/x-matroska"),
        (b"RIFF\x00\x10\x00\x00AVI LIST", "video", "video/x-msvideo"),
        (b"FLV\x01\x05\x00\x00\x00\x09", "video", "video/x-flv"),
        (b"\x00\x00\x01\xba\x44\x00", "video", "video/mpeg"),
        ((b"\x47" + b"\x00" * 187) * 4, "video", "video/mp2t"),
    ],
)
def test_containers(head: bytes, kind: str, mime: str) -> None:
    found = sniff(head)
    assert found is not None and (found.kind, found.mime) == (kind, mime)


def test_real_mp4() -> None:
    video = shared_testdata() / "vpdq" / "chair-19-sd-bar.mp4"
    found = sniff(video.read_bytes()[:4096])
    assert found is not None and found.mime == "video/mp4"


@pytest.mark.parametrize(
    ("head", "words"),
    [
        (b"hello, this is text\n" * 10, "text"),
        ("안녕하세요 텍스트 파일입니다\n".encode() * 10, "text"),
        (b"<!DOCTYPE html><html>" + b"\x89PNG\r\n\x1a\n", "HTML"),
        (b"<?xml version='1.0'?><svg/>", "SVG"),
        (b"PK\x03\x04" + b"\x00" * 30, "ZIP"),
        (b"%PDF-1.7\n", "PDF"),
        (b"BM this looks like a bitmap but is text", "text"),
        (b"\x00\x01\x02\x03\xfe\xfd", "unknown binary"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio"),
        (b"\x47\x00\x00", "unknown binary"),  # one sync byte is not a transport stream
    ],
)
def test_refused(head: bytes, words: str) -> None:
    assert sniff(head) is None
    assert words in describe(head)


def test_only_offset_zero_counts() -> None:
    # A JPEG header after a few bytes (polyglot or junk prefix) is not a JPEG.
    assert sniff(b"xx" + _saved("JPEG")) is None
    # A JPEG followed by anything is a JPEG.
    jpeg = sniff(_saved("JPEG") + b"PK\x03\x04")
    assert jpeg is not None and jpeg.format == "JPEG"


def test_short_and_empty_heads() -> None:
    assert sniff(b"") is None
    assert sniff(b"\xff\xd8") is None
    assert describe(b"") == "unknown binary data"
