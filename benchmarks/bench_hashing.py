"""CPU time per image of hashing: the threatexchange reference path against compute_signals.

    python benchmarks/bench_hashing.py [--n N] [--seed S]

Generates N benign, photo-like 1920x1080 JPEGs (smooth gradients, shapes, mild noise; fixed
seed) in a temporary folder, then measures ``time.process_time`` per image of
(a) reference: python-threatexchange ``pdq_hasher.pdq_from_file`` (Pillow decode + pdqhash)
    plus hashlib SHA-256, MD5 and SHA-1 of the file;
(b) ``compute_signals(transforms=False, fast=False)`` (bit-exact PDQ);
(c) ``compute_signals(transforms=False, fast=True)`` (JPEG luma-only draft decode), with its
    Hamming distance to the exact hash;
(d) ``compute_signals(transforms=True)``, the eight dihedral hashes, for reference.

Fast mode trades bits, so its distance to the exact hash is also measured on two harder sets
of N images each (times too, for (a) and (c)): 1280x1024 photo-like JPEGs (the smallest size
that is drafted) and 1920x1080 "textured" ones (the same pictures under fine gratings of 2.5-12
pixel periods and heavier noise, sigma 10).
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
from PIL import Image
from threatexchange.signal_type.pdq import pdq_hasher

from jikimi.demo.synthetic import photo_like
from jikimi.media.limits import Limits
from jikimi.signals.base import hamming_hex
from jikimi.signals.compute import compute_signals


def photo(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """The tests' benign synthetic picture (gradients, shapes, mild noise), seeded from rng."""
    return photo_like(width, height, seed=int(rng.integers(2**31)))


def textured(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """photo_like with three fine sinusoidal gratings and more noise: high-frequency content."""
    arr = np.asarray(photo(width, height, rng)).astype(np.float32)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    for _ in range(3):
        period, angle = rng.uniform(2.5, 12.0), rng.uniform(0.0, np.pi)
        phase = (x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / period
        arr += rng.uniform(15.0, 35.0) * np.sin(phase)[:, :, np.newaxis]
    arr += rng.normal(0, 10, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def write_set(
    folder: Path, name: str, n: int, make: Callable[[np.random.Generator], Image.Image], seed: int
) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"{name}{i:03d}.jpg"
        make(rng).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def distance_line(label: str, fast: list[str], exact: list[str]) -> str:
    d = [hamming_hex(f, e) for f, e in zip(fast, exact, strict=True)]
    within = sum(x <= 10 for x in d) / len(d)
    return (
        f"{label:42} fast vs exact Hamming: mean {statistics.fmean(d):.2f}, "
        f"median {statistics.median(d):g}, max {max(d)}, within 10 bits {within:.0%}"
    )


def reference(path: Path) -> str:
    pdq, _quality = pdq_hasher.pdq_from_file(path)
    data = path.read_bytes()
    for name in ("sha256", "md5", "sha1"):
        hashlib.new(name, data).hexdigest()
    return pdq


def measure(
    paths: list[Path], fns: dict[str, Callable[[Path], str]]
) -> dict[str, tuple[list[float], list[str]]]:
    """CPU seconds and PDQ of each function on each path, the functions taking turns on every
    image so that load from elsewhere on the machine falls on all of them alike."""
    runs: dict[str, tuple[list[float], list[str]]] = {name: ([], []) for name in fns}
    for path in paths:
        for name, fn in fns.items():
            start = time.process_time()
            value = fn(path)
            runs[name][0].append(time.process_time() - start)
            runs[name][1].append(value)
    return runs


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
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_set(folder, "img", args.n, lambda r: photo(1920, 1080, r), args.seed)
        small = write_set(folder, "sq", args.n, lambda r: photo(1280, 1024, r), args.seed + 1)
        busy = write_set(folder, "tex", args.n, lambda r: textured(1920, 1080, r), args.seed + 2)
        sizes = [p.stat().st_size for p in paths]
        for fn in (reference, ours(False, False), ours(False, True)):  # warm caches and imports
            fn(paths[0])
        runs = measure(
            paths,
            {
                "a reference (threatexchange + hashlib)": reference,
                "b compute_signals exact": ours(False, False),
                "c compute_signals fast": ours(False, True),
                "d compute_signals exact + 8 transforms": ours(True, False),
            },
        )
        harder = {
            label: measure(set_paths, {"reference": reference, "fast": ours(False, True)})
            for label, set_paths in (("1280x1024 photo-like", small), ("1920x1080 textured", busy))
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
    print(distance_line("1920x1080 photo-like (the set above)", fast_values, exact_values))
    print(f"exact == reference on all {args.n}")
    for label, pair in harder.items():
        (r_times, r_values), (f_times, f_values) = pair["reference"], pair["fast"]
        ratio = statistics.fmean(f_times) / statistics.fmean(r_times)
        print(
            f"{label:42} reference {statistics.fmean(r_times) * 1000:.2f} ms, "
            f"fast {statistics.fmean(f_times) * 1000:.2f} ms ({ratio:.2f})"
        )
        print(distance_line(label, f_values, r_values))


if __name__ == "__main__":
    main()
