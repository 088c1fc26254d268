"""The Stable Diffusion invisible watermark (``invisible-watermark``'s ``dwtDct`` method).

Stability AI's reference scripts stamp every image they make with ``WatermarkEncoder`` from
https://github.com/ShieldMnt/invisible-watermark, method ``dwtDct`` (``EmbedMaxDct``): one
payload bit per 4x4 block of the Haar DWT approximation band of the U channel (BT.601 YUV of
the BGR image; the reference loops over the first two channels and Y's scale is 0), repeated
over the whole image. The known payloads:

- ``sdxl``: the 48 bits of ``0b101100111110110010010000011110111011000110011110``
  (Stability-AI/generative-models ``WATERMARK_MESSAGE``, copied into diffusers'
  ``StableDiffusionXLWatermarker``);
- ``sd1``: the bytes ``b"StableDiffusionV1"`` (CompVis/stable-diffusion ``scripts/txt2img.py``;
  136 bits, not 48);
- ``sd1_inpainting``: ``b"StableDiffusionV1-Inpainting"`` (runwayml inpainting scripts);
- ``sd2``: ``b"SDV2"`` (Stability-AI/stablediffusion ``scripts/txt2img.py``; 32 bits).

The decoder is ``EmbedMaxDct.decode`` vectorised: per block the score does not depend on the
payload length, so one pass scores every block and each payload only re-bins the scores. A
test checks it is bit-for-bit the reference decoder. Some diffusers releases handed the encoder
RGB arrays as if they were BGR, so both channel orders are tried. ``watermark_min_bits`` is
set for 48 bits; a payload of another length needs the agreement that is no more likely by
chance (binomial tail, p = 1/2 per bit): 44 of 48 corresponds to 32 of 32, 103 of 136, 158
of 224. The reported payload is the one least likely to agree by chance. The reference
encoder does not mark every bit faithfully (after its uint8 round trip a 512x512 image keeps
about 88-100% of the bits; fewer for long payloads), which is why long payloads must not be
held to 44/48 of their bits. A found watermark is strong evidence
of Stable Diffusion output; none proves nothing (most front ends never embed it, and resizing
or cropping destroys it).
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from jikimi.errors import ExtractorUnavailable
from jikimi.settings import Settings
from jikimi.signals.extractor import Finding, MediaInput, ModelInfo

NAME = "watermark"
VERSION = "1"
REFERENCE_BITS = 48
ABSENT_NOTE = "no Stable Diffusion watermark (proves nothing)"

SDXL_MESSAGE = 0b101100111110110010010000011110111011000110011110


def _bytes_bits(data: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(data, dtype=np.uint8)))


PAYLOADS: dict[str, tuple[int, ...]] = {
    "sdxl": tuple(int(b) for b in bin(SDXL_MESSAGE)[2:]),
    "sd1": _bytes_bits(b"StableDiffusionV1"),
    "sd1_inpainting": _bytes_bits(b"StableDiffusionV1-Inpainting"),
    "sd2": _bytes_bits(b"SDV2"),
}

# WatermarkEncoder.encode refuses images under 256*256 pixels, so nothing smaller is marked.
MIN_PIXELS = 256 * 256


def load_reference_module(name: str = "maxDct") -> ModuleType:
    """``imwatermark.<name>`` loaded by file path.

    ``import imwatermark`` fails here: its ``__init__`` imports ``rivaGan``, which imports
    torch, and torch is deliberately not installed (invisible-watermark is installed without
    its dependencies). ``maxDct`` and ``dwtDctSvd`` need only numpy, OpenCV and PyWavelets, so
    we load those files directly from the installed package folder.
    """
    try:
        spec = importlib.util.find_spec("imwatermark")
    except (ImportError, ValueError) as exc:  # a parent package that fails to import
        raise _unavailable(str(exc)) from exc
    if spec is None or not spec.submodule_search_locations:
        raise _unavailable("package imwatermark not found")
    path = Path(next(iter(spec.submodule_search_locations))) / f"{name}.py"
    file_spec = importlib.util.spec_from_file_location(f"_jikimi_imwatermark_{name}", path)
    if file_spec is None or file_spec.loader is None or not path.is_file():
        raise _unavailable(f"{path} missing")
    module = importlib.util.module_from_spec(file_spec)
    try:
        file_spec.loader.exec_module(module)
    except ImportError as exc:  # cv2 or pywt missing
        raise _unavailable(f"{exc}") from exc
    return module


def _unavailable(why: str) -> ExtractorUnavailable:
    return ExtractorUnavailable(
        f"watermark: {why}; install invisible-watermark (pip install --no-deps "
        "invisible-watermark opencv-python-headless PyWavelets)"
    )


@dataclass(frozen=True, slots=True)
class Match:
    payload: str
    order: str
    bits_matching: int
    of: int
    threshold: int


class WatermarkExtractor:
    """Looks for the known Stable Diffusion ``dwtDct`` payloads in decoded pixels."""

    name = NAME
    version = VERSION
    media: tuple[str, ...] = ("image", "animation")
    cost = "moderate"

    def __init__(self, min_bits: int, max_dct: ModuleType) -> None:
        import cv2
        import pywt

        self._cv2 = cv2
        self._pywt = pywt
        self.min_bits = min_bits
        reference = max_dct.EmbedMaxDct(watermarks=[], wmLen=REFERENCE_BITS)
        # Read the encoder's own parameters so a changed default shows up as a failing test.
        self._scales: list[float] = list(reference._scales)
        self._block: int = int(reference._block)

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        return [self._one(item) for item in items]

    def models(self) -> list[ModelInfo]:
        return []

    def threshold(self, length: int) -> int:
        """Bits of a ``length``-bit payload that must agree: the fewest whose chance agreement
        is no likelier than ``watermark_min_bits`` of 48."""
        limit = chance(REFERENCE_BITS, self.min_bits)
        return next(t for t in range(length + 1) if chance(length, t) <= limit)

    def _one(self, item: MediaInput) -> Finding:
        start = time.perf_counter()
        try:
            finding = self._find(item)
        except (ValueError, MemoryError, self._cv2.error) as exc:
            finding = Finding.failed(NAME, VERSION, f"watermark decoding failed: {exc}")
        finding.duration_ms = (time.perf_counter() - start) * 1000
        return finding

    def _find(self, item: MediaInput) -> Finding:
        rgb = item.rgb
        if rgb is None:
            return Finding.not_applicable(NAME, VERSION, "no decoded image")
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            return Finding.not_applicable(NAME, VERSION, f"not an RGB image: {rgb.shape}")
        h, w = rgb.shape[:2]
        if h * w < MIN_PIXELS or self._blocks(h, w) < max(map(len, PAYLOADS.values())):
            return Finding.not_applicable(
                NAME, VERSION, f"{w}x{h} is smaller than the watermark needs (256x256 pixels)"
            )
        best = self.best_match(rgb)
        present = best.bits_matching >= best.threshold
        value: dict[str, Any] = {
            "bits_matching": best.bits_matching,
            "of": best.of,
            "payload": best.payload if present else None,
            "threshold": best.threshold,
            "closest": best.payload,
            "channel_order": best.order,
            "p_chance": float(f"{chance(best.of, best.bits_matching):.3g}"),
            "min_bits_of_48": self.min_bits,
        }
        if not present:
            value["note"] = ABSENT_NOTE
        return Finding(NAME, "ok", VERSION, value, present=present)

    def _blocks(self, h: int, w: int) -> int:
        side = 2 * self._block  # the DWT halves each side
        return (h // 4 * 4 // side) * (w // 4 * 4 // side)

    def best_match(self, rgb: np.ndarray) -> Match:
        """The payload and channel order least likely to agree this well by chance."""
        return min(self.matches(rgb), key=lambda m: chance(m.of, m.bits_matching))

    def matches(self, rgb: np.ndarray) -> list[Match]:
        """Every known payload in both channel orders, with its agreeing bits."""
        pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
        out: list[Match] = []
        for order, code in (("bgr", self._cv2.COLOR_RGB2YUV), ("rgb", self._cv2.COLOR_BGR2YUV)):
            scores = self.block_scores(self._cv2.cvtColor(pixels, code))
            for name, payload in PAYLOADS.items():
                bits = decode_bits(scores, len(payload))
                agree = int(np.count_nonzero(bits == np.asarray(payload, dtype=bool)))
                out.append(Match(name, order, agree, len(payload), self.threshold(len(payload))))
        return out

    def block_scores(self, yuv: np.ndarray) -> list[np.ndarray]:
        """Per channel with a non-zero scale, each block's vote (``infer_dct_matrix``) in the
        reference's raster order."""
        rows, cols = yuv.shape[0] // 4 * 4, yuv.shape[1] // 4 * 4
        out: list[np.ndarray] = []
        for channel, scale in enumerate(self._scales[:2]):  # as the reference: range(2)
            if scale <= 0:
                continue
            approx, _ = self._pywt.dwt2(yuv[:rows, :cols, channel], "haar")
            out.append(_votes(approx, float(scale), self._block))
        return out


