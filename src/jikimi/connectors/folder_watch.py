"""A drop box: files that appear in a folder become items, one file an item.

A platform (or a person with a shared folder) drops media files into the inbox, each
optionally with a sidecar ``<file>.jikimi.json`` that says where it was seen::

    {"platform": "telegram", "chat_id": "-100123", "message_id": "42",
     "url": "https://t.me/somechannel/42", "author_id": "user77",
     "posted_at": "2024-08-26T09:15:00+00:00", "text": "caption", "external_id": "abc",
     "file_ids": ["AQADxyz"], "meta": {...}}

A file is taken once it has stopped changing (same size and modification time on two looks,
and older than ``settle_seconds``), so a half-copied file is never analysed. Hidden files,
``*.part``/``*.tmp``/``*.crdownload`` and ``*~`` are left alone. Each taken file goes through
:meth:`Service.ingest` (signals, matches, policy, case, outbox) and is then moved to
``.jikimi/done/`` inside the inbox (or deleted with ``after="delete"``); a file that could not
be recorded (a bad sidecar, a store error) moves to ``.jikimi/failed/`` with
``<name>.error.txt`` saying what was wrong. Nothing is lost: a process killed between
recording and moving records the same item again under the same ``external_id``, which
answers the first one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from jikimi.errors import IndexesLoading, JikimiError
from jikimi.pipeline.item import Upload
from jikimi.signals.extractor import TextInput
from jikimi.store.items_repo import NewItem

if TYPE_CHECKING:
    from jikimi.web.service import Service

__all__ = ["FolderWatch", "SidecarError", "Taken", "WatchOptions"]

SIDECAR_SUFFIX = ".jikimi.json"
SIDECAR_MAX_BYTES = 64 * 1024
STATE_DIR = ".jikimi"
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", "~")
_STRING_FIELDS = ("platform", "chat_id", "message_id", "url", "author_id", "text", "external_id")
_KNOWN_FIELDS = frozenset((*_STRING_FIELDS, "posted_at", "file_ids", "meta"))


class SidecarError(JikimiError):
    """A sidecar file that cannot be used; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class WatchOptions:
    settle_seconds: float = 2.0
    after: Literal["move", "delete"] = "move"
    platform: str = "folder"


@dataclass(frozen=True, slots=True)
class Taken:
    """What became of one dropped file."""

    file: str
    item_id: int | None = None
    outcome: str | None = None
    case_id: int | None = None
    created: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "item_id": self.item_id,
            "outcome": self.outcome,
            "case_id": self.case_id,
            "created": self.created,
            "error": self.error,
        }


