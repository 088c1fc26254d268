"""decode_image and limits, directly (compute_signals tests cover the same through the API)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.support.testdata import shared_testdata

from jikimi.demo.synthetic import photo_like
from jikimi.errors import (
    CorruptMedia,
    DecompressionBomb,
    EmptyMedia,
    MediaTooLarge,
    UnsupportedMedia,
)
from jikimi.media.decode import decode_image
from jikimi.media.limits import Limits
from jikimi.settings import load_settings


def test_limits_defaults_match_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIKIMI_HOME", str(tmp_path))
    assert Limits.from_settings(load_settings()) == Limits()
    custom = load_settings(max_file_bytes=10, max_image_pixels=20, max_video_seconds=1.5)
    assert Limits.from_settings(custom) == Limits(10, 20, 1.5)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_decodes_every_image_format(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / "img.bin"  # the name says nothing
    photo_like(64, 48).save(path, fmt)
    decoded = decode_image(path, Limits())
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb.shape == (48, 64, 3)
    assert decoded.rgb.flags.c_contiguous
    assert (decoded.info.media_type, decoded.info.width, decoded.info.height) == ("image", 64, 48)


def test_rgb_pixels_are_the_stored_ones(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    photo = photo_like(64, 48)
    photo.save(path)
    assert np.array_equal(decode_image(path, Limits()).rgb, np.asarray(photo))


def test_errors(tmp_path: Path) -> None:
    empty = tmp_path / "e.png"
    empty.write_bytes(b"")
    with pytest.raises(EmptyMedia):
        decode_image(empty, Limits())
    text = tmp_path / "t.jpg"
    text.write_bytes(b"plain text\n" * 10)
    with pytest.raises(UnsupportedMedia, match="looks like text"):
        decode_image(text, Limits())
    with pytest.raises(UnsupportedMedia, match="video"):
        decode_image(shared_testdata() / "vpdq" / "chair-19-sd-bar.mp4", Limits())
    img = tmp_path / "i.jpg"
    photo_like(64, 48).save(img)
    with pytest.raises(MediaTooLarge):
        decode_image(img, Limits(max_file_bytes=10))
    with pytest.raises(DecompressionBomb, match="64x48"):
        decode_image(img, Limits(max_image_pixels=64 * 48 - 1))
    assert decode_image(img, Limits(max_image_pixels=64 * 48)).rgb.shape == (48, 64, 3)
    cut = tmp_path / "c.jpg"
    cut.write_bytes(img.read_bytes()[:-200])
    with pytest.raises(CorruptMedia, match="truncated"):
        decode_image(cut, Limits())


def test_truncated_images_do_not_change_pillow_globals(tmp_path: Path) -> None:
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    before = Image.MAX_IMAGE_PIXELS
    img = tmp_path / "i.png"
    photo_like(64, 48).save(img)
    decode_image(img, Limits(max_image_pixels=10**9))
    assert before == Image.MAX_IMAGE_PIXELS and ImageFile.LOAD_TRUNCATED_IMAGES is False
