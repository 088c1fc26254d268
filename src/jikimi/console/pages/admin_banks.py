"""Banks (``/console/admin/banks``): list, create, import a hash list, withdraw entries.

The same permissions and store calls as ``/v1/banks`` (:mod:`jikimi.web.api.banks`): reading
needs ``banks:read`` (entries also ``match``: they are the bank's contents), changing needs
``banks:write``; every change is written with its custody event by
:class:`~jikimi.banks.service.BankStore` and applied to the live matcher
(``service.apply_in_place``) before the answer, so the next check sees it.

An import is the API's ``text/plain`` import: the threatexchange text format
(``<signal_type> <value>`` per line, :func:`jikimi.banks.formats.parse_txt`), bad lines rejected
with their number and the good ones added. The page posts it with ``XMLHttpRequest`` to show
upload progress (``static/admin.js``) and gets back the result as an HTML fragment; without
JavaScript the same form posts normally and gets the whole page.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.banks.formats import iter_lines
from jikimi.banks.service import KINDS, ImportReport
from jikimi.console.pages.admin import back, not_found, number, page
from jikimi.console.sessions import SignedIn
from jikimi.console.uploads import read_upload
from jikimi.console.web import form, permitted, render
from jikimi.errors import BankError, BankExists, BankNotFound, EntryNotFound
from jikimi.matching.matcher import Matcher

router = APIRouter(include_in_schema=False)

_P = Permission
PAGE = 50  # entries per page
SHOWN_REJECTS = 200  # rejected lines listed on the page; the rest are counted
MAX_REASON = 2000
FRAGMENT_HEADER = "x-jikimi-fragment"


def _bank_path(name: str) -> str:
    return "/console/admin/banks/" + quote(name, safe="")


def _banks_context(request: Request, **extra: Any) -> dict[str, Any]:
    settings = request.app.state.service.ws.settings
    form_values = {
        "name": "",
        "kind": "known-abuse",
        "pdq_threshold": str(settings.pdq_threshold),
        "try_transforms": True,
        "auto_action": False,
        "minors": False,
    }
    return {"kinds": KINDS, "form": form_values, "error": None, "detail": None, **extra}


@router.get("/console/admin/banks")
async def banks_page(
    request: Request, who: SignedIn = Depends(permitted(_P.BANKS_READ))
) -> Response:
    banks = await run_in_threadpool(request.app.state.service.ws.banks.list)
    return page(request, "admin_banks.html", _banks_context(request, banks=banks), who)


def _bank_form(fields: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """The create form's values and the key of its first problem (None: fine)."""
    values: dict[str, Any] = {
        "name": fields.get("name", "")[:300],
        "kind": fields.get("kind", ""),
        "pdq_threshold": fields.get("pdq_threshold", "")[:12],
        "try_transforms": fields.get("try_transforms") == "on",
        "auto_action": fields.get("auto_action") == "on",
        "minors": fields.get("minors") == "on",
    }
    name = values["name"]
    if not name or len(name) > 200 or name != name.strip():
        return values, "admin.banks.error.name"
    if values["kind"] not in KINDS:
        return values, "admin.banks.error.kind"
    if number(values["pdq_threshold"], low=0, high=64) is None:
        return values, "admin.banks.error.threshold"
    if values["auto_action"] and values["kind"] != "known-abuse":
        return values, "admin.banks.error.auto_action"
    return values, None


@router.post("/console/admin/banks")
async def create_bank(
    request: Request, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))
) -> Response:
    """Create a bank, as ``POST /v1/banks`` does."""
    fields = await form(request, who)
    service = request.app.state.service
    values, problem = _bank_form(fields)
    detail = None
    if problem is None:
        try:
            info = await run_in_threadpool(
                lambda: service.ws.banks.create(
                    values["name"],
                    kind=values["kind"],
                    pdq_threshold=int(values["pdq_threshold"]),
                    try_transforms=values["try_transforms"],
                    auto_action=values["auto_action"],
                    minors=values["minors"],
                    actor=who.principal.name,
                )
            )
        except BankExists:
            problem = "admin.banks.error.exists"
        except BankError as exc:
            problem, detail = "admin.banks.error.refused", str(exc)
        else:
            spec = info.spec()
            await run_in_threadpool(service.apply_in_place, lambda m: m.add_bank(spec))
            return back(_bank_path(info.name), "bank_created")
    banks = await run_in_threadpool(service.ws.banks.list)
    context = _banks_context(request, banks=banks, form=values, error=problem, detail=detail)
    status = 409 if problem == "admin.banks.error.exists" else 400
    return page(request, "admin_banks.html", context, who, status=status)


