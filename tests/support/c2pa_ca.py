"""A throwaway C2PA test CA and signer, made with ``cryptography`` at test time.

Root CA -> intermediate CA -> end-entity signing certificate, all ECDSA P-256 (ES256). The
end-entity certificate carries what the C2PA 2.x specification (section 14.5, "Certificate
profile") asks of a claim signer: X.509 v3, ``digitalSignature`` key usage, not a CA, an
authority key identifier, and an extended key usage that includes ``id-kp-documentSigning``
and the C2PA ``c2pa-kp-claimSigning`` purpose (never ``anyExtendedKeyUsage``). Nothing here is
in any trust list, so readers report the manifest as signed but untrusted.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
C2PA_CLAIM_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.62558.2.1")

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = IPTC + "trainedAlgorithmicMedia"


@dataclass(frozen=True)
class ThrowawaySigner:
    """PEM chain (end-entity first, then intermediate) and the end-entity private key."""

    chain_pem: str
    key_pem: str
    root_pem: str


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Jikimi test CA (throwaway)"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    path_length: int | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    usage = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    if ca:
        usage.update(key_cert_sign=True, crl_sign=True)
    else:
        usage.update(digital_signature=True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(
                [DOCUMENT_SIGNING, C2PA_CLAIM_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
        )
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_test_signer() -> ThrowawaySigner:
    """A fresh root -> intermediate -> signer chain (ES256)."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    ee_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert("Jikimi Test Root", root_key, "Jikimi Test Root", root_key, ca=True)
    inter = _cert(
        "Jikimi Test Intermediate", inter_key, "Jikimi Test Root", root_key, ca=True, path_length=0
    )
    ee = _cert("Jikimi Test Signer", ee_key, "Jikimi Test Intermediate", inter_key, ca=False)
    key_pem = ee_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return ThrowawaySigner(chain_pem=_pem(ee) + _pem(inter), key_pem=key_pem, root_pem=_pem(root))


def ai_manifest(
    claim_generator: str, source_type: str = TRAINED_ALGORITHMIC_MEDIA
) -> dict[str, Any]:
    """A manifest definition whose ``c2pa.actions`` says the asset was created by a model."""
    return {
        "claim_generator_info": [{"name": claim_generator, "version": "1.0"}],
        "title": "benign test image",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": source_type}]},
            }
        ],
    }


def sign_bytes(data: bytes, mime: str, signer: ThrowawaySigner, manifest: dict[str, Any]) -> bytes:
    """``data`` with an embedded C2PA manifest signed by ``signer`` (no timestamp authority,
    no network)."""
    import c2pa

    info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, signer.chain_pem.encode(), signer.key_pem.encode(), None
    )
    context = c2pa.Context(
        settings=c2pa.Settings.from_dict(
            {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
        )
    )
    with (
        c2pa.Signer.from_info(info) as c2pa_signer,
        c2pa.Builder(json.dumps(manifest), context=context) as builder,
    ):
        out = io.BytesIO()
        builder.sign(c2pa_signer, mime, io.BytesIO(data), out)
    return out.getvalue()
