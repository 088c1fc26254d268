"""Media for reviewers: a veiled preview by default, the original only on a deliberate,
logged reveal.

- ``GET /console/media/{sha256}/preview`` (``media:view``; ``minors:view`` too for media that
  may show a minor): a small blurred greyscale JPEG made in memory (:mod:`..media_preview`).
- ``POST /console/cases/{case_id}/reveal`` (a form: CSRF, same origin): records the custody
  event ``media.revealed`` (actor, case, media, time) and answers a grant, good for one
  request within :data:`GRANT_SECONDS`. Past the daily reveal limit it refuses unless the
  form says ``continue=1``, and the event records that the reviewer went on.
- ``GET /console/media/{sha256}/original?grant=...``: the original bytes, once per grant; each
  serving is the custody event ``media.original_served``.

Grants live in the custody log itself, so they work across server processes with no table of
their own: the grant is ``<seq>.<secret>``, the reveal event at ``seq`` holds the SHA-256 of
the secret, and a grant is spent when a served event names that seq. The served event is
appended first and the count checked after, inside the custody chain's lock, so two requests
racing with one grant cannot both get the file.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from jikimi import __version__
from jikimi.accounts.roles import Permission
from jikimi.console import review
from jikimi.console.facts import case_facts, items_facts, media_is_minor
from jikimi.console.i18n import catalog
from jikimi.console.media_preview import preview_jpeg
from jikimi.console.pages.wellness import store
from jikimi.console.sessions import SignedIn
from jikimi.console.web import (
    SECURITY_HEADERS,
    ConsoleForbidden,
    language_of,
    permitted,
)
from jikimi.console.wellness import REVEALED
from jikimi.errors import MediaError, VaultError
from jikimi.media.limits import Limits
from jikimi.store.db import write_session
from jikimi.store.models import CustodyEventRecord, MediaRecord

router = APIRouter(include_in_schema=False)
log = logging.getLogger("jikimi.console.media")

SERVED = "media.original_served"
GRANT_SECONDS = 60
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GRANT = re.compile(r"([0-9]{1,18})\.([A-Za-z0-9_-]{20,64})")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _plain(status: int, text: str) -> Response:
    return Response(text, status_code=status, media_type="text/plain", headers=SECURITY_HEADERS)


def _media_row(service: Any, sha256: str) -> tuple[bool, str | None, str | None, bool]:
    """(known and kept in the vault, its MIME type, its media type, may show a minor)."""
    with service.ws.sessions() as session:
        row = session.get(MediaRecord, sha256)
        if row is None:
            return False, None, None, False
        minor = media_is_minor(session, sha256)
        return bool(row.kept_in_vault), row.mime, row.media_type, minor


def _refused(who: SignedIn, minor: bool) -> bool:
    return minor and not who.principal.can(Permission.MINORS_VIEW)


@router.get("/console/media/{sha256}/preview")
async def preview(
    sha256: str, request: Request, who: SignedIn = Depends(permitted(Permission.MEDIA_VIEW))
) -> Response:
    if not _SHA256.fullmatch(sha256):
        return _plain(404, "not found")
    service = request.app.state.service
    kept, _, _, minor = await run_in_threadpool(_media_row, service, sha256)
    if _refused(who, minor):
        raise ConsoleForbidden(who, (Permission.MEDIA_VIEW, Permission.MINORS_VIEW))
    if not kept or not service.ws.vault.has(sha256):
        return _plain(404, "not kept: facts only")
    veil = await run_in_threadpool(store(request).effective, who.principal.user_id)
    limits = Limits.from_settings(service.ws.settings)

    def make() -> bytes:
        return preview_jpeg(service.ws.vault.get(sha256), limits=limits, radius=veil.preview_radius)

    try:
        body = await run_in_threadpool(make)
    except (MediaError, VaultError) as exc:
        log.warning("no preview of %s: %s", sha256, exc)
        return _plain(404, "no preview: facts only")
    return Response(body, media_type="image/jpeg", headers=SECURITY_HEADERS)


def _case_media(service: Any, case: dict[str, Any]) -> set[str]:
    """The media a case's page shows: its items' and its review tasks' items'."""
    with service.ws.sessions() as session:
        facts = case_facts(session, [case["id"]])[case["id"]]
        tasks = items_facts(session, [t["item_id"] for t in case["tasks"]])
    found = {m.sha256 for m in facts.media if m.sha256}
    found |= {m.sha256 for item in tasks.values() for m in item.media if m.sha256}
    return found


def _answer(request: Request, who: SignedIn, status: int, key: str, **extra: Any) -> Response:
    """A refusal in the user's language: JSON for the page's script, else plain text."""
    text = catalog().text(key, language_of(request, who), **extra.pop("values", {}))
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(
            {"error": key, "message": text, **extra}, status_code=status, headers=SECURITY_HEADERS
        )
    return _plain(status, text)


@router.post("/console/cases/{case_id}/reveal")
async def reveal(
    case_id: int, request: Request, who: SignedIn = Depends(review.case_reader)
) -> Response:
    """Reveal one original of the case: logged, then a single-use grant to fetch it."""
    fields, case = await review.posted_to_case(request, who, case_id, Permission.MEDIA_VIEW)
    service = request.app.state.service
    sha256 = fields.get("media", "")
    if case is None or not _SHA256.fullmatch(sha256):
        return _answer(request, who, 404, "casepage.reveal.not_found")
    assert case is not None
    if sha256 not in await run_in_threadpool(_case_media, service, case):
        return _answer(request, who, 404, "casepage.reveal.not_found")
    kept, _, media_type, minor = await run_in_threadpool(_media_row, service, sha256)
    if _refused(who, minor or case["suspected_minor"]):
        raise ConsoleForbidden(who, (Permission.MEDIA_VIEW, Permission.MINORS_VIEW))
    if not kept or not service.ws.vault.has(sha256):
        return _answer(request, who, 404, "casepage.media.not_kept")
    wellness = store(request)
    veil = await run_in_threadpool(wellness.effective, who.principal.user_id)
    count = await run_in_threadpool(wellness.revealed_today, who.principal.name)
    over = veil.over_limit(count)
    going_on = fields.get("continue") == "1"
    if over and not going_on:
        return _answer(
            request,
            who,
            409,
            "casepage.reveal.over_limit",
            values={"count": count, "limit": veil.daily_reveal_limit},
            over_limit=True,
        )
    secret = secrets.token_urlsafe(24)
    expires = datetime.now(UTC) + timedelta(seconds=GRANT_SECONDS)
    event = await run_in_threadpool(
        lambda: service.ws.custody.append(
            REVEALED,
            f"case:{case_id}",
            {
                "case_id": case_id,
                "media": sha256,
                "grant": _digest(secret),
                "expires_at": expires.isoformat(),
                "over_limit": over,
                "continued_past_limit": over and going_on,
                "revealed_today": count + 1,
            },
            actor=who.principal.name,
            tool_version=__version__,
        )
    )
    url = f"/console/media/{sha256}/original?grant={event.seq}.{secret}"
    if "application/json" in request.headers.get("accept", ""):
        body = {"url": url, "media_type": media_type, "expires_in": GRANT_SECONDS}
        return JSONResponse(body, headers=SECURITY_HEADERS)
    return RedirectResponse(url, status_code=303)


class _Spent(Exception):
    """The grant was used by another request first (rolls the served event back)."""


def _spend(service: Any, who: SignedIn, sha256: str, grant: str) -> bool:
    """Check the grant and spend it (the served event); ``False`` if it is not good."""
    found = _GRANT.fullmatch(grant)
    if found is None:
        return False
    seq, secret = int(found.group(1)), found.group(2)
    with write_session(service.ws.sessions) as session:
        event = session.get(CustodyEventRecord, seq)
        if event is None or event.kind != REVEALED or event.actor != who.principal.name:
            return False
        payload = event.payload
        expires = datetime.fromisoformat(str(payload.get("expires_at")))
        good = (
            payload.get("media") == sha256
            and hmac.compare_digest(str(payload.get("grant", "")), _digest(secret))
            and datetime.now(UTC) < expires
        )
        if not good:
            return False
        service.ws.custody.append(
            SERVED,
            event.subject,
            {"reveal_seq": seq, "case_id": payload.get("case_id"), "media": sha256},
            actor=who.principal.name,
            tool_version=__version__,
            session=session,
        )
        # Under the chain's lock now: any other serving of this grant is already visible.
        served = session.scalars(
            select(CustodyEventRecord.payload).where(
                CustodyEventRecord.kind == SERVED, CustodyEventRecord.seq > seq
            )
        ).all()
        if sum(1 for p in served if p.get("reveal_seq") == seq) > 1:
            raise _Spent
        return True


@router.get("/console/media/{sha256}/original")
async def original(
    sha256: str,
    request: Request,
    grant: str = "",
    who: SignedIn = Depends(permitted(Permission.MEDIA_VIEW)),
) -> Response:
    if not _SHA256.fullmatch(sha256):
        return _plain(404, "not found")
    service = request.app.state.service
    _, mime, _, minor = await run_in_threadpool(_media_row, service, sha256)
    if _refused(who, minor):
        raise ConsoleForbidden(who, (Permission.MEDIA_VIEW, Permission.MINORS_VIEW))
    try:
        good = await run_in_threadpool(_spend, service, who, sha256, grant[:100])
    except _Spent:
        good = False
    if not good:
        return _plain(403, "this link was used, has expired or is not yours: reveal again")
    try:
        body = await run_in_threadpool(service.ws.vault.get, sha256)
    except VaultError:
        return _plain(404, "not kept: facts only")
    headers = {**SECURITY_HEADERS, "Content-Disposition": "inline"}
    return Response(body, media_type=mime or "application/octet-stream", headers=headers)
