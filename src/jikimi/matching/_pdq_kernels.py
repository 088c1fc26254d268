"""Numba kernels for :class:`~jikimi.matching.pdq_index.MultiIndexPdqIndex` (optional).

Importing this module needs ``numba``; :mod:`jikimi.matching.pdq_index` falls back to its numpy
pipeline when the import fails. The kernels implement exact multi-index hashing (Norouzi, Punjani
and Fleet, "Fast Exact Search in Hamming Space with Multi-Index Hashing", TPAMI 2014) over the
index's sorted-key (CSR) tables, one query at a time, in three passes over small per-query
scratch arrays so that the random DRAM reads of each pass are independent of each other and the
CPU can keep many of them in flight:

1. probe: the ``offsets`` bucket bounds of every key within the substring radius;
2. gather: the slots of those buckets (``perm``);
3. verify: the full 256-bit distance of each candidate (four ``uint64`` XOR + popcount), a
   tombstone check, and a de-duplication test that needs no hash set: a code is reported only
   from the first substring whose probe ball contains it.

All kernels release the GIL (``nogil=True``); callers parallelise over query batches with
threads. ``cache=True`` keeps the compiled code on disk, so the JIT cost is paid once per machine.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

U64 = np.uint64
#: how many iterations ahead each pass prefetches its random reads
AHEAD = 16


@intrinsic
def _popcount(typingctx, x):  # type: ignore[no-untyped-def]
    """``llvm.ctpop.i64``: one ``popcnt`` instruction on x86-64."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@intrinsic
