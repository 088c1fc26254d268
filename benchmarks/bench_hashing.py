"""CPU time per image of hashing: the threatexchange reference path against compute_signals.

    python benchmarks/bench_hashing.py [--n N] [--seed S]

Generates N benign, photo-like 1920x1080 JPEGs (smooth gradients, shapes, mild noise; fixed
seed) in a temporary folder, then measures ``time.process_time`` per image of
(a) reference: python-threatexchange ``pdq_hasher.pdq_from_file`` (Pillow decode + pdqhash)
    plus hashlib SHA-256, MD5 and SHA-1 of the file;
(b) ``compute_signals(transforms=False, fast=False)`` (bit-exact PDQ);
(c) ``compute_signals(transforms=False, fast=True)`` (JPEG draft decode), with its Hamming
    distance to the exact hash;
(d) ``compute_signals(transforms=True)``, the eight dihedral hashes, for reference.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from threatexchange.signal_type.pdq import pdq_hasher

from jikimi.media.limits import Limits
from jikimi.signals.base import hamming_hex
from jikimi.signals.compute import compute_signals


def photo_like(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """Same recipe as tests/conformance/hasher.py: gradients, shapes, mild noise."""
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
        x0, y0 = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        x1, y1 = x0 + int(rng.integers(20, width // 3)), y0 + int(rng.integers(20, height // 3))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    arr = np.asarray(im).astype(np.float32) + rng.normal(0, 3, (height, width, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def reference(path: Path) -> str:
    pdq, _quality = pdq_hasher.pdq_from_file(path)
    data = path.read_bytes()
    for name in ("sha256", "md5", "sha1"):
        hashlib.new(name, data).hexdigest()
    return pdq


def measure(paths: list[Path], fn: Callable[[Path], str]) -> tuple[list[float], list[str]]:
    times, values = [], []
    for path in paths:
        start = time.process_time()
        values.append(fn(path))
        times.append(time.process_time() - start)
    return times, values


def ours(transforms: bool, fast: bool) -> Callable[[Path], str]:
    limits = Limits()

    def run(path: Path) -> str:
        result = compute_signals(path, limits, transforms=transforms, fast=fast)
        assert result.error is None, result.error
        return result.signals["pdq"].value

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="number of images (default 50)")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    # pdq_from_file leaves Pillow's file open; that is the reference's business, not ours.
    warnings.simplefilter("ignore", ResourceWarning)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.n):
            path = Path(tmp) / f"img{i:03d}.jpg"
            photo_like(1920, 1080, rng).save(path, "JPEG", quality=90)
            paths.append(path)
        sizes = [p.stat().st_size for p in paths]
        for fn in (reference, ours(False, False), ours(False, True)):  # warm caches and imports
            fn(paths[0])
        runs = {
            "a reference (threatexchange + hashlib)": measure(paths, reference),
            "b compute_signals exact": measure(paths, ours(False, False)),
            "c compute_signals fast": measure(paths, ours(False, True)),
            "d compute_signals exact + 8 transforms": measure(paths, ours(True, False)),
        }
    ref_times, ref_values = runs["a reference (threatexchange + hashlib)"]
    _, exact_values = runs["b compute_signals exact"]
    _, fast_values = runs["c compute_signals fast"]
    assert exact_values == ref_values, "exact path is not bit-exact with the reference"
    ref_mean = statistics.fmean(ref_times)
    kib = statistics.fmean(sizes) / 1024
    print(f"{args.n} JPEGs 1920x1080, mean {kib:.0f} KiB, seed {args.seed}")
    print(f"{'path':42} {'mean ms':>8} {'median ms':>9} {'vs ref':>7}")
    for name, (times, _values) in runs.items():
        mean = statistics.fmean(times)
        print(
            f"{name:42} {mean * 1000:8.2f} {statistics.median(times) * 1000:9.2f} "
            f"{mean / ref_mean:7.2f}"
        )
    distances = [hamming_hex(f, e) for f, e in zip(fast_values, exact_values, strict=True)]
    print(
        f"fast vs exact PDQ Hamming distance: max {max(distances)}, "
        f"mean {statistics.fmean(distances):.2f}; exact == reference on all {args.n}"
    )


if __name__ == "__main__":
    main()
