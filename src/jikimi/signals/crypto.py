"""Exact (cryptographic) digests of a file: SHA-256, MD5 and SHA-1.

Banks of known abuse carry all three (NCMEC and StopNCII lists use MD5 and SHA-1 beside
SHA-256), so every readable file gets all three, in one read, as fixed-width lowercase hex.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

DIGESTS: tuple[str, ...] = ("sha256", "md5", "sha1")

# Large enough that the per-call overhead of hashlib vanishes, small enough to stay in cache.
_CHUNK = 1024 * 1024


def file_digests(path: Path, names: Sequence[str] = DIGESTS) -> dict[str, str]:
    """The digests ``names`` (default sha256, md5, sha1) of the file at ``path``, streamed in
    one pass."""
    hashers = [hashlib.new(name) for name in names]
    with path.open("rb", buffering=0) as fh:
        buf = bytearray(_CHUNK)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            for h in hashers:
                h.update(view[:n])
    return {name: h.hexdigest() for name, h in zip(names, hashers, strict=True)}


def bytes_digests(data: bytes, names: Sequence[str] = DIGESTS) -> dict[str, str]:
    """The same digests of bytes already in memory (the caller read the file once)."""
    return {name: hashlib.new(name, data).hexdigest() for name in names}
