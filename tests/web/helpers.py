"""Helpers for the service tests."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from jikimi.demo.synthetic import photo_like

PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jpeg(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    photo_like(*size, seed=seed).save(out, format="JPEG", quality=90)
    return out.getvalue()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
