"""Write benign synthetic sample media for the example run: photo-like gradients and shapes,
an edited copy, a rotated copy, a duplicate, and a few bad files. No real photos, ever."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def picture(seed: int, size: tuple[int, int] = (1280, 720)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(1, 6, 2).tolist() + [rng.uniform(0, 6.28)]
        channels.append(np.sin(x / w * fx * 3.14 + phase) * np.cos(y / h * fy * 3.14) * 90 + 128)
    img = Image.fromarray(np.stack(channels, -1).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w - 100)), int(rng.integers(0, h - 100))
        x1, y1 = x0 + int(rng.integers(40, 400)), y0 + int(rng.integers(40, 300))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=color)
    return img


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    known = picture(1)
    known.save(out / "known.jpg", quality=92)
    known.resize((640, 360)).save(out / "known-resized.jpg", quality=80)
    known.transpose(Image.Transpose.ROTATE_90).save(out / "known-rotated.png")
    (out / "nested").mkdir(exist_ok=True)
    known.save(out / "nested" / "known-copy.jpg", quality=92)
    for seed in range(2, 8):
        picture(seed).save(out / f"other-{seed}.jpg", quality=90)
    (out / "empty.jpg").write_bytes(b"")
    (out / "notes.jpg").write_text("this is text, not a picture\n")
    data = (out / "other-2.jpg").read_bytes()
    (out / "truncated.jpg").write_bytes(data[: len(data) // 3])
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "samples"))
