"""The ``synthetic`` signal: an operator-supplied ONNX classifier of AI-generated or face-swapped
images. Off unless ``synthetic_model`` names its manifest.

No such model ships with Jikimi: detectors of synthetic imagery age quickly and generalise
poorly to generators they were not trained on, so the operator chooses one, records its hash and
licence, and every finding it makes is marked ``advisory``. A score from it only routes work
to reviewers (DESIGN.md §2.1).

The manifest is YAML, validated at load time with errors that name the file, the line and the
key (after Osprey's rules loader); unknown keys are rejected::

    name: my-detector            # shown in findings and `jikimi models`
    model: detector.onnx         # relative to the manifest's folder
    sha256: <64 hex>             # of the .onnx file; a mismatch disables the signal
    input_size: [224, 224]       # [H, W]; the image is resized to it (bilinear, no crop)
    mean: [0.485, 0.456, 0.406]  # per channel, in the channel order below, on pixels in [0, 1]
    std: [0.229, 0.224, 0.225]   # input = (pixel / 255 - mean) / std
    channel_order: RGB           # RGB or BGR
    layout: NCHW                 # NCHW or NHWC, float32
    labels: [real, synthetic]    # one per column of the model's first output
    positive_label: synthetic    # the label whose probability is the score
    licence: Apache-2.0

The model's first output must be probabilities, shape (N, len(labels)) (end it with a
softmax); a row that is not a probability distribution is recorded as an error finding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from PIL import Image

from jikimi.errors import ExtractorUnavailable
from jikimi.settings import Settings
from jikimi.signals.extractor import CostClass, Finding, MediaInput, ModelInfo
from jikimi.signals.models import (
    Prepared,
    VerifiedWeights,
    extract_in_batches,
    is_sha256_hex,
    onnx_session,
    read_verified,
)

if TYPE_CHECKING:
    import onnxruntime

NAME = "synthetic"
VERSION = "1"
PACKAGE = "operator-supplied"
MAX_INPUT_SIDE = 4096
MIN_SIDE = 8
PROBABILITY_TOLERANCE = 1e-3

MANIFEST_KEYS = (
    "name",
    "model",
    "sha256",
    "input_size",
    "mean",
    "std",
    "channel_order",
    "layout",
    "labels",
    "positive_label",
    "licence",
)


@dataclass(frozen=True, slots=True)
class SyntheticManifest:
    """A validated manifest; ``model`` is resolved against the manifest's folder."""

    path: Path
    name: str
    model: Path
    sha256: str
    input_size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channel_order: str
    layout: str
    labels: tuple[str, ...]
    positive_label: str
    licence: str


