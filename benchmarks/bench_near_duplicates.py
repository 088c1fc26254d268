"""Benchmark: one near-duplicate lookup (jikimi.cases.near_duplicates) over a SQLite store.

    .venv/bin/python benchmarks/bench_near_duplicates.py [--n 200000] [--removed 10]
        [--chunk 10000] [--threshold 31] [--db PATH]

Fills a fresh, migrated SQLite store with N media, each with a random PDQ (plus planted
near-duplicates: 20 copies of every removed hash with 0..40 random bit flips) and the other
digests a real media row carries, each held by one item. Then times ``find_near_duplicates``
for the removed hashes (page cache warm: the store was just written) and checks its answer
against a numpy linear scan of the same codes; any difference aborts. Memory is measured twice:
the peak RSS growth of the timed run (``VmHWM``, Linux), and the peak of Python allocations,
numpy's included, in a second run under ``tracemalloc`` (slower, so not timed). Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from jikimi.cases.near_duplicates import NearDuplicate, find_near_duplicates
from jikimi.matching.hexbits import as_words, hamming_rows
from jikimi.store.db import make_engine, make_sessions, migrate
from jikimi.store.models import Item, ItemMedia, MediaRecord, utcnow

COPIES_PER_REMOVED = 20
MAX_FLIPS = 40
INSERT_BATCH = 20_000


def rss_mib(field: str = "VmRSS") -> float:
    """Resident set size (or, with ``"VmHWM"``, its peak) of this process in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> None:
    """Restart the ``VmHWM`` peak from the current RSS (Linux 4.0+; ignored elsewhere)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def build_codes(n: int, removed: int, seed: int) -> np.ndarray:
    """``(n, 32) uint8`` codes: the first ``removed`` are the removed hashes, the next
    ``removed * COPIES_PER_REMOVED`` their copies with 0..MAX_FLIPS flipped bits, then random."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    planted = removed * COPIES_PER_REMOVED
    if removed + planted > n:
        raise SystemExit(f"--n must be at least {removed + planted}")
    for j in range(planted):
        copy = codes[j % removed].copy()
        bits = rng.choice(256, int(rng.integers(0, MAX_FLIPS + 1)), replace=False)
        np.bitwise_xor.at(copy, bits >> 3, (np.uint8(0x80) >> (bits & 7).astype(np.uint8)))
        codes[removed + j] = copy
    return codes


def media_rows(codes: np.ndarray, shas: list[str], lo: int, hi: int) -> list[dict[str, Any]]:
    """Rows for ``media`` shaped like the ones the media store writes for a JPEG."""
    now = utcnow()
    rows = []
    for i in range(lo, hi):
        sha = shas[i]
        signals = {
            "md5": sha[:32],
            "pdq": codes[i].tobytes().hex(),
            "sha1": sha[:40],
            "sha256": sha,
        }
        rows.append(
            {
                "sha256": sha,
                "size": 250_000,
                "media_type": "image",
                "mime": "image/jpeg",
                "width": 1280,
                "height": 960,
                "pdq_quality": 100,
                "pdq": signals["pdq"],
                "signals": signals,
                "notes": [],
                "kept_in_vault": False,
                "first_seen": now,
                "last_seen": now,
            }
        )
    return rows


def fill(session: Session, codes: np.ndarray, shas: list[str]) -> None:
    """Insert every media and one item holding each, in batches."""
    for lo in range(0, len(shas), INSERT_BATCH):
        hi = min(lo + INSERT_BATCH, len(shas))
        session.execute(insert(MediaRecord), media_rows(codes, shas, lo, hi))
        session.execute(
            insert(Item),
            [
                {"id": i + 1, "platform": "bench", "meta": {}, "submitted_by": "bench"}
                for i in range(lo, hi)
            ],
        )
        session.execute(
            insert(ItemMedia),
            [{"item_id": i + 1, "position": 0, "media_sha256": shas[i]} for i in range(lo, hi)],
        )
    session.commit()


def linear_scan(
    codes: np.ndarray, shas: list[str], removed: int, threshold: int
) -> list[NearDuplicate]:
    """The expected answer, from the codes in memory: item ``i + 1`` holds media ``i``."""
    words = as_words(codes)
    order = sorted(range(removed), key=lambda r: shas[r])
    dist = np.stack([hamming_rows(words, words[r]) for r in order])
    best, which = dist.min(axis=0), dist.argmin(axis=0)
    out = [
        NearDuplicate(i + 1, shas[i], shas[order[which[i]]], int(best[i]))
        for i in np.flatnonzero(best <= threshold).tolist()
        if i >= removed
    ]
    return sorted(out, key=lambda d: (d.distance, d.item_id, d.media_sha256))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="media in the store")
    ap.add_argument("--removed", type=int, default=10, help="removed hashes looked up")
    ap.add_argument("--chunk", type=int, default=10_000, help="media rows per page")
    ap.add_argument("--threshold", type=int, default=31)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--db", type=Path, help="SQLite file to create (default: a temporary one)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if path.exists():
            raise SystemExit(f"{path} exists; give a new file")
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        sessions = make_sessions(engine)
        codes = build_codes(args.n, args.removed, args.seed)
        shas = [hashlib.sha256(i.to_bytes(8, "big")).hexdigest() for i in range(args.n)]
        t0 = time.perf_counter()
        with sessions() as s:
            fill(s, codes, shas)
        t_fill = time.perf_counter() - t0
        print(f"filled {args.n:,} media in {t_fill:.1f} s", file=sys.stderr)
        expected = linear_scan(codes, shas, args.removed, args.threshold)
        removed = {shas[r]: codes[r].tobytes().hex() for r in range(args.removed)}
        del codes

        def lookup() -> list[NearDuplicate]:
            with sessions() as s:
                return find_near_duplicates(
                    s, removed, threshold=args.threshold, exclude_items=(), chunk=args.chunk
                )

        lookup()  # warm the page cache and SQLAlchemy's statement cache
        gc.collect()
        base = rss_mib()
        reset_peak_rss()
        t0 = time.perf_counter()
        found = lookup()
        t_lookup = time.perf_counter() - t0
        peak_rss = rss_mib("VmHWM") - base
        if found != expected:
            raise SystemExit(f"lookup found {len(found)}, the linear scan {len(expected)}")

        tracemalloc.start()
        lookup()
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        engine.dispose()
        size = path.stat().st_size

    rows = [
        ("store", f"SQLite, {args.n:,} media, one item each ({size / 2**20:,.0f} MiB file)"),
        ("fill", f"{t_fill:.1f} s"),
        (
            "lookup",
            f"{args.removed} removed hashes, threshold {args.threshold}, chunk {args.chunk:,}",
        ),
        ("lookup time", f"{t_lookup:.2f} s"),
        ("throughput", f"{args.n / t_lookup:,.0f} media rows/s"),
        ("found", f"{len(found):,} (identical to a numpy linear scan)"),
        ("peak RSS growth during lookup", f"{peak_rss:,.1f} MiB"),
        ("peak traced Python/numpy allocations", f"{traced / 2**20:,.1f} MiB"),
    ]
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
