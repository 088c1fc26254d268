"""Protected persons (``/console/admin/persons``): list, enrol from photos, add hashes, delete.

There is no API for persons; ``jikimi person`` runs as the operator. Enrolling, adding hashes
and deleting create, fill and delete the bank ``person:<id>`` and change what is matched, so
the console asks for ``banks:write``, as the API does for any other bank change. The store
calls are the CLI's (:class:`~jikimi.persons.store.PersonStore`: ``person.enrolled``,
``person.hashes_added``, ``person.deleted`` custody events, and the retroactive search the CLI
runs after enrolling); the change then reaches the live matcher at once.

Reference photos are read into memory (:mod:`jikimi.console.uploads`, never spooled to
disk), decoded there under the workspace's limits, and only one template per photo leaves
:func:`photo_templates`; nothing records a photo's name or digest. The acceptance rules are
:mod:`jikimi.persons.enrol`'s (exactly one face, at least ``MIN_FACE_SIDE`` px, all or
nothing), applied to bytes instead of paths.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jikimi import __version__
from jikimi.accounts.roles import Permission
from jikimi.banks.formats import iter_lines
from jikimi.console.pages.admin import back, not_found, page
from jikimi.console.sessions import SignedIn
from jikimi.console.uploads import UploadedFile, read_upload
from jikimi.console.web import form, permitted
from jikimi.errors import (
    BankNotFound,
    ExtractorUnavailable,
    MediaError,
    PersonError,
    PersonNotFound,
    UnknownSignalType,
    UnsupportedMedia,
)
from jikimi.matching.faces import PersonTemplate
from jikimi.matching.matcher import Matcher
from jikimi.media.decode import check_file_size, load_rgb, open_image
from jikimi.media.limits import Limits
from jikimi.media.sniff import HEAD_BYTES, describe, sniff
from jikimi.persons.enrol import MIN_FACE_SIDE
from jikimi.persons.store import bank_name
from jikimi.signals.extractor import MediaInput
from jikimi.signals.faces import FaceExtractor

router = APIRouter(include_in_schema=False)

_P = Permission
MAX_PHOTOS = 10
MAX_PHOTO_UPLOAD = 60 * 1024**2  # all photos of one enrolment, in memory
MAX_HASHES_UPLOAD = 20 * 1024**2
SHOWN_LINES = 200
FIELDS = ("name", "consent_by", "on_behalf_of", "authority", "scope", "expires")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A photo that was not accepted: its upload name and why (a text key and values)."""

    photo: str
    key: str
    values: dict[str, Any]


def faces_extractor(request: Request) -> tuple[FaceExtractor | None, str | None]:
    """The service's ``faces`` extractor, or None and why it is unavailable."""
    try:
        extractor = request.app.state.service.registry.get("faces")
    except (ExtractorUnavailable, UnknownSignalType) as exc:
        return None, str(exc)
    return extractor, None


def _one_photo(
    photo: UploadedFile, extractor: FaceExtractor, limits: Limits
) -> np.ndarray | Refusal:
    """The template of the photo's one face, or why the photo is refused (the rules of
    :func:`jikimi.persons.enrol.templates_from_photos`)."""
    name = photo.filename or "?"
    data = photo.data
    try:
        check_file_size(len(data), limits)
        sniffed = sniff(data[:HEAD_BYTES])
        if sniffed is None or sniffed.kind != "image":
            raise UnsupportedMedia(f"not an image: {describe(data[:HEAD_BYTES])}")
        im, info = open_image(data, sniffed, limits)
        with im:
            rgb = load_rgb(im)
    except MediaError as exc:
        return Refusal(name, "admin.persons.refused.unreadable", {"detail": str(exc)})
    # The extractor works on the pixels; the path is a label, nothing reads it.
    (finding,) = extractor.extract([MediaInput(Path("upload"), b"", info, rgb)])
    del rgb
    if finding.status != "ok":
        return Refusal(name, "admin.persons.refused.no_face", {})
    found = finding.value["faces"]
    if not found:
        return Refusal(name, "admin.persons.refused.no_face", {})
    if len(found) > 1:
        return Refusal(name, "admin.persons.refused.several", {"n": len(found)})
    left, top, right, bottom = (int(v) for v in found[0]["box"])
    side = min(right - left, bottom - top)
    if side < MIN_FACE_SIDE:
        return Refusal(name, "admin.persons.refused.small", {"side": side, "least": MIN_FACE_SIDE})
    return np.asarray(finding.private["templates"][0], dtype=np.float32)


