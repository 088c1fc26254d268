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


def screenshot_like(width: int = 1080, height: int = 1920, seed: int = 0) -> Image.Image:
    """A benign chat or app screenshot look-alike: flat light UI colours, bars and dark text."""
    rng = np.random.default_rng(seed)
    background = tuple(int(c) for c in rng.integers(225, 256, 3))
    im = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(im)
    bar = tuple(int(c) for c in rng.integers(30, 120, 3))
    draw.rectangle((0, 0, width, height // 12), fill=bar)
    y = height // 10
    while y < height - 40:
        x0 = int(rng.integers(10, width // 4))
        bubble = tuple(int(c) for c in rng.integers(200, 245, 3))
        x1 = min(width - 10, x0 + int(rng.integers(width // 4, width // 2)))
        draw.rounded_rectangle((x0, y, x1, y + 60), radius=18, fill=bubble)
        draw.text((x0 + 16, y + 20), f"message {int(rng.integers(1000))} " * 3, fill=(20, 20, 20))
        y += int(rng.integers(80, 140))
    return im


def outdoor_like(width: int = 1920, height: int = 1080, seed: int = 0) -> Image.Image:
    """A benign outdoor look-alike: a sky gradient over textured foliage greens."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    horizon = height * rng.uniform(0.35, 0.6)
    sky = np.stack([90 + 60 * y / horizon, 140 + 50 * y / horizon, 230 - 20 * y / horizon], -1)
    ground_noise = rng.normal(0, 18, (height, width))
    ground = np.stack(
        [40 + ground_noise, 110 + 30 * np.sin(x / 37.0) + ground_noise, 45 + ground_noise], -1
    )
    arr = np.where((y < horizon)[..., None], sky, ground)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
