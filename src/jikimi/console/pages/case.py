"""One case, facts first: where each item is and what it says, every signal and match, the
notices (their elements, never the notifier's contact details), the clock, the review tasks
and the custody events; then the media, veiled (pages/media.py reveals it, logged); then the
decision, which is ``Service.decide`` with its statement of reasons.

A case claimed by someone else is shown with the decision disabled (the service refuses it
anyway). After a decision the browser goes to the next case of the queue it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.cases.decisions import Ruling
from jikimi.console import review
from jikimi.console.facts import ItemFacts, case_facts, items_facts
from jikimi.console.i18n import catalog
from jikimi.console.pages.queues import LAW_HINTS
from jikimi.console.pages.wellness import store
from jikimi.console.sessions import SignedIn
from jikimi.console.web import language_of, render
from jikimi.console.wellness import WellnessStore
from jikimi.errors import CaseError, CaseNotFound, StatementError
from jikimi.web.api.evidence import evidence_download

router = APIRouter(include_in_schema=False)

OUTCOMES = ("remove", "restrict", "keep", "escalate")
TASK_OUTCOMES = ("remove", "restrict", "keep")
GROUNDS = ("illegal", "terms")
CATEGORIES = ("adult_ncii", "minors", "other")
FIELDS = ("outcome", "ground", "law", "terms", "category", "reasons")
MAX_REASONS = 5000
MAX_CLAUSE = 500
# Notice elements shown with their value: what was asked and where, never who asked. Every
# other element (contact, signature, name, reporter, on_behalf_of, flagger_id) is shown only
# as present, so the page carries no notifier's personal details.
NOTICE_SHOWN = frozenset(
    {
        "locators",
        "explanation",
        "issuing_body",
        "reference",
        "legal_basis",
        "deadline",
        "reason",
        "csam",
        "good_faith_statement",
        "item_id",
        "language",
    }
)
NOTICE_SKIPPED = frozenset({"kind", "jurisdiction"})  # shown in the notice's heading
# The service's statement problems ("field: text") a reviewer meets, in their language.
_PROBLEMS = (
    ("law: ground is illegal", "casepage.problem.law_missing"),
    ("terms: ground is terms", "casepage.problem.terms_missing"),
    ("reasons: empty", "casepage.problem.reasons_missing"),
    ("reasons: remove e-mail addresses and links", "casepage.problem.reasons_personal"),
    ("category: other maps to", "casepage.problem.other_illegal"),
    ("content_types: category other", "casepage.problem.other_no_type"),
)
_FIELD = re.compile(r"^([a-z_]+): ")


def _not_found(request: Request, who: SignedIn) -> Response:
    context = {"title": "error.not_found_title", "detail": "error.not_found"}
    return render(request, "error.html", context, who=who, status=404)


def _notice_view(notice: Mapping[str, Any]) -> dict[str, Any]:
    body = notice.get("body") or {}
    elements = []
    for key in sorted(body):
        if key in NOTICE_SKIPPED:
            continue
        value = body[key]
        present = value not in (None, "", [], {}, False)
        shown: bool | str | list[str] | None = None
        if key in NOTICE_SHOWN and present:
            if isinstance(value, bool):
                shown = value
            elif isinstance(value, list):
                shown = [str(v) for v in value]
            else:
                shown = str(value)
        elements.append({"name": key, "present": present, "value": shown})
    return {
        "id": notice["id"],
        "kind": notice["kind"],
        "jurisdiction": notice["jurisdiction"],
        "received_at": notice["received_at"],
        "complete": notice["complete"],
        "missing": notice["missing"],
        "elements": elements,
    }


def _when(value: str | datetime | None) -> str:
    """A time for people: ``2026-03-08 09:00 UTC``."""
    if value is None:
        return "—"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _defaults(case: Mapping[str, Any], notices: list[dict[str, Any]]) -> dict[str, str]:
    """The decision form as it opens: the order's own legal basis or the jurisdiction's law,
    the category the case suggests; outcome and reasons are the reviewer's."""
    law = next(
        (str(n["body"]["legal_basis"]) for n in notices if n["body"].get("legal_basis")),
        LAW_HINTS.get(case["jurisdiction"] or "", ""),
    )
    return {
        "outcome": "",
        "ground": "illegal",
        "law": law[:MAX_CLAUSE],
        "terms": "",
        "category": "minors" if case["suspected_minor"] else "adult_ncii",
        "reasons": "",
    }