class FolderWatch:
    def __init__(self, service: Service, inbox: Path, options: WatchOptions, *, actor: str) -> None:
        if not inbox.is_dir():
            raise JikimiError(f"{inbox} is not a folder; create it or name the drop-box folder")
        self._service = service
        self._inbox = inbox.resolve()
        self._options = options
        self._actor = actor
        self._seen: dict[Path, tuple[int, int]] = {}

    @property
    def done_dir(self) -> Path:
        return self._inbox / STATE_DIR / "done"

    @property
    def failed_dir(self) -> Path:
        return self._inbox / STATE_DIR / "failed"

    def run(self, stop: threading.Event, *, poll_seconds: float = 2.0) -> Iterator[Taken]:
        """Poll until ``stop`` is set, yielding each file taken."""
        while not stop.is_set():
            yield from self.poll()
            stop.wait(poll_seconds)

    def poll(self) -> list[Taken]:
        """Take every file that has settled since the last look."""
        return [self.take(path) for path in self._settled()]

    def take(self, path: Path) -> Taken:
        relative = path.relative_to(self._inbox).as_posix()
        try:
            item, file_ids = self._item_for(path, relative)
            recorded, analysis = self._service.ingest(
                item,
                [Upload(path, path.name)],
                text=TextInput({"caption": item.text}) if item.text else None,
                signals=(),
                actor=self._actor,
                file_ids=file_ids,
            )
        except IndexesLoading:
            raise  # not the file's fault: it waits in the inbox for the next look
        except JikimiError as exc:
            return self._failed(path, relative, str(exc))
        outcome = analysis.verdict.outcome if analysis and analysis.verdict else None
        self._finish(path)
        return Taken(
            relative,
            item_id=recorded.item_id,
            outcome=outcome,
            case_id=recorded.case_id,
            created=recorded.created,
        )

    # -- which files ----------------------------------------------------------------------------

    def _settled(self) -> list[Path]:
        now = time.time()
        ready: list[Path] = []
        current: dict[Path, tuple[int, int]] = {}
        for path in sorted(self._candidates()):
            try:
                stat = path.stat()
            except OSError:
                continue  # gone between the listing and the look
            mark = (stat.st_size, stat.st_mtime_ns)
            current[path] = mark
            old_enough = now - stat.st_mtime >= self._options.settle_seconds
            unchanged = self._options.settle_seconds <= 0 or self._seen.get(path) == mark
            if old_enough and unchanged:
                ready.append(path)
        self._seen = current
        return ready

    def _candidates(self) -> Iterator[Path]:
        for path in self._inbox.rglob("*"):
            parts = path.relative_to(self._inbox).parts
            if any(part.startswith(".") for part in parts):
                continue  # hidden files, and .jikimi/ where taken files go
            name = path.name
            if name.endswith(SIDECAR_SUFFIX) or name.endswith(PARTIAL_SUFFIXES):
                continue
            if path.is_symlink() or not path.is_file():
                continue  # a link could point anywhere: only files put here are taken
            yield path

    # -- one file -------------------------------------------------------------------------------

    def _item_for(self, path: Path, relative: str) -> tuple[NewItem, list[str]]:
        side = read_sidecar(_sidecar(path))
        stat = path.stat()
        external_id = side.get("external_id") or (
            f"folder:{relative}:{stat.st_size}:{stat.st_mtime_ns}"
        )
        meta = dict(side.get("meta") or {})
        meta["dropped_as"] = relative
        item = NewItem(
            platform=side.get("platform") or self._options.platform,
            submitted_by=self._actor,
            chat_id=side.get("chat_id"),
            message_id=side.get("message_id"),
            url=side.get("url"),
            author_id=side.get("author_id"),
            posted_at=side.get("posted_at"),
            text=side.get("text"),
            meta=meta,
            external_id=external_id,
        )
        return item, list(side.get("file_ids") or ())

    def _finish(self, path: Path) -> None:
        sidecar = _sidecar(path)
        if self._options.after == "delete":
            path.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)
            return
        target = _free_name(self.done_dir / path.relative_to(self._inbox))
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
        if sidecar.exists():
            sidecar.replace(target.with_name(target.name + SIDECAR_SUFFIX))

    def _failed(self, path: Path, relative: str, error: str) -> Taken:
        target = _free_name(self.failed_dir / path.relative_to(self._inbox))
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
        sidecar = _sidecar(path)
        if sidecar.exists():
            sidecar.replace(target.with_name(target.name + SIDECAR_SUFFIX))
        target.with_name(target.name + ".error.txt").write_text(
            f"{relative}: {error}\nFix the problem, then move the file back into the inbox.\n",
            encoding="utf-8",
        )
        self._seen.pop(path, None)
        return Taken(relative, error=error)


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar's fields, checked; an empty dict when there is none."""
    if not path.exists():
        return {}
    name = path.name
    if path.stat().st_size > SIDECAR_MAX_BYTES:
        raise SidecarError(f"{name} is larger than {SIDECAR_MAX_BYTES // 1024} KiB; keep it short")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SidecarError(f"{name} is not valid UTF-8 JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SidecarError(f"{name} must hold a JSON object, not {type(data).__name__}")
    problems = [f"unknown field {key!r}" for key in sorted(set(data) - _KNOWN_FIELDS)]
    for key in _STRING_FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str | int):
            problems.append(f"{key} must be a string")
        elif value is not None:
            data[key] = str(value)
    ids = data.get("file_ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        problems.append("file_ids must be a list of strings")
    if data.get("meta") is not None and not isinstance(data["meta"], dict):
        problems.append("meta must be an object")
    posted = data.get("posted_at")
    if posted is not None:
        data["posted_at"] = _timestamp(posted, problems)
    if problems:
        raise SidecarError(f"{name}: " + "; ".join(problems))
    return data


def _timestamp(value: object, problems: list[str]) -> datetime | None:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    problems.append("posted_at must be an ISO 8601 time with a zone, e.g. 2024-08-26T09:15:00Z")
    return None


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _free_name(target: Path) -> Path:
    """``target``, or ``name.1.ext``, ``name.2.ext``... when a file of that name is there."""
    if not target.exists():
        return target
    for n in range(1, 1_000_000):
        candidate = target.with_name(f"{target.stem}.{n}{target.suffix}")
        if not candidate.exists():
            return candidate
    raise JikimiError(f"too many files named {target.name} in {target.parent}; empty it")
