"""RFC 3161 time-stamps: ask time-stamp authorities (TSAs) to sign a SHA-256 digest, and check
such a token offline.

A request (RFC 3161 section 2.4.1) carries the digest as a SHA-256 message imprint, a random
63-bit nonce and ``certReq`` true, so the token holds the TSA's certificate. Each answer is
checked before it is kept: status granted, the imprint and nonce are ours. What is kept is the
``TimeStampToken`` (the CMS ``ContentInfo`` of RFC 3161 section 2.4.2), the part of the answer
that stands alone: ``openssl ts -verify -token_in`` reads it as well.

:func:`verify_token` needs no network: the imprint equals the digest, the CMS signature
verifies, the signer's certificate chains to one of the given roots (valid at the token's time)
and has the critical ``timeStamping`` extended key usage. It uses ``rfc3161-client``'s
verifier, which reads whole answers, so the token is wrapped back into a granted
``TimeStampResp`` first.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import (
    PKIStatus,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from jikimi.actions.sinks.base import redact_logs
from jikimi.errors import SettingsError, TimestampError
from jikimi.settings import Settings

__all__ = [
    "TimeStamper",
    "TimestampError",
    "TimestampFailure",
    "TimestampToken",
    "TokenCheck",
    "load_roots",
    "stamper_for",
    "timestamp_request",
    "token_time",
    "trusted_roots",
    "tsa_name",
    "verify_token",
]

SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
# AlgorithmIdentifier { id-sha256, NULL }
_SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")
_GRANTED = {PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS}


def tsa_name(url: str) -> str:
    """How a TSA is named wherever it is shown or kept (custody, packages, logs, errors): its
    URL without user info (credentials), query or fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


@dataclass(frozen=True)
class TimestampToken:
    tsa: str  # the URL that answered, as tsa_name gives it
    token: bytes  # DER TimeStampToken (CMS ContentInfo)
    time: datetime  # genTime from the token, UTC


class TimestampFailure(NamedTuple):
    tsa: str
    problem: str