def _media_views(
    items: Iterable[ItemFacts], case: Mapping[str, Any], who: SignedIn
) -> dict[str, dict[str, Any]]:
    """Per media of the case's items and its tasks' items: whether this user may see its
    preview, or why not."""
    can_view = who.principal.can(Permission.MEDIA_VIEW)
    can_minors = who.principal.can(Permission.MINORS_VIEW)
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        for m in item.media:
            if m.sha256 is None:
                continue
            minor = case["suspected_minor"] or item.suspected_minor or m.minors
            if not m.kept:
                why = "casepage.media.not_kept"
            elif not can_view:
                why = "casepage.media.no_role"
            elif minor and not can_minors:
                why = "casepage.media.minors_only"
            elif m.media_type not in ("image", "video", "animation"):
                why = "casepage.media.no_preview"
            else:
                why = None
            out[m.sha256] = {"viewable": why is None, "why": why, "minor": minor}
    return out


def _load(service: Any, case_id: int) -> dict[str, Any] | None:
    case = service.cases.get(case_id, now=service.now())
    if case is None:
        return None
    with service.ws.sessions() as session:
        facts = case_facts(session, [case_id])[case_id]
        task_items = items_facts(session, [t["item_id"] for t in case["tasks"]])
    events = service.ws.custody.events(subject=f"case:{case_id}")
    return {"case": case, "facts": facts, "task_items": task_items, "events": events}


async def case_page(
    request: Request,
    who: SignedIn,
    case_id: int,
    *,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, list[str]] | None = None,
    error: str | None = None,
    task_error: tuple[int, str] | None = None,
    status: int = 200,
) -> Response:
    service = request.app.state.service
    loaded = await run_in_threadpool(_load, service, case_id)
    if loaded is None or not review.visible(loaded["case"], who.principal):
        return _not_found(request, who)
    case, facts = loaded["case"], loaded["facts"]
    queue = (request.query_params.get("queue") or case["queue"])[:64]
    wellness = store(request)

    def side() -> tuple[Any, int, dict[str, Any] | None]:
        veil = wellness.effective(who.principal.user_id)
        revealed = wellness.revealed_today(who.principal.name)
        nxt = review.next_case(
            service,
            who.principal,
            None if queue == review.ALL_QUEUES else queue,
            case_id,
            facts_only=veil.over_limit(revealed),
        )
        return veil, revealed, nxt

    veil, revealed, nxt = await run_in_threadpool(side)
    lang = language_of(request, who)
    texts = catalog()

    def t(key: str, **kw: Any) -> str:
        return texts.text(key, lang, **kw)

    mine = who.principal.name
    can_decide = who.principal.can(Permission.CASES_DECIDE)
    held_by_other = case["assignee"] not in (None, mine)
    notices = [_notice_view(n) for n in case["notices"]]
    context = {
        "case": case,
        "facts": facts,
        "items": facts.items,
        "task_items": loaded["task_items"],
        "events": loaded["events"],
        "notices": notices,
        "left": review.time_left(case["seconds_left"], t),
        "when": _when,
        "queue": queue,
        "queue_href": "/console/queues/" + quote(queue, safe=""),
        "next_case": nxt,
        "media": _media_views([*facts.items, *loaded["task_items"].values()], case, who),
        "veil": veil,
        "revealed": revealed,
        "over": veil.over_limit(revealed),
        "can_decide": can_decide,
        "can_export": who.principal.can(Permission.EVIDENCE_EXPORT),
        "held_by_other": held_by_other,
        "decidable": can_decide and not held_by_other and case["state"] != review.CLOSED,
        "values": {**_defaults(case, case["notices"]), **(values or {})},
        "problems": problems or {},
        "error": error,
        "task_error": task_error,
        "outcomes": OUTCOMES,
        "task_outcomes": TASK_OUTCOMES,
        "categories": CATEGORIES,
        "flash": review.flash_of(request),
    }
    return render(request, "case.html", context, who=who, status=status)


