from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from jikimi.errors import VaultError, WorkspaceError
from jikimi.evidence import vault as vault_mod
from jikimi.evidence.keys import load_or_create_master_key
from jikimi.evidence.vault import Vault


def _file(tmp_path: Path, data: bytes, name: str = "media.bin") -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault(tmp_path / "vault", load_or_create_master_key(tmp_path / "master.key"))


def test_master_key_is_created_once_with_owner_only_mode(tmp_path: Path) -> None:
    path = tmp_path / "ws" / "master.key"
    key = load_or_create_master_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_master_key(path) == key


def test_damaged_master_key_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(b"short")
    with pytest.raises(WorkspaceError, match="5 bytes, expected 32"):
        load_or_create_master_key(path)


def test_unreadable_master_key_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.mkdir()  # unreadable as a file, whoever runs the tests (root reads any mode)
    with pytest.raises(WorkspaceError, match="cannot read master key"):
        load_or_create_master_key(path)


@pytest.mark.parametrize(
    "size", [0, 1, vault_mod.CHUNK - 1, vault_mod.CHUNK, 2 * vault_mod.CHUNK + 5]
)
def test_round_trip_is_encrypted_and_content_addressed(
    vault: Vault, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    path, sha = _file(tmp_path, data)
    assert not vault.has(sha)
    assert vault.put_file(path, sha) is True
    assert vault.has(sha)
    blob = vault.root / sha[:2] / sha[2:4] / sha
    assert blob.is_file()
    if size >= 16:
        assert data[:16] not in blob.read_bytes()
    assert vault.get(sha) == data
    assert vault.put_file(path, sha) is False
    assert [p.name for p in blob.parent.iterdir()] == [sha]  # no temp files left


def test_wrong_sha_stores_nothing(vault: Vault, tmp_path: Path) -> None:
    path, _ = _file(tmp_path, b"hello")
    wrong = "0" * 64
    with pytest.raises(VaultError, match="changed since"):
        vault.put_file(path, wrong)
    assert not vault.has(wrong)
    assert list((vault.root / "00" / "00").iterdir()) == []


def test_tampered_or_truncated_blob_is_refused(vault: Vault, tmp_path: Path) -> None:
    data = os.urandom(vault_mod.CHUNK + 100)
    path, sha = _file(tmp_path, data)
    vault.put_file(path, sha)
    blob = vault.path_of(sha)
    original = blob.read_bytes()
    flipped = bytearray(original)
    flipped[-1] ^= 1
    blob.write_bytes(bytes(flipped))
    with pytest.raises(VaultError, match="damaged"):
        vault.get(sha)
    # Dropping the final chunk must not pass as a shorter file.
    blob.write_bytes(original[: vault_mod._HEADER.size + vault_mod.CHUNK + 16])
    with pytest.raises(VaultError):
        vault.get(sha)


def test_blob_moved_to_another_address_is_refused(vault: Vault, tmp_path: Path) -> None:
    a, sha_a = _file(tmp_path, b"a" * 100, "a")
    b, sha_b = _file(tmp_path, b"b" * 100, "b")
    vault.put_file(a, sha_a)
    vault.put_file(b, sha_b)
    vault.path_of(sha_b).write_bytes(vault.path_of(sha_a).read_bytes())
    with pytest.raises(VaultError):
        vault.get(sha_b)


def test_other_master_key_cannot_read(vault: Vault, tmp_path: Path) -> None:
    path, sha = _file(tmp_path, b"secret")
    vault.put_file(path, sha)
    other = Vault(vault.root, os.urandom(32))
    with pytest.raises(VaultError, match="master key"):
        other.get(sha)


def test_bad_addresses_are_refused(vault: Vault) -> None:
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(VaultError):
            vault.path_of(bad)
    with pytest.raises(VaultError, match="no blob"):
        vault.get("1" * 64)