def photo_templates(
    photos: list[UploadedFile], extractor: FaceExtractor, limits: Limits
) -> tuple[list[np.ndarray], list[Refusal]]:
    """One template per photo, or every refusal (then no template)."""
    templates: list[np.ndarray] = []
    refusals: list[Refusal] = []
    for photo in photos:
        result = _one_photo(photo, extractor, limits)
        if isinstance(result, Refusal):
            refusals.append(result)
        else:
            templates.append(result)
    return ([], refusals) if refusals else (templates, [])


def _expiry(text: str) -> datetime | str | None:
    """The consent expiry typed as YYYY-MM-DD (00:00 UTC that day), None, or a problem key."""
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return "admin.persons.error.expires"
    if day <= datetime.now(UTC):
        return "admin.persons.error.expires_past"
    return day


async def _persons_context(request: Request, deleted: bool, **extra: Any) -> dict[str, Any]:
    store = request.app.state.service.ws.persons
    persons = await run_in_threadpool(lambda: store.list(include_deleted=deleted))
    _, unavailable = faces_extractor(request)
    return {
        "persons": persons,
        "deleted": deleted,
        "unavailable": unavailable,
        "form": dict.fromkeys(FIELDS, ""),
        "error": None,
        "detail": None,
        "refusals": [],
        **extra,
    }


@router.get("/console/admin/persons")
async def persons_page(
    request: Request, deleted: str | None = None, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))
) -> Response:
    context = await _persons_context(request, deleted == "1")
    return page(request, "admin_persons.html", context, who)


def _add_person(matcher: Matcher, spec: Any, templates: list[PersonTemplate]) -> None:
    matcher.add_bank(spec)
    matcher.faces.add(templates)


@router.post("/console/admin/persons")
async def enrol(request: Request, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))) -> Response:
    """Enrol a consenting person from reference photos, as ``jikimi person enroll`` does."""
    service = request.app.state.service
    settings = service.ws.settings
    upload = await read_upload(
        request,
        who,
        max_bytes=min(MAX_PHOTO_UPLOAD, settings.max_upload_bytes),
        max_files=MAX_PHOTOS,
    )
    values = {k: upload.fields.get(k, "").strip()[:2000] for k in FIELDS}
    photos = upload.files_of("photos")
    del upload
    expires = _expiry(values["expires"])
    extractor, _ = faces_extractor(request)
    problem: str | None = None
    if not values["name"] or not values["consent_by"]:
        problem = "admin.persons.error.required"
    elif isinstance(expires, str):
        problem = expires
    elif not photos:
        problem = "admin.persons.error.no_photos"
    elif extractor is None:
        problem = "admin.persons.faces_unavailable"

    async def refuse(key: str | None, status: int, **extra: Any) -> Response:
        context = await _persons_context(request, False, form=values, error=key, **extra)
        return page(request, "admin_persons.html", context, who, status=status)

    if problem is not None:
        status = 503 if problem == "admin.persons.faces_unavailable" else 400
        return await refuse(problem, status)
    assert extractor is not None and not isinstance(expires, str)
    limits = Limits.from_settings(settings)
    templates, refusals = await anyio.to_thread.run_sync(
        photo_templates, photos, extractor, limits, limiter=service.cpu_limiter
    )
    del photos
    if refusals:
        return await refuse("admin.persons.error.refused", 422, refusals=refusals)
    store = service.ws.persons
    actor = who.principal.name
    scope = [s.strip() for s in values["scope"].split(",") if s.strip()]
    try:
        info = await run_in_threadpool(
            store.enroll,
            values["name"],
            templates,
            consent_by=values["consent_by"],
            actor=actor,
            authority=values["authority"] or None,
            on_behalf_of=values["on_behalf_of"] or None,
            scope=scope,
            expires_at=expires,
            tool_version=__version__,
        )
    except PersonError as exc:
        return await refuse("admin.persons.error.refused_store", 400, detail=str(exc))
    spec = (await run_in_threadpool(service.ws.banks.get, bank_name(info.person_id))).spec()
    faces = [PersonTemplate(info.person_id, info.name, t) for t in templates]
    del templates
    await run_in_threadpool(service.apply_in_place, lambda m: _add_person(m, spec, faces))
    hits = await run_in_threadpool(
        lambda: store.search_retroactive(
            info.person_id,
            threshold=settings.face_match_threshold,
            actor=actor,
            tool_version=__version__,
        )
    )
    context = await _person_context(request, info.person_id, enrolled=True, hits=hits)
    assert context is not None
    return page(request, "admin_person.html", context, who, status=201)