@router.get("/console/cases/{case_id}")
async def show_case(
    case_id: int, request: Request, who: SignedIn = Depends(review.case_reader)
) -> Response:
    return await case_page(request, who, case_id)


def _ruling(
    fields: Mapping[str, str], outcomes: tuple[str, ...]
) -> tuple[Ruling | None, dict[str, list[str]]]:
    """The ruling a form asks for, or the problems (text keys) by field."""
    problems: dict[str, list[str]] = {}
    values = {k: fields.get(k, "").strip() for k in FIELDS}
    if values["outcome"] not in outcomes:
        problems["outcome"] = ["casepage.problem.outcome"]
    if values["ground"] not in GROUNDS:
        problems["ground"] = ["casepage.problem.ground"]
    if values["category"] not in CATEGORIES:
        problems["category"] = ["casepage.problem.category"]
    if not values["reasons"]:
        problems["reasons"] = ["casepage.problem.reasons_missing"]
    elif len(values["reasons"]) > MAX_REASONS:
        problems["reasons"] = ["casepage.problem.reasons_long"]
    for clause in ("law", "terms"):
        if len(values[clause]) > MAX_CLAUSE:
            problems[clause] = ["casepage.problem.clause_long"]
    if problems:
        return None, problems
    ruling = Ruling(
        outcome=values["outcome"],  # type: ignore[arg-type]
        ground=values["ground"],  # type: ignore[arg-type]
        category=values["category"],  # type: ignore[arg-type]
        reasons=values["reasons"],
        law=values["law"] or None,
        terms=values["terms"] or None,
    )
    return ruling, {}


def _translate(problems: Mapping[str, list[str]], lang: str) -> dict[str, list[str]]:
    texts = catalog()
    return {f: [texts.text(k, lang) for k in keys] for f, keys in problems.items()}


def statement_problems(exc: StatementError, lang: str) -> dict[str, list[str]]:
    """The service's statement problems by form field, in the reviewer's language where the
    console knows the problem (else the service's own words); others under ``general``."""
    texts = catalog()
    out: dict[str, list[str]] = {}
    for problem in exc.problems:
        found = _FIELD.match(problem)
        name = found.group(1) if found else "general"
        key = next((k for prefix, k in _PROBLEMS if problem.startswith(prefix)), None)
        if name == "content_types":
            name = "category"
        field = name if name in FIELDS else "general"
        out.setdefault(field, []).append(texts.text(key, lang) if key else problem)
    return out


def _case_error(exc: CaseError, case: Mapping[str, Any] | None, lang: str) -> str:
    texts = catalog()
    if case is not None and case["state"] == review.CLOSED:
        return texts.text("casepage.error.closed", lang)
    if case is not None and case["assignee"]:
        return texts.text("casepage.error.claimed", lang, name=case["assignee"])
    return texts.text("casepage.error.refused", lang, detail=str(exc))


def _after(
    service: Any, wellness: WellnessStore, who: SignedIn, queue: str, case_id: int, flash: str
) -> str:
    """Where to go after a decision: the next case of the queue (one that needs no media
    once past the daily reveal limit), else the queue."""
    veil = wellness.effective(who.principal.user_id)
    over = veil.over_limit(wellness.revealed_today(who.principal.name))
    nxt = review.next_case(
        service,
        who.principal,
        None if queue == review.ALL_QUEUES else queue,
        case_id,
        facts_only=over,
    )
    q = quote(queue, safe="")
    if nxt is None:
        return f"/console/queues/{q}?flash={flash}&case={case_id}"
    return f"/console/cases/{nxt['id']}?queue={q}&flash={flash}&case={case_id}"


