"""Walk files and folders for a scan: every file once, problems reported, never fatal."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class WalkProblem:
    """A path the walk could not follow: a symlink loop, an unreadable folder, a missing path."""

    path: str
    reason: str
    message: str


def walk(paths: Iterable[Path]) -> Iterator[Path | WalkProblem]:
    """Yield each regular file under ``paths`` once (sorted, symlinks followed) or a problem.

    Folders are identified by (device, inode), so a symlink loop or two links to one folder
    are reported instead of walked forever.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for root in paths:
        yield from _walk_one(Path(root), seen_dirs, seen_files)


def _walk_one(
    path: Path, seen_dirs: set[tuple[int, int]], seen_files: set[tuple[int, int]]
) -> Iterator[Path | WalkProblem]:
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            yield WalkProblem(str(path), "broken_link", f"{path}: symlink to a missing target")
        else:
            yield WalkProblem(str(path), "missing", f"{path}: no such file or folder")
        return
    except OSError as exc:
        yield WalkProblem(str(path), _os_reason(exc), f"{path}: cannot read: {exc.strerror}")
        return
    key = (st.st_dev, st.st_ino)
    if stat.S_ISREG(st.st_mode):
        if key not in seen_files:
            seen_files.add(key)
            yield path
        return
    if not stat.S_ISDIR(st.st_mode):
        yield WalkProblem(str(path), "not_a_file", f"{path}: not a regular file or folder")
        return
    if key in seen_dirs:
        yield WalkProblem(
            str(path), "symlink_loop", f"{path}: folder already walked (symlink loop?); skipped"
        )
        return
    seen_dirs.add(key)
    try:
        children = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        yield WalkProblem(str(path), _os_reason(exc), f"{path}: cannot list: {exc.strerror}")
        return
    for child in children:
        yield from _walk_one(Path(child.path), seen_dirs, seen_files)


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink_loop"
    return "permission_denied" if isinstance(exc, PermissionError) else "unreadable"
