"""Unpacking untrusted zips: every unsafe shape refused with a reason, limits counted on the
bytes written, nested zips left closed."""

from __future__ import annotations

import io
import os
import stat
import warnings
import zipfile
from pathlib import Path

import pytest

from jikimi.connectors.safe_zip import UnsafeZip, ZipLimits, extract

LIMITS = ZipLimits(max_entries=10, max_bytes=4 * 1024 * 1024, ratio_floor=64 * 1024)


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return path


def refused(tmp_path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> UnsafeZip:
    archive = make_zip(tmp_path / "in.zip", entries)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(UnsafeZip) as info:
        extract(archive, dest, LIMITS)
    return info.value


def test_a_plain_zip_unpacks_privately(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "in.zip",
        [("Export/result.json", b"{}"), ("Export/photos/a.jpg", b"x"), ("Export/inner.zip", b"PK")],
    )
    dest = tmp_path / "out"
    dest.mkdir()
    written = extract(archive, dest, LIMITS)
    assert [p.relative_to(dest).as_posix() for p in written] == [
        "Export/result.json",
        "Export/photos/a.jpg",
        "Export/inner.zip",  # nested zips are files, never opened
    ]
    assert stat.S_IMODE(os.stat(written[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(dest / "Export" / "photos").st_mode) == 0o700


@pytest.mark.parametrize(
    "name", ["../evil.txt", "a/../../evil.txt", "/etc/evil", "\\\\server\\evil", "C:/evil.txt",
             "a\\..\\..\\evil.txt"],
)  # fmt: skip
def test_names_that_leave_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    problem = refused(tmp_path, [("ok.txt", b"fine"), (zipfile.ZipInfo(name), b"bad")])
    assert problem.code == "unsafe-zip" and not problem.too_large
    assert "absolute path, names a drive or climbs out" in str(problem)
    assert list((tmp_path / "out").iterdir()) == [], "refused before anything is written"


def test_symlink_entries_are_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("Export/photos/a.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    problem = refused(tmp_path, [(link, b"/etc/passwd")])
    assert problem.code == "unsafe-zip" and "symbolic link" in str(problem)


def test_encrypted_entries_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", [("result.json", b"{}")])
    data = bytearray(archive.read_bytes())
    # zipfile cannot write encrypted entries: set the "encrypted" flag bit in both headers.
    data[6] |= 0x1  # local file header, general purpose flags
    data[data.rindex(b"PK\x01\x02") + 8] |= 0x1  # central directory entry
    archive.write_bytes(bytes(data))
    with pytest.raises(UnsafeZip) as problem:
        extract(archive, tmp_path, LIMITS)
    assert "encrypted" in str(problem.value)


@pytest.mark.parametrize("second", ["result.json", "RESULT.json"])
def test_duplicate_names_are_refused(tmp_path: Path, second: str) -> None:
    problem = refused(tmp_path, [("result.json", b"{}"), (second, b"[]")])
    assert "more than once" in str(problem)


def test_too_many_entries(tmp_path: Path) -> None:
    problem = refused(tmp_path, [(f"f{i}.txt", b"x") for i in range(11)])
    assert problem.code == "too-many-entries" and problem.too_large
    assert "export_max_entries" in str(problem)


def test_the_end_record_is_checked_before_the_directory_is_read(tmp_path: Path) -> None:
    long_names = [("n" * 900 + str(i), b"x") for i in range(5)]  # 5 entries, 4.7 KB directory
    problem = refused(tmp_path, long_names)
    assert problem.code == "too-many-entries" and "(declared)" in str(problem)


def test_an_end_record_understating_the_count_does_not_help(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", [(f"f{i}.txt", b"x") for i in range(11)])
    data = bytearray(archive.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    data[end + 8 : end + 12] = (1).to_bytes(2, "little") * 2  # "1 entry" on disk and in total
    archive.write_bytes(bytes(data))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(UnsafeZip) as problem:
        extract(archive, dest, LIMITS)
    assert problem.value.code == "too-many-entries"  # zipfile reads the directory by size
    assert list(dest.iterdir()) == []


def test_too_many_bytes_counted_as_written(tmp_path: Path) -> None:
    noise = os.urandom(3 * 1024 * 1024)  # incompressible: no ratio alarm
    problem = refused(tmp_path, [("a.bin", noise), ("b.bin", noise)])
    assert problem.code == "too-large-unpacked" and problem.too_large
    assert "'b.bin'" in str(problem)


def test_a_lying_header_does_not_help(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", [("a.bin", os.urandom(5 * 1024 * 1024))])
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        (info,) = zf.infolist()
    # Rewrite the central directory's uncompressed size to 1 byte.
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (1).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(UnsafeZip) as problem:
        extract(archive, dest, LIMITS)
    assert problem.value.code == "not-a-zip", problem.value  # the CRC of the short read fails
    assert info.file_size == 5 * 1024 * 1024


def test_a_zip_bomb_is_stopped_while_streaming(tmp_path: Path) -> None:
    problem = refused(tmp_path, [("result.json", b"\0" * (3 * 1024 * 1024))])
    assert problem.code == "zip-bomb" and problem.too_large
    written = (tmp_path / "out" / "result.json").stat().st_size
    assert written < 1024 * 1024, "stopped soon after the floor, not at the end"


def test_a_header_overstating_the_compressed_size_does_not_hide_a_bomb(tmp_path: Path) -> None:
    # 3 MiB of zeros deflate to a few KiB; the directory then claims ~4 GiB were compressed,
    # so the entry's own ratio looks harmless. The archive's real size still gives it away.
    archive = make_zip(tmp_path / "in.zip", [("result.json", b"\0" * (3 * 1024 * 1024))])
    data = bytearray(archive.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[central + 20 : central + 24] = (0xFFFF_FFFE).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    dest = tmp_path / "out"
    dest.mkdir()
    limits = ZipLimits(max_entries=10, max_bytes=4 * 1024 * 1024, max_ratio=20, ratio_floor=1024)
    with pytest.raises(UnsafeZip) as problem:
        extract(archive, dest, limits)
    assert problem.value.code == "zip-bomb", problem.value
    assert "as a whole" in str(problem.value)


def test_not_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "in.zip"
    archive.write_bytes(b"this is not a zip")
    with pytest.raises(UnsafeZip) as problem:
        extract(archive, tmp_path, LIMITS)
    assert problem.value.code == "not-a-zip" and "zip the export folder" in str(problem.value)
