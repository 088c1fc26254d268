"""Benchmark: exact PDQ radius search at 10 million codes, MultiIndexPdqIndex vs FAISS.

    .venv/bin/python benchmarks/bench_pdq_index.py [--n 10000000] [--queries 2000]
        [--backend auto|numba|numpy]

The corpus is seeded: random codes plus families of near-duplicates (a centre and copies with
0..40 random bit flips), so many results sit near the radius boundary. Queries are half
near-duplicates of stored codes (0..40 flips) and half fresh random codes. The fast index is
checked result-for-result against FAISS ``IndexBinaryFlat.range_search`` (exhaustive) on a sample
of the queries; any difference aborts. Prints a Markdown table. With the numba engine, the
first query call (loading the kernel from numba's on-disk cache, or compiling it once per
machine) is reported on its own row and kept out of the throughput figures.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jikimi.matching.pdq_index import MultiIndexPdqIndex


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


def flip_bits(rng: np.random.Generator, codes: np.ndarray, max_flips: int) -> np.ndarray:
    """Copies of ``codes`` with ``k`` in ``0..max_flips`` distinct random bits flipped each."""
    out = codes.copy()
    n = len(out)
    k = rng.integers(0, max_flips + 1, n)
    # distinct positions: the first k of a per-row random ordering of 256 bits
    pos = np.argsort(rng.random((n, 256), dtype=np.float32), axis=1)[:, :max_flips]
    rows, cols = np.nonzero(np.arange(max_flips)[None, :] < k[:, None])
    p = pos[rows, cols]
    np.bitwise_xor.at(out, (rows, p >> 3), (np.uint8(0x80) >> (p & 7).astype(np.uint8)))
    return out


def build_corpus(n: int, seed: int) -> np.ndarray:
    """``n`` codes: 80% uniform random, 20% families of 20 (centre + 19 copies, 0..40 flips)."""
    rng = np.random.default_rng(seed)
    n_fam = n // 5 // 20
    centres = rng.integers(0, 256, (n_fam, 32), dtype=np.uint8)
    family = np.repeat(centres, 20, axis=0)
    for lo in range(0, len(family), 1_000_000):
        family[lo : lo + 1_000_000] = flip_bits(rng, family[lo : lo + 1_000_000], 40)
    rand = rng.integers(0, 256, (n - len(family), 32), dtype=np.uint8)
    corpus = np.concatenate([rand, family])
    return corpus[rng.permutation(n)]


def build_queries(corpus: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    near = flip_bits(rng, corpus[rng.integers(0, len(corpus), count - count // 2)], 40)
    fresh = rng.integers(0, 256, (count // 2, 32), dtype=np.uint8)
    return np.concatenate([near, fresh])[rng.permutation(count)]


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def cores_used(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall time, CPU cores this process got on average (CPU time / wall time), result."""
    c0 = time.process_time()
    wall, out = timed(fn)
    return wall, (time.process_time() - c0) / wall, out


