"""The public appeal page (``/report/appeal``): no account, plain English and Korean.

A notifier (the person a takedown request was for, or anyone whose notice is on the case)
appeals a decision, an internal complaint under DSA Art. 20, with the case number and the
receipt code of their notice, as ``POST /v1/cases/{id}/appeals`` allows them to: the same
standing check (:meth:`~jikimi.cases.store.CaseStore.state_for_receipt`), then
:meth:`Service.appeal` with ``filed_by`` ``notifier:`` and the receipt's first 13 characters
(how the appeal's outcome finds its way back to that notifier, :mod:`jikimi.cases.notifying`).

A case number and receipt that do not go together are refused with one message, whether or
not the case exists. Each address may post ``report_per_hour`` times per hour, counted apart
from the takedown form's posts (:mod:`jikimi.console.ratelimit`). See docs/report-form.md.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jikimi.cases.decisions import APPEALED, ESCALATED
from jikimi.cases.messages import APPEAL_MONTHS, APPEAL_PAGE
from jikimi.cases.notifying import APPELLANT_PREFIX
from jikimi.console.ratelimit import SlidingWindow, client_key
from jikimi.console.web import form, render
from jikimi.errors import CaseError

__all__ = ["appeal_values", "field_errors", "router"]

router = APIRouter(include_in_schema=False)

MAX_REASONS = 5000  # as the API's AppealIn
MAX_RECEIPT = 64  # the longest receipt the store keeps; anything longer is no receipt
MAX_CASE_ID = 2**63 - 1  # ids are 64-bit in both stores
FIELD_ORDER = ("form", "case", "receipt", "reasons")  # the summary lists errors in page order

Errors = dict[str, list[tuple[str, dict[str, Any]]]]


def appeal_values(fields: dict[str, str]) -> dict[str, str]:
    """What the person typed, tidied: the case number without a leading ``#``, the receipt
    without the spaces and capitals a copy from a screenshot or an email brings (receipts are
    lowercase), the reasons with the browser's CRLF line breaks as one character each (the
    limit counts what the person sees)."""
    case = fields.get("case", "").strip().removeprefix("#").strip()
    receipt = "".join(fields.get("receipt", "").split()).lower()
    reasons = fields.get("reasons", "").replace("\r\n", "\n").strip()
    return {"case": case, "receipt": receipt, "reasons": reasons}


def field_errors(values: dict[str, str]) -> Errors:
    """Each field's problems as (text key, values); whether the case and receipt go together
    is asked of the store afterwards, only when the form itself is fine."""
    errors: Errors = {}
    if not values["case"]:
        errors["case"] = [("appeal.missing.case", {})]
    elif not (values["case"].isascii() and values["case"].isdigit()):
        errors["case"] = [("appeal.invalid.case", {})]
    if not values["receipt"]:
        errors["receipt"] = [("appeal.missing.receipt", {})]
    if not values["reasons"]:
        errors["reasons"] = [("appeal.missing.reasons", {})]
    elif len(values["reasons"]) > MAX_REASONS:
        errors["reasons"] = [("report.invalid.too_long", {"limit": MAX_REASONS})]
    return errors


def _limiter(request: Request) -> SlidingWindow:
    """This process's window for appeals, apart from the takedown form's (created on the
    first post, for the app's lifetime)."""
    state = request.app.state
    limiter = getattr(state, "appeal_limiter", None)
    if not isinstance(limiter, SlidingWindow):
        per_hour = request.app.state.service.ws.settings.report_per_hour
        limiter = state.appeal_limiter = SlidingWindow(per_hour)
    return limiter


def _form_page(
    request: Request,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    *,
    status: int = 200,
    blocked: dict[str, int] | None = None,
) -> Response:
    errors = errors or {}
    context = {
        "values": values or appeal_values({}),
        "errors": errors,
        "summary": [name for name in FIELD_ORDER if name in errors and name != "form"],
        "max_reasons": MAX_REASONS,
        "months": APPEAL_MONTHS,
        "blocked": blocked,
    }
    return render(request, "appeal.html", context, status=status)


@router.get(APPEAL_PAGE)
async def appeal_form(request: Request, case: str = "") -> Response:
    """The form; ``?case=12`` (the link in the decision's email) fills in the case number."""
    values = appeal_values({"case": case if case.isascii() and case.isdigit() else ""})
    return _form_page(request, values)


@router.post(APPEAL_PAGE)
async def appeal_submit(request: Request) -> Response:
    """File the appeal; the answer is the confirmation page (201), or the form again with the
    problem shown: 422 a field, 403 a case number and receipt that do not go together, 409 a
    case that cannot be appealed now, 429 too many posts from this address; 403 (the error
    page) when not posted from this page (CSRF)."""
    admitted = _limiter(request).hit(client_key(request.client.host if request.client else None))
    if not admitted.allowed:
        return _blocked(request, admitted.retry_after)
    values = appeal_values(await form(request))
    errors = field_errors(values)
    if errors:
        return _form_page(request, values, errors, status=422)
    case_id, receipt = int(values["case"]), values["receipt"]
    service = request.app.state.service
    state = None
    if case_id <= MAX_CASE_ID and len(receipt) <= MAX_RECEIPT:
        state = await run_in_threadpool(service.cases.state_for_receipt, case_id, receipt)
    if state is None:
        # One message for a case that does not exist and a receipt from another case.
        return _form_page(request, values, {"form": [("appeal.mismatch", {})]}, status=403)
    filed_by = APPELLANT_PREFIX + receipt[:13]
    try:
        appeal_id = await run_in_threadpool(
            partial(service.appeal, case_id, reasons=values["reasons"], filed_by=filed_by)
        )
    except CaseError:
        # The state read a moment ago says which (a decision could land in between: then the
        # general text, which is still true).
        key = {
            APPEALED: "appeal.already",
            "new": "appeal.not_decided",
            ESCALATED: "appeal.not_decided",
        }.get(state, "appeal.not_possible")
        return _form_page(request, values, {"form": [(key, {"case": case_id})]}, status=409)
    context = {"case_id": case_id, "appeal_id": appeal_id}
    return render(request, "appeal_done.html", context, status=201)


def _blocked(request: Request, retry_after: int) -> Response:
    per_hour = request.app.state.service.ws.settings.report_per_hour
    blocked = {"per_hour": per_hour, "minutes": -(-retry_after // 60)}
    response = _form_page(request, blocked=blocked, status=429)
    response.headers["Retry-After"] = str(retry_after)
    return response
