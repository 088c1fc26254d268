"""file_digests: one streaming pass, same as hashlib, fixed-width lowercase hex."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from jikimi.signals.crypto import bytes_digests, file_digests


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024, 2 * 1024 * 1024 + 12345])
def test_matches_hashlib(size: int, tmp_path: Path) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    path = tmp_path / "f"
    path.write_bytes(data)
    expected = {name: hashlib.new(name, data).hexdigest() for name in ("sha256", "md5", "sha1")}
    assert file_digests(path) == expected == bytes_digests(data)
    widths = {"sha256": 64, "md5": 32, "sha1": 40}
    for name, value in file_digests(path).items():
        assert len(value) == widths[name] and value == value.lower()
