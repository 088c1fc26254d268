"""``GET /v1/match`` (is this signal in a bank?) and ``GET /v1/models`` (what computes the
signals)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from jikimi.accounts.roles import Permission, Principal
from jikimi.cli.models import model_records
from jikimi.web.auth import require

router = APIRouter(tags=["lookup"])


@router.get("/v1/match")
def match(
    request: Request,
    signal_type: str = Query(..., min_length=1, max_length=32, examples=["pdq"]),
    # Request lines are capped near 16 kB by the HTTP server: long values (vPDQ) go through
    # POST /v1/check as signals instead.
    value: str = Query(..., min_length=1, max_length=8000),
    _: Principal = Depends(require(Permission.MATCH)),
) -> dict[str, Any]:
    """Matches of one signal value in every bank (the same result as ``jikimi match``)."""
    found = request.app.state.service.matcher.match_value(signal_type, value)
    return {"signal_type": signal_type, "value": value, "matches": [m.as_dict() for m in found]}


@router.get("/v1/models")
def models(
    request: Request, _: Principal = Depends(require(Permission.MODELS_READ))
) -> list[dict[str, Any]]:
    """Every model behind the signals (package, version, SHA-256, licence, loaded) and the
    extractors that are off, with why (the same records as ``jikimi models --json``)."""
    return model_records(request.app.state.service.registry)
