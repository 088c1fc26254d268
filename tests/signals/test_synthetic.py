"""The synthetic signal on a tiny ONNX classifier built here, whose answers are computed by hand.

The model is mean colour -> fixed linear layer -> softmax over ("real", "synthetic"): a red image
is "synthetic", a green or blue one "real". It stands in for an operator's detector; no real
detector and no real imagery is needed to test the plumbing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper
from tests.conformance.extractor import MediaExtractorConformance, media_input

from jikimi.errors import ExtractorUnavailable, ModelVerificationError
from jikimi.settings import load_settings
from jikimi.signals.extractor import Finding, MediaInput
from jikimi.signals.registry import load_registry
from jikimi.signals.synthetic import SyntheticExtractor, load, load_synthetic, read_manifest

WEIGHTS = np.array([[-4.0, 4.0], [2.0, -2.0], [2.0, -2.0]], dtype=np.float32)  # rgb -> logits
BIAS = np.array([0.25, -0.25], dtype=np.float32)
LABELS = ["real", "synthetic"]


def tiny_classifier(
    layout: str = "NCHW", size: tuple[int, int] = (16, 16), *, softmax: bool = True
) -> bytes:
    """ONNX bytes: mean over the pixels of each channel, times WEIGHTS, plus BIAS, softmax."""
    h, w = size
    shape = ["N", 3, h, w] if layout == "NCHW" else ["N", h, w, 3]
    axes = [2, 3] if layout == "NCHW" else [1, 2]
    nodes = [
        helper.make_node("ReduceMean", ["pixels"], ["colour"], axes=axes, keepdims=0),
        helper.make_node("MatMul", ["colour", "W"], ["product"]),
        helper.make_node("Add", ["product", "B"], ["logits"]),
    ]
    nodes.append(
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1)
        if softmax
        else helper.make_node("Identity", ["logits"], ["probs"])
    )
    graph = helper.make_graph(
        nodes,
        "tiny_synthetic",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 2])],
        initializer=[
            onnx.numpy_helper.from_array(WEIGHTS, "W"),
            onnx.numpy_helper.from_array(BIAS, "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_tiny_classifier(
    folder: Path, *, onnx_bytes: bytes | None = None, **overrides: Any
) -> Path:
    """Write the tiny model and its manifest into ``folder``; the manifest's path. Keys in
    ``overrides`` replace manifest entries (``None`` removes one)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = onnx_bytes if onnx_bytes is not None else tiny_classifier()
    (folder / "tiny.onnx").write_bytes(data)
    manifest: dict[str, Any] = {
        "name": "tiny-synthetic",
        "model": "tiny.onnx",
        "sha256": hashlib.sha256(data).hexdigest(),
        "input_size": [16, 16],
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "channel_order": "RGB",
        "layout": "NCHW",
        "labels": LABELS,
        "positive_label": "synthetic",
        "licence": "CC0-1.0",
    }
    for key, value in overrides.items():
        if value is None:
            manifest.pop(key, None)
        else:
            manifest[key] = value
    path = folder / "synthetic.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def expected(
    colour: tuple[int, int, int], *, bgr: bool = False, mean: float = 0.0, std: float = 1.0
) -> tuple[float, str]:
    """(p(synthetic), top label) for a flat image of ``colour``, by hand."""
    x = (np.array(colour, np.float64) / 255.0 - mean) / std
    if bgr:
        x = x[::-1]
    logits = x @ WEIGHTS.astype(np.float64) + BIAS
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return float(p[1]), LABELS[int(np.argmax(p))]


def flat(colour: tuple[int, int, int], h: int = 40, w: int = 60) -> MediaInput:
    return media_input(np.full((h, w, 3), colour, np.uint8))


RED, GREEN, BLUE, GREY = (255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128)


def _answer(colour: tuple[int, int, int], **how: Any) -> Any:
    score, label = expected(colour, **how)

    def check(finding: Finding) -> None:
        assert finding.status == "ok", finding.error
        assert finding.advisory is True
        assert finding.present is None
        assert finding.value["label"] == label
        assert finding.value["score"] == pytest.approx(score, abs=1e-5)
        assert finding.value["model"] == "tiny-synthetic"
        assert finding.as_dict()["advisory"] is True

    return check


@pytest.fixture(autouse=True)
def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIKIMI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("JIKIMI_SYNTHETIC_MODEL", raising=False)


class TestSyntheticConformance(MediaExtractorConformance):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "model"

    def make(self) -> Any:
        return load_synthetic(write_tiny_classifier(self.folder))

    def known(self) -> list[tuple[MediaInput, Any]]:
        return [(flat(c), _answer(c)) for c in (RED, GREEN, BLUE, GREY)]


def test_red_is_synthetic_green_is_real(tmp_path: Path) -> None:
    ext = load_synthetic(write_tiny_classifier(tmp_path))
    red, green = ext.extract([flat(RED), flat(GREEN)])
    assert red.value["label"] == "synthetic" and red.value["score"] > 0.99
    assert green.value["label"] == "real" and green.value["score"] < 0.05


def test_channel_order_bgr(tmp_path: Path) -> None:
    ext = load_synthetic(write_tiny_classifier(tmp_path, channel_order="BGR"))
    for colour, finding in zip((RED, BLUE), ext.extract([flat(RED), flat(BLUE)]), strict=True):
        _answer(colour, bgr=True)(finding)
    assert ext.extract([flat(BLUE)])[0].value["label"] == "synthetic"


def test_mean_and_std(tmp_path: Path) -> None:
    manifest = write_tiny_classifier(tmp_path, mean=[0.5] * 3, std=[0.25] * 3)
    ext = load_synthetic(manifest)
    for colour in (RED, GREEN, GREY):
        _answer(colour, mean=0.5, std=0.25)(ext.extract([flat(colour)])[0])


