"""Fixtures shared by the evidence tests (others may append theirs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.local_tsa import LocalTsa, running_tsa


@pytest.fixture
def local_tsa() -> Iterator[LocalTsa]:
    """An RFC 3161 TSA on loopback with its own throwaway root: ``.url``, ``.root_pem``,
    ``.mode`` (ok, garbage, http500, reject, wrong_nonce, down)."""
    with running_tsa() as tsa:
        yield tsa


@pytest.fixture
def other_tsa() -> Iterator[LocalTsa]:
    """A second TSA under another root (a token from it is untrusted under ``local_tsa``'s)."""
    with running_tsa("other") as tsa:
        yield tsa
