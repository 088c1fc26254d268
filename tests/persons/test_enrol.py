"""Reference photos to templates: exactly one large enough face per photo, or a reason."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from tests.persons.images import astronaut, collage, jpeg_bytes, resized, save

from jikimi.errors import EnrolmentRefused
from jikimi.media.limits import Limits
from jikimi.persons.enrol import MIN_FACE_SIDE, templates_from_photos
from jikimi.settings import load_settings
from jikimi.signals.faces import FaceExtractor, load


@cache
def _extractor() -> FaceExtractor:
    return load(load_settings())


def _enrol(*photos: Path, limits: Limits | None = None) -> list:
    return templates_from_photos(list(photos), _extractor(), limits or Limits())


def test_the_astronaut_gives_one_template(tmp_path: Path) -> None:
    (accepted,) = _enrol(save(astronaut(), tmp_path / "a.png"))
    assert accepted.template.shape == (128,) and accepted.template.dtype == np.float32
    left, top, right, bottom = accepted.box
    assert min(right - left, bottom - top) >= MIN_FACE_SIDE
    assert 0 < accepted.quality <= 1


def test_several_photos_give_one_template_each(tmp_path: Path) -> None:
    a = save(astronaut(), tmp_path / "a.png")
    b = tmp_path / "b.jpg"
    b.write_bytes(jpeg_bytes(resized(astronaut(), 400)))
    first, second = _enrol(a, b)
    assert float(np.linalg.norm(first.template - second.template)) < 0.6


def _refusal(tmp_path: Path, name: str) -> tuple[Path, str]:
    path = tmp_path / name
    if name == "coffee.png":
        save(skimage.data.coffee(), path)
    elif name == "collage.png":
        save(collage(), path)
    elif name == "tiny.png":
        save(resized(astronaut(), 230), path)  # the face is ~43 px
    elif name == "notes.jpg":
        path.write_text("this is a text file, not a photo\n")
    elif name == "truncated.jpg":
        path.write_bytes(jpeg_bytes(astronaut())[:3000])
    elif name == "empty.png":
        path.write_bytes(b"")
    return path, name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("coffee.png", "no face found"),
        ("collage.png", "3 faces found"),
        ("tiny.png", "face too small (4"),
        ("notes.jpg", "unsupported: not an image"),
        ("truncated.jpg", "corrupt"),
        ("empty.png", "empty"),
        ("missing.png", "not found"),
    ],
)
def test_bad_photos_are_refused_with_a_reason(tmp_path: Path, name: str, reason: str) -> None:
    path, _ = _refusal(tmp_path, name)
    with pytest.raises(EnrolmentRefused) as info:
        _enrol(path)
    ((photo, why),) = info.value.refusals
    assert photo == str(path)
    assert reason in why


def test_every_refusal_is_listed_and_nothing_returned(tmp_path: Path) -> None:
    good = save(astronaut(), tmp_path / "a.png")
    coffee, _ = _refusal(tmp_path, "coffee.png")
    text, _ = _refusal(tmp_path, "notes.jpg")
    with pytest.raises(EnrolmentRefused) as info:
        _enrol(good, coffee, text)
    assert [p for p, _ in info.value.refusals] == [str(coffee), str(text)]
    assert "nothing stored" in str(info.value)
    with pytest.raises(EnrolmentRefused, match="at least one"):
        _enrol()


def test_decoding_limits_apply(tmp_path: Path) -> None:
    path = save(astronaut(), tmp_path / "a.png")
    with pytest.raises(EnrolmentRefused, match="decompression_bomb"):
        _enrol(path, limits=Limits(max_image_pixels=10_000))
