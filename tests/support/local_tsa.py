"""A throwaway RFC 3161 time-stamp authority on 127.0.0.1, for tests.

A CA and a TSA certificate (ECDSA P-256; the TSA's extended key usage is ``timeStamping``,
critical, as RFC 3161 section 2.3 asks) are made with ``cryptography`` in a temp folder; each
request is answered by ``openssl ts -reply`` with a minimal config written beside them.
``mode`` switches the answer: ``ok``, ``garbage`` (bytes that are no DER), ``http500``,
``reject`` (a granted-less TimeStampResp, status rejection), ``wrong_nonce`` (a real token
for the same digest under another nonce), ``down`` (the connection is dropped unanswered).
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from rfc3161_client._rust import parse_timestamp_request
from tests.support.loopback import LoopbackServer, QuietHandler

from jikimi.evidence.timestamps import timestamp_request

Mode = Literal["ok", "garbage", "http500", "reject", "wrong_nonce", "down"]
TSA_POLICY = "1.3.6.1.4.1.99999.1"
# TimeStampResp { status PKIStatusInfo { status rejection(2) } }, no token.
REJECTION = bytes.fromhex("30053003020102")

_CONFIG = """\
[tsa]
default_tsa = tsa_config
[tsa_config]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Jikimi test TSA (throwaway)"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _make_certificates(folder: Path, label: str) -> bytes:
    """Write ca.pem, tsa.pem and tsa.key into ``folder``; return the CA's PEM."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{label} root")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} TSA"))
        .issuer_name(ca_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(_pem(ca))
    (folder / "tsa.pem").write_bytes(_pem(tsa))
    (folder / "tsa.key").write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return _pem(ca)


class LocalTsa:
    """An RFC 3161 TSA on loopback. ``url`` to POST to, ``root_pem`` to trust, ``mode`` to
    switch the answer, ``requests`` counts the requests seen."""

    def __init__(self, folder: Path, label: str = "local") -> None:
        self.folder = folder
        self.root_pem = _make_certificates(folder, label)
        (folder / "serial").write_text("01\n")
        self._config = folder / "openssl.cnf"
        self._config.write_text(_CONFIG.format(dir=folder, policy=TSA_POLICY))
        self._lock = threading.Lock()  # openssl bumps the serial file: one at a time
        self.mode: Mode = "ok"
        self.requests = 0
        self._server = LoopbackServer(self._handler())

    @property
    def url(self) -> str:
        return f"{self._server.base_url}/tsa"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def reply(self, query: bytes) -> bytes:
        """``openssl ts -reply`` to one DER TimeStampReq: the DER TimeStampResp."""
        with self._lock, tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            query_file, reply_file = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            query_file.write_bytes(query)
            subprocess.run(
                [
                    "openssl",
                    "ts",
                    "-reply",
                    "-config",
                    str(self._config),
                    "-queryfile",
                    str(query_file),
                    "-out",
                    str(reply_file),
                ],
                check=True,
                capture_output=True,
            )
            return reply_file.read_bytes()

    def _handler(self) -> type[QuietHandler]:
        tsa = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                query = self.body()
                tsa.requests += 1
                mode = tsa.mode
                if mode == "down":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "http500":
                    self.reply(500, b"internal error", {"Content-Type": "text/plain"})
                    return
                if mode == "garbage":
                    answer = b"<html>not a time-stamp</html>"
                elif mode == "reject":
                    answer = REJECTION
                elif mode == "wrong_nonce":
                    asked = parse_timestamp_request(query)
                    other = timestamp_request(asked.message_imprint.message, asked.nonce + 1)
                    answer = tsa.reply(other)
                else:
                    answer = tsa.reply(query)
                self.reply(200, answer, {"Content-Type": "application/timestamp-reply"})

        return Handler


@contextmanager
def running_tsa(label: str = "local") -> Iterator[LocalTsa]:
    with tempfile.TemporaryDirectory(prefix="jikimi-tsa-") as folder:
        tsa = LocalTsa(Path(folder), label)
        tsa.start()
        try:
            yield tsa
        finally:
            tsa.stop()


def refused_url() -> str:
    """A loopback URL where nothing listens (a TSA that is down): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"
