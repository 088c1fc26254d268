"""PDQ indexes: every stored code within a Hamming radius of a query, exactly.

Two implementations of one small protocol, after python-threatexchange's ``SignalTypeIndex``
(a slow reference beside every fast index):

- :class:`BruteForcePdqIndex` is the truth: a plain linear scan with ``np.bitwise_count``.
- :class:`MultiIndexPdqIndex` is exact multi-index hashing (Norouzi, Punjani and Fleet, "Fast
  Exact Search in Hamming Space with Multi-Index Hashing", TPAMI 2014). The first ``m * b``
  bits are cut into ``m`` disjoint ``b``-bit substrings. By the pigeonhole principle a code
  within distance ``R`` of the query differs in at most ``R // m`` bits on at least one
  substring, so probing each substring's table with every key within ``R // m`` of the query's
  substring finds every true result; candidates are then verified with the full distance, so
  nothing farther than ``R`` is returned. Bits past ``m * b`` only add distance, so leaving them
  out of the tables keeps the guarantee.

  Each substring table is a sorted-key (CSR) array: ``offsets[key]..offsets[key + 1]`` of a
  permutation of ``int32`` slots, all ``m`` tables laid end to end so one vectorised gather
  probes them all. ``b`` follows ``log2(n)`` (Norouzi's choice; 23 bits at 10 million codes),
  so a probe returns about one candidate.

  Two query engines give identical results. With ``numba`` installed (the ``fast`` extra) a
  fused kernel (:mod:`jikimi.matching._pdq_kernels`) probes, verifies, de-duplicates and sorts
  each query in one compiled loop, and tightens the probe radius with Norouzi et al.'s refined
  pigeonhole bound: writing ``R = m * r + a`` (``0 <= a < m``), a code within ``R`` is within
  ``r`` of the query on one of the first ``a + 1`` substrings or within ``r - 1`` on one of the
  others, so those others are probed with the smaller ball. Without numba, a vectorised numpy
  pipeline runs instead (``backend="numpy"`` forces it).

  Updates never wait for a rebuild: new codes land in an unindexed tail that queries scan
  linearly, and are merged into the tables (an ``O(n)`` insert, no re-sort) once the tail is
  longer than ``tail_limit``. Removals are tombstones, visible to the very next query; the
  tables are rebuilt when tombstones exceed a quarter of the slots or ``n`` has grown four-fold.

Codes are ``(n, 32) uint8`` in hex byte order (:func:`pdq_to_bytes`); ids are ``int64``. Adding
an id that is already present replaces its code. Indexes are never pickled: they are derived
from the bank store and rebuilt on start.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import pairwise
from types import ModuleType
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from jikimi.matching.hexbits import (
    PDQ_BITS,
    as_codes,
    as_words,
    ball_size,
    check_radius,
    chunk_keys,
    flip_masks,
    hamming_rows,
    pdq_to_bytes,
)

Result = list[tuple[int, int]]
Backend = Literal["auto", "numba", "numpy"]


@lru_cache(maxsize=1)
def _load_kernels() -> ModuleType | None:
    """The numba kernels module, or ``None`` when numba is not installed (or fails to import)."""
    try:
        from jikimi.matching import _pdq_kernels
    except ImportError:
        return None
    return _pdq_kernels


def numba_available() -> bool:
    """Whether :class:`MultiIndexPdqIndex` can use its numba kernels here."""
    return _load_kernels() is not None


@runtime_checkable
class PdqIndex(Protocol):
    """Exact radius search over 256-bit PDQ codes."""

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Store ``codes (n, 32) uint8`` under ``ids (n,) int64``; an existing id is replaced."""
        ...

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids (unknown ids are ignored); visible to the very next query."""
        ...

    def query(self, code: np.ndarray, radius: int) -> Result:
        """Every ``(id, distance)`` with ``distance <= radius``, sorted by id, nothing else."""
        ...

    def query_many(self, codes: np.ndarray, radius: int) -> list[Result]:
        """:meth:`query` for each row of ``codes``."""
        ...

    def __len__(self) -> int: ...


def _check_add(ids: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    id_arr = np.asarray(ids)
    if id_arr.ndim != 1 or not np.issubdtype(id_arr.dtype, np.integer):
        raise ValueError(f"ids must be a 1-d integer array, got {id_arr.dtype} {id_arr.shape}")
    id_arr = id_arr.astype(np.int64)
    words = as_words(codes)
    if len(id_arr) != len(words):
        raise ValueError(f"{len(id_arr)} ids for {len(words)} codes")
    ordered = np.sort(id_arr)  # a SIMD sort: far faster than np.unique's hashing at 10M
    if len(ordered) > 1 and bool((ordered[1:] == ordered[:-1]).any()):
        raise ValueError("ids in one add() call must be unique")
    return id_arr, words


def _id_array(ids: Iterable[int]) -> np.ndarray:
    return np.unique(np.fromiter((int(i) for i in ids), dtype=np.int64))


def _group(n_queries: int, qidx: np.ndarray, ids: np.ndarray, dist: np.ndarray) -> list[Result]:
    """Per-query lists of ``(id, distance)`` sorted by id, each id once."""
    order = np.lexsort((ids, qidx))
    qidx, ids, dist = qidx[order], ids[order], dist[order]
    if len(qidx):
        keep = np.ones(len(qidx), dtype=bool)
        keep[1:] = (qidx[1:] != qidx[:-1]) | (ids[1:] != ids[:-1])
        qidx, ids, dist = qidx[keep], ids[keep], dist[keep]
    bounds = np.searchsorted(qidx, np.arange(n_queries + 1))
    id_list, dist_list = ids.tolist(), dist.tolist()
    return [
        list(zip(id_list[lo:hi], dist_list[lo:hi], strict=True))
        for lo, hi in pairwise(bounds.tolist())
    ]


class BruteForcePdqIndex:
    """The reference index: a linear scan of every live code (python-threatexchange's
    ``PDQFlatHashIndex`` without FAISS). Slow and obviously right."""

    def __init__(self) -> None:
        self._ids = np.empty(0, dtype=np.int64)
        self._words = np.empty((0, 4), dtype=np.uint64)

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        id_arr, words = _check_add(ids, codes)
        self.remove(id_arr.tolist())
        self._ids = np.concatenate([self._ids, id_arr])
        self._words = np.concatenate([self._words, words])

    def remove(self, ids: Iterable[int]) -> None:
        keep = ~np.isin(self._ids, _id_array(ids))
        self._ids, self._words = self._ids[keep], self._words[keep]

    def query(self, code: np.ndarray, radius: int) -> Result:
        return self.query_many(as_codes(code)[:1], radius)[0]

    def query_many(self, codes: np.ndarray, radius: int) -> list[Result]:
        radius = check_radius(radius)
        out: list[Result] = []
        for q in as_words(codes):
            dist = hamming_rows(self._words, q)
            hit = np.flatnonzero(dist <= radius)
            order = np.argsort(self._ids[hit], kind="stable")
            out.append(
                list(zip(self._ids[hit][order].tolist(), dist[hit][order].tolist(), strict=True))
            )
        return out

    def __len__(self) -> int:
        return len(self._ids)


def _substring_bits(n: int) -> int:
    """Norouzi et al.'s substring length, ``log2(n)``, kept within 8..23 bits."""
    return min(23, max(8, round(math.log2(max(n, 2)))))


