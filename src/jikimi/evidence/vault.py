"""The media vault: content-addressed, encrypted copies of media kept under a legal basis.

Blobs live at ``root/ab/cd/<sha256>``. Each has its own random 256-bit data key, wrapped with the
workspace master key by AES key wrap (RFC 3394). Content is encrypted with AES-256-GCM in 1 MiB
chunks, so files of any size stream through in bounded memory; the chunking follows the STREAM
construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): each chunk's nonce is a random 7-byte
prefix, a 4-byte chunk counter and a last-chunk flag, so chunks cannot be dropped, reordered or
truncated without failing authentication. The header and the blob's SHA-256 are authenticated
as associated data of every chunk, binding the ciphertext to its address.

Writes are atomic: a temporary file in the destination folder, fsynced, then renamed.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from jikimi.errors import VaultError

MAGIC = b"JKV1"
CHUNK = 1 << 20
_TAG = 16
_PREFIX = 7
_WRAPPED = 40  # AES key wrap of a 32-byte key
_HEADER = struct.Struct(f">4s{_WRAPPED}s{_PREFIX}sI")  # magic, wrapped key, nonce prefix, chunk
_MAX_CHUNKS = 2**32
_MAX_CHUNK_SIZE = 64 << 20  # refuse a header that would make us read a huge block
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= _MAX_CHUNKS:
        raise VaultError("file too large for the vault (over 4 PiB)")
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


def _lookahead(stream: BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """Blocks of ``size`` bytes with a flag for the last one; an empty stream yields one empty
    last block, so every blob has a final chunk."""
    current = stream.read(size)
    while True:
        following = stream.read(size)
        yield current, not following
        if not following:
            return
        current = following


class Vault:
    def __init__(self, root: Path, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise VaultError("the master key must be 32 bytes")
        self.root = Path(root)
        self._master = master_key

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise VaultError(f"{sha256[:80]!r} is not a lowercase hex SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put_file(self, path: Path, sha256: str) -> bool:
        """Store an encrypted copy of ``path``; ``False`` if the blob is already there. Streams
        in chunks; raises :class:`VaultError` if the file's SHA-256 is not ``sha256`` (the file
        changed since it was hashed) and stores nothing."""
        dest = self.path_of(sha256)
        if dest.is_file():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        data_key = AESGCM.generate_key(bit_length=256)
        prefix = secrets.token_bytes(_PREFIX)
        header = _HEADER.pack(MAGIC, aes_key_wrap(self._master, data_key), prefix, CHUNK)
        aad = header + sha256.encode()
        aead = AESGCM(data_key)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                out.write(header)
                for counter, (block, last) in enumerate(_lookahead(src, CHUNK)):
                    digest.update(block)
                    out.write(aead.encrypt(_nonce(prefix, counter, last), block, aad))
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise VaultError(
                    f"{path} has SHA-256 {digest.hexdigest()}, not {sha256}; it changed since "
                    "it was hashed. Hash it again"
                )
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def delete(self, sha256: str) -> bool:
        """Remove the blob; ``False`` if there was none. The empty ``ab/cd`` folders stay
        (``put_file`` would make them again). The retention purge deletes inside the
        transaction that records the deletion: see :mod:`jikimi.evidence.retention`."""
        try:
            self.path_of(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The plaintext in chunks, authenticated chunk by chunk; the SHA-256 of the whole is
        checked after the last chunk, so consume the iterator to the end before trusting it."""
        path = self.path_of(sha256)
        try:
            src = open(path, "rb")  # noqa: SIM115 - closed in the generator's finally
        except FileNotFoundError:
            raise VaultError(f"the vault holds no blob {sha256}") from None
        with src:
            magic, wrapped, prefix, chunk = _HEADER.unpack(_read_exact(src, _HEADER.size, sha256))
            if magic != MAGIC or not 0 < chunk <= _MAX_CHUNK_SIZE:
                raise VaultError(f"blob {sha256} is not a Jikimi vault blob")
            try:
                aead = AESGCM(aes_key_unwrap(self._master, wrapped))
            except InvalidUnwrap:
                raise VaultError(f"blob {sha256} was not written with this master key") from None
            aad = _HEADER.pack(magic, wrapped, prefix, chunk) + sha256.encode()
            digest = hashlib.sha256()
            for counter, (block, last) in enumerate(_lookahead(src, chunk + _TAG)):
                try:
                    plain = aead.decrypt(_nonce(prefix, counter, last), block, aad)
                except InvalidTag:
                    raise VaultError(
                        f"blob {sha256} is damaged or truncated (chunk {counter} fails "
                        "authentication)"
                    ) from None
                digest.update(plain)
                yield plain
            if digest.hexdigest() != sha256:
                raise VaultError(f"blob {sha256} decrypts to content with another SHA-256")

    def get(self, sha256: str) -> bytes:
        """The plaintext, whole, after checking it authenticates and has SHA-256 ``sha256``."""
        return b"".join(self.chunks(sha256))

    def copy_to(self, sha256: str, out: BinaryIO) -> None:
        """Stream the plaintext to ``out``. Data is written before the final check: on
        :class:`VaultError` discard what was written."""
        for block in self.chunks(sha256):
            out.write(block)


def _read_exact(src: BinaryIO, size: int, sha256: str) -> bytes:
    data = src.read(size)
    if len(data) != size:
        raise VaultError(f"blob {sha256} is truncated (no complete header)")
    return data
