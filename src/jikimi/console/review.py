"""What the review pages share: who may read cases, the open cases of a queue in the order
people work them, time left in words, the short messages a page shows after a form.

The rules are the API's own (``web/api/cases.py``): cases are read with ``cases:decide`` or
``audit:read`` (notices hold notifiers' details), suspected-minor cases by ``minors:view``
only, and a case one may not see is "not found", the same as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import case as when
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal
from jikimi.console.facts import case_facts
from jikimi.console.i18n import catalog
from jikimi.console.sessions import SignedIn
from jikimi.console.web import ConsoleForbidden, form, signed_in
from jikimi.store.models import Case

__all__ = [
    "ALL_QUEUES",
    "OPEN_STATES",
    "back_path",
    "case_reader",
    "flash_of",
    "list_open",
    "next_case",
    "queue_counts",
    "queue_label",
    "time_left",
    "visible",
    "with_flash",
]

# The pseudo-queue of every open case the user may see (no policy queue is called this).
ALL_QUEUES = "all"
CLOSED = "closed"
# Every state a case waits for people in; CaseStore.list filters one state at a time.
OPEN_STATES = ("new", "escalated", "appealed", "actioned")
STATES = (*OPEN_STATES, CLOSED)
LIST_LIMIT = 200
# Short notes a page shows after a form sent the browser back to it (``?flash=KEY&case=ID``).
FLASHES = {
    "claimed": "review.flash.claimed",
    "released": "review.flash.released",
    "claim_refused": "review.flash.claim_refused",
    "decided": "review.flash.decided",
    "escalated": "review.flash.escalated",
    "task_resolved": "review.flash.task_resolved",
}


def can_read_cases(who: Principal) -> bool:
    return who.can(Permission.ITEMS_READ) and (
        who.can(Permission.CASES_DECIDE) or who.can(Permission.AUDIT_READ)
    )


async def case_reader(who: SignedIn = Depends(signed_in)) -> SignedIn:
    """A dependency admitting those who may read cases (``cases:decide`` or ``audit:read``)."""
    if not can_read_cases(who.principal):
        raise ConsoleForbidden(who, (Permission.CASES_DECIDE, Permission.AUDIT_READ))
    return who


def visible(case: Mapping[str, Any] | None, who: Principal) -> bool:
    """Whether ``who`` may see the case at all (suspected minors: ``minors:view`` only)."""
    if case is None:
        return False
    return not case["suspected_minor"] or who.can(Permission.MINORS_VIEW)


async def posted_to_case(
    request: Request, who: SignedIn, case_id: int, needs: Permission
) -> tuple[dict[str, str], dict[str, Any] | None]:
    """A form posted from a case page: its fields (CSRF checked), after the permission the
    action ``needs`` (403 without it), and the case, or None when the user may not see it."""
    fields = await form(request, who)
    if not who.principal.can(needs):
        raise ConsoleForbidden(who, (needs,))
    service = request.app.state.service
    case = await run_in_threadpool(lambda: service.cases.get(case_id, now=service.now()))
    return fields, case if visible(case, who.principal) else None


def minors_filter(who: Principal) -> bool | None:
    """CaseStore.list's ``minors``: ``None`` (all) for minors:view, else ``False``."""
    return None if who.can(Permission.MINORS_VIEW) else False


def _order(case: Mapping[str, Any]) -> tuple[bool, datetime | str, int, int]:
    """CaseStore.list's order: the soonest due first (no clock last), then priority."""
    due = case["due_at"]
    return (due is None, datetime.fromisoformat(due) if due else "", -case["priority"], case["id"])


def list_open(
    service: Any,
    who: Principal,
    *,
    queue: str | None,
    state: str | None = None,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Open cases (or those in ``state``) of ``queue`` (``None``: all) in working order."""
    states = (state,) if state else OPEN_STATES
    now = service.now()
    found: list[dict[str, Any]] = []
    for s in states:
        found += service.cases.list(
            now=now,
            queue=queue,
            state=s,
            minors=minors_filter(who),
            limit=LIST_LIMIT,
            **filters,
        )
    return sorted(found, key=_order)[:LIST_LIMIT]


def queue_counts(service: Any, who: Principal) -> list[tuple[str, int, int]]:
    """(queue, open cases, overdue) of every queue with open cases the user may see."""
    now = service.now()
    late = (Case.due_at.is_not(None)) & (Case.due_at < now)
    query = (
        select(Case.queue, func.count(), func.sum(when((late, 1), else_=0)))
        .where(Case.state != CLOSED)
        .group_by(Case.queue)
        .order_by(Case.queue)
    )
    if not who.can(Permission.MINORS_VIEW):
        query = query.where(Case.suspected_minor.is_(False))
    with service.ws.sessions() as session:
        return [(q, int(n), int(o or 0)) for q, n, o in session.execute(query)]


def next_case(
    service: Any,
    who: Principal,
    queue: str | None,
    after: int | None,
    *,
    facts_only: bool = False,
) -> dict[str, Any] | None:
    """The case to work on after ``after`` in ``queue``'s order: the next one down the list
    that nobody else holds (wrapping round), not ``after`` itself; with ``facts_only`` (a
    reviewer past the daily reveal limit) only a case that needs no media."""
    cases = [
        c
        for c in list_open(service, who, queue=queue)
        if c["assignee"] in (None, who.name) or c["id"] == after
    ]
    if facts_only:
        with service.ws.sessions() as session:
            facts = case_facts(session, [c["id"] for c in cases])
        cases = [c for c in cases if facts[c["id"]].facts_only or c["id"] == after]
    ids = [c["id"] for c in cases]
    if after in ids:
        at = ids.index(after)
        cases = cases[at + 1 :] + cases[:at]
    return next((c for c in cases if c["id"] != after), None)


def time_left(seconds: int | None, t: Callable[..., str]) -> str:
    """``seconds`` (negative once overdue) as "5 h 12 min left" / "overdue by 2 h 3 min"."""
    if seconds is None:
        return t("review.time.none")
    span = abs(seconds)
    days, rest = divmod(span, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = t("review.time.dh", d=days, h=hours)
    elif hours:
        text = t("review.time.hm", h=hours, m=minutes)
    else:
        text = t("review.time.m", m=minutes)
    return t("review.time.overdue", time=text) if seconds < 0 else t("review.time.left", time=text)


def queue_label(name: str, lang: str) -> str:
    """A queue's name in words, or the name itself for a queue a policy made up."""
    key = f"review.queue.{name}"
    return catalog().text(key, lang) if key in catalog() else name


def flash_of(request: Request) -> tuple[str, int | None] | None:
    """The note a form left for this page: (text key, case id)."""
    key = FLASHES.get(request.query_params.get("flash", ""))
    if key is None:
        return None
    case = request.query_params.get("case", "")
    return key, int(case) if case.isdigit() and len(case) < 19 else None


def back_path(value: str | None, default: str) -> str:
    """A page of the console to go back to (never another site)."""
    if value and value.startswith("/console/") and "//" not in value and "\\" not in value:
        return value
    return default


def with_flash(path: str, key: str, case_id: int) -> str:
    """``path`` with the note ``key`` about ``case_id`` (replacing an earlier note)."""
    base, _, query = path.split("#", 1)[0].partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith(("flash=", "case="))]
    return f"{base}?{'&'.join([*kept, f'flash={key}', f'case={case_id}'])}"