async def _person_context(request: Request, person_id: str, **extra: Any) -> dict[str, Any] | None:
    ws = request.app.state.service.ws

    def load() -> dict[str, Any] | None:
        try:
            person = ws.persons.get(person_id)
        except PersonNotFound:
            return None
        try:
            bank = ws.banks.get(bank_name(person_id))
        except BankNotFound:
            bank = None
        return {"person": person, "bank": bank}

    loaded = await run_in_threadpool(load)
    if loaded is None:
        return None
    return {
        **loaded,
        "bank_name": bank_name(person_id),
        "enrolled": False,
        "hits": None,
        "hashes": None,
        "error": None,
        **extra,
    }


@router.get("/console/admin/persons/{person_id}")
async def person_page(
    request: Request, person_id: str, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))
) -> Response:
    context = await _person_context(request, person_id)
    if context is None:
        return not_found(request, who)
    return page(request, "admin_person.html", context, who)


@router.post("/console/admin/persons/{person_id}/hashes")
async def add_hashes(
    request: Request, person_id: str, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))
) -> Response:
    """Add the hashes of ``jikimi hash --json`` lines, as ``jikimi person add-hashes`` does."""
    service = request.app.state.service
    upload = await read_upload(request, who, max_bytes=MAX_HASHES_UPLOAD, max_files=1)
    files = upload.files_of("file")
    if not files:
        context = await _person_context(request, person_id, error="admin.import.no_file")
        if context is None:
            return not_found(request, who)
        return page(request, "admin_person.html", context, who, status=400)
    data = files[0].data
    del upload, files
    try:
        report = await run_in_threadpool(
            lambda: service.ws.persons.add_hashes(
                person_id,
                iter_lines(io.BytesIO(data)),
                actor=who.principal.name,
                tool_version=__version__,
            )
        )
    except PersonNotFound:
        return not_found(request, who)
    spec = (await run_in_threadpool(service.ws.banks.get, bank_name(person_id))).spec()
    specs = [e.spec() for e in report.added]

    def add(matcher: Matcher) -> None:
        matcher.add_bank(spec)  # add_hashes makes the bank if an enrolment was cut short
        matcher.add_entries(specs)

    await run_in_threadpool(service.apply_in_place, add)
    hashes = {
        "added": len(report.added),
        "duplicates": report.duplicates,
        "rejected": [(n, r.removeprefix(f"line {n}: ")) for n, r in report.rejected[:SHOWN_LINES]],
        "rejected_count": len(report.rejected),
        "skipped": report.skipped[:SHOWN_LINES],
        "skipped_count": len(report.skipped),
    }
    context = await _person_context(request, person_id, hashes=hashes)
    assert context is not None
    return page(request, "admin_person.html", context, who)


@router.post("/console/admin/persons/{person_id}/delete")
async def delete_person(
    request: Request, person_id: str, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))
) -> Response:
    """Withdraw a person with a reason, as ``jikimi person delete`` does."""
    fields = await form(request, who)
    service = request.app.state.service
    reason = fields.get("reason", "").strip()
    if not reason or len(reason) > 2000:
        context = await _person_context(request, person_id, error="admin.persons.error.reason")
        if context is None:
            return not_found(request, who)
        return page(request, "admin_person.html", context, who, status=400)
    try:
        await run_in_threadpool(
            lambda: service.ws.persons.delete(
                person_id, actor=who.principal.name, reason=reason, tool_version=__version__
            )
        )
    except PersonNotFound:
        return not_found(request, who)

    def remove(matcher: Matcher) -> None:
        with contextlib.suppress(BankNotFound):  # a rebuild already dropped it
            matcher.remove_bank(bank_name(person_id))
        matcher.faces.remove_person(person_id)

    await run_in_threadpool(service.apply_in_place, remove)
    return back("/console/admin/persons", "person_deleted")
