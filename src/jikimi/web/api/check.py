"""``POST /v1/check``: the pre-publication check. Media or signals in, verdict out; nothing is
recorded (uploads live in a private temporary file for the length of the request)."""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request

from jikimi.accounts.roles import Permission, Principal
from jikimi.pipeline.item import ItemAnalysis
from jikimi.web.api.schemas import CheckIn, body_schema
from jikimi.web.auth import require
from jikimi.web.requests import read_request

router = APIRouter(tags=["check"])

BODY_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": body_schema(CheckIn)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "media": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "Up to 10 files.",
                        },
                        "item": {"type": "string", "description": "CheckIn as JSON."},
                    },
                }
            },
        }
    }
}


@router.post("/v1/check", openapi_extra=BODY_DOC)
async def check(
    request: Request, who: Principal = Depends(require(Permission.CHECK))
) -> dict[str, Any]:
    """Check an upload before it is published: the verdict, with its reasons. Matches are
    listed only for roles that may see bank contents (``match``)."""
    service = request.app.state.service
    async with read_request(request, CheckIn, service.tmp, meta_field="item") as parsed:
        meta: CheckIn = parsed.meta  # type: ignore[assignment]
        work = partial(
            service.check,
            parsed.uploads,
            text=meta.text_input(),
            signals=list(meta.signals.items()),
        )
        analysis = await to_thread.run_sync(work, limiter=service.cpu_limiter)
    return analysis_json(analysis, show_matches=who.can(Permission.MATCH))


def analysis_json(analysis: ItemAnalysis, *, show_matches: bool) -> dict[str, Any]:
    assert analysis.verdict is not None
    media = []
    for upload, result in analysis.media:
        m = result.media
        entry: dict[str, Any] = {
            "filename": upload.filename,
            "sha256": m.sha256,
            "media_type": m.info.media_type if m.info else None,
            "signals": {n: s.value for n, s in m.signals.items()},
            "findings": result.findings_json(),
        }
        if m.pdq_quality is not None:
            entry["pdq_quality"] = m.pdq_quality
        if m.error is not None:
            entry.update(error=m.error, error_reason=m.error_reason)
        if show_matches:
            entry["matches"] = [x.as_dict() for x in result.matches]
        media.append(entry)
    verdict = analysis.verdict.as_dict()
    if not show_matches:  # the facts name banks and distances: bank contents, in effect
        verdict["reasons"] = [
            {"rule": r.rule, "outcome": r.outcome} for r in analysis.verdict.reasons
        ]
    out: dict[str, Any] = {"verdict": verdict, "media": media}
    if analysis.given:
        given = []
        for signal_type, value, found in analysis.given:
            entry = {"signal_type": signal_type, "value": value}
            if show_matches:
                entry["matches"] = [x.as_dict() for x in found]
            given.append(entry)
        out["signals"] = given
    if analysis.text_findings:
        out["text_findings"] = {n: f.as_dict() for n, f in analysis.text_findings.items()}
    return out