def faiss_results(index: object, queries: np.ndarray, radius: int) -> list[set[tuple[int, int]]]:
    # FAISS binary range_search keeps distances strictly below its radius.
    lims, dist, labels = index.range_search(queries, radius + 1)  # type: ignore[attr-defined]
    out = []
    for lo, hi in pairwise(lims.tolist()):
        out.append(set(zip(labels[lo:hi].tolist(), dist[lo:hi].tolist(), strict=True)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--radius", type=int, default=31)
    ap.add_argument("--sample", type=int, default=200, help="queries checked against FAISS")
    ap.add_argument("--faiss-queries", type=int, default=200, help="queries timed on FAISS")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--backend", choices=["auto", "numba", "numpy"], default="auto")
    args = ap.parse_args()
    r = args.radius
    rows: list[tuple[str, str]] = []

    t, corpus = timed(lambda: build_corpus(args.n, args.seed))
    queries = build_queries(corpus, args.queries, args.seed)
    print(f"corpus: {args.n:,} codes in {t:.1f} s", file=sys.stderr)
    ids = np.arange(args.n, dtype=np.int64)

    gc.collect()
    base = rss_mib()
    reset_peak_rss()
    index = MultiIndexPdqIndex(threads=2, backend=args.backend)  # loads numba: counted
    t_build, _ = timed(lambda: index.add(ids, corpus))
    mem, peak = rss_mib() - base, rss_mib("VmHWM") - base
    rows += [
        ("corpus", f"{args.n:,} codes ({args.n // 5 // 20:,} families of 20), seed {args.seed}"),
        ("MultiIndexPdqIndex engine", index.backend),
        ("MultiIndexPdqIndex substrings", f"{index._m} x {index.substring_bits} bits"),
        ("MultiIndexPdqIndex build", f"{t_build:.1f} s"),
        ("MultiIndexPdqIndex RSS delta", f"{mem:,.0f} MiB (includes its copy of the codes)"),
        ("MultiIndexPdqIndex peak RSS delta during build", f"{peak:,.0f} MiB"),
    ]
    print("built", t_build, mem, file=sys.stderr)

    t_first, _ = timed(lambda: index.query_many(queries[:1], r))
    rows.append(("first query call (kernel load / JIT)", f"{t_first * 1e3:,.0f} ms"))
    index._threads = 1
    t1, res = timed(lambda: index.query_many(queries, r))
    index._threads = 2
    t2, cores2, res2 = cores_used(lambda: index.query_many(queries, r))
    assert res == res2
    single = queries[: min(500, len(queries))]
    ts, _ = timed(lambda: [index.query(q, r) for q in single])
    hits = sum(map(len, res))
    rows += [
        (f"query_many, 1 thread (r={r})", f"{len(queries) / t1:,.0f} lookups/s"),
        (
            f"query_many, 2 threads (r={r})",
            f"{len(queries) / t2:,.0f} lookups/s ({cores2:.2f} cores' worth of CPU obtained)",
        ),
        (f"query() one at a time (r={r})", f"{len(single) / ts:,.0f} lookups/s"),
        ("results", f"{hits:,} over {len(queries):,} queries"),
    ]

    victim = next((row[0][0] for row in res if row), None)
    if victim is not None:
        q = queries[next(i for i, row in enumerate(res) if row and row[0][0] == victim)]
        t_rm, _ = timed(lambda: index.remove([victim]))
        t_q, after = timed(lambda: index.query(q, r))
        assert victim not in [i for i, _ in after]
        rows.append(("remove -> next lookup misses it", f"{(t_rm + t_q) * 1e3:.2f} ms"))
        t_add, _ = timed(lambda: index.add(np.array([victim]), q[None, :]))
        t_q2, again = timed(lambda: index.query(q, r))
        assert (victim, 0) in again
        rows.append(("add -> next lookup finds it", f"{(t_add + t_q2) * 1e3:.2f} ms"))
        tail = corpus[:8192]
        t_merge, _ = timed(lambda: index.add(ids[:8192] + args.n, tail))
        rows.append(("add 8,192 (tail merge into tables)", f"{t_merge:.2f} s"))
        index.remove((ids[:8192] + args.n).tolist())
        index.remove([victim])
        index.add(np.array([victim]), corpus[victim][None, :])

    try:
        import faiss
    except ImportError:
        print("faiss not installed: pip install faiss-cpu", file=sys.stderr)
        faiss = None
    if faiss is not None:
        del index
        gc.collect()
        base = rss_mib()
        flat = faiss.IndexBinaryFlat(256)
        t_fb, _ = timed(lambda: flat.add(corpus))
        mem_f = rss_mib() - base
        fq = queries[: args.faiss_queries]
        t_fq, fres = timed(lambda: faiss_results(flat, fq, r))
        sample = min(args.sample, len(fq))
        bad = sum(set(res[i]) != fres[i] for i in range(sample))
        if bad:
            raise SystemExit(f"MultiIndexPdqIndex differs from IndexBinaryFlat on {bad} queries")
        rows += [
            ("IndexBinaryFlat build", f"{t_fb:.1f} s"),
            ("IndexBinaryFlat RSS delta", f"{mem_f:,.0f} MiB"),
            (
                f"IndexBinaryFlat range_search (r={r}, {faiss.omp_get_max_threads()} threads)",
                f"{len(fq) / t_fq:,.0f} lookups/s",
            ),
            ("exactness vs IndexBinaryFlat", f"identical (id, distance) sets on {sample} queries"),
        ]

    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
