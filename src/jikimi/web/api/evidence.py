"""``GET /v1/cases/{id}/evidence``: a case as an evidence package, streamed as a zip.

Investigators, admins and child-safety reviewers (``evidence:export``); a suspected-minor case
also needs ``minors:view`` and is 404 alike otherwise. The export is a custody event
(``evidence.exported``) naming the media it holds, so a package carrying media is logged as
a reveal is. Media that may show a minor (the case's, an item's or a minors bank's) come only
with ``minors:view`` and the ``evidence_minor_media`` setting. Notifiers' contact details come
only with ``contacts=true``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.types import Receive, Scope, Send

from jikimi.accounts.roles import Permission, Principal
from jikimi.errors import EvidenceError
from jikimi.evidence.package import export_case
from jikimi.web.api.schemas import RowId
from jikimi.web.auth import require
from jikimi.web.problems import Problem

router = APIRouter(tags=["evidence"])


@router.get(
    "/v1/cases/{case_id}/evidence",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def case_evidence(
    case_id: RowId,
    request: Request,
    contacts: bool = Query(False, description="Include notifiers' contact details."),
    media: bool = Query(True, description="Include kept media bytes (else hashes only)."),
    who: Principal = Depends(require(Permission.EVIDENCE_EXPORT)),
) -> FileResponse:
    """The case as a zipped BagIt bag: items with their raw platform records, media where
    retention kept them, matches, decisions with statements of reasons, custody events, a
    CASE/UCO manifest, an HTML and PDF report, RFC 3161 tokens when TSAs are configured.
    Headers ``X-Package-SHA256`` and ``X-Custody-Seq`` name the package and its export event."""
    service = request.app.state.service
    case = service.cases.get(case_id, now=service.now())
    if case is None or (case["suspected_minor"] and not who.can(Permission.MINORS_VIEW)):
        raise Problem(404, "not-found", "Not found", f"no case {case_id} that you may see")
    return evidence_download(service, case_id, who, contacts=contacts, media=media)


class _RemovingFileResponse(FileResponse):
    """A file answer that removes ``folder`` once done, sent or not: also when the client
    disconnects mid-download (a background task would not run then)."""

    def __init__(self, path: Path, folder: Path, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.folder = folder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def evidence_download(
    service: Any, case_id: int, who: Principal, *, contacts: bool = False, media: bool = True
) -> FileResponse:
    """Export into a private temporary folder and answer the zip, removing it once sent
    (also the console's download). Media that may show a minor go in only when the setting
    ``evidence_minor_media`` allows and ``who`` holds ``minors:view``."""
    minors_allowed = service.ws.settings.evidence_minor_media and who.can(Permission.MINORS_VIEW)
    folder = Path(tempfile.mkdtemp(prefix="jikimi-evidence-"))
    try:
        summary = export_case(
            service,
            case_id,
            folder / "package.zip",
            actor=who.name,
            contacts=contacts,
            media=media,
            minors_allowed=minors_allowed,
        )
    except EvidenceError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise Problem(503, "evidence-unavailable", "Package not made", str(exc)) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return _RemovingFileResponse(
        summary.path,
        folder,
        media_type="application/zip",
        filename=f"jikimi-case-{case_id}-evidence.zip",
        headers={
            "X-Package-SHA256": summary.sha256,
            "X-Custody-Seq": str(summary.custody_seq),
        },
    )
