"""Forms with files, read into memory only (the admin pages, the public takedown form).

Starlette's form parser spools a file over 1 MiB to a temporary file on disk; a protected
person's reference photo, or a victim's picture, must never touch the disk unencrypted, so
these forms are read here instead: python-multipart's streaming parser (the one Starlette
uses) with every part kept in memory and the whole body capped while it streams (never
trusting ``Content-Length`` alone). :func:`read_upload` adds the checks of
:func:`jikimi.console.web.form` for signed-in users: the post must come from this site
(checked before the body is read) and carry the session's CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from fastapi import Request
from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from jikimi.console.sessions import SignedIn
from jikimi.console.web import MAX_FORM_BYTES, FormError, check_origin, check_token

__all__ = ["Upload", "UploadError", "UploadedFile", "read_form_data", "read_upload"]

MAX_FIELDS = 50


@dataclass(frozen=True, slots=True)
class UploadedFile:
    field: str
    filename: str
    data: bytes = field(repr=False)


@dataclass(slots=True)
class Upload:
    """The text fields and files of a posted form."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def files_of(self, name: str) -> list[UploadedFile]:
        """The files posted under ``name``; a file input left empty sends a nameless, empty
        part, which is not a file."""
        return [f for f in self.files if f.field == name and (f.filename or f.data)]


@dataclass(slots=True)
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _Collector:
    """python-multipart callbacks that keep each part in memory, within the limits."""

    def __init__(self, max_files: int, max_field_bytes: int, max_fields: int) -> None:
        self.upload = Upload()
        self.max_files = max_files
        self.max_field_bytes = max_field_bytes
        self.max_fields = max_fields
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""

    def on_part_begin(self) -> None:
        self._part = _Part()
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise UploadError("malformed")
        self._part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self._part.filename = options[b"filename"].decode("utf-8", "replace")[:255]
            if len(self.upload.files) >= self.max_files:
                raise UploadError("too_many_files")
        elif len(self.upload.fields) >= self.max_fields:
            raise UploadError("malformed")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._part.data += data[start:end]
        if self._part.filename is None and len(self._part.data) > self.max_field_bytes:
            raise UploadError("field_too_large")

    def on_part_end(self) -> None:
        part = self._part
        if part.filename is None:
            self.upload.fields[part.name] = part.data.decode("utf-8", "replace")
        else:
            self.upload.files.append(UploadedFile(part.name, part.filename, bytes(part.data)))
        self._part = _Part()


class UploadError(Exception):
    """A posted form the reader refuses; ``reason`` is ``too_large`` (the whole body, 413),
    ``too_many_files`` (413), ``field_too_large`` (a text field, 413) or ``malformed`` (400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = 400 if reason == "malformed" else 413


async def read_form_data(
    request: Request,
    *,
    max_bytes: int,
    max_files: int,
    max_field_bytes: int = MAX_FORM_BYTES,
    max_fields: int = MAX_FIELDS,
) -> Upload:
    """The posted form (``multipart/form-data``, or URL-encoded text fields), in memory: the
    body capped at ``max_bytes`` (``Content-Length`` first, then as it streams), at most
    ``max_files`` files and ``max_fields`` text fields of ``max_field_bytes`` each. Raises
    :class:`UploadError`. No CSRF check here: callers make theirs."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise UploadError("too_large")
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind == b"application/x-www-form-urlencoded":
        return Upload(await _url_encoded(request, max_bytes, max_fields))
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadError("malformed")
    collector = _Collector(max_files, max_field_bytes, max_fields)
    callbacks = {
        "on_part_begin": collector.on_part_begin,
        "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value,
        "on_header_end": collector.on_header_end,
        "on_headers_finished": collector.on_headers_finished,
        "on_part_data": collector.on_part_data,
        "on_part_end": collector.on_part_end,
    }
    parser = MultipartParser(options[b"boundary"], callbacks)  # type: ignore[arg-type]
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > max_bytes:
                raise UploadError("too_large")
            parser.write(chunk)
        parser.finalize()
    except ParseError:  # a malformed body
        raise UploadError("malformed") from None
    return collector.upload


async def _url_encoded(request: Request, max_bytes: int, max_fields: int) -> dict[str, str]:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise UploadError("too_large")
    try:
        return dict(parse_qsl(raw.decode("utf-8", "replace"), max_num_fields=max_fields))
    except ValueError:
        raise UploadError("malformed") from None


# The admin pages' texts for the reader's refusals.
_ADMIN_KEYS = {
    "too_large": "admin.upload_too_large",
    "too_many_files": "admin.upload_too_many",
    "field_too_large": "error.form_too_large",
    "malformed": "admin.upload_bad",
}


async def read_upload(
    request: Request,
    who: SignedIn,
    *,
    max_bytes: int,
    max_files: int,
    max_field_bytes: int = MAX_FORM_BYTES,
) -> Upload:
    """A signed-in user's posted form, in memory, after the CSRF checks (this site's page,
    the session's token). Raises :class:`~jikimi.console.web.FormError` with the admin pages'
    texts: 403, 413 or 400."""
    check_origin(request)
    try:
        upload = await read_form_data(
            request, max_bytes=max_bytes, max_files=max_files, max_field_bytes=max_field_bytes
        )
    except UploadError as exc:
        raise FormError(exc.status, _ADMIN_KEYS[exc.reason]) from None
    check_token(request, upload.fields, who)
    return upload
