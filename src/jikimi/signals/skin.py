"""``skin``: the share of skin-coloured pixels, a cheap gate before the nudity model.

Explicit imagery shows skin; a photo with almost none cannot be nude, so the cascade spends
the nudity model only where this fraction reaches ``cascade_skin_threshold``. Pixels are
classified in YCbCr with the fixed chrominance box of Chai and Ngan (1999), Cb in [77, 127]
and Cr in [133, 173], on a strided thumbnail of at most ~128 px a side. Greyscale images carry
no chrominance to judge, so they score 1.0 and the gate fails open.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jikimi.settings import Settings
from jikimi.signals.extractor import Finding, MediaInput, ModelInfo

THUMB_SIDE = 128
CB_RANGE = (77.0, 127.0)
CR_RANGE = (133.0, 173.0)
GREY_CHROMA = 2.0  # mean |Cb-128| + |Cr-128| below this: a greyscale image


def skin_fraction(rgb: np.ndarray) -> tuple[float, bool]:
    """(fraction of skin-coloured pixels, whether the image is greyscale)."""
    step = max(1, max(rgb.shape[0], rgb.shape[1]) // THUMB_SIDE)
    thumb = rgb[::step, ::step, :3].astype(np.float32)
    r, g, b = thumb[..., 0], thumb[..., 1], thumb[..., 2]
    cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b  # ITU-R BT.601, as JPEG
    cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
    if float(np.mean(np.abs(cb - 128.0) + np.abs(cr - 128.0))) < GREY_CHROMA:
        return 1.0, True
    skin = (cb >= CB_RANGE[0]) & (cb <= CB_RANGE[1]) & (cr >= CR_RANGE[0]) & (cr <= CR_RANGE[1])
    return float(skin.mean()), False


class SkinExtractor:
    name = "skin"
    version = "1"
    media: tuple[str, ...] = ("image", "animation")
    cost = "cheap"

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        return [self._one(item) for item in items]

    def _one(self, item: MediaInput) -> Finding:
        rgb = item.rgb
        if rgb is None or rgb.ndim != 3 or rgb.shape[2] < 3 or min(rgb.shape[:2]) < 1:
            return Finding.not_applicable(self.name, self.version, "no RGB pixels to look at")
        fraction, grey = skin_fraction(rgb)
        value: dict[str, object] = {"score": round(fraction, 4)}
        if grey:
            value["note"] = "greyscale: skin cannot be judged, the gate stays open"
        return Finding(self.name, "ok", self.version, value)

    def models(self) -> list[ModelInfo]:
        return []


def load(settings: Settings) -> SkinExtractor:
    return SkinExtractor()
