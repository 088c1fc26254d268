"""compute_signals end to end: order of checks, bad input as data, animations, videos, want."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile
from tests.support.testdata import shared_testdata

from jikimi.demo.synthetic import photo_like
from jikimi.errors import UnknownSignalType
from jikimi.media.limits import Limits
from jikimi.model import MediaSignals
from jikimi.signals.compute import compute_signals
from jikimi.signals.pdq import PDQ_TRANSFORMS, PdqHasher
from jikimi.signals.vpdq_format import parse_vpdq

VIDEO = shared_testdata() / "vpdq" / "chair-19-sd-bar.mp4"
DIGESTS = {"sha256", "md5", "sha1"}


def _jpeg_bytes(seed: int = 1, size: tuple[int, int] = (320, 240)) -> bytes:
    buf = io.BytesIO()
    photo_like(*size, seed=seed).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _png_bytes(seed: int = 1) -> bytes:
    buf = io.BytesIO()
    photo_like(320, 240, seed=seed).save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_claiming(width: int, height: int) -> bytes:
    """A valid-looking PNG whose IHDR claims width x height grey pixels, a few dozen bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_error(result: MediaSignals, reason: str, *words: str) -> None:
    assert result.error_reason == reason, result.error
    assert result.error and "\n" not in result.error and result.error.strip() == result.error
    for word in words:
        assert word in result.error
    assert "pdq" not in result.signals and "vpdq" not in result.signals


def _assert_digests(result: MediaSignals, data: bytes) -> None:
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.signals["md5"].value == hashlib.md5(data).hexdigest()
    assert result.signals["sha1"].value == hashlib.sha1(data).hexdigest()
    assert result.size == len(data)


def test_good_jpeg(tmp_path: Path) -> None:
    data = _jpeg_bytes()
    result = compute_signals(_write(tmp_path, "x.bin", data), Limits())
    assert result.error is None and result.error_reason is None and result.notes == []
    _assert_digests(result, data)
    assert result.info is not None and result.info.media_type == "image"
    assert (result.info.mime, result.info.width, result.info.height) == ("image/jpeg", 320, 240)
    assert result.pdq_quality == 100 == result.signals["pdq"].quality
    assert tuple(result.pdq_transforms) == PDQ_TRANSFORMS
    assert len(set(result.pdq_transforms.values())) == 8


