"""Benign test images for enrolment: skimage's astronaut (NASA, public domain) is the one real
face; collages, rescales and flips are built from it; coffee has no face; lfw_subset crops
(upsampled) stand in for other people."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

from jikimi.demo.synthetic import photo_like

FACE_CROP = (slice(30, 210), slice(130, 310))
COLLAGE_AT = ((40, 60), (380, 300), (700, 80))


def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def collage() -> np.ndarray:
    """Three copies of the astronaut's face crop on a benign synthetic background."""
    crop = astronaut()[FACE_CROP]
    canvas = np.asarray(photo_like(960, 540, seed=3)).copy()
    for x, y in COLLAGE_AT:
        canvas[y : y + 180, x : x + 180] = crop
    return canvas


def resized(rgb: np.ndarray, side: int) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((side, side), Image.Resampling.LANCZOS))


def flipped(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, ::-1])


def other_people(n: int) -> list[np.ndarray]:
    """``n`` upsampled lfw_subset face crops (200 px, RGB)."""
    faces = skimage.data.lfw_subset()[:n]
    out = []
    for grey in faces:
        im = Image.fromarray((grey * 255).astype(np.uint8))
        out.append(np.asarray(im.resize((200, 200), Image.Resampling.BICUBIC).convert("RGB")))
    return out


def save(rgb: np.ndarray, path: Path) -> Path:
    Image.fromarray(rgb).save(path)
    return path


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()