@dataclass(frozen=True)
class TokenCheck:
    ok: bool
    time: datetime | None  # genTime, when the token could be read
    tsa: str | None  # the signer's subject (RFC 4514), when the token could be read
    problem: str | None  # what does not hold, when not ok


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def _der_integer(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def timestamp_request(digest: bytes, nonce: int) -> bytes:
    """The DER ``TimeStampReq`` (RFC 3161 section 2.4.1) for a SHA-256 ``digest``: version 1,
    the imprint, ``nonce``, ``certReq`` true. Built here because ``rfc3161-client``'s builder
    hashes the data itself and we already hold the digest."""
    if len(digest) != 32:
        raise ValueError(f"a SHA-256 digest is 32 bytes, not {len(digest)}")
    imprint = _tlv(0x30, _SHA256_ALGORITHM + _tlv(0x04, digest))
    body = _der_integer(1) + imprint + _der_integer(nonce) + _tlv(0x01, b"\xff")
    return _tlv(0x30, body)


def _as_response(token: bytes) -> TimeStampResponse:
    """A stored token as the granted ``TimeStampResp`` rfc3161-client's verifier reads."""
    return decode_timestamp_response(_tlv(0x30, _tlv(0x30, _der_integer(0)) + token))


def load_roots(pem_bundle: bytes) -> list[bytes]:
    """The certificates of a PEM bundle, each as its own PEM (what :func:`verify_token` takes);
    raises ``ValueError`` when the bundle holds none."""
    certificates = x509.load_pem_x509_certificates(pem_bundle)
    return [c.public_bytes(Encoding.PEM) for c in certificates]


class TimeStamper:
    """Asks every configured TSA for a token over a digest.

    :meth:`stamp` returns the tokens that came back good and keeps what went wrong with the
    others in :attr:`last_failures` (empty when all answered), so a caller can record that one
    TSA of two was down; only when none succeeded does it raise :class:`TimestampError`, whose
    ``failures`` name each TSA and its problem. One stamper is meant for one thread.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.urls = list(urls)
        for url in self.urls:
            password = urlsplit(url).password
            if password:
                redact_logs(password)
        self._timeout = timeout
        self._client = client
        self.last_failures: list[TimestampFailure] = []

    def stamp(self, digest: bytes) -> list[TimestampToken]:
        if len(digest) != 32:
            raise ValueError(f"a SHA-256 digest is 32 bytes, not {len(digest)}")
        if not self.urls:
            raise TimestampError("no time-stamp authority configured; set tsa_urls", failures=[])
        tokens: list[TimestampToken] = []
        failures: list[TimestampFailure] = []
        client = self._client or httpx.Client(timeout=self._timeout)
        try:
            for url in self.urls:
                try:
                    tokens.append(self._stamp_one(client, url, digest))
                except _Refused as exc:
                    name = tsa_name(url)
                    failures.append(TimestampFailure(name, str(exc).replace(url, name)))
        finally:
            if self._client is None:
                client.close()
        self.last_failures = failures
        if not tokens:
            raise TimestampError(
                "no time-stamp authority gave a token: "
                + "; ".join(f"{f.tsa}: {f.problem}" for f in failures),
                failures=failures,
            )
        return tokens

    def _stamp_one(self, client: httpx.Client, url: str, digest: bytes) -> TimestampToken:
        nonce = secrets.randbits(63)
        try:
            answer = client.post(
                url,
                content=timestamp_request(digest, nonce),
                headers={
                    "Content-Type": "application/timestamp-query",
                    "Accept": "application/timestamp-reply",
                },
                timeout=self._timeout,
            )
        except httpx.TimeoutException:
            raise _Refused(f"no answer within {self._timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise _Refused(f"unreachable ({type(exc).__name__}: {exc})") from None
        if answer.status_code != 200:
            raise _Refused(f"answered HTTP {answer.status_code}")
        try:
            response = decode_timestamp_response(answer.content)
        except Exception as exc:  # the Rust parser raises ValueError and others on garbage
            raise _Refused(f"answer is not an RFC 3161 TimeStampResp ({exc})") from None
        return _checked(response, url, digest, nonce)


class _Refused(Exception):
    """One TSA's failure inside :meth:`TimeStamper.stamp`."""


def _checked(response: TimeStampResponse, url: str, digest: bytes, nonce: int) -> TimestampToken:
    if response.status not in _GRANTED:
        try:
            status = PKIStatus(response.status).name.lower()
        except ValueError:
            status = f"{response.status} (unknown)"
        said = "; ".join(response.status_string) if response.status_string else "no reason"
        raise _Refused(f"refused the request: status {status} ({said})")
    info = response.tst_info
    imprint = info.message_imprint
    if imprint.hash_algorithm != SHA256_OID or imprint.message != digest:
        raise _Refused("the token is for another digest than the one asked")
    if info.nonce != nonce:
        raise _Refused("the token's nonce is not the request's (a replayed or mixed-up answer)")
    return TimestampToken(
        tsa=tsa_name(url), token=response.time_stamp_token(), time=_utc(info.gen_time)
    )


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def token_time(token: bytes) -> datetime:
    """The genTime of a token, UTC, without checking it; ``ValueError`` when unreadable."""
    try:
        return _utc(_as_response(token).tst_info.gen_time)
    except Exception as exc:
        raise ValueError(f"not an RFC 3161 time-stamp token ({exc})") from exc


def verify_token(token: bytes, digest: bytes, *, roots: Sequence[bytes]) -> TokenCheck:
    """Check a stored token offline against ``digest`` and trusted ``roots`` (PEM)."""
    try:
        response = _as_response(token)
        info = response.tst_info
    except Exception as exc:
        return TokenCheck(False, None, None, f"not an RFC 3161 time-stamp token ({exc})")
    time = _utc(info.gen_time)
    signer = _signer(response)
    if not roots:
        return TokenCheck(False, time, signer, "no trusted TSA roots to check the token against")
    if info.message_imprint.message != digest:
        return TokenCheck(False, time, signer, "the token is for another digest")
    try:
        builder = VerifierBuilder()
        for pem in dict.fromkeys(roots):  # the verifier refuses a root added twice
            builder = builder.add_root_certificate(x509.load_pem_x509_certificate(pem))
        builder.build().verify(response, digest)
    except (VerificationError, ValueError) as exc:
        return TokenCheck(False, time, signer, f"the token does not verify ({exc})")
    return TokenCheck(True, time, signer, None)


def _signer(response: TimeStampResponse) -> str | None:
    infos = list(response.signed_data.signer_infos)
    if len(infos) != 1:
        return None
    for der in response.signed_data.certificates:
        cert = x509.load_der_x509_certificate(der)
        if cert.serial_number == infos[0].serial_number and cert.issuer == infos[0].issuer:
            return cert.subject.rfc4514_string()
    return None


def stamper_for(settings: Settings) -> TimeStamper:
    """The stamper the settings configure (``tsa_urls``, ``tsa_timeout_seconds``)."""
    return TimeStamper(settings.tsa_urls, timeout=settings.tsa_timeout_seconds)


def trusted_roots(settings: Settings) -> list[bytes]:
    """The TSA roots of ``tsa_certificates`` (PEM each); empty when the setting is empty."""
    path = settings.tsa_certificates
    if path is None:
        return []
    try:
        return load_roots(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"tsa_certificates: cannot read TSA root certificates from {path} ({exc}); "
            "point it at a PEM bundle"
        ) from exc
