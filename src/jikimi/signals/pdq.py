"""PDQ, Meta's perceptual image hash, through ``pdqhash`` (bit-exact with Meta's C++).

The hex form follows python-threatexchange's ``pdq_hasher.py``: the 256 bits most significant
first, 64 lowercase hex characters. Decoding and mode conversion live in
:mod:`jikimi.media.decode`; this module only hashes pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pdqhash

from jikimi.media.decode import decode_image
from jikimi.media.limits import Limits

# The order of pdqhash.compute_dihedral's results (Meta's pdqDihedralHash256esFromFloatLuma:
# original, rotate 90, rotate 180, rotate 270, flip X, flip Y, flip +1, flip -1), named by what
# each one is the hash of, checked against hashing the transformed image in tests:
# rotateN turns the image N degrees counter-clockwise (Pillow's Transpose.ROTATE_N);
# flip_vertical swaps top and bottom; flip_horizontal swaps left and right; flip_diagonal
# mirrors about the top-left to bottom-right diagonal (Transpose.TRANSPOSE); flip_antidiagonal
# about the other one (Transpose.TRANSVERSE).
PDQ_TRANSFORMS: tuple[str, ...] = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_vertical",
    "flip_horizontal",
    "flip_diagonal",
    "flip_antidiagonal",
)

# Below this quality the reference (threatexchange PdqSignal.QUALITY_THRESHOLD) keeps no hash.
PDQ_MIN_QUALITY = 50


def bits_to_hex(bits: np.ndarray) -> str:
    """256 bits, most significant first, as 64 lowercase hex characters."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def _checked(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"PDQ hashes uint8 (H, W, 3) pixels, got {rgb.dtype} {rgb.shape}")
    return rgb


class PdqHasher:
    """PDQ of decoded pixels, and of their eight dihedral transforms in one pass."""

    name = "pdq"
    media: tuple[str, ...] = ("image", "animation")

    def hash_rgb(self, rgb: np.ndarray) -> tuple[str, int]:
        """(64 lowercase hex, quality 0-100) of uint8 (H, W, 3) pixels."""
        bits, quality = pdqhash.compute(_checked(rgb))
        return bits_to_hex(bits), int(quality)

    def hash_rgb_dihedral(self, rgb: np.ndarray) -> tuple[dict[str, str], int]:
        """PDQ of the image and its seven rotations and flips, keyed by
        :data:`PDQ_TRANSFORMS` (``"original"`` equals :meth:`hash_rgb`), and the quality."""
        hashes, quality = pdqhash.compute_dihedral(_checked(rgb))
        return (
            {name: bits_to_hex(bits) for name, bits in zip(PDQ_TRANSFORMS, hashes, strict=True)},
            int(quality),
        )

    def hash_file(self, path: Path) -> str | None:
        """The :class:`~jikimi.signals.base.Hasher` protocol: the hash, or ``None`` below the
        reference quality threshold. Raises a ``MediaError`` for a file it cannot decode."""
        value, quality = self.hash_rgb(decode_image(path, Limits()).rgb)
        return value if quality >= PDQ_MIN_QUALITY else None