def test_nhwc_layout(tmp_path: Path) -> None:
    manifest = write_tiny_classifier(
        tmp_path,
        onnx_bytes=tiny_classifier("NHWC", (12, 20)),
        layout="NHWC",
        input_size=[12, 20],
    )
    ext = load_synthetic(manifest)
    for colour in (RED, GREEN):
        _answer(colour)(ext.extract([flat(colour, 31, 17)])[0])


def test_batches_equal_one_by_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    items = [media_input(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)) for _ in range(7)]
    batched = load_synthetic(write_tiny_classifier(tmp_path), batch_size=3).extract(items)
    single = load_synthetic(write_tiny_classifier(tmp_path), batch_size=1).extract(items)
    assert [f.value for f in batched] == [f.value for f in single]


def test_not_applicable_and_errors_are_advisory_too(tmp_path: Path) -> None:
    ext = load_synthetic(write_tiny_classifier(tmp_path))
    bad = media_input(np.zeros((20, 20, 7), np.uint8))
    tiny = media_input(np.zeros((1, 1, 3), np.uint8))
    failed, skipped = ext.extract([bad, tiny])
    assert skipped.status == "not_applicable" and skipped.advisory
    assert failed.status == "error" and failed.advisory
    assert "HxWx3" in (failed.error or "")


def test_outputs_that_are_not_probabilities_are_errors(tmp_path: Path) -> None:
    ext = load_synthetic(write_tiny_classifier(tmp_path, onnx_bytes=tiny_classifier(softmax=False)))
    (finding,) = ext.extract([flat(RED)])
    assert finding.status == "error"
    assert "not probabilities" in (finding.error or "")
    assert finding.advisory


def test_model_info(tmp_path: Path) -> None:
    manifest = write_tiny_classifier(tmp_path)
    (info,) = load_synthetic(manifest).models()
    assert info.name == "tiny-synthetic"
    assert info.licence == "CC0-1.0"
    assert info.sha256 == hashlib.sha256((tmp_path / "tiny.onnx").read_bytes()).hexdigest()
    assert info.path == str(tmp_path / "tiny.onnx")
    assert info.loaded


def test_off_by_default() -> None:
    with pytest.raises(ExtractorUnavailable, match="synthetic is off: set synthetic_model"):
        load(load_settings())
    registry = load_registry(load_settings())
    assert "synthetic is off" in registry.disabled["synthetic"].reason


def test_on_through_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIKIMI_SYNTHETIC_MODEL", str(write_tiny_classifier(tmp_path / "m")))
    registry = load_registry(load_settings())
    assert isinstance(registry.get("synthetic"), SyntheticExtractor)
    assert "tiny-synthetic" in [m.name for m in registry.models()]


def test_a_wrong_hash_disables_it(tmp_path: Path) -> None:
    manifest = write_tiny_classifier(tmp_path, sha256="ab" * 32)
    with pytest.raises(ModelVerificationError, match="do not run it"):
        load_synthetic(manifest)
    data = bytearray((tmp_path / "tiny.onnx").read_bytes())
    manifest = write_tiny_classifier(tmp_path)  # right hash, then the file changes
    data[-1] ^= 0xFF
    (tmp_path / "tiny.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelVerificationError, match=str(manifest)):
        load_synthetic(manifest)


def test_a_missing_model_or_manifest(tmp_path: Path) -> None:
    manifest = write_tiny_classifier(tmp_path)
    (tmp_path / "tiny.onnx").unlink()
    with pytest.raises(ExtractorUnavailable, match="not found"):
        load_synthetic(manifest)
    with pytest.raises(ExtractorUnavailable, match="cannot read the manifest"):
        load_synthetic(tmp_path / "absent.yaml")


def test_a_model_that_does_not_fit_the_manifest(tmp_path: Path) -> None:
    manifest = write_tiny_classifier(tmp_path, input_size=[32, 32])
    with pytest.raises(ExtractorUnavailable, match="does not fit"):
        load_synthetic(manifest)


@pytest.mark.parametrize(
    ("overrides", "key", "message"),
    [
        ({"threshold": 0.5}, "threshold", "unknown key"),
        ({"labels": None}, "labels", "is required"),
        ({"channel_order": "RGBA"}, "channel_order", "must be one of RGB, BGR"),
        ({"layout": "NC"}, "layout", "must be one of NCHW, NHWC"),
        ({"positive_label": "fake"}, "positive_label", "is not one of labels"),
        ({"sha256": "abc"}, "sha256", "64 hex"),
        ({"input_size": [224]}, "input_size", "must be [H, W]"),
        ({"input_size": [0, 224]}, "input_size", "must be [H, W]"),
        ({"mean": [0.5, 0.5]}, "mean", "3 numbers"),
        ({"std": [1.0, 0.0, 1.0]}, "std", "positive"),
        ({"labels": ["same", "same"]}, "labels", "distinct"),
        ({"name": ""}, "name", "non-empty"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_manifest_validation(
    tmp_path: Path, overrides: dict[str, Any], key: str, message: str
) -> None:
    path = write_tiny_classifier(tmp_path, **overrides)
    with pytest.raises(ExtractorUnavailable) as caught:
        read_manifest(path)
    text = str(caught.value)
    assert str(path) in text and repr(key) in text and message in text
    if key in overrides and overrides[key] is not None:
        line = next(i for i, s in enumerate(path.read_text().splitlines(), 1) if s.startswith(key))
        assert f"{path}:{line}:" in text


@pytest.mark.parametrize("text", ["- a\n- b\n", "name: [unclosed\n", ""])
def test_manifests_that_are_not_mappings(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ExtractorUnavailable, match=str(path)):
        read_manifest(path)
