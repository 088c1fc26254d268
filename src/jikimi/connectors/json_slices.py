"""The exact bytes of chosen values of a JSON document (RFC 8259), read as a stream.

Evidence is kept as it was received: a Telegram Desktop export's messages and a Bot API
update's message are stored byte for byte, never re-serialised. :func:`scan` reads a document
in chunks and yields, in document order:

* :class:`Slice`: the exact bytes of each value at a ``slices`` path (``("messages", "*")``:
  each item of the root's ``messages`` array), for the caller to ``json.loads``;
* :class:`Scalar`: each string, number, boolean or null at a ``scalars`` path, decoded;
* :class:`Opened`: each object or array opening at an ``opened`` path;
* :class:`Skipped`: a value at a ``slices`` path that is longer than ``max_slice_bytes`` or
  nested deeper than ``max_depth`` (a hostile element is a problem, not a MemoryError or a
  RecursionError); its bytes are dropped as they are read and scanning goes on.

A path is a tuple of object keys, with :data:`ANY` (``"*"``) for any item of an array.

It is a structural scanner, not a parser: compiled regular expressions jump from one bracket
to the next and over whole strings (escapes included), so Python runs a few steps per value,
not one per byte; most values of a few nesting levels are matched whole by one expression.
Memory holds one chunk plus the slice being read. The path from the root to the watched
values is checked token by token (keys, colons, commas); a value off that path is only checked
for balanced brackets and closed strings, and a slice is checked by the caller's ``json.loads``.
A document that ends early or breaks that structure raises :class:`JsonSliceError` after every
event before the damage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from io import BytesIO
from typing import Any, BinaryIO, Literal, NamedTuple

__all__ = [
    "ANY",
    "CHUNK_BYTES",
    "MAX_DEPTH",
    "MAX_SLICE_BYTES",
    "Event",
    "JsonPath",
    "JsonSliceError",
    "Opened",
    "Scalar",
    "Skipped",
    "Slice",
    "scan",
]

ANY = "*"
CHUNK_BYTES = 256 * 1024
MAX_SLICE_BYTES = 16 * 1024**2
MAX_DEPTH = 64

JsonPath = tuple[str, ...]


class Slice(NamedTuple):
    """The bytes of one value at ``path``, from byte ``offset`` of the document."""

    path: JsonPath
    data: bytes
    offset: int


class Scalar(NamedTuple):
    path: JsonPath
    value: Any


class Opened(NamedTuple):
    path: JsonPath
    kind: Literal["object", "array"]


class Skipped(NamedTuple):
    """A value at a ``slices`` path that was not kept, and why."""

    path: JsonPath
    offset: int
    size: int
    reason: str


Event = Slice | Scalar | Opened | Skipped


class JsonSliceError(ValueError):
    """The document is truncated or malformed at byte ``offset``."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte {offset})")
        self.offset = offset


# A string, escapes included; anything but quotes and brackets; both as runs, never backtracked.
_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_FLAT = rb'(?:[^"{}\[\]]++|' + _STRING + rb")*+"
_FAST_DEPTH = 8  # containers nested up to this deep are matched whole by one expression


def _nested(depth: int) -> bytes:
    inner = _FLAT
    for _ in range(depth - 1):
        inner = rb'(?:[^"{}\[\]]++|' + _STRING + rb"|[\[{]" + inner + rb"[\]}])*+"
    return rb"[\[{]" + inner + rb"[\]}]"


_CONTAINER_RE = re.compile(_nested(_FAST_DEPTH), re.DOTALL)
_TO_BRACKET_RE = re.compile(_FLAT + rb"[\[\]{}]", re.DOTALL)
_FLAT_RE = re.compile(_FLAT, re.DOTALL)
_STRING_PART_RE = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL)  # after the quote
_STRING_REST_RE = re.compile(_STRING_PART_RE.pattern + b'"', re.DOTALL)
_LITERAL_RE = re.compile(rb'[^ \t\n\r,:\[\]{}"]*+')
_SPACE_RE = re.compile(rb"[ \t\n\r]*+")
_QUOTE, _COLON, _COMMA = ord('"'), ord(":"), ord(",")
_OPEN_OBJECT, _CLOSE_OBJECT, _OPEN_ARRAY, _CLOSE_ARRAY = b"{}[]"
_OPENERS = b"{["


