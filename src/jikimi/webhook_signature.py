"""The webhook signature scheme, shared by the sender (the webhook sink) and the receiver (a
platform using :mod:`jikimi.client`); standard library only, so a receiver need not install
Jikimi's service dependencies.

``Jikimi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``: the
timestamp is signed with the raw body, so a receiver that refuses old timestamps refuses
replays (5 minutes by default). Verify the raw bytes before parsing them.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "SIGNATURE_HEADER", "sign", "verify_signature"]

SIGNATURE_HEADER = "Jikimi-Signature"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The ``Jikimi-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},{SIGNATURE_SCHEME}={digest.hexdigest()}"


def verify_signature(
    body: bytes,
    header: str,
    secret: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and its timestamp is within
    ``tolerance_seconds`` of ``now``. Compares in constant time; several ``v1=`` values (a
    secret being rotated) are accepted if any one matches."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == SIGNATURE_SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign(body, secret, timestamp).rpartition("=")[2]
    matched = False
    for candidate in candidates:  # no early exit: the time taken says nothing
        matched |= hmac.compare_digest(candidate.encode(), expected.encode())
    return matched
