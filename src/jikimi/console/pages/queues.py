"""Queues: the overview (open and overdue cases per queue) and one queue's cases in working
order (the soonest due first, then priority), with filters, claiming, and the one bulk action
that is safe: confirming the removal of cases whose every file is known abuse, exactly.

A bulk confirmation is many ordinary decisions (``Service.decide``: statement of reasons,
custody, outbox), one per case, each re-checked on the server; a case that does not qualify
is refused and named, the others go ahead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.cases.decisions import Ruling
from jikimi.cases.notices import NOTICE_KINDS
from jikimi.console import review
from jikimi.console.facts import CaseFacts, case_facts, notice_kinds
from jikimi.console.i18n import catalog
from jikimi.console.pages.wellness import store
from jikimi.console.sessions import SignedIn
from jikimi.console.web import ConsoleForbidden, form, language_of, render
from jikimi.errors import CaseError, StatementError

router = APIRouter(include_in_schema=False)

_JURISDICTION = re.compile(r"[A-Z]{2}")
_CHOICE = {"yes": True, "no": False}
MAX_BULK = 150  # a form holds at most 200 fields (web.form)
# A law to suggest for a bulk removal, by jurisdiction; the reviewer may change it.
LAW_HINTS = {"US": "TAKE IT DOWN Act, 47 U.S.C. 223a"}


def _filters(request: Request, over: bool) -> dict[str, Any]:
    q = request.query_params
    jurisdiction = q.get("jurisdiction", "").strip().upper()
    facts = q.get("facts")
    return {
        "state": q.get("state") if q.get("state") in review.STATES else None,
        "kind": q.get("kind") if q.get("kind") in NOTICE_KINDS else None,
        "jurisdiction": jurisdiction if _JURISDICTION.fullmatch(jurisdiction) else None,
        "overdue": _CHOICE.get(q.get("overdue", "")),
        "open_tasks": _CHOICE.get(q.get("open_tasks", "")),
        # Past the daily reveal limit the queue shows facts-only cases unless asked otherwise.
        "facts": facts if facts in ("only", "all") else ("only" if over else "all"),
    }


def _rows(service: Any, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [c["id"] for c in cases]
    with service.ws.sessions() as session:
        facts = case_facts(session, ids)
        kinds = notice_kinds(session, ids)
    return [{"case": c, "facts": facts[c["id"]], "kinds": kinds.get(c["id"], [])} for c in cases]


async def _exposure(request: Request, who: SignedIn) -> dict[str, Any]:
    wellness = store(request)

    def read() -> dict[str, Any]:
        veil = wellness.effective(who.principal.user_id)
        revealed = wellness.revealed_today(who.principal.name)
        return {"veil": veil, "revealed": revealed, "over": veil.over_limit(revealed)}

    return await run_in_threadpool(read)


@router.get("/console/queues")
async def overview(request: Request, who: SignedIn = Depends(review.case_reader)) -> Response:
    service = request.app.state.service
    counts = await run_in_threadpool(review.queue_counts, service, who.principal)
    lang = language_of(request, who)
    queues = [
        {"name": q, "label": review.queue_label(q, lang), "open": n, "overdue": o}
        for q, n, o in counts
    ]
    context = {
        "queues": queues,
        "total": sum(q["open"] for q in queues),
        "total_overdue": sum(q["overdue"] for q in queues),
        "flash": review.flash_of(request),
        **await _exposure(request, who),
    }
    return render(request, "queues.html", context, who=who)


async def _queue_page(
    request: Request,
    who: SignedIn,
    name: str,
    *,
    bulk: Mapping[str, Any] | None = None,
) -> Response:
    service = request.app.state.service
    exposure = await _exposure(request, who)
    filters = _filters(request, exposure["over"])
    wanted = {k: v for k, v in filters.items() if k not in ("state", "facts") and v is not None}

    def load() -> list[dict[str, Any]]:
        cases = review.list_open(
            service,
            who.principal,
            queue=None if name == review.ALL_QUEUES else name,
            state=filters["state"],
            **wanted,
        )
        rows = _rows(service, cases)
        if filters["facts"] == "only":
            rows = [r for r in rows if r["facts"].facts_only]
        return rows

    rows = await run_in_threadpool(load)
    lang = language_of(request, who)
    t = catalog()
    for row in rows:
        row["left"] = review.time_left(
            row["case"]["seconds_left"], lambda k, **kw: t.text(k, lang, **kw)
        )
    jurisdictions = [r["case"]["jurisdiction"] for r in rows if r["case"]["jurisdiction"]]
    common = max(set(jurisdictions), key=jurisdictions.count) if jurisdictions else None
    base = "/console/queues/" + quote(name, safe="")
    context = {
        "name": name,
        "label": review.queue_label(name, lang) if name != review.ALL_QUEUES else None,
        "rows": rows,
        "filters": filters,
        "states": review.STATES,
        "kinds": sorted(NOTICE_KINDS),
        "can_decide": who.principal.can(Permission.CASES_DECIDE),
        "flash": review.flash_of(request),
        "bulk": bulk,
        "law_hint": LAW_HINTS.get(common or "", ""),
        "base": base,
        "here": base + (f"?{request.url.query}" if request.url.query else ""),
        "limited": len(rows) >= review.LIST_LIMIT,
        **exposure,
    }
    return render(request, "queue.html", context, who=who)


@router.get("/console/queues/{name}")
async def queue(
    name: str, request: Request, who: SignedIn = Depends(review.case_reader)
) -> Response:
    return await _queue_page(request, who, name[:64])


def refusal(case: Mapping[str, Any] | None, facts: CaseFacts | None, who: SignedIn) -> str | None:
    """Why a case may not be confirmed in bulk (a text key), or ``None`` when it may."""
    if case is None or not review.visible(case, who.principal):
        return "queues.bulk.not_found"
    if case["state"] == review.CLOSED:
        return "queues.bulk.closed"
    if case["assignee"] not in (None, who.principal.name):
        return "queues.bulk.claimed"
    if facts is None or not facts.exact_known_abuse:
        return "queues.bulk.not_exact"
    return None


def _confirm(service: Any, who: SignedIn, ids: list[int], law: str, reasons: str) -> dict[str, Any]:
    done: list[int] = []
    refused: list[tuple[int, str]] = []
    now = service.now()
    with service.ws.sessions() as session:
        facts = case_facts(session, ids)
    for case_id in ids:
        case = service.cases.get(case_id, now=now)
        why = refusal(case, facts.get(case_id), who)
        if why is not None:
            refused.append((case_id, why))
            continue
        ruling = Ruling(
            outcome="remove",
            ground="illegal",
            category=facts[case_id].bulk_category(),  # type: ignore[arg-type]
            reasons=reasons,
            law=law,
        )
        try:
            service.decide(case_id, ruling, actor=who.principal.name)
        except (CaseError, StatementError):
            refused.append((case_id, "queues.bulk.refused"))
        else:
            done.append(case_id)
    return {"problem": None, "done": done, "refused": refused, "law": law}


@router.post("/console/queues/{name}/confirm")
async def confirm_removals(
    name: str, request: Request, who: SignedIn = Depends(review.case_reader)
) -> Response:
    """Confirm the removal of the ticked cases: each is re-checked (exact known abuse only)
    and decided on its own; the page says which went ahead and which were refused, and why."""
    fields = await form(request, who)
    if not who.principal.can(Permission.CASES_DECIDE):
        raise ConsoleForbidden(who, (Permission.CASES_DECIDE,))
    ids = sorted(
        int(k[5:])
        for k, v in fields.items()
        if k.startswith("case-") and k[5:].isdigit() and len(k) < 25 and v
    )[:MAX_BULK]
    law = fields.get("law", "").strip()[:500]
    if not ids or not law:
        problem = "queues.bulk.none" if not ids else "queues.bulk.law_missing"
        return await _queue_page(
            request,
            who,
            name[:64],
            bulk={"problem": problem, "done": [], "refused": [], "law": law},
        )
    reasons = catalog().text("queues.bulk.reasons", language_of(request, who))
    result = await run_in_threadpool(_confirm, request.app.state.service, who, ids, law, reasons)
    return await _queue_page(request, who, name[:64], bulk=result)