def scan(
    source: bytes | BinaryIO,
    *,
    slices: Collection[JsonPath],
    scalars: Collection[JsonPath] = (),
    opened: Collection[JsonPath] = (),
    chunk_bytes: int = CHUNK_BYTES,
    max_slice_bytes: int = MAX_SLICE_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Iterator[Event]:
    """The events of ``source`` (bytes, or a binary file read ``chunk_bytes`` at a time) for
    the watched paths, in document order; :class:`JsonSliceError` where it is damaged."""
    scanner = _Scanner(
        source if isinstance(source, bytes | bytearray) else None,
        None if isinstance(source, bytes | bytearray) else source,
        _Watch(frozenset(slices), frozenset(scalars), frozenset(opened)),
        _Limits(max(chunk_bytes, 1), max_slice_bytes, max_depth),
    )
    return scanner.events()


class _Watch(NamedTuple):
    slices: frozenset[JsonPath]
    scalars: frozenset[JsonPath]
    opened: frozenset[JsonPath]

    def descends(self) -> frozenset[JsonPath]:
        """The containers to walk into: those on the way to a watched path."""
        watched = self.slices | self.scalars | self.opened
        return frozenset(path[:end] for path in watched for end in range(len(path)))


class _Limits(NamedTuple):
    chunk_bytes: int
    max_slice_bytes: int
    max_depth: int


class _Scanner:
    """A buffer over the source: ``_buf[_pos:]`` is unread, ``_base`` is the offset of
    ``_buf[0]`` in the document, ``_mark`` where the value being kept starts (None: nothing
    is kept). A read drops the bytes before the mark (or before ``_pos``) and shifts both; it
    drops the mark too, setting ``_dropped``, once the value is longer than the bound."""

    def __init__(
        self, data: bytes | None, stream: BinaryIO | None, watch: _Watch, limits: _Limits
    ) -> None:
        self._buf = bytes(data) if data is not None else b""
        self._read = (stream or BytesIO()).read
        self._eof = data is not None
        self._pos = 0
        self._base = 0
        self._mark: int | None = None
        self._dropped = False
        self._watch = watch
        self._descends = watch.descends()
        self._limits = limits
        # The one-expression match does not count levels: only when the bound allows them all.
        self._whole = _CONTAINER_RE.match if limits.max_depth >= _FAST_DEPTH else None

    def events(self) -> Iterator[Event]:
        yield from self._value(())
        if self._peek(required=False) is not None:
            raise self._error("more data after the document")

    # -- the path to the watched values, token by token --------------------------------------

    def _value(self, path: JsonPath) -> Iterator[Event]:
        byte = self._peek()
        if path in self._watch.slices:
            yield self._slice(path, byte)
        elif byte in _OPENERS:
            if path in self._watch.opened:
                yield Opened(path, "object" if byte == _OPEN_OBJECT else "array")
            if path not in self._descends:
                self._container()
            elif byte == _OPEN_OBJECT:
                yield from self._object(path)
            else:
                yield from self._array(path)
        else:
            value = self._scalar(byte)
            if path in self._watch.scalars:
                yield Scalar(path, value)

    def _object(self, path: JsonPath) -> Iterator[Event]:
        self._pos += 1
        if self._peek() == _CLOSE_OBJECT:
            self._pos += 1
            return
        while True:
            if self._peek() != _QUOTE:
                raise self._error("expected a key")
            key = self._scalar(_QUOTE)
            if self._peek() != _COLON:
                raise self._error("expected ':' after a key")
            self._pos += 1
            yield from self._value((*path, key))
            if self._after_member(_CLOSE_OBJECT):
                return

    def _array(self, path: JsonPath) -> Iterator[Event]:
        self._pos += 1
        if self._peek() == _CLOSE_ARRAY:
            self._pos += 1
            return
        item = (*path, ANY)
        if item in self._watch.slices:  # the hot loop: a message list, one slice per item
            while True:
                yield self._slice(item, self._peek())
                if self._after_member(_CLOSE_ARRAY):
                    return
        while True:
            yield from self._value(item)
            if self._after_member(_CLOSE_ARRAY):
                return

    def _after_member(self, close: int) -> bool:
        """Past the ',' before another member (False) or the closing bracket (True)."""
        byte = self._peek()
        self._pos += 1
        if byte == close:
            return True
        if byte != _COMMA:
            self._pos -= 1
            raise self._error(f"expected ',' or '{chr(close)}'")
        return False

    def _scalar(self, byte: int) -> Any:
        """The key or scalar at ``_pos``, decoded."""
        start = self._keep()
        self._string() if byte == _QUOTE else self._literal()
        if self._mark is None:
            raise self._error(f"a key or value longer than {self._limits.max_slice_bytes} bytes")
        token, self._mark = self._buf[self._mark : self._pos], None
        try:
            return json.loads(token)
        except ValueError:
            raise JsonSliceError("not a JSON value", start) from None

    # -- slices ----------------------------------------------------------------------------

    def _slice(self, path: JsonPath, byte: int) -> Slice | Skipped:
        offset = self._keep()
        reason = None
        if byte in _OPENERS:
            reason = self._container()
        elif byte == _QUOTE:
            self._string()
        else:
            self._literal()
        size = self._base + self._pos - offset
        if reason is None and (self._dropped or size > self._limits.max_slice_bytes):
            reason = f"longer than {self._limits.max_slice_bytes} bytes"
        mark, self._mark = self._mark, None
        if reason is not None:
            return Skipped(path, offset, size, reason)
        assert mark is not None  # only a reason drops the mark
        return Slice(path, self._buf[mark : self._pos], offset)

    def _keep(self) -> int:
        """Keep the bytes from ``_pos`` on; their offset in the document."""
        self._mark, self._dropped = self._pos, False
        return self._base + self._pos

    def _container(self) -> str | None:
        """Move past the object or array at ``_pos``; why it cannot be kept (too deep), if so:
        it is then dropped as it is read."""
        whole = self._whole(self._buf, self._pos) if self._whole is not None else None
        if whole is not None:
            self._pos = whole.end()
            return None
        depth, reason = 0, None
        while True:
            found = _TO_BRACKET_RE.match(self._buf, self._pos)
            if found is None:  # a string or the buffer ends first: go on from there
                self._pos = _FLAT_RE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
                if self._pos < len(self._buf):
                    self._string()
                else:
                    self._more("inside a value")
                continue
            self._pos = found.end()
            if self._buf[self._pos - 1] in _OPENERS:
                depth += 1
                if depth > self._limits.max_depth and reason is None:
                    reason, self._mark = f"nested deeper than {self._limits.max_depth} levels", None
            else:
                depth -= 1
                if depth == 0:
                    return reason

    def _string(self) -> None:
        """Move past the string at ``_pos``, reading on until it closes."""
        self._pos += 1
        while True:
            found = _STRING_REST_RE.match(self._buf, self._pos)
            if found is not None:
                self._pos = found.end()
                return
            # Not closed in the buffer: keep only a trailing backslash, whose escape is unread.
            self._pos = _STRING_PART_RE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            self._more("inside a string")

    def _literal(self) -> None:
        """Move past the number, ``true``, ``false`` or ``null`` at ``_pos``."""
        if self._buf[self._pos] in b",:]}":
            raise self._error("expected a value")
        while True:
            self._pos = _LITERAL_RE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf) or not self._fill():
                return

    # -- the buffer ------------------------------------------------------------------------

    def _peek(self, *, required: bool = True) -> int | None:
        """The next byte that is not white space (None at the end when not ``required``)."""
        while True:
            self._pos = _SPACE_RE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if required:
                self._more("where a value or a bracket should follow")
            elif not self._fill():
                return None

    def _more(self, where: str) -> None:
        """:meth:`_fill`, or :class:`JsonSliceError` saying the document ends ``where``."""
        if not self._fill():
            raise self._error(f"the document ends {where}")

    def _fill(self) -> bool:
        """Read the next chunk (False at the end of the source), dropping what is not kept."""
        chunk = b"" if self._eof else self._read(self._limits.chunk_bytes)
        if not chunk:
            self._eof = True
            return False
        keep = self._pos if self._mark is None else self._mark
        self._buf = self._buf[keep:] + chunk
        self._base += keep
        self._pos -= keep
        if self._mark is not None:
            self._mark -= keep
            if len(self._buf) - self._mark > self._limits.max_slice_bytes:
                self._mark, self._dropped = None, True
        return True

    def _error(self, message: str) -> JsonSliceError:
        return JsonSliceError(message, self._base + self._pos)
