"""Reading ``jikimi hash --json`` lines made on a person's own device: the hashes of each
record, bad lines as :class:`~jikimi.errors.ImportFormatError` with their number (as bank
imports report them), records that carry an error skipped with a note.
:func:`read_hash_records` gathers them for ``jikimi person add-hashes`` and for an enrolment
from hashes (``jikimi person enroll --hashes``, the console's enrolment form)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from jikimi.banks.formats import check_length
from jikimi.errors import ImportFormatError, JikimiError
from jikimi.signals.base import SIGNAL_FORMATS, validate_value

HASH_FIELDS = tuple(SIGNAL_FORMATS)  # the record fields that go into the person's bank


@dataclass(frozen=True)
class HashRecord:
    line: int
    pairs: list[tuple[str, str]]


@dataclass(frozen=True)
class Skipped:
    line: int
    note: str


@dataclass
class HashLines:
    """The hashes of a whole ``jikimi hash --json`` output: the ``(signal type, value)`` pairs
    of the good records in order, rejected lines ``(line, reason)`` and skipped records
    ``(line, note)``."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def read_hash_records(lines: Iterable[str]) -> HashLines:
    """Every line of a ``jikimi hash --json`` output sorted into hashes, rejected lines and
    skipped records; the reasons carry no ``line N:`` prefix (the number is beside them)."""
    read = HashLines()
    for item in parse_hash_records(lines):
        if isinstance(item, ImportFormatError):
            read.rejected.append((item.line, str(item).removeprefix(f"line {item.line}: ")))
        elif isinstance(item, Skipped):
            read.skipped.append((item.line, item.note))
        else:
            read.pairs.extend(item.pairs)
    return read


def parse_hash_records(lines: Iterable[str]) -> Iterator[HashRecord | Skipped | ImportFormatError]:
    """The hashes of each ``jikimi hash --json`` line; bad lines come out as
    :class:`ImportFormatError` with their 1-based number, as bank imports report them."""
    for line_no, raw in enumerate(lines, start=1):
        try:
            check_length(raw, line_no)
            if not raw.strip():
                continue
            yield _record(line_no, raw)
        except ImportFormatError as exc:
            yield exc


def _record(line_no: int, raw: str) -> HashRecord | Skipped:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"not JSON ({exc.msg}); expected a `jikimi hash --json` line", line_no
        ) from None
    if not isinstance(record, dict):
        raise ImportFormatError("expected a JSON object from `jikimi hash --json`", line_no)
    if record.get("error"):
        return Skipped(line_no, f"skipped: the record carries an error ({record['error']})")
    pairs = []
    for signal_type in HASH_FIELDS:
        value = record.get(signal_type)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ImportFormatError(f"{signal_type} must be a string", line_no)
        try:
            pairs.append((signal_type, validate_value(signal_type, value)))
        except JikimiError as exc:
            raise ImportFormatError(str(exc), line_no) from None
    if not pairs:
        raise ImportFormatError(
            f"no hash in the record (expected one of {', '.join(HASH_FIELDS)})", line_no
        )
    return HashRecord(line_no, pairs)
