"""The policy (``/console/admin/policy``), for ``settings:admin``.

Shows the running policy; validates a policy file (uploaded or pasted) with the loader the
service uses (:func:`jikimi.policy.rules.parse_policy_bytes`: every error names the file and
line) without applying it; and reloads the configured file as ``POST /v1/policy/reload`` does:
``service.policy.reload()``, a file that does not validate keeps the running policy, and a
reload is recorded as ``settings.policy_reloaded`` with the same payload.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.console.pages.admin import back, page
from jikimi.console.sessions import SignedIn
from jikimi.console.uploads import read_upload
from jikimi.console.web import form, permitted
from jikimi.errors import PolicyError
from jikimi.policy.nodes import MAX_POLICY_BYTES
from jikimi.policy.rules import parse_policy_bytes
from jikimi.workspace import TOOL

router = APIRouter(include_in_schema=False)

_SETTINGS = Permission.SETTINGS_ADMIN
PASTED = "pasted"  # the "file" name of a pasted policy in its errors


def _context(request: Request, **extra: Any) -> dict[str, Any]:
    holder = request.app.state.service.policy
    return {
        "policy": holder.current,
        "policy_path": holder.path,
        "reload_seconds": holder.reload_seconds,
        "last_error": holder.last_error,
        "checked": None,
        "reload_error": None,
        "pasted": "",
        **extra,
    }


@router.get("/console/admin/policy")
async def policy_page(request: Request, who: SignedIn = Depends(permitted(_SETTINGS))) -> Response:
    return page(request, "admin_policy.html", await run_in_threadpool(_context, request), who)


def _checked(ok: bool, **values: Any) -> dict[str, Any]:
    """A validation result, every field present (the templates are strict)."""
    blank = {"empty": False, "too_large": False, "source": "", "error": None, "line": None}
    return {"ok": ok, **blank, "name": "", "version": "", "rules": 0, **values}


def _check(data: bytes, source: str) -> dict[str, Any]:
    try:
        policy = parse_policy_bytes(data, source)
    except PolicyError as exc:
        return _checked(False, source=source, error=str(exc), line=exc.line)
    return _checked(
        True, source=source, name=policy.name, version=policy.version, rules=len(policy.rules)
    )


@router.post("/console/admin/policy/validate")
async def validate(request: Request, who: SignedIn = Depends(permitted(_SETTINGS))) -> Response:
    """Validate an uploaded or pasted policy; nothing is applied or recorded."""
    upload = await read_upload(
        request,
        who,
        max_bytes=2 * MAX_POLICY_BYTES + 65_536,
        max_files=1,
        max_field_bytes=MAX_POLICY_BYTES,
    )
    files = upload.files_of("file")
    pasted = upload.fields.get("text", "")
    if files:
        data, source = files[0].data, files[0].filename or "upload"
    elif pasted.strip():
        data, source = pasted.replace("\r\n", "\n").encode("utf-8"), PASTED
    else:
        context = _context(request, checked=_checked(False, empty=True))
        return page(request, "admin_policy.html", context, who, status=400)
    if len(data) > MAX_POLICY_BYTES:
        checked = _checked(False, too_large=True, source=source)
    else:
        checked = await run_in_threadpool(_check, data, source)
    context = _context(request, checked=checked, pasted=pasted[:MAX_POLICY_BYTES])
    return page(request, "admin_policy.html", context, who, status=200 if checked["ok"] else 422)


@router.post("/console/admin/policy/reload")
async def reload(request: Request, who: SignedIn = Depends(permitted(_SETTINGS))) -> Response:
    """Load the configured policy file now, as ``POST /v1/policy/reload`` does."""
    await form(request, who)
    service = request.app.state.service
    before = service.policy.current.version
    try:
        policy = await run_in_threadpool(service.policy.reload)
    except PolicyError as exc:
        context = _context(request, reload_error=str(exc))
        return page(request, "admin_policy.html", context, who, status=422)
    await run_in_threadpool(
        lambda: service.ws.custody.append(
            "settings.policy_reloaded",
            "settings:policy",
            {"from": before, "to": policy.version, "source": policy.source},
            actor=who.principal.name,
            tool_version=TOOL,
        )
    )
    return back("/console/admin/policy", "policy_reloaded")