@router.post("/console/cases/{case_id}/decision")
async def decide(
    case_id: int, request: Request, who: SignedIn = Depends(review.case_reader)
) -> Response:
    fields, case = await review.posted_to_case(request, who, case_id, Permission.CASES_DECIDE)
    if case is None:
        return _not_found(request, who)
    service = request.app.state.service
    lang = language_of(request, who)
    values = {k: fields.get(k, "")[: MAX_REASONS + 1] for k in FIELDS}
    ruling, problems = _ruling(fields, OUTCOMES)
    if ruling is None:
        return await case_page(
            request, who, case_id, values=values, problems=_translate(problems, lang), status=422
        )
    try:
        await run_in_threadpool(lambda: service.decide(case_id, ruling, actor=who.principal.name))
    except StatementError as exc:
        return await case_page(
            request,
            who,
            case_id,
            values=values,
            problems=statement_problems(exc, lang),
            status=422,
        )
    except CaseNotFound:
        return _not_found(request, who)
    except CaseError as exc:
        return await case_page(
            request, who, case_id, values=values, error=_case_error(exc, case, lang), status=409
        )
    queue = fields.get("queue") or (case or {}).get("queue") or review.ALL_QUEUES
    flash = "escalated" if ruling.outcome == "escalate" else "decided"
    target = await run_in_threadpool(
        _after, service, store(request), who, queue[:64], case_id, flash
    )
    return RedirectResponse(target, status_code=303)


@router.post("/console/cases/{case_id}/tasks/{task_id}")
async def resolve_task(
    case_id: int, task_id: int, request: Request, who: SignedIn = Depends(review.case_reader)
) -> Response:
    """Resolve a near-duplicate review task: remove (or restrict) that item and its identical
    copies with a statement of reasons, or keep it."""
    fields, case = await review.posted_to_case(request, who, case_id, Permission.CASES_DECIDE)
    if case is None:
        return _not_found(request, who)
    service = request.app.state.service
    lang = language_of(request, who)
    ruling, problems = _ruling(fields, TASK_OUTCOMES)
    if ruling is None:
        text = "; ".join(p for ps in _translate(problems, lang).values() for p in ps)
        return await case_page(request, who, case_id, task_error=(task_id, text), status=422)
    try:
        await run_in_threadpool(
            lambda: service.resolve_task(case_id, task_id, ruling, actor=who.principal.name)
        )
    except StatementError as exc:
        text = "; ".join(p for ps in statement_problems(exc, lang).values() for p in ps)
        return await case_page(request, who, case_id, task_error=(task_id, text), status=422)
    except CaseNotFound:
        return _not_found(request, who)
    except CaseError as exc:
        text = catalog().text("casepage.error.refused", lang, detail=str(exc))
        return await case_page(request, who, case_id, task_error=(task_id, text), status=409)
    back = review.back_path(fields.get("back"), f"/console/cases/{case_id}")
    return RedirectResponse(review.with_flash(back, "task_resolved", case_id), status_code=303)


@router.post("/console/cases/{case_id}/assignment")
async def assignment(
    case_id: int, request: Request, who: SignedIn = Depends(review.case_reader)
) -> Response:
    """Claim the case (``claim=1``) or release it (``claim=0``), then back to the page."""
    fields, case = await review.posted_to_case(request, who, case_id, Permission.CASES_DECIDE)
    if case is None:
        return _not_found(request, who)
    service = request.app.state.service
    claim = fields.get("claim") == "1"
    back = review.back_path(fields.get("back"), f"/console/cases/{case_id}")
    try:
        await run_in_threadpool(
            lambda: service.assign(
                case_id, who.principal.name if claim else None, actor=who.principal.name
            )
        )
    except CaseError:
        return RedirectResponse(review.with_flash(back, "claim_refused", case_id), status_code=303)
    flash = "claimed" if claim else "released"
    return RedirectResponse(review.with_flash(back, flash, case_id), status_code=303)


@router.post("/console/cases/{case_id}/evidence")
async def export_evidence(
    case_id: int, request: Request, who: SignedIn = Depends(review.case_reader)
) -> Response:
    """Download the case as an evidence package (``evidence:export``; CSRF checked); the
    export is the custody event ``evidence.exported``, naming any media it holds."""
    _, case = await review.posted_to_case(request, who, case_id, Permission.EVIDENCE_EXPORT)
    if case is None:
        return _not_found(request, who)
    return await run_in_threadpool(
        evidence_download, request.app.state.service, case_id, who.principal
    )
