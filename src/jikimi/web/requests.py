"""Reading item and check requests: JSON (signals and text) or multipart (media files plus
JSON metadata). Uploads go to private temporary files that the caller deletes; size limits are
enforced before anything is read whole (see :class:`~jikimi.web.middleware.BodyLimit`)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from jikimi.pipeline.item import Upload
from jikimi.web.problems import Problem

MAX_FILES = 10
COPY_CHUNK = 1024 * 1024
M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class Parsed:
    meta: BaseModel | None = None
    uploads: list[Upload] = field(default_factory=list)


def unsupported(content_type: str) -> Problem:
    return Problem(
        415,
        "unsupported-media-type",
        "Unsupported content type",
        f"content type {content_type or '(none)'!r} is not accepted here; send "
        "application/json (signals and text) or multipart/form-data (files under `media`, "
        "JSON metadata under `item`)",
    )


def invalid(exc: ValidationError, where: str) -> Problem:
    fields = [
        {"field": ".".join(str(p) for p in e["loc"]) or where, "message": e["msg"]}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return Problem(
        422,
        "invalid-request",
        "Invalid request",
        f"{where} does not match the schema ({summary}); fix these fields, the schema is at "
        "/openapi.json",
        errors=fields,
    )


@contextlib.asynccontextmanager
async def read_request(
    request: Request, model: type[M], tmp: Path, *, meta_field: str
) -> AsyncIterator[Parsed]:
    """Parse ``model`` from a JSON body or from the multipart field ``meta_field``, and save
    multipart files under ``media`` to private files in ``tmp``, deleted on exit."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        try:
            yield Parsed(model.model_validate_json(body))
        except ValidationError as exc:
            raise invalid(exc, "the JSON body") from None
        return
    if content_type != "multipart/form-data":
        raise unsupported(content_type)
    parsed = Parsed()
    try:
        async with request.form(max_files=MAX_FILES, max_fields=20) as form:
            unknown = sorted(k for k in form if k not in (meta_field, "media"))
            if unknown:
                raise Problem(
                    422,
                    "invalid-request",
                    "Unknown form fields",
                    f"unknown form fields {unknown}; send files as `media` and the JSON "
                    f"metadata as `{meta_field}`",
                )
            raw = form.get(meta_field)
            if isinstance(raw, UploadFile):
                raw = (await raw.read(COPY_CHUNK)).decode("utf-8", "replace")
            if raw:
                try:
                    parsed.meta = model.model_validate_json(raw)
                except ValidationError as exc:
                    raise invalid(exc, f"the `{meta_field}` field") from None
            for upload in form.getlist("media"):
                if not isinstance(upload, UploadFile):
                    raise Problem(
                        422,
                        "invalid-request",
                        "Not a file",
                        "`media` must be a file part (with a filename), not a text field",
                    )
                parsed.uploads.append(await _save(upload, tmp))
        if parsed.meta is None:
            try:
                parsed.meta = model()
            except ValidationError:
                raise Problem(
                    422,
                    "invalid-request",
                    "Missing metadata",
                    f"send the metadata as JSON in the `{meta_field}` form field (the schema is "
                    "at /openapi.json)",
                ) from None
        yield parsed
    finally:
        for upload in parsed.uploads:
            upload.path.unlink(missing_ok=True)


async def _save(upload: UploadFile, tmp: Path) -> Upload:
    fd, name = tempfile.mkstemp(dir=tmp)
    with os.fdopen(fd, "wb") as out:
        while chunk := await upload.read(COPY_CHUNK):
            out.write(chunk)
    # Only the base name: a client's path says nothing we want to record.
    filename = Path(upload.filename or "").name[:200] or None
    return Upload(Path(name), filename)