def _prefetch(typingctx, arr, idx):  # type: ignore[no-untyped-def]
    """``llvm.prefetch`` (read, high locality) of ``arr.flat[idx]``: a hint, never a fault."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", fnty=fnty)
        ptr = builder.bitcast(builder.gep(data, [args[1]]), i8p)
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@njit(nogil=True, cache=True, inline="always")
def _key(w: np.ndarray, start: int, width: int) -> int:
    """The ``width``-bit substring at bit ``start`` (bit 0 = MSB of word 0) of a ``(4,)`` row."""
    word = start >> 6
    off = start & 63
    mask = (U64(1) << U64(width)) - U64(1)
    if off + width <= 64:
        return np.int64((w[word] >> U64(64 - off - width)) & mask)
    low = off + width - 64
    high = w[word] & ((U64(1) << U64(64 - off)) - U64(1))
    return np.int64(((high << U64(low)) | (w[word + 1] >> U64(64 - low))) & mask)


@njit(nogil=True, cache=True)
def build_table(
    words: np.ndarray,
    n: int,
    start: int,
    bits: int,
    base: int,
    offsets: np.ndarray,
    perm: np.ndarray,
) -> None:
    """Counting sort of slots ``0..n`` by their substring key (stable, ``O(n + 2**bits)``).

    Writes ``offsets[1 : 2**bits + 1]`` (cumulative bucket ends, plus ``base``) and ``perm[:n]``;
    ``offsets`` and ``perm`` are this substring's sections of the index's end-to-end tables.
    """
    size = 1 << bits
    keys = np.empty(n, dtype=np.uint32)
    counts = np.zeros(size + 1, dtype=np.int64)
    for i in range(n):
        k = _key(words[i], start, bits)
        keys[i] = np.uint32(k)
        counts[k + 1] += 1
    for k in range(size):
        counts[k + 1] += counts[k]
    for k in range(size):
        offsets[k + 1] = counts[k + 1] + base
    for i in range(n):
        k = np.int64(keys[i])
        perm[counts[k]] = i
        counts[k] += 1


@njit(nogil=True, cache=True)
def query_batch(
    qwords: np.ndarray,
    words: np.ndarray,
    alive: np.ndarray,
    ids: np.ndarray,
    offsets: np.ndarray,
    perm: np.ndarray,
    bits: int,
    n_masks: np.ndarray,
    masks: np.ndarray,
    sub_masks: np.ndarray,
    sub_radii: np.ndarray,
    scan_from: int,
    n: int,
    radius: int,
    out_ids: np.ndarray,
    out_dist: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Every live slot within ``radius`` of each row of ``qwords``, ids sorted ascending.

    Substring ``j`` (``m = len(n_masks)`` of them, ``bits`` wide, laid end to end in ``offsets``
    and ``perm``) is probed with the first ``n_masks[j]`` flip masks (``masks`` sorted by bit
    count), i.e. every key within ``sub_radii[j]`` of the query's substring. Slots
    ``scan_from..n`` (the unindexed tail, or everything when ``m == 0``) are scanned linearly.
    Row ``i`` of ``out_ids``/``out_dist`` receives up to ``cap = out_ids.shape[1]`` results and
    ``counts[i]`` their true number; a row with ``counts[i] > cap`` is incomplete and unsorted.
    """
    m = len(n_masks)
    cap = out_ids.shape[1]
    n_probes = 0
    for j in range(m):
        n_probes += n_masks[j]
    q = np.empty(4, dtype=np.uint64)
    qkeys = np.empty(m, dtype=np.int64)
    keys = np.empty(n_probes, dtype=np.int64)
    lo = np.empty(n_probes, dtype=np.int64)
    hi = np.empty(n_probes, dtype=np.int64)
    j_end = np.empty(m, dtype=np.int64)  # candidates of substring j end at j_end[j]
    cand = np.empty(max(1024, 2 * n_probes), dtype=np.int32)
    for qi in range(len(qwords)):
        for w in range(4):
            q[w] = qwords[qi, w]
        # 1. probe: bucket bounds of every key in every substring's ball
        t = 0
        for j in range(m):
            qk = _key(q, j * bits, bits)
            qkeys[j] = qk
            base = j << bits
            for f in range(n_masks[j]):
                keys[t] = base + (qk ^ masks[f])
                t += 1
        total = 0
        for t in range(n_probes):
            if t + AHEAD < n_probes:
                _prefetch(offsets, keys[t + AHEAD])
            lo[t] = offsets[keys[t]]
            hi[t] = offsets[keys[t] + 1]
            total += hi[t] - lo[t]
        # 2. gather: candidate slots, substring by substring
        if total > len(cand):
            cand = np.empty(2 * total, dtype=np.int32)
        c = 0
        t = 0
        for j in range(m):
            for _f in range(n_masks[j]):
                if t + AHEAD < n_probes:
                    _prefetch(perm, lo[t + AHEAD])
                for p in range(lo[t], hi[t]):
                    cand[c] = perm[p]
                    c += 1
                t += 1
            j_end[j] = c
        # 3. verify: full distance, tombstone, first-substring de-duplication
        found = 0
        c = 0
        for j in range(m):
            while c < j_end[j]:
                if c + AHEAD < total:
                    _prefetch(words, np.int64(cand[c + AHEAD]) * 4)
                slot = cand[c]
                c += 1
                x0 = words[slot, 0] ^ q[0]
                x1 = words[slot, 1] ^ q[1]
                x2 = words[slot, 2] ^ q[2]
                x3 = words[slot, 3] ^ q[3]
                d = np.int64(_popcount(x0) + _popcount(x1) + _popcount(x2) + _popcount(x3))
                if d > radius or not alive[slot]:
                    continue
                seen = False
                for jj in range(j):
                    sd = (
                        _popcount(x0 & sub_masks[jj, 0])
                        + _popcount(x1 & sub_masks[jj, 1])
                        + _popcount(x2 & sub_masks[jj, 2])
                        + _popcount(x3 & sub_masks[jj, 3])
                    )
                    if np.int64(sd) <= sub_radii[jj]:
                        seen = True
                        break
                if not seen:
                    if found < cap:
                        out_ids[qi, found] = ids[slot]
                        out_dist[qi, found] = d
                    found += 1
        # the unindexed tail (or the whole store), linearly
        for slot in range(scan_from, n):
            d = np.int64(
                _popcount(words[slot, 0] ^ q[0])
                + _popcount(words[slot, 1] ^ q[1])
                + _popcount(words[slot, 2] ^ q[2])
                + _popcount(words[slot, 3] ^ q[3])
            )
            if d <= radius and alive[slot]:
                if found < cap:
                    out_ids[qi, found] = ids[slot]
                    out_dist[qi, found] = d
                found += 1
        counts[qi] = found
        if 32 < found <= cap:
            order = np.argsort(out_ids[qi, :found])
            sorted_ids = out_ids[qi, :found][order]
            sorted_dist = out_dist[qi, :found][order]
            out_ids[qi, :found] = sorted_ids
            out_dist[qi, :found] = sorted_dist
        elif found <= cap:  # insertion sort by id: rows are short
            for a in range(1, found):
                key_id = out_ids[qi, a]
                key_d = out_dist[qi, a]
                b = a - 1
                while b >= 0 and out_ids[qi, b] > key_id:
                    out_ids[qi, b + 1] = out_ids[qi, b]
                    out_dist[qi, b + 1] = out_dist[qi, b]
                    b -= 1
                out_ids[qi, b + 1] = key_id
                out_dist[qi, b + 1] = key_d


__all__ = ["build_table", "query_batch"]