class _Problem(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _mapping_lines(text: str) -> dict[str, int]:
    """1-based line of each top-level key, for error messages."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.Node)}


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise _Problem(key, "must be a non-empty string")
    return value.strip()


def _triple(raw: dict[str, Any], key: str) -> tuple[float, float, float]:
    value = raw[key]
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not all(math.isfinite(v) for v in value)
    ):
        raise _Problem(key, "must be a list of 3 numbers, one per channel")
    return (float(value[0]), float(value[1]), float(value[2]))


def _choice(raw: dict[str, Any], key: str, options: tuple[str, ...]) -> str:
    value = raw[key]
    if value not in options:
        raise _Problem(key, f"must be one of {', '.join(options)} (got {value!r})")
    return str(value)


def _validate(path: Path, raw: dict[str, Any]) -> SyntheticManifest:
    for key in raw:
        if key not in MANIFEST_KEYS:
            raise _Problem(str(key), f"unknown key; known keys: {', '.join(MANIFEST_KEYS)}")
    for key in MANIFEST_KEYS:
        if key not in raw:
            raise _Problem(key, "is required")
    sha256 = raw["sha256"]
    if not is_sha256_hex(str(sha256).lower()):
        raise _Problem("sha256", "must be 64 hex characters (sha256sum of the model file)")
    size = raw["input_size"]
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
        or not all(1 <= v <= MAX_INPUT_SIDE for v in size)
    ):
        raise _Problem("input_size", f"must be [H, W], integers from 1 to {MAX_INPUT_SIDE}")
    std = _triple(raw, "std")
    if any(s <= 0 for s in std):
        raise _Problem("std", "must be positive")
    labels = raw["labels"]
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(v, str) and v for v in labels)
        or len(set(labels)) != len(labels)
    ):
        raise _Problem("labels", "must be a list of at least two distinct non-empty strings")
    positive = _text(raw, "positive_label")
    if positive not in labels:
        raise _Problem("positive_label", f"{positive!r} is not one of labels {labels}")
    model = Path(_text(raw, "model"))
    return SyntheticManifest(
        path=path,
        name=_text(raw, "name"),
        model=model if model.is_absolute() else path.parent / model,
        sha256=str(sha256).lower(),
        input_size=(size[0], size[1]),
        mean=_triple(raw, "mean"),
        std=std,
        channel_order=_choice(raw, "channel_order", ("RGB", "BGR")),
        layout=_choice(raw, "layout", ("NCHW", "NHWC")),
        labels=tuple(labels),
        positive_label=positive,
        licence=_text(raw, "licence"),
    )


def read_manifest(path: Path) -> SyntheticManifest:
    """Parse and validate a manifest; any problem raises
    :class:`~jikimi.errors.ExtractorUnavailable` naming the file, line and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExtractorUnavailable(
            f"{NAME}: cannot read the manifest {path} ({exc}); fix the synthetic_model setting"
        ) from exc
    try:
        raw = yaml.safe_load(text)
        lines = _mapping_lines(text)
    except yaml.YAMLError as exc:
        raise ExtractorUnavailable(f"{NAME}: {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ExtractorUnavailable(f"{NAME}: {path} must be a mapping of the manifest keys")
    try:
        return _validate(path, raw)
    except _Problem as problem:
        where = f"{path}:{lines[problem.key]}" if problem.key in lines else str(path)
        raise ExtractorUnavailable(f"{NAME}: {where}: key {problem.key!r} {problem}") from None


def prepare(rgb: np.ndarray, manifest: SyntheticManifest) -> np.ndarray:
    """One image as the model's input (no batch axis), float32, per the manifest."""
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 RGB image, got an array of shape {rgb.shape}")
    height, width = manifest.input_size
    img = Image.fromarray(np.ascontiguousarray(rgb[:, :, :3], dtype=np.uint8), mode="RGB")
    img = img.resize((width, height), resample=Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if manifest.channel_order == "BGR":
        arr = arr[:, :, ::-1]
    arr = (arr - np.asarray(manifest.mean, np.float32)) / np.asarray(manifest.std, np.float32)
    if manifest.layout == "NCHW":
        arr = arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_signature(session: onnxruntime.InferenceSession, manifest: SyntheticManifest) -> None:
    """The model's declared input and output shapes agree with the manifest (symbolic
    dimensions agree with anything)."""
    height, width = manifest.input_size
    want_in = (3, height, width) if manifest.layout == "NCHW" else (height, width, 3)
    shape_in = session.get_inputs()[0].shape
    shape_out = session.get_outputs()[0].shape
    problems = []
    if len(shape_in) != 4 or any(
        isinstance(got, int) and got != want
        for got, want in zip(shape_in[1:], want_in, strict=False)
    ):
        problems.append(f"input shape {shape_in} is not [N, {', '.join(map(str, want_in))}]")
    if len(shape_out) != 2 or (
        isinstance(shape_out[1], int) and shape_out[1] != len(manifest.labels)
    ):
        problems.append(f"output shape {shape_out} is not [N, {len(manifest.labels)}] (labels)")
    if problems:
        raise ExtractorUnavailable(
            f"{NAME}: {manifest.model} does not fit {manifest.path}: {'; '.join(problems)}"
        )


class SyntheticExtractor:
    """P(positive label) from the operator's classifier; every finding is advisory."""

    name: str = NAME
    version: str = VERSION
    media: tuple[str, ...] = ("image", "animation")
    cost: CostClass = "expensive"

    def __init__(
        self,
        manifest: SyntheticManifest,
        weights: VerifiedWeights,
        session: onnxruntime.InferenceSession,
        *,
        batch_size: int = 16,
    ) -> None:
        _check_signature(session, manifest)
        self._manifest = manifest
        self._weights = weights
        self._session = session
        self._batch_size = max(1, batch_size)
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name
        self._positive = manifest.labels.index(manifest.positive_label)

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                name=self._manifest.name,
                package=PACKAGE,
                package_version=f"manifest {self._manifest.path}",
                path=str(self._weights.path),
                sha256=self._weights.sha256,
                licence=self._manifest.licence,
                loaded=True,
            )
        ]

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        return extract_in_batches(items, self._prepare, self._run_batch, self._batch_size)

    def _prepare(self, item: MediaInput) -> tuple[Finding | None, np.ndarray | None]:
        kind = item.info.media_type
        if kind not in self.media:
            why = f"{NAME} does not score {kind}"
        elif item.rgb is None:
            why = "no decoded pixels"
        elif min(item.rgb.shape[:2]) < MIN_SIDE:
            h, w = item.rgb.shape[:2]
            why = f"image {w}x{h} is too small to score (under {MIN_SIDE} px on a side)"
        else:
            try:
                return None, prepare(item.rgb, self._manifest)
            except Exception as exc:  # a bad input becomes a finding, never an exception
                return self._failed(f"cannot prepare image: {exc}"), None
        finding = Finding.not_applicable(NAME, VERSION, why)
        finding.advisory = True
        return finding, None

    def _failed(self, message: str) -> Finding:
        finding = Finding.failed(NAME, VERSION, message)
        finding.advisory = True
        return finding

    def _run_batch(self, batch: list[Prepared]) -> list[tuple[int, Finding]]:
        start = time.perf_counter()
        try:
            (out, *_) = self._session.run(
                [self._output], {self._input: np.stack([arr for _, arr, _ in batch])}
            )
            probs = np.asarray(out, dtype=np.float64).reshape(len(batch), -1)
        except Exception as exc:  # onnxruntime's errors are untyped; record, do not raise
            message = f"{self._manifest.name} failed on this batch: {exc}"
            return [(i, self._failed(message)) for i, _, _ in batch]
        share = (time.perf_counter() - start) * 1000 / len(batch)
        results = []
        for (i, _, prep_ms), row in zip(batch, probs, strict=True):
            if (
                row.shape[0] != len(self._manifest.labels)
                or not np.all(np.isfinite(row))
                or row.min() < -PROBABILITY_TOLERANCE
                or abs(row.sum() - 1.0) > PROBABILITY_TOLERANCE
            ):
                results.append(
                    (
                        i,
                        self._failed(
                            f"model output {row.tolist()} is not "
                            "probabilities over the manifest's labels"
                        ),
                    )
                )
                continue
            value = {
                "score": round(float(np.clip(row[self._positive], 0.0, 1.0)), 6),
                "label": self._manifest.labels[int(np.argmax(row))],
                "model": self._manifest.name,
            }
            results.append(
                (i, Finding(NAME, "ok", VERSION, value, advisory=True, duration_ms=prep_ms + share))
            )
        return results


def load_synthetic(manifest_path: Path, *, batch_size: int = 16) -> SyntheticExtractor:
    """The extractor described by the manifest at ``manifest_path``."""
    manifest = read_manifest(manifest_path)
    weights = read_verified(
        manifest.model, {f"{manifest.path} (sha256)": manifest.sha256}, what=NAME
    )
    session = onnx_session(weights, what=NAME)
    return SyntheticExtractor(manifest, weights, session, batch_size=batch_size)


def load(settings: Settings) -> SyntheticExtractor:
    """Entry point ``jikimi.extractors: synthetic``."""
    # An empty JIKIMI_SYNTHETIC_MODEL arrives as Path("") == Path("."): off, like unset.
    if settings.synthetic_model is None or str(settings.synthetic_model).strip() in ("", "."):
        raise ExtractorUnavailable(
            "synthetic is off: set synthetic_model (JIKIMI_SYNTHETIC_MODEL) to the YAML manifest "
            "of an ONNX synthetic-image classifier to turn it on"
        )
    # One batch-size setting for the image models: both are ImageNet-sized CNNs.
    return load_synthetic(Path(settings.synthetic_model), batch_size=settings.nudity_batch_size)