@router.get("/console/admin/banks/{name}")
async def bank_page(
    request: Request,
    name: str,
    after_id: str | None = None,
    withdrawn: str | None = None,
    who: SignedIn = Depends(permitted(_P.BANKS_READ)),
) -> Response:
    """A bank's settings, its import form and (with ``match``) a page of its entries."""
    context = await _bank_context(request, who, name, after_id, withdrawn == "1")
    if context is None:
        return not_found(request, who)
    return page(request, "admin_bank.html", context, who)


async def _bank_context(
    request: Request,
    who: SignedIn,
    name: str,
    after_id: str | None = None,
    with_withdrawn: bool = False,
    **extra: Any,
) -> dict[str, Any] | None:
    banks = request.app.state.service.ws.banks
    after = number(after_id, low=0, high=2**62) or 0
    show_entries = who.principal.can(_P.MATCH)

    def load() -> dict[str, Any] | None:
        try:
            bank = banks.get(name)
            entries = []
            if show_entries:
                entries = banks.entries(
                    name, include_withdrawn=with_withdrawn, after_id=after, limit=PAGE
                )
        except BankNotFound:
            return None
        return {"bank": bank, "entries": entries}

    loaded = await run_in_threadpool(load)
    if loaded is None:
        return None
    entries = loaded["entries"]
    return {
        **loaded,
        "show_entries": show_entries,
        "after_id": after,
        "next_after_id": entries[-1].entry_id if len(entries) == PAGE else None,
        "with_withdrawn": with_withdrawn,
        "result": None,
        "withdraw_error": None,
        **extra,
    }


def _result(report: ImportReport) -> dict[str, Any]:
    return {
        "added": len(report.added),
        "duplicates": report.duplicates,
        # The reason without its "line N: " (the page shows the number in its own column).
        "rejected": [
            (n, r.removeprefix(f"line {n}: ")) for n, r in report.rejected[:SHOWN_REJECTS]
        ],
        "rejected_count": len(report.rejected),
        "more": max(0, len(report.rejected) - SHOWN_REJECTS),
        "error": None,
    }


@router.post("/console/admin/banks/{name}/import")
async def import_list(
    request: Request, name: str, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))
) -> Response:
    """Import a hash list into the bank: the API's ``text/plain`` import, from a file."""
    service = request.app.state.service
    upload = await read_upload(
        request, who, max_bytes=service.ws.settings.max_upload_bytes, max_files=1
    )
    files = upload.files_of("file")
    result: dict[str, Any]
    status = 200
    if not files:
        result, status = {"error": "admin.import.no_file"}, 400
    else:
        data = files[0].data
        del upload
        try:
            report = await run_in_threadpool(
                lambda: service.ws.banks.import_lines(
                    name,
                    iter_lines(io.BytesIO(data)),
                    fmt="txt",
                    actor=who.principal.name,
                    source=f"console:{who.principal.name}",
                )
            )
        except BankNotFound:
            return not_found(request, who)
        specs = [e.spec() for e in report.added]

        def add(matcher: Matcher) -> None:
            matcher.add_entries(specs)

        await run_in_threadpool(service.apply_in_place, add)
        result = _result(report)
    if request.headers.get(FRAGMENT_HEADER) == "1":
        response = render(request, "admin_import_result.html", {"result": result}, who=who)
        response.status_code = status
        response.headers["X-Jikimi-Fragment"] = "1"
        return response
    context = await _bank_context(request, who, name, result=result)
    if context is None:
        return not_found(request, who)
    return page(request, "admin_bank.html", context, who, status=status)


@router.post("/console/admin/banks/{name}/entries/{entry_id}/withdraw")
async def withdraw_entry(
    request: Request, name: str, entry_id: str, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))
) -> Response:
    """Withdraw an entry with a reason, as ``DELETE /v1/banks/{name}/entries/{id}`` does."""
    fields = await form(request, who)
    service = request.app.state.service
    entry = number(entry_id, low=1, high=2**62)
    if entry is None:
        return not_found(request, who)
    reason = fields.get("reason", "").strip()
    after = str(number(fields.get("after_id"), low=0, high=2**62) or 0)
    if not reason or len(reason) > MAX_REASON:
        context = await _bank_context(
            request, who, name, after, withdraw_error=("admin.entries.error.reason", entry)
        )
        if context is None:
            return not_found(request, who)
        return page(request, "admin_bank.html", context, who, status=400)
    try:
        await run_in_threadpool(
            lambda: service.ws.banks.withdraw(name, entry, actor=who.principal.name, reason=reason)
        )
    except (BankNotFound, EntryNotFound):
        return not_found(request, who)
    await run_in_threadpool(service.apply_in_place, lambda m: m.withdraw(entry))
    return back(_bank_path(name), "entry_withdrawn", after_id=after)
