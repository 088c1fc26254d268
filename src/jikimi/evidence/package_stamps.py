"""RFC 3161 time-stamps for evidence packages, over :mod:`jikimi.evidence.timestamps`.

A package's manifest digest (SHA-256 of ``data/manifest.jsonld``) is sent to every configured
time-stamp authority; each token is a tag file ``tokens/<n>.tsr`` (the DER
``TimeStampToken``) beside ``tokens/tokens.json`` (which TSA, the time it asserts, the digest).
When no TSA is configured, or none gives a token, the package is made all the same and says it
is not time-stamped, and why: it never claims a stamp it does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jikimi.evidence.timestamps import TimeStamper, TimestampError, load_roots, verify_token
from jikimi.settings import Settings

NOT_CONFIGURED = "not time-stamped: no TSA configured (setting tsa_urls)"


@dataclass(frozen=True, slots=True)
class Stamp:
    tsa: str
    token: bytes
    time: datetime


@dataclass(frozen=True, slots=True)
class Stamping:
    stamps: list[Stamp]
    note: str  # "time-stamped by ..." or "not time-stamped: <why>"


@dataclass(frozen=True, slots=True)
class TokenResult:
    name: str
    ok: bool
    detail: str


def stamp(digest: bytes, settings: Settings) -> Stamping:
    """Tokens over ``digest`` (a SHA-256) from every TSA in ``tsa_urls``."""
    if not settings.tsa_urls:
        return Stamping([], NOT_CONFIGURED)
    stamper = TimeStamper(settings.tsa_urls, timeout=settings.tsa_timeout_seconds)
    try:
        tokens = stamper.stamp(digest)
    except TimestampError as exc:
        return Stamping([], f"not time-stamped: {exc}")
    stamps = [Stamp(t.tsa, t.token, t.time) for t in tokens]
    note = "time-stamped by " + ", ".join(s.tsa for s in stamps)
    if stamper.last_failures:
        note += "; not by " + "; ".join(f"{f.tsa} ({f.problem})" for f in stamper.last_failures)
    return Stamping(stamps, note)


def roots_from(paths: list[Path]) -> list[bytes]:
    """The root certificates of PEM bundles, each as its own PEM."""
    roots: list[bytes] = []
    for path in paths:
        roots.extend(load_roots(path.read_bytes()))
    return roots


def check_token(name: str, token: bytes, digest: bytes, roots: list[bytes]) -> TokenResult:
    if not roots:
        return TokenResult(
            name, False, "no TSA root certificates to check it against (--tsa-roots PEM)"
        )
    result = verify_token(token, digest, roots=roots)
    if result.ok:
        when = result.time.isoformat() if result.time else "an unknown time"
        return TokenResult(name, True, f"valid token of {result.tsa} over the manifest at {when}")
    return TokenResult(name, False, result.problem or "the token does not verify")
