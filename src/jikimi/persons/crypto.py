"""Encryption of face templates at rest: AES-256-GCM (NIST SP 800-38D) under a key derived
from the workspace master key with HKDF-SHA256 (RFC 5869, info ``b"jikimi person templates
v1"``), a random 96-bit nonce per template.

The associated data binds each ciphertext to its row: ``person:<id>`` for an enrolled
template, ``face:<sha256>:<left>,<top>,<right>,<bottom>`` for a kept face of flagged media.
A template copied into another row, an edited byte, or a store written under another master key
fails authentication and raises :class:`~jikimi.errors.TemplateStoreCorrupt`: a damaged store is
reported, never read as "no match".

A template is 128 float32 values, little-endian (512 bytes of plaintext).
"""

from __future__ import annotations

import secrets

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jikimi.errors import PersonError, TemplateStoreCorrupt

__all__ = [
    "HKDF_INFO",
    "NONCE_BYTES",
    "TEMPLATE_DIM",
    "TemplateCipher",
    "check_template",
    "face_aad",
    "person_aad",
]

HKDF_INFO = b"jikimi person templates v1"
NONCE_BYTES = 12
TEMPLATE_DIM = 128
_DTYPE = np.dtype("<f4")
_PLAINTEXT_BYTES = TEMPLATE_DIM * _DTYPE.itemsize


def person_aad(person_id: str) -> bytes:
    """Associated data of an enrolled template: the person it belongs to."""
    return f"person:{person_id}".encode()


def face_aad(media_sha256: str, box: tuple[int, int, int, int]) -> bytes:
    """Associated data of a kept face template: the media and the face box."""
    left, top, right, bottom = (int(v) for v in box)
    return f"face:{media_sha256}:{left},{top},{right},{bottom}".encode()


def check_template(template: np.ndarray) -> np.ndarray:
    """``template`` as a float32 vector of shape (128,), or :class:`PersonError`."""
    arr = np.asarray(template)
    if arr.shape != (TEMPLATE_DIM,) or arr.dtype.kind != "f":
        raise PersonError(
            f"a face template is a float vector of shape ({TEMPLATE_DIM},), got "
            f"{arr.dtype} {arr.shape}; compute it with the faces extractor"
        )
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise PersonError("a face template holds NaN or infinite values")
    return arr


class TemplateCipher:
    """Encrypts and decrypts face templates under the workspace master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise PersonError("the master key must be 32 bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
            master_key
        )
        self._aead = AESGCM(key)

    def encrypt(self, template: np.ndarray, aad: bytes) -> tuple[bytes, bytes]:
        """``(nonce, ciphertext)`` of ``template`` bound to ``aad``."""
        plain = check_template(template).astype(_DTYPE).tobytes()
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce, self._aead.encrypt(nonce, plain, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> np.ndarray:
        """The template; :class:`TemplateStoreCorrupt` if it does not authenticate."""
        what = aad.decode(errors="replace")
        if len(nonce) != NONCE_BYTES:
            raise TemplateStoreCorrupt(
                f"face template of {what}: nonce is {len(nonce)} bytes, expected "
                f"{NONCE_BYTES}; the template store is damaged"
            )
        try:
            plain = self._aead.decrypt(bytes(nonce), bytes(ciphertext), aad)
        except InvalidTag:
            raise TemplateStoreCorrupt(
                f"face template of {what} fails authentication: it was edited, moved to "
                "another row, or written under another master key. The template store is "
                "damaged; restore the database (and master.key) from backup, or delete and "
                "re-enrol the person"
            ) from None
        if len(plain) != _PLAINTEXT_BYTES:
            raise TemplateStoreCorrupt(
                f"face template of {what} decrypts to {len(plain)} bytes, expected "
                f"{_PLAINTEXT_BYTES}"
            )
        return np.frombuffer(plain, dtype=_DTYPE).astype(np.float32)
