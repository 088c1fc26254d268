"""Cost of detection signals: per-signal CPU ms per 1080p JPEG, and the cascade's average
cost per image on a benign-heavy mix against hashes only and against every signal everywhere.

    python benchmarks/bench_cascade.py [--n N] [--known-share 0.05]

The mix: N benign, synthetic 1920x1080 JPEGs (jikimi.demo.synthetic.photo_like); a share of
them (default 5%) is put in a known-abuse bank first, so the cascade stops after matching on
those, as it would on re-uploads of known material. No explicit content is used: on these
images the real nudity model scores low, so faces, watermark and synthetic are skipped by the
plan, which is what the cascade is for. CPU time is ``time.process_time`` of this process
(everything runs in-process, one core).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from jikimi.demo.synthetic import photo_like
from jikimi.matching.matcher import Matcher
from jikimi.media.limits import Limits
from jikimi.model import BankSpec, EntrySpec
from jikimi.pipeline.cascade import Cascade, HashOptions, Step, default_plan, override_plan
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
    limits = Limits()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.n):
            path = Path(tmp) / f"img{i:04d}.jpg"
            photo_like(1920, 1080, seed=args.seed + i).save(path, quality=90)
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
        hashes_ms = [cpu_ms(lambda p=p: compute_signals(p, limits)) for p in paths]

        def run_plan(plan: tuple[Step, ...]) -> list[float]:
            cascade = Cascade(registry, matcher, plan, options)
            return [cpu_ms(lambda p=p: cascade.run(p)) for p in paths]

        cascade_ms = run_plan(default_plan(settings))
        every_ms = run_plan(override_plan(sorted(registry.extractors)))

    print(f"\n{args.n} JPEGs 1920x1080, {n_known} of them in a known-abuse bank")
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