class MultiIndexPdqIndex:
    """Exact multi-index hashing over sorted-key tables (see the module docstring).

    ``substring_bits`` fixes ``b`` (else it follows ``log2(n)`` at each rebuild);
    ``tail_limit`` is how many new codes are scanned linearly before they are merged into the
    tables; ``threads`` splits :meth:`query_many` batches and table builds across threads (the
    numba kernels and numpy's gathers release the GIL). ``backend`` picks the query engine:
    ``"auto"`` (numba when importable, else numpy), ``"numba"`` (``ImportError`` without it) or
    ``"numpy"``.
    """

    #: probes per query above which a linear scan of the indexed codes is cheaper
    _PROBE_COST = 16
    #: probe keys (queries x substrings x masks) handled per vectorised step
    _STEP_PROBES = 1 << 16

    #: result slots reserved per query before a (rare) second, exactly sized pass
    _CAP = 16

    def __init__(
        self,
        *,
        substring_bits: int | None = None,
        tail_limit: int = 8192,
        threads: int = 1,
        backend: Backend = "auto",
    ) -> None:
        if substring_bits is not None and not 4 <= substring_bits <= 32:
            raise ValueError("substring_bits must be in 4..32")
        if backend not in ("auto", "numba", "numpy"):
            raise ValueError(f"backend must be 'auto', 'numba' or 'numpy', got {backend!r}")
        self._kernels = None if backend == "numpy" else _load_kernels()
        if backend == "numba" and self._kernels is None:
            raise ImportError("backend='numba' needs numba: pip install 'jikimi[fast]'")
        self._fixed_bits = substring_bits
        self._tail_limit = max(0, tail_limit)
        self._threads = max(1, threads)
        self._words = np.empty((0, 4), dtype=np.uint64)  # capacity grows geometrically
        self._ids = np.empty(0, dtype=np.int64)
        self._alive = np.empty(0, dtype=bool)
        self._n = 0  # slots used
        self._live = 0
        self._reset_tables(0)

    # -- storage ------------------------------------------------------------------------------

    def _reset_tables(self, bits: int) -> None:
        self._bits = bits
        self._m = PDQ_BITS // bits if bits else 0
        self._indexed = 0  # slots [0, _indexed) are in the tables
        self._built_n = 0
        self._offsets = np.zeros((self._m << bits) + 1 if bits else 1, dtype=np.int32)
        self._perm = np.empty(0, dtype=np.int32)
        self._id_keys = np.empty(0, dtype=np.int64)  # ids of indexed slots, sorted
        self._id_slots = np.empty(0, dtype=np.int32)

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        if need <= len(self._ids):
            return
        cap = max(need, len(self._ids) * 5 // 4 + 1024) if self._n else need
        for name in ("_words", "_ids", "_alive"):
            old = getattr(self, name)
            new = np.zeros((cap, *old.shape[1:]), dtype=old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)

    def __len__(self) -> int:
        return self._live

    @property
    def substring_bits(self) -> int:
        return self._bits

    @property
    def backend(self) -> str:
        """The query engine in use: ``"numba"`` or ``"numpy"``."""
        return "numpy" if self._kernels is None else "numba"

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        id_arr, words = _check_add(ids, codes)
        if not len(id_arr):
            return
        self.remove(id_arr)
        self._reserve(len(id_arr))
        lo, hi = self._n, self._n + len(id_arr)
        self._words[lo:hi], self._ids[lo:hi], self._alive[lo:hi] = words, id_arr, True
        del words, id_arr  # copies: free them before a rebuild needs the memory
        self._n, self._live = hi, self._live + (hi - lo)
        if self._n - self._indexed > self._tail_limit:
            self.compact(force=False)

    def remove(self, ids: Iterable[int]) -> None:
        id_arr = ids if isinstance(ids, np.ndarray) else _id_array(ids)
        if not len(id_arr) or not self._live:
            return
        id_arr = np.unique(id_arr.astype(np.int64))
        lo = np.searchsorted(self._id_keys, id_arr, side="left")
        hi = np.searchsorted(self._id_keys, id_arr, side="right")
        slots = self._id_slots[_ragged(lo, hi - lo)]
        tail = np.arange(self._indexed, self._n)
        slots = np.concatenate([slots, tail[np.isin(self._ids[self._indexed : self._n], id_arr)]])
        slots = slots[self._alive[slots]]
        self._alive[slots] = False
        self._live -= len(slots)

    def compact(self, *, force: bool = True) -> None:
        """Merge the tail into the tables; rebuild from live codes when tombstones pass a
        quarter of the slots, ``n`` has grown four-fold, or ``force`` is set."""
        dead = self._n - self._live
        if (
            force
            or self._bits == 0
            or dead * 4 > self._n
            or (self._fixed_bits is None and self._n > 4 * max(self._built_n, 64))
        ):
            self._rebuild()
        elif self._n > self._indexed:
            self._merge_tail()

    def _rebuild(self) -> None:
        keep = np.flatnonzero(self._alive[: self._n])
        if len(keep) < len(self._words):  # else every slot is live: no copy (the bulk load)
            self._words, self._ids = self._words[keep], self._ids[keep]
        self._alive = np.ones(len(keep), dtype=bool)
        self._n = self._live = n = len(keep)
        bits = self._fixed_bits or _substring_bits(n)
        self._reset_tables(bits)
        self._perm = np.empty(self._m * n, dtype=np.int32)
        size, kernels = 1 << bits, self._kernels

        def build(j: int) -> None:
            offsets = self._offsets[j * size : (j + 1) * size + 1]
            perm = self._perm[j * n : (j + 1) * n]
            if kernels is not None:  # counting sort: O(n), no comparison sort
                kernels.build_table(self._words, n, j * bits, bits, j * n, offsets, perm)
                return
            keys = chunk_keys(self._words, j * bits, bits)
            perm[:] = np.argsort(keys.astype(np.uint32), kind="stable")
            offsets[1:] = np.cumsum(np.bincount(keys, minlength=size)) + j * n

        if self._threads > 1 and self._m > 1:
            with ThreadPoolExecutor(self._threads) as pool:
                list(pool.map(build, range(self._m)))
        else:
            for j in range(self._m):
                build(j)
        order = np.argsort(self._ids)
        self._id_keys, self._id_slots = self._ids[order], order.astype(np.int32)
        self._indexed = self._built_n = n

    def _merge_tail(self) -> None:
        bits, size, m = self._bits, 1 << self._bits, self._m
        slots = np.arange(self._indexed, self._n, dtype=np.int32)
        words = self._words[self._indexed : self._n]
        gkeys = np.concatenate([chunk_keys(words, j * bits, bits) + j * size for j in range(m)])
        gslots = np.tile(slots, m)
        order = np.argsort(gkeys, kind="stable")
        gkeys, gslots = gkeys[order], gslots[order]
        # Insert each new slot at the end of its bucket; no re-sort of the existing tables.
        self._perm = np.insert(self._perm, self._offsets[gkeys + 1], gslots)
        base = 0
        for j in range(m):
            local = gkeys[(gkeys >= j * size) & (gkeys < (j + 1) * size)] - j * size
            grown = np.cumsum(np.bincount(local, minlength=size)) + base
            self._offsets[j * size + 1 : (j + 1) * size + 1] += grown.astype(np.int32)
            base += len(local)
        tail_ids = self._ids[self._indexed : self._n]
        id_order = np.argsort(tail_ids, kind="stable")
        at = np.searchsorted(self._id_keys, tail_ids[id_order], side="right")
        self._id_keys = np.insert(self._id_keys, at, tail_ids[id_order])
        self._id_slots = np.insert(self._id_slots, at, slots[id_order])
        self._indexed = self._n

    # -- queries ------------------------------------------------------------------------------

    def query(self, code: np.ndarray, radius: int) -> Result:
        return self.query_many(as_codes(code)[:1], radius)[0]

    def query_many(self, codes: np.ndarray, radius: int) -> list[Result]:
        radius = check_radius(radius)
        qwords = as_words(codes)
        nq = len(qwords)
        if not nq:
            return []
        probes = self._m * ball_size(self._bits, radius // self._m) if self._indexed else 0
        use_tables = probes > 0 and probes * self._PROBE_COST < self._indexed
        if self._kernels is not None:
            return self._query_kernel(qwords, radius, use_tables)
        if use_tables:
            step = max(1, self._STEP_PROBES // probes)
        else:
            step = max(1, (1 << 24) // max(self._n, 1))
        batches = [(lo, qwords[lo : lo + step]) for lo in range(0, nq, step)]

        def run(batch: tuple[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            lo, qw = batch
            parts = [self._scan(qw, radius, self._indexed if use_tables else 0)]
            if use_tables:
                parts.append(self._probe(qw, radius))
            q = np.concatenate([p[0] for p in parts]) + lo
            return q, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])

        if self._threads > 1 and len(batches) > 1:
            with ThreadPoolExecutor(self._threads) as pool:
                found = list(pool.map(run, batches))
        else:
            found = [run(b) for b in batches]
        qidx = np.concatenate([f[0] for f in found])
        slots = np.concatenate([f[1] for f in found])
        dist = np.concatenate([f[2] for f in found])
        return _group(nq, qidx, self._ids[slots], dist)

    def _query_kernel(self, qwords: np.ndarray, radius: int, use_tables: bool) -> list[Result]:
        """:meth:`query_many` by the numba kernel, batches spread over ``threads``."""
        kernel = self._kernels.query_batch  # type: ignore[union-attr]
        if use_tables:
            plan, scan_from = _plan(self._bits, self._m, radius), self._indexed
        else:
            plan, scan_from = _plan(self._bits, 0, radius), 0
        # one consistent snapshot of the storage, whatever add() does meanwhile
        state = (self._words, self._alive, self._ids, self._offsets, self._perm, self._bits)
        n = self._n

        def run(qw: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            out_ids = np.empty((len(qw), cap), dtype=np.int64)
            out_dist = np.empty((len(qw), cap), dtype=np.int32)
            counts = np.empty(len(qw), dtype=np.int64)
            step = max(1, -(-len(qw) // (4 * self._threads)))
            spans = [(lo, min(lo + step, len(qw))) for lo in range(0, len(qw), step)]

            def one(span: tuple[int, int]) -> None:
                lo, hi = span
                outs = (out_ids[lo:hi], out_dist[lo:hi], counts[lo:hi])
                kernel(qw[lo:hi], *state, *plan, scan_from, n, radius, *outs)

            if self._threads > 1 and len(spans) > 1:
                with ThreadPoolExecutor(self._threads) as pool:
                    list(pool.map(one, spans))
            else:
                for span in spans:
                    one(span)
            return out_ids, out_dist, counts

        out_ids, out_dist, counts = run(qwords, self._CAP)
        kept = np.minimum(counts, self._CAP)
        valid = np.arange(self._CAP)[None, :] < kept[:, None]
        flat_ids, flat_dist = out_ids[valid].tolist(), out_dist[valid].tolist()
        bounds = np.concatenate([[0], np.cumsum(kept)]).tolist()
        out = [
            list(zip(flat_ids[lo:hi], flat_dist[lo:hi], strict=True)) for lo, hi in pairwise(bounds)
        ]
        for i in np.flatnonzero(counts > self._CAP).tolist():  # rows over the cap, again
            cap = int(counts[i])
            while True:
                row_ids, row_dist, row_count = run(qwords[i : i + 1], cap)
                if row_count[0] <= cap:
                    break
                cap = int(row_count[0])
            c = int(row_count[0])
            out[i] = list(zip(row_ids[0, :c].tolist(), row_dist[0, :c].tolist(), strict=True))
        return out

    def _scan(self, qw: np.ndarray, radius: int, start: int) -> tuple[np.ndarray, ...]:
        """Linear scan of slots ``start..n`` (the unindexed tail, or everything)."""
        words = self._words[start : self._n]
        alive = self._alive[start : self._n]
        qs, ss, ds = [], [], []
        for i, q in enumerate(qw):
            dist = hamming_rows(words, q)
            hit = np.flatnonzero((dist <= radius) & alive)
            qs.append(np.full(len(hit), i, dtype=np.int64))
            ss.append(hit + start)
            ds.append(dist[hit])
        empty = np.empty(0, dtype=np.int64)
        return (
            np.concatenate(qs) if qs else empty,
            np.concatenate(ss) if ss else empty,
            np.concatenate(ds) if ds else empty.astype(np.uint32),
        )

    def _probe(self, qw: np.ndarray, radius: int) -> tuple[np.ndarray, ...]:
        """Multi-index probe of the tables, then full-distance verification."""
        bits, m = self._bits, self._m
        masks = flip_masks(bits, radius // m)
        qkeys = np.stack([chunk_keys(qw, j * bits, bits) for j in range(m)], axis=1)
        base = (np.arange(m, dtype=np.int64) << bits)[None, :, None]
        probes = ((qkeys[:, :, None] ^ masks[None, None, :]) + base).ravel()
        starts = self._offsets[probes]
        counts = self._offsets[probes + 1] - starts
        nz = np.flatnonzero(counts)
        starts, counts = starts[nz], counts[nz]
        pq = nz // (m * len(masks))
        slots = self._perm[_ragged(starts, counts)]
        cq = np.repeat(pq, counts)
        dist = hamming_rows(np.take(self._words, slots, axis=0), np.take(qw, cq, axis=0))
        ok = np.flatnonzero(dist <= radius)
        ok = ok[self._alive[slots[ok]]]
        return cq[ok], slots[ok].astype(np.int64), dist[ok]


@lru_cache(maxsize=256)
def _plan(bits: int, m: int, radius: int) -> tuple[np.ndarray, ...]:
    """Probe plan of the numba kernel for ``m`` substrings of ``bits`` bits at ``radius``.

    ``(n_masks, masks, sub_masks, sub_radii)``: substring ``j`` is probed with the first
    ``n_masks[j]`` of ``masks`` (flip masks by bit count), i.e. the keys within ``sub_radii[j]``,
    where ``sub_radii`` follows the refined pigeonhole bound of Norouzi et al. (``r`` on the first
    ``R % m + 1`` substrings, ``r - 1`` on the rest, ``r = R // m``); ``sub_masks[j]`` selects
    substring ``j``'s bits in the four words. ``m = 0`` is the plan of a linear scan.
    """
    r, a = divmod(radius, m) if m else (0, 0)
    sub_radii = np.array([min(r if j <= a else r - 1, bits) for j in range(m)], dtype=np.int64)
    n_masks = np.array([ball_size(bits, int(x)) if x >= 0 else 0 for x in sub_radii], np.int64)
    masks = np.array(flip_masks(bits, min(r, bits)) if m else [], dtype=np.int64)
    sub_masks = np.zeros((m, 4), dtype=np.uint64)
    for j in range(m):
        whole = ((1 << bits) - 1) << (PDQ_BITS - (j + 1) * bits)
        sub_masks[j] = [(whole >> (64 * (3 - w))) & ((1 << 64) - 1) for w in range(4)]
    for arr in (n_masks, masks, sub_masks, sub_radii):
        arr.setflags(write=False)
    return n_masks, masks, sub_masks, sub_radii


def _ragged(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each pair, vectorised."""
    counts = counts.astype(np.int64)
    total = int(counts.sum())
    if not total:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(starts.astype(np.int64) - (ends - counts), counts)
    return np.arange(total, dtype=np.int64) + shift


__all__: Sequence[str] = [
    "BruteForcePdqIndex",
    "MultiIndexPdqIndex",
    "PdqIndex",
    "numba_available",
    "pdq_to_bytes",
]
