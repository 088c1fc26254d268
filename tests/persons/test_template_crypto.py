"""Template encryption: AES-256-GCM under an HKDF-SHA256 key, bound to its row."""

from __future__ import annotations

import secrets

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jikimi.errors import PersonError, TemplateStoreCorrupt
from jikimi.persons.crypto import (
    NONCE_BYTES,
    TemplateCipher,
    check_template,
    face_aad,
    person_aad,
)

KEY = bytes(range(32))


def _template(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.09, 128).astype(np.float32)


def test_round_trip_and_fresh_nonces() -> None:
    cipher = TemplateCipher(KEY)
    t = _template()
    n1, c1 = cipher.encrypt(t, person_aad("prs_000000000001"))
    n2, c2 = cipher.encrypt(t, person_aad("prs_000000000001"))
    assert len(n1) == NONCE_BYTES and n1 != n2 and c1 != c2
    assert len(c1) == 128 * 4 + 16  # float32 values and the GCM tag
    out = cipher.decrypt(n1, c1, person_aad("prs_000000000001"))
    assert out.dtype == np.float32 and out.shape == (128,)
    np.testing.assert_array_equal(out, t)


def test_the_key_is_derived_not_the_master_key() -> None:
    nonce, ct = TemplateCipher(KEY).encrypt(_template(), b"x")
    with pytest.raises(Exception):  # noqa: B017 - any failure: the master key is not the key
        AESGCM(KEY).decrypt(nonce, ct, b"x")


@pytest.mark.parametrize(
    "aad",
    [person_aad("prs_000000000002"), face_aad("a" * 64, (1, 2, 3, 4))],
    ids=["other-person", "a-face-row"],
)
def test_a_template_moved_to_another_row_fails(aad: bytes) -> None:
    cipher = TemplateCipher(KEY)
    nonce, ct = cipher.encrypt(_template(), person_aad("prs_000000000001"))
    with pytest.raises(TemplateStoreCorrupt, match="fails authentication"):
        cipher.decrypt(nonce, ct, aad)


def test_face_rows_are_bound_to_their_box() -> None:
    cipher = TemplateCipher(KEY)
    nonce, ct = cipher.encrypt(_template(), face_aad("b" * 64, (10, 20, 30, 40)))
    cipher.decrypt(nonce, ct, face_aad("b" * 64, (10, 20, 30, 40)))
    with pytest.raises(TemplateStoreCorrupt):
        cipher.decrypt(nonce, ct, face_aad("b" * 64, (10, 20, 30, 41)))


def test_tampering_and_other_keys_are_detected() -> None:
    cipher = TemplateCipher(KEY)
    aad = person_aad("prs_000000000001")
    nonce, ct = cipher.encrypt(_template(), aad)
    for i in (0, 100, len(ct) - 1):
        bad = bytearray(ct)
        bad[i] ^= 0x01
        with pytest.raises(TemplateStoreCorrupt):
            cipher.decrypt(nonce, bytes(bad), aad)
    with pytest.raises(TemplateStoreCorrupt):
        cipher.decrypt(nonce[:-1], ct, aad)
    with pytest.raises(TemplateStoreCorrupt):
        TemplateCipher(secrets.token_bytes(32)).decrypt(nonce, ct, aad)


def test_bad_templates_and_keys_are_refused() -> None:
    with pytest.raises(PersonError):
        TemplateCipher(b"short")
    with pytest.raises(PersonError, match="shape"):
        check_template(np.zeros(64, dtype=np.float32))
    with pytest.raises(PersonError, match="shape"):
        check_template(np.zeros(128, dtype=np.int32))
    bad = _template()
    bad[3] = np.nan
    with pytest.raises(PersonError, match="NaN"):
        check_template(bad)
    assert check_template(np.zeros(128, dtype=np.float64)).dtype == np.float32
