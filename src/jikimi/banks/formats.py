"""Hash-list formats for bank import and export.

- ``txt``: python-threatexchange's signal text format, ``<signal_type> <value>`` one per line;
  blank lines and ``#`` comments are ignored.
- ``csv``: a header ``signal_type,value[,note,labels]``, then one entry per line; ``labels`` is
  a ``;``-separated list. Each physical line is one record (quoted fields may not span lines).

Parsers stream: they take any iterable of lines and hold one line at a time. Lines longer than
:data:`MAX_LINE_CHARS` are rejected with a clear reason; :func:`iter_lines` reads a binary file
without ever holding more than that much of one line, so a hostile file (one 10 GB line) cannot
exhaust memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from jikimi.errors import ImportFormatError, JikimiError
from jikimi.signals.base import validate_value

# A 4-hour video's vPDQ at one frame a second is about 1.2 MB of text; anything longer is hostile.
MAX_LINE_CHARS = 2_000_000
_READ_CHUNK = 1 << 16
CSV_HEADER = ("signal_type", "value", "note", "labels")
LABEL_SEPARATOR = ";"


@dataclass(frozen=True, slots=True)
class ParsedLine:
    line: int
    signal_type: str
    value: str
    note: str | None = None
    labels: tuple[str, ...] = field(default_factory=tuple)


class _TooLong(str):
    """A line cut at the limit by :func:`iter_lines`; its parser rejects it."""

    __slots__ = ()


def iter_lines(stream: BinaryIO, *, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """Decoded lines (UTF-8, newline stripped) of a binary stream, reading in chunks. A line over
    ``max_chars`` bytes is yielded as a short marker that the parsers reject as too long, and
    the rest of it is skipped without being kept."""
    buf = bytearray()
    skipping = False
    while chunk := stream.read(_READ_CHUNK):
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            piece = chunk[start:] if nl < 0 else chunk[start:nl]
            if not skipping:
                buf += piece
                if len(buf) > max_chars:
                    buf.clear()
                    skipping = True
            if nl < 0:
                break
            yield _TooLong("") if skipping else _decode(buf)
            buf.clear()
            skipping = False
            start = nl + 1
    if skipping:
        yield _TooLong("")
    elif buf:
        yield _decode(buf)


def _decode(raw: bytearray) -> str:
    return raw.decode("utf-8", errors="replace").removesuffix("\r")


def check_length(line: str, line_no: int) -> None:
    if isinstance(line, _TooLong) or len(line) > MAX_LINE_CHARS:
        raise ImportFormatError(f"line longer than {MAX_LINE_CHARS} characters; skipped", line_no)


def _validated(line_no: int, signal_type: str, value: str) -> tuple[str, str]:
    try:
        return signal_type, validate_value(signal_type, value)
    except JikimiError as exc:
        raise ImportFormatError(str(exc), line_no) from None


def parse_txt(lines: Iterable[str]) -> Iterator[ParsedLine | ImportFormatError]:
    """Entries of a threatexchange text list; bad lines come out as :class:`ImportFormatError`
    values (with the 1-based line number) so one bad line never stops an import."""
    for line_no, raw in enumerate(lines, start=1):
        try:
            check_length(raw, line_no)
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            signal_type, _, value = line.partition(" ")
            if not value.strip():
                raise ImportFormatError("expected '<signal_type> <value>'", line_no)
            yield ParsedLine(line_no, *_validated(line_no, signal_type, value.strip()))
        except ImportFormatError as exc:
            yield exc


def parse_csv(lines: Iterable[str]) -> Iterator[ParsedLine | ImportFormatError]:
    """Entries of a CSV list with header ``signal_type,value[,note,labels]``."""
    columns: list[str] | None = None
    for line_no, raw in enumerate(lines, start=1):
        try:
            check_length(raw, line_no)
            if not raw.strip():
                continue
            try:
                row = next(csv.reader([raw]))
            except csv.Error as exc:
                raise ImportFormatError(f"not a CSV record: {exc}", line_no) from None
            if columns is None:
                columns = _header(row, line_no)
                continue
            yield _csv_entry(dict(zip(columns, row, strict=False)), len(row), columns, line_no)
        except ImportFormatError as exc:
            if columns is None:
                # Without a header no line can be read; report once and stop.
                yield exc
                return
            yield exc


def _header(row: list[str], line_no: int) -> list[str]:
    columns = [c.strip().lower() for c in row]
    if columns[:2] != ["signal_type", "value"] or not set(columns) <= set(CSV_HEADER):
        raise ImportFormatError(
            f"CSV header must be 'signal_type,value[,note,labels]', got {','.join(row)[:200]!r}",
            line_no,
        )
    return columns


def _csv_entry(record: dict[str, str], width: int, columns: list[str], line_no: int) -> ParsedLine:
    if width != len(columns):
        raise ImportFormatError(f"expected {len(columns)} fields, got {width}", line_no)
    signal_type, value = _validated(line_no, record["signal_type"].strip(), record["value"])
    note = record.get("note") or None
    labels = tuple(
        label.strip() for label in record.get("labels", "").split(LABEL_SEPARATOR) if label.strip()
    )
    return ParsedLine(line_no, signal_type, value, note, labels)


def format_txt(entries: Iterable[tuple[str, str]]) -> Iterator[str]:
    """Lines (without newline) of the text format, from ``(signal_type, value)`` pairs."""
    for signal_type, value in entries:
        yield f"{signal_type} {value}"


def format_csv(entries: Iterable[tuple[str, str, str | None, Iterable[str]]]) -> Iterator[str]:
    """Lines (without newline) of the CSV format: header, then one per entry."""
    yield ",".join(CSV_HEADER)
    for signal_type, value, note, labels in entries:
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(
            [signal_type, value, _one_line(note or ""), LABEL_SEPARATOR.join(labels)]
        )
        yield out.getvalue()


def _one_line(text: str) -> str:
    # One physical line per record, so imports can stream and number lines.
    return " ".join(text.splitlines())
