"""Benign synthetic pictures for tests and demos: gradients, flat shapes and noise.

No people and no real photos, ever: these stand in for media wherever Jikimi shows or tests
itself.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def photo_like(width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    """A benign, deterministic RGB image with photo-like structure: smooth colour gradients,
    a few soft shapes and mild sensor-like noise (enough detail for PDQ quality 100)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    fx, fy = rng.uniform(3.0, 6.0, 2)
    base = np.stack(
        [
            120 + 80 * np.sin(x / width * np.pi * fx) * np.cos(y / height * np.pi),
            110 + 70 * np.cos((x + y) / (width + height) * np.pi * 2 * fy),
            100 + 60 * (y / height) - 40 * (x / width),
        ],
        axis=-1,
    )
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(24):
        x0, y0 = rng.integers(0, width - 20), rng.integers(0, height - 20)
        x1 = x0 + rng.integers(20, max(21, width // 3))
        y1 = y0 + rng.integers(20, max(21, height // 3))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    arr = np.asarray(im).astype(np.float32) + rng.normal(0, 3, (height, width, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
