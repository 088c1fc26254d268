"""``POST /v1/exports``: a zipped Telegram Desktop export, unpacked safely and ingested.

The zip is saved to a private temp directory under the service's upload folder (mode 0700),
unpacked there by :mod:`jikimi.connectors.safe_zip` (every refusal is a problem document and
nothing is ingested), then each message becomes an item exactly as ``jikimi scan EXPORT`` makes
it (:mod:`jikimi.connectors.export_ingest`), off the event loop on the service's CPU threads.
The directory is deleted when the request ends, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import UploadFile

from jikimi.accounts.roles import Permission, Principal
from jikimi.connectors.export_ingest import (
    ExportSummary,
    MessageResult,
    checkpoint_name,
    ingest_export,
)
from jikimi.connectors.safe_zip import UnsafeZip, ZipLimits, extract
from jikimi.connectors.telegram_export import RESULT_NAME
from jikimi.store.checkpoints import Checkpoints
from jikimi.web.auth import require
from jikimi.web.problems import Problem
from jikimi.web.requests import COPY_CHUNK, unsupported
from jikimi.web.service import Service

router = APIRouter(tags=["items"])

PATH = "/v1/exports"
FIELD = "export"
# Problems listed in the answer; the count is always complete.
MAX_LISTED_PROBLEMS = 1000

EXPORT_BODY_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "The export folder (the one holding result.json), "
                            "zipped.",
                        }
                    },
                }
            }
        }
    }
}


@router.post(PATH, status_code=201, openapi_extra=EXPORT_BODY_DOC)
async def upload_export(
    request: Request,
    response: Response,
    who: Principal = Depends(require(Permission.EXPORTS_INGEST)),
) -> dict[str, Any]:
    """Ingest a zipped Telegram Desktop export (multipart, the zip under ``export``): every
    message becomes an item (201; 200 when every message was recorded before). Answers the
    counts, the item ids and the problems met; an unsafe or oversized zip is refused whole."""
    service: Service = request.app.state.service
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise unsupported(content_type)
    work = Path(tempfile.mkdtemp(prefix="export-", dir=service.tmp))  # mode 0700
    try:
        archive, filename = await _save_upload(request, work)
        summary, results = await to_thread.run_sync(
            partial(_unpack_and_ingest, service, archive, work / "export", who.name, filename),
            limiter=service.cpu_limiter,
        )
    finally:
        await to_thread.run_sync(partial(shutil.rmtree, work, ignore_errors=True))
    if summary.recorded == 0:
        response.status_code = 200
    problems = [_problem_json(r) for r in results if r.problems]
    return {
        **summary.as_dict(),
        "item_ids": summary.item_ids,
        "problems": problems[:MAX_LISTED_PROBLEMS],
        "problems_truncated": len(problems) > MAX_LISTED_PROBLEMS,
    }


async def _save_upload(request: Request, work: Path) -> tuple[Path, str]:
    async with request.form(max_files=1, max_fields=1) as form:
        unknown = sorted(k for k in form if k != FIELD)
        upload = form.get(FIELD)
        if unknown or not isinstance(upload, UploadFile):
            raise Problem(
                422,
                "invalid-request",
                "Send one zip file",
                f"send the zipped export as one file part named `{FIELD}` and nothing else"
                + (f" (unknown fields {unknown})" if unknown else ""),
            )
        archive = work / "upload.zip"
        fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(COPY_CHUNK):
                out.write(chunk)
        return archive, Path(upload.filename or "").name[:200] or "export.zip"


def _unpack_and_ingest(
    service: Service, archive: Path, dest: Path, actor: str, filename: str
) -> tuple[ExportSummary, list[MessageResult]]:
    settings = service.ws.settings
    limits = ZipLimits(
        max_entries=settings.export_max_entries, max_bytes=settings.export_max_unpacked_bytes
    )
    dest.mkdir(mode=0o700)
    try:
        extract(archive, dest, limits)
    except UnsafeZip as exc:
        status, title = (413, "Export too large") if exc.too_large else (422, "Zip refused")
        raise Problem(status, exc.code, title, str(exc)) from None
    archive.unlink()
    folder = _export_folder(dest)
    summary = ExportSummary(filename)
    results = list(ingest_export(service, folder, actor=actor, summary=summary))
    # The progress of an upload is named by its temp path, gone after this request.
    Checkpoints(service.ws.sessions).delete(checkpoint_name(folder))
    return summary, results


def _export_folder(root: Path) -> Path:
    """The folder holding result.json: the zip's root, or the one folder the export was zipped
    as (Telegram names it ``ChatExport_<date>``)."""
    if (root / RESULT_NAME).is_file():
        return root
    found = [p.parent for p in root.glob(f"*/{RESULT_NAME}") if p.is_file()]
    if len(found) == 1:
        return found[0]
    where = "several folders" if found else "the zip"
    raise Problem(
        422,
        "no-export",
        "No Telegram export in the zip",
        f"no single {RESULT_NAME} found in {where}: in Telegram Desktop export with format "
        "'Machine-readable JSON', then zip the folder that holds result.json (one export per "
        "upload)",
    )


def _problem_json(result: MessageResult) -> dict[str, Any]:
    return {
        "where": result.where or f"chat {result.chat}, message {result.message_id}",
        "chat": result.chat,
        "message_id": result.message_id,
        "item_id": result.item_id,
        "problems": result.problems,
    }