def test_transforms_off(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.jpg", _jpeg_bytes())
    plain = compute_signals(path, Limits(), transforms=False)
    full = compute_signals(path, Limits())
    assert plain.pdq_transforms == {}
    assert plain.signals == full.signals


def test_skip_stops_after_the_digests(tmp_path: Path) -> None:
    data = _jpeg_bytes()
    path = _write(tmp_path, "x.jpg", data)
    asked: list[str] = []

    def recorded(sha256: str) -> bool:
        asked.append(sha256)
        return True

    skipped = compute_signals(path, Limits(), skip=recorded)
    assert skipped.skipped and asked == [hashlib.sha256(data).hexdigest()]
    assert skipped.sha256 == asked[0] and skipped.info is None and "pdq" not in skipped.signals
    fresh = compute_signals(path, Limits(), skip=lambda _: False)
    assert not fresh.skipped and "pdq" in fresh.signals


def test_zero_bytes(tmp_path: Path) -> None:
    result = compute_signals(_write(tmp_path, "empty.jpg", b""), Limits())
    _assert_error(result, "empty", "empty")
    assert result.sha256 is None and result.signals == {}


def test_missing_file(tmp_path: Path) -> None:
    result = compute_signals(tmp_path / "gone.jpg", Limits())
    _assert_error(result, "unreadable", "cannot be read")
    assert result.signals == {}


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_truncated(kind: str, tmp_path: Path) -> None:
    whole = _jpeg_bytes() if kind == "jpeg" else _png_bytes()
    data = whole[: len(whole) // 2]
    result = compute_signals(_write(tmp_path, f"cut.{kind}", data), Limits())
    _assert_error(result, "corrupt", "truncated")
    _assert_digests(result, data)  # exact hashes are kept for banks of undecodable files


@pytest.mark.parametrize("kind", ["jpeg", "png", "gif"])
def test_garbage_after_valid_header(kind: str, tmp_path: Path) -> None:
    header = {
        "jpeg": _jpeg_bytes()[:200],
        "png": _png_bytes()[:33],  # signature + IHDR
        "gif": b"GIF89a" + struct.pack("<HH", 64, 64) + b"\x00\x00\x00",
    }[kind]
    data = header + np.random.default_rng(5).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    result = compute_signals(_write(tmp_path, f"bad.{kind}", data), Limits())
    _assert_error(result, "corrupt")
    _assert_digests(result, data)


def test_text_named_jpg(tmp_path: Path) -> None:
    data = b"These are not the pixels you are looking for.\n" * 20
    result = compute_signals(_write(tmp_path, "photo.jpg", data), Limits())
    _assert_error(result, "unsupported", "not an image or video", "looks like text")
    _assert_digests(result, data)
    assert result.info is None


def test_polyglot_jpeg_with_zip_is_the_jpeg(tmp_path: Path) -> None:
    jpeg = _jpeg_bytes()
    zipped = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("readme.txt", "hello")
    data = jpeg + zipped.getvalue()
    path = _write(tmp_path, "poly.zip", data)
    first, second = compute_signals(path, Limits()), compute_signals(path, Limits())
    assert first == second  # deterministic
    plain = compute_signals(_write(tmp_path, "plain.jpg", jpeg), Limits())
    assert first.error is None
    assert first.signals["pdq"] == plain.signals["pdq"]  # trailing archive ignored for pixels
    _assert_digests(first, data)  # ... but part of the exact hashes
    assert first.sha256 != plain.sha256


def test_polyglot_html_before_png_is_refused(tmp_path: Path) -> None:
    data = b"<html><body>hi</body></html>\n" + _png_bytes()
    path = _write(tmp_path, "poly.png", data)
    result = compute_signals(path, Limits())
    _assert_error(result, "unsupported", "looks like HTML")
    assert compute_signals(path, Limits()) == result
    _assert_digests(result, data)


def test_too_large_hashes_nothing(tmp_path: Path) -> None:
    data = _jpeg_bytes()
    result = compute_signals(_write(tmp_path, "big.jpg", data), Limits(max_file_bytes=1000))
    _assert_error(result, "too_large", str(len(data)), "1000")
    assert result.sha256 is None and result.signals == {} and result.size == len(data)


def test_decompression_bomb_is_refused_from_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels of a decompression bomb were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    data = _png_claiming(100_000, 100_000)
    assert len(data) < 200
    path = _write(tmp_path, "bomb.png", data)
    result = compute_signals(path, Limits())
    _assert_error(result, "decompression_bomb", "10000000000 pixels", "max_image_pixels")
    _assert_digests(result, data)
    # Under Pillow's own ceiling but over ours: our check, before any pixel is decoded.
    path = _write(tmp_path, "bomb2.png", _png_claiming(12_000, 10_000))
    result = compute_signals(path, Limits())
    _assert_error(result, "decompression_bomb", "12000x10000", "100000000")
    # A small limit applies to ordinary images too.
    small = _write(tmp_path, "ok.jpg", _jpeg_bytes())
    _assert_error(compute_signals(small, Limits(max_image_pixels=1000)), "decompression_bomb")


def test_between_pillow_warning_and_our_limit(tmp_path: Path) -> None:
    # 9600x9600 = 92M pixels: over Pillow's default warning level (an error under -W error),
    # under our default limit. It must not fail on Pillow's warning; its IDAT is bogus.
    path = _write(tmp_path, "big.png", _png_claiming(9600, 9600))
    result = compute_signals(path, Limits(), want=frozenset({"sha256"}))
    assert result.error is None
    assert result.info is not None and result.info.width == 9600


def test_too_long_video() -> None:
    result = compute_signals(VIDEO, Limits(max_video_seconds=5))
    _assert_error(result, "video_too_long", "18.8 s", "max_video_seconds")
    assert set(result.signals) >= DIGESTS
    assert "video_md5" not in result.signals


def test_truncated_mp4(tmp_path: Path) -> None:
    data = VIDEO.read_bytes()[:300_000]
    result = compute_signals(_write(tmp_path, "cut.mp4", data), Limits())
    _assert_error(result, "corrupt", "truncated")
    _assert_digests(result, data)


def test_mp4_header_then_garbage(tmp_path: Path) -> None:
    data = VIDEO.read_bytes()[:32] + b"\x00\x00\x00\x10junk" + b"\x01" * 8
    result = compute_signals(_write(tmp_path, "junk.mp4", data), Limits())
    _assert_error(result, "corrupt")


def test_video() -> None:
    result = compute_signals(VIDEO, Limits())
    assert result.error is None
    assert result.info is not None and result.info.media_type == "video"
    assert (result.info.width, result.info.height, result.info.frames) == (480, 720, 564)
    assert result.info.duration == pytest.approx(18.8)
    assert result.signals["video_md5"].value == hashlib.md5(VIDEO.read_bytes()).hexdigest()
    frames = parse_vpdq(result.signals["vpdq"].value)
    assert len(frames) == len(result.vpdq_frames) == 19  # one per second of 18.8 s
    assert [f[0] for f in result.vpdq_frames] == list(range(0, 570, 30))
    assert [f.pdq for f in frames] == [f[2] for f in result.vpdq_frames]
    assert "pdq" not in result.signals


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animation_hashes_first_frame(fmt: str, tmp_path: Path) -> None:
    frames = [photo_like(200, 150, seed=s) for s in (11, 12, 13)]
    path = tmp_path / f"anim.{fmt.lower()}"
    extra = {"lossless": True} if fmt == "WEBP" else {}
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, **extra)
    result = compute_signals(path, Limits())
    assert result.error is None, result.error
    assert result.info is not None
    assert (result.info.media_type, result.info.frames) == ("animation", 3)
    with Image.open(path) as im:
        first = PdqHasher().hash_rgb(np.asarray(im.convert("RGB")))[0]
        im.seek(2)
        last = PdqHasher().hash_rgb(np.asarray(im.convert("RGB")))[0]
    assert first != last
    assert result.signals["pdq"].value == first


def test_want_restricts_signals(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.jpg", _jpeg_bytes())
    only_sha = compute_signals(path, Limits(), want=frozenset({"sha256"}))
    assert set(only_sha.signals) == {"sha256"} and only_sha.pdq_quality is None
    assert only_sha.info is not None  # the header was still checked
    only_pdq = compute_signals(path, Limits(), want=frozenset({"pdq"}))
    assert set(only_pdq.signals) == {"pdq"} and only_pdq.sha256 is not None
    video = compute_signals(VIDEO, Limits(), want=frozenset({"video_md5"}))
    assert set(video.signals) == {"video_md5"} and video.vpdq_frames == []
    with pytest.raises(UnknownSignalType):
        compute_signals(path, Limits(), want=frozenset({"phash"}))


def test_low_quality_note_uses_min_quality(tmp_path: Path) -> None:
    flat = np.full((100, 100, 3), 128, dtype=np.uint8)
    path = tmp_path / "flat.png"
    Image.fromarray(flat).save(path)
    result = compute_signals(path, Limits(), min_quality=60)
    assert result.error is None and "pdq" not in result.signals
    assert result.pdq_quality == 0
    assert result.notes == ["low_quality: PDQ quality 0 is below 60, no PDQ hash kept"]
