"""Exchange credentials: from the environment or stored encrypted, never shown.

A credential comes from ``JIKIMI_EXCHANGE_<NAME>_<FIELD>`` (the exchange name upper-cased, any
other character than a letter or digit as ``_``), else from the exchanges row, where all of an
exchange's credentials are one AES-256-GCM ciphertext (NIST SP 800-38D) under a key derived
from the workspace master key with HKDF-SHA256 (RFC 5869, info ``b"jikimi exchange
credentials v1"``), bound to the exchange by the associated data ``exchange:<name>``.
In memory a value is a :class:`Secret`, whose ``repr`` and ``str`` are masked, so a log line,
an error or a traceback's locals cannot print it by accident.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jikimi.errors import ExchangeCredentialsError

HKDF_INFO = b"jikimi exchange credentials v1"
NONCE_BYTES = 12
ENV_PREFIX = "JIKIMI_EXCHANGE_"
MASK = "***"


class Secret:
    """A credential value; ``reveal()`` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK


@dataclass(frozen=True, slots=True)
class CredentialField:
    name: str
    help: str
    required: bool = True


def env_var(exchange: str, field: str) -> str:
    """The environment variable that holds ``field`` of ``exchange``."""
    stem = re.sub(r"[^A-Za-z0-9]", "_", exchange).upper()
    return f"{ENV_PREFIX}{stem}_{field.upper()}"


def scrub(text: str, values: Mapping[str, Secret]) -> str:
    """``text`` with every credential value masked (defence in depth for upstream errors)."""
    for secret in values.values():
        raw = secret.reveal()
        if len(raw) >= 4:
            text = text.replace(raw, MASK)
    return text


class CredentialCipher:
    """Encrypts one exchange's credentials (a field → value mapping) under the master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ExchangeCredentialsError("the master key must be 32 bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
            master_key
        )
        self._aead = AESGCM(key)

    def encrypt(self, exchange: str, values: Mapping[str, Secret]) -> bytes:
        plain = json.dumps({k: v.reveal() for k, v in values.items()}).encode()
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, _aad(exchange))

    def decrypt(self, exchange: str, blob: bytes) -> dict[str, Secret]:
        nonce, ciphertext = bytes(blob[:NONCE_BYTES]), bytes(blob[NONCE_BYTES:])
        try:
            plain = self._aead.decrypt(nonce, ciphertext, _aad(exchange))
        except InvalidTag:
            raise ExchangeCredentialsError(
                f"the stored credentials of exchange {exchange!r} fail authentication (edited, "
                "moved, or written under another master key); set them again with "
                f"`jikimi exchange add` or the {env_var(exchange, '<FIELD>')} variables"
            ) from None
        return {k: Secret(v) for k, v in json.loads(plain).items()}


def _aad(exchange: str) -> bytes:
    return f"exchange:{exchange}".encode()


def resolve(
    exchange: str,
    fields: tuple[CredentialField, ...],
    stored: Mapping[str, Secret],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Secret]:
    """Each field from the environment, else from ``stored``; a missing required field is an
    error naming the variable to set."""
    environ = os.environ if environ is None else environ
    out: dict[str, Secret] = {}
    missing = []
    for field in fields:
        value = environ.get(env_var(exchange, field.name))
        if value:
            out[field.name] = Secret(value)
        elif field.name in stored:
            out[field.name] = stored[field.name]
        elif field.required:
            missing.append(field)
    if missing:
        hints = ", ".join(env_var(exchange, f.name) for f in missing)
        raise ExchangeCredentialsError(
            f"exchange {exchange!r} has no {', '.join(f.name for f in missing)}: set {hints}, "
            f"or store them with `jikimi exchange add {exchange} ... --set-credential FIELD`"
        )
    return out


def sources(
    exchange: str,
    fields: tuple[CredentialField, ...],
    stored_fields: set[str],
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Where each field would come from: ``env``, ``stored`` or ``missing`` (never values)."""
    environ = os.environ if environ is None else environ
    return {
        f.name: "env"
        if environ.get(env_var(exchange, f.name))
        else "stored"
        if f.name in stored_fields
        else "missing"
        for f in fields
    }