@cache
def chance(length: int, agree: int) -> float:
    """Probability that ``agree`` or more of ``length`` fair coin-flip bits match a payload."""
    return sum(math.comb(length, k) for k in range(agree, length + 1)) / 2**length


def _votes(approx: np.ndarray, scale: float, block: int) -> np.ndarray:
    """``EmbedMaxDct.infer_dct_matrix`` for every block at once: the largest-magnitude
    coefficient after the first (first one on ties, like ``np.argmax``) votes 1 when its
    magnitude modulo ``scale`` is above half of it."""
    nr, nc = approx.shape[0] // block, approx.shape[1] // block
    blocks = (
        approx[: nr * block, : nc * block]
        .reshape(nr, block, nc, block)
        .transpose(0, 2, 1, 3)
        .reshape(nr * nc, block * block)
    )
    pos = np.abs(blocks[:, 1:]).argmax(axis=1) + 1
    val = np.abs(blocks[np.arange(blocks.shape[0]), pos])
    return (val % scale) > 0.5 * scale


def decode_bits(scores: list[np.ndarray], length: int) -> np.ndarray:
    """``EmbedMaxDct.decode``'s bits for a ``length``-bit payload: block ``k`` of each channel
    votes for bit ``k % length``; a bit is 1 when the mean vote times 255 is over 127."""
    sums = np.zeros(length)
    counts = np.zeros(length)
    for votes in scores:
        index = np.arange(votes.shape[0]) % length
        sums += np.bincount(index, weights=votes, minlength=length)
        counts += np.bincount(index, minlength=length)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts) * 255 > 127


def load(settings: Settings) -> WatermarkExtractor:
    """Entry point ``watermark``."""
    return WatermarkExtractor(settings.watermark_min_bits, load_reference_module("maxDct"))
