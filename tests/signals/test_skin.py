"""The skin gate: a cheap share of skin-coloured pixels (Chai and Ngan's YCbCr box)."""

from __future__ import annotations

import numpy as np
from skimage import data
from tests.conformance.extractor import MediaExtractorConformance, media_input

from jikimi.signals.extractor import Finding
from jikimi.signals.skin import SkinExtractor, skin_fraction


def _flat(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.full((200, 300, 3), rgb, np.uint8)


class TestSkinConformance(MediaExtractorConformance):
    def make(self) -> SkinExtractor:
        return SkinExtractor()

    def known(self) -> list[tuple[object, object]]:
        def score(low: float, high: float):
            def check(f: Finding) -> None:
                assert f.status == "ok" and low <= f.value["score"] <= high

            return check

        return [
            (media_input(_flat((224, 172, 150))), score(0.99, 1.0)),  # a skin tone
            (media_input(_flat((40, 90, 200))), score(0.0, 0.0)),  # sky blue
            (media_input(data.astronaut()), score(0.1, 0.6)),
        ]


def test_greyscale_fails_open() -> None:
    grey = np.repeat(data.camera()[:, :, None], 3, axis=2)
    fraction, is_grey = skin_fraction(grey)
    assert is_grey and fraction == 1.0
    (finding,) = SkinExtractor().extract([media_input(grey)])
    assert "greyscale" in finding.value["note"]


def test_thumbnail_is_bounded_and_stable() -> None:
    big = np.zeros((4000, 6000, 3), np.uint8)
    big[:, :3000] = (224, 172, 150)
    fraction, _ = skin_fraction(big)
    assert abs(fraction - 0.5) < 0.02
