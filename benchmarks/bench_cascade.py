"""Cost of detection signals: per-signal CPU ms per 1080p JPEG, and the cascade's average
cost per image on a benign-heavy mix against hashes only and against every signal everywhere.

    python benchmarks/bench_cascade.py [--n N] [--known-share 0.05]

Two benign, synthetic mixes of N 1920x1080 JPEGs, each with a share (default 5%) put in a
known-abuse bank first, so the cascade stops after matching on those as it would on
re-uploads of known material:

- "photos": every image photo-like (jikimi.demo.synthetic.photo_like: warm gradients and
  shapes, 7-20% skin-coloured pixels): the worst case for the skin gate, nearly all pass it;
- "messaging": 40% photo-like, 30% screenshot-like (dark text on flat light UI colours), 25%
  outdoor-like (sky and foliage gradients), 5% photo-like known images: closer to what a chat
  carries.

No explicit content is used: on these images the nudity model scores low, so faces,
watermark and synthetic are skipped by the plan, which is what the cascade is for. CPU time is
``time.process_time`` of this process (everything runs in-process, one core).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from jikimi.demo.synthetic import outdoor_like, photo_like, screenshot_like
from jikimi.matching.matcher import Matcher
from jikimi.media.limits import Limits
from jikimi.model import BankSpec, EntrySpec
from jikimi.pipeline.cascade import Cascade, HashOptions, default_plan, override_plan
from jikimi.settings import Settings
from jikimi.signals.compute import compute_signals
from jikimi.signals.extractor import MediaInput
from jikimi.signals.registry import load_registry


def cpu_ms(fn) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--known-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()

    settings = Settings()
    registry = load_registry(settings)
    print("extractors:", ", ".join(sorted(registry.extractors)))
    for d in registry.disabled.values():
        print(f"disabled: {d.name}: {d.reason}")
    for mix in ("photos", "messaging"):
        measure(mix, args, settings, registry)


def picture(mix: str, i: int, n: int, seed: int):
    share = i / n
    if mix == "photos" or share < 0.45:
        return photo_like(1920, 1080, seed=seed)
    if share < 0.75:
        return screenshot_like(1920, 1080, seed=seed)
    return outdoor_like(1920, 1080, seed=seed)


def measure(mix: str, args: argparse.Namespace, settings: Settings, registry) -> None:
    limits = Limits()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.n):
            path = Path(tmp) / f"img{i:04d}.jpg"
            picture(mix, i, args.n, args.seed + i).save(path, quality=90)
            paths.append(path)
        n_known = max(1, round(args.n * args.known_share))
        known = [compute_signals(p, limits).sha256 for p in paths[:n_known]]
        matcher = Matcher(
            [BankSpec("known")],
            [EntrySpec(i, "known", "sha256", sha) for i, sha in enumerate(known) if sha],
        )
        options = HashOptions(limits=limits)

        # Warm every model once so load time is not counted.
        warm = Cascade(registry, matcher, override_plan(sorted(registry.extractors)), options)
        warm.run(paths[-1])

        per_signal: dict[str, list[float]] = {}
        for path in paths[: min(10, args.n)]:
            media = compute_signals(path, limits)
            item = MediaInput(path, info=media.info, rgb=media.rgb)
            _ = item.data
            for name, ext in sorted(registry.extractors.items()):
                if hasattr(ext, "extract"):
                    cost = cpu_ms(lambda e=ext, i=item: e.extract([i]))
                    per_signal.setdefault(name, []).append(cost)
        plans = {
            "hashes": None,
            "cascade": Cascade(registry, matcher, default_plan(settings), options),
            "every": Cascade(
                registry, matcher, override_plan(sorted(registry.extractors)), options
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in plans}
        ran_nudity = 0
        for path in paths:  # the paths take turns on every image: load falls on all alike
            times["hashes"].append(cpu_ms(lambda p=path: compute_signals(p, limits)))
            for name in ("cascade", "every"):
                cascade = plans[name]
                assert cascade is not None
                start = time.process_time()
                result = cascade.run(path)
                times[name].append((time.process_time() - start) * 1000)
                if name == "cascade":
                    ran_nudity += "nudity" in result.findings
        hashes_ms, cascade_ms, every_ms = times["hashes"], times["cascade"], times["every"]

    print(f"\n## mix {mix}: {args.n} JPEGs 1920x1080, {n_known} in a known-abuse bank")
    print(f"nudity model ran on {ran_nudity} of {args.n} (skin gate and bank stops)")
    print("| signal | CPU ms per image (mean of up to 10) |\n|---|---:|")
    for name, values in sorted(per_signal.items()):
        print(f"| {name} | {statistics.mean(values):.1f} |")
    base = statistics.mean(hashes_ms)
    print("\n| path | mean CPU ms per image | vs hashes only |\n|---|---:|---:|")
    for label, values in (
        ("hashes only (sha256, md5, sha1, pdq)", hashes_ms),
        ("cascade (default plan)", cascade_ms),
        ("every signal on every image", every_ms),
    ):
        print(
            f"| {label} | {statistics.mean(values):.1f} | {statistics.mean(values) / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
