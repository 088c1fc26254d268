"""Unpack an uploaded zip (a zipped Telegram Desktop export) without trusting it.

Refused before anything is written: names that are absolute, carry a drive letter or a ``..``
part, or a NUL; symlink entries; duplicate names (also when they differ only in case, which
would collide on a case-insensitive disk); encrypted entries; more entries than allowed.
Refused while writing, counting the bytes that come out rather than the sizes the headers
claim: an entry or the whole archive over the byte limit, and an entry whose output outgrows its
compressed size by more than ``max_ratio`` (a zip bomb), or a whole archive whose output
outgrows the archive's size on disk by as much (so headers lying about compressed sizes do not
hide a bomb). Nested zips are written as files, never
opened. Files are created exclusively (``O_EXCL``, mode 0600) in a fresh directory that nothing
else writes to, so no entry can follow a link out of it. Before zipfile reads the central
directory (all of it, into memory), the end record's entry count and directory size are
checked against the entry limit, so a forged directory cannot exhaust memory either.

On any refusal the directory is left for the caller to delete (it is the caller's private temp
directory); nothing in it is used.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jikimi.errors import JikimiError

__all__ = ["UnsafeZip", "ZipLimits", "check_central_directory", "extract"]

CHUNK = 1024 * 1024
# zipfile reads the whole central directory into memory before anything can be counted, so its
# size is bounded first, from the end record: this many bytes per allowed entry (a directory
# record is 46 bytes plus the name and extra fields; Telegram's names are short).
CENTRAL_BYTES_PER_ENTRY = 400
_EOCD, _ZIP64_LOCATOR, _ZIP64_EOCD = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_EOCD_SEARCH = 22 + 65535 + 20  # the end record, its longest comment, the zip64 locator
_DRIVE = re.compile(r"^[A-Za-z]:")
_S_IFMT, _S_IFLNK = 0o170000, 0o120000
_ENCRYPTED = 0x1


class UnsafeZip(JikimiError):
    """An upload that is not a zip, or one refused as unsafe. ``too_large``: a size limit
    (answered 413); otherwise the archive itself is wrong (422). ``code`` names the problem."""

    def __init__(self, code: str, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """``max_bytes`` bounds all entries together, and so each (uncompressed, as written);
    ``max_ratio`` bounds output over compressed size once an entry is past ``ratio_floor``
    bytes (small files compress well and mean nothing)."""

    max_entries: int
    max_bytes: int
    max_ratio: float = 200.0
    ratio_floor: int = 1024 * 1024


def extract(archive: Path, dest: Path, limits: ZipLimits) -> list[Path]:
    """Unpack ``archive`` into the empty directory ``dest``; the files written, in order."""
    try:
        check_central_directory(archive, limits)
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            _check_entries(infos, limits)
            written: list[Path] = []
            total = 0
            # What the whole archive may unpack to, from its real size, not the headers' claims.
            bomb_bytes = max(archive.stat().st_size, limits.ratio_floor) * limits.max_ratio
            for info in infos:
                target = dest.joinpath(*_parts(info.filename))
                if info.is_dir():
                    target.mkdir(mode=0o700, parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                total += _copy(zf, info, target, limits, total, bomb_bytes)
                written.append(target)
            return written
    except zipfile.BadZipFile as exc:
        raise UnsafeZip(
            "not-a-zip",
            f"the upload is not a readable zip archive ({exc}); zip the export folder (the one "
            "holding result.json) and send that file",
        ) from None
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        raise UnsafeZip(
            "unsafe-zip",
            f"the zip holds a name that is both a file and a folder ({exc.filename}); zip the "
            "export folder again with a standard tool",
        ) from None


def _too_many(count: str, limits: ZipLimits) -> UnsafeZip:
    return UnsafeZip(
        "too-many-entries",
        f"the zip holds {count} entries, over the limit of {limits.max_entries} (the "
        "export_max_entries setting); send the export in parts or ask the operator to raise "
        "the limit",
        too_large=True,
    )


def check_central_directory(archive: Path, limits: ZipLimits) -> None:
    """Refuse, from the end record alone, a zip declaring too many entries or a central
    directory too large for that many; an unreadable end record is left to zipfile."""
    with archive.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - _EOCD_SEARCH))
        tail = f.read()
        at = tail.rfind(_EOCD)
        if at < 0 or len(tail) - at < 22:
            return
        entries, central = struct.unpack_from("<HI", tail, at + 10)
        locator = at - 20
        if locator >= 0 and tail[locator : locator + 4] == _ZIP64_LOCATOR:
            (offset,) = struct.unpack_from("<Q", tail, locator + 8)
            f.seek(offset)
            record = f.read(56)
            if len(record) == 56 and record[:4] == _ZIP64_EOCD:
                entries, central = struct.unpack_from("<QQ", record, 32)
    if entries > limits.max_entries or central > limits.max_entries * CENTRAL_BYTES_PER_ENTRY:
        raise _too_many(f"{entries} (declared)", limits)


def _check_entries(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    if len(infos) > limits.max_entries:
        raise _too_many(str(len(infos)), limits)
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        _parts(name)  # raises on unsafe names
        if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
            raise UnsafeZip(
                "unsafe-zip",
                f"the zip entry {name!r} is a symbolic link; links are refused because they can "
                "point outside the export. Zip the export folder without links",
            )
        if info.flag_bits & _ENCRYPTED:
            raise UnsafeZip(
                "unsafe-zip",
                f"the zip entry {name!r} is encrypted; send the export unencrypted (over TLS to "
                "this service)",
            )
        key = name.rstrip("/").casefold()
        if key in seen:
            raise UnsafeZip(
                "unsafe-zip",
                f"the zip holds the name {name!r} more than once (or twice differing only in "
                "case); which copy is meant cannot be told. Zip the export folder again",
            )
        seen.add(key)


def _parts(name: str) -> tuple[str, ...]:
    """The path parts of a safe entry name; raises :class:`UnsafeZip` for an unsafe one."""
    unsafe = (
        not name
        or "\x00" in name
        or name.startswith(("/", "\\"))
        or _DRIVE.match(name) is not None
        or ".." in re.split(r"[\\/]", name)
    )
    if unsafe:
        raise UnsafeZip(
            "unsafe-zip",
            f"the zip entry {name!r} is an absolute path, names a drive or climbs out with "
            "'..'; zip the export folder itself so every name is relative to it",
        )
    return tuple(p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", "."))


def _copy(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    limits: ZipLimits,
    before: int,
    bomb_bytes: float,
) -> int:
    """Stream one entry to ``target``; the bytes written. Limits are checked per chunk;
    ``bomb_bytes``: what all entries together may unpack to, from the archive's real size."""
    written = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out, zf.open(info) as src:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if before + written > limits.max_bytes:
                raise UnsafeZip(
                    "too-large-unpacked",
                    f"the zip unpacks to more than {limits.max_bytes} bytes (at entry "
                    f"{info.filename!r}; the export_max_unpacked_bytes setting); send the export "
                    "in parts or ask the operator to raise the limit",
                    too_large=True,
                )
            ratio = written / max(info.compress_size, 1)
            whole = before + written > bomb_bytes
            if whole or (written > limits.ratio_floor and ratio > limits.max_ratio):
                raise UnsafeZip(
                    "zip-bomb",
                    f"the zip {'as a whole' if whole else f'entry {info.filename!r}'} expands "
                    f"more than {limits.max_ratio:.0f} times its compressed size, the mark of a "
                    "zip bomb; a Telegram export does not do that. Zip the export folder again "
                    "with a standard tool",
                    too_large=True,
                )
            out.write(chunk)
    return written
