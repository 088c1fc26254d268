"""The workspace master key: 32 random bytes in a file only its owner can read."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from jikimi.errors import WorkspaceError

KEY_BYTES = 32


def load_or_create_master_key(path: Path) -> bytes:
    """Read the master key at ``path``, creating it (mode 0600, never overwriting) if absent."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            # O_EXCL: two processes creating at once cannot each write a different key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read(path)
        except OSError as exc:
            raise WorkspaceError(f"cannot create master key {path}: {exc.strerror}") from exc
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        return key
    return _read(path)


def _read(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise WorkspaceError(
            f"cannot read master key {path}: {exc.strerror}; check its owner and permissions"
        ) from exc
    if len(key) != KEY_BYTES:
        raise WorkspaceError(
            f"master key {path} is {len(key)} bytes, expected {KEY_BYTES}; it is damaged or not "
            "a Jikimi key. Restore it from backup: without it the vault cannot be read"
        )
    return key
