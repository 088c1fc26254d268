"""Protected persons (``/console/admin/persons``): list, enrol, add hashes, delete.

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

A person may be enrolled from reference photos, from the hashes of her own images (a
``jikimi hash --json`` file or its pasted lines, made on her own device), or both; at least one
of them, else the form comes back with the problem next to those fields. Hash lines are read
as ``jikimi person add-hashes`` reads them (:func:`~jikimi.persons.hash_records.read_hash_records`):
bad lines are listed with their number and the good ones enrolled. Enrolling from hashes alone
needs no ``faces`` extractor.
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
from jikimi.console.uploads import Upload, UploadedFile, read_upload
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
from jikimi.model import BankSpec, EntrySpec
from jikimi.persons.enrol import MIN_FACE_SIDE
from jikimi.persons.hash_records import HashLines, read_hash_records
from jikimi.persons.store import PersonInfo, bank_name
from jikimi.signals.extractor import MediaInput
from jikimi.signals.faces import FaceExtractor

router = APIRouter(include_in_schema=False)

_P = Permission
MAX_PHOTOS = 10
MAX_PHOTO_UPLOAD = 60 * 1024**2  # all photos of one enrolment, in memory
MAX_HASHES_UPLOAD = 20 * 1024**2
MAX_PASTED_HASHES = 1024**2  # pasted hash lines, a text field; more goes in a file
SHOWN_LINES = 200
FIELDS = ("name", "consent_by", "on_behalf_of", "authority", "scope", "expires")
# Problems shown next to the photo and hash fields rather than above the form.
FIELD_PROBLEMS = frozenset({"admin.persons.error.nothing", "admin.persons.error.no_hashes"})


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


def _read_hashes(data: bytes) -> HashLines:
    return read_hash_records(iter_lines(io.BytesIO(data)))


def _hash_data(upload: Upload) -> bytes | None:
    """The hash records of the enrolment form: its file, else its pasted lines (a file wins,
    as on the policy page), else None; a blank file or paste is none."""
    files = upload.files_of("hashes")
    if files and files[0].data.strip():
        return files[0].data
    pasted = upload.fields.get("hash_lines", "")
    # Browsers send a textarea's line breaks as CRLF.
    return pasted.replace("\r\n", "\n").encode("utf-8") if pasted.strip() else None


def _hashes_result(
    added: int, duplicates: int, rejected: list[tuple[int, str]], skipped: list[tuple[int, str]]
) -> dict[str, Any]:
    """What the hashes result area of the person page shows."""
    return {
        "added": added,
        "duplicates": duplicates,
        "rejected": [(n, r.removeprefix(f"line {n}: ")) for n, r in rejected[:SHOWN_LINES]],
        "rejected_count": len(rejected),
        "skipped": skipped[:SHOWN_LINES],
        "skipped_count": len(skipped),
    }


def _enrol_problem(
    values: dict[str, str],
    expires: datetime | str | None,
    photos: list[UploadedFile],
    hash_data: bytes | None,
    extractor: FaceExtractor | None,
) -> tuple[str, int] | None:
    """What stops the enrolment form before any photo or hash is read (a text key and the
    status), or None."""
    if not values["name"] or not values["consent_by"]:
        return "admin.persons.error.required", 400
    if isinstance(expires, str):
        return expires, 400
    if not photos and hash_data is None:
        return "admin.persons.error.nothing", 400
    if len(photos) > MAX_PHOTOS:
        return "admin.upload_too_many", 413
    if hash_data is not None and len(hash_data) > MAX_HASHES_UPLOAD:
        return "admin.upload_too_large", 413
    if photos and extractor is None:
        return "admin.persons.faces_unavailable", 503
    return None


async def _persons_context(request: Request, deleted: bool, **extra: Any) -> dict[str, Any]:
    store = request.app.state.service.ws.persons
    persons = await run_in_threadpool(lambda: store.list(include_deleted=deleted))
    _, unavailable = faces_extractor(request)
    return {
        "persons": persons,
        "deleted": deleted,
        "unavailable": unavailable,
        "form": dict.fromkeys((*FIELDS, "hash_lines"), ""),
        "error": None,
        "field_error": None,
        "detail": None,
        "refusals": [],
        "hash_rejects": [],
        **extra,
    }


@router.get("/console/admin/persons")
async def persons_page(
    request: Request, deleted: str | None = None, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))
) -> Response:
    context = await _persons_context(request, deleted == "1")
    return page(request, "admin_persons.html", context, who)


def _add_person(
    matcher: Matcher, spec: BankSpec, templates: list[PersonTemplate], entries: list[EntrySpec]
) -> None:
    matcher.add_bank(spec)
    matcher.faces.add(templates)
    matcher.add_entries(entries)


@router.post("/console/admin/persons")
async def enrol(request: Request, who: SignedIn = Depends(permitted(_P.BANKS_WRITE))) -> Response:
    """Enrol a consenting person from reference photos and/or the hashes of her own images,
    as ``jikimi person enroll`` does."""
    service = request.app.state.service
    settings = service.ws.settings
    upload = await read_upload(
        request,
        who,
        max_bytes=min(MAX_PHOTO_UPLOAD, settings.max_upload_bytes),
        max_files=MAX_PHOTOS + 1,  # and one file of hash records
        max_field_bytes=MAX_PASTED_HASHES,
    )
    values = {k: upload.fields.get(k, "").strip()[:2000] for k in FIELDS}
    pasted = upload.fields.get("hash_lines", "")
    photos = upload.files_of("photos")
    hash_data = _hash_data(upload)
    del upload
    expires = _expiry(values["expires"])
    extractor, _ = faces_extractor(request)

    async def refuse(key: str | None, status: int, **extra: Any) -> Response:
        where = {"field_error": key} if key in FIELD_PROBLEMS else {"error": key}
        form_values = {**values, "hash_lines": pasted}
        context = await _persons_context(request, False, form=form_values, **where, **extra)
        return page(request, "admin_persons.html", context, who, status=status)

    problem = _enrol_problem(values, expires, photos, hash_data, extractor)
    if problem is not None:
        return await refuse(*problem)
    assert not isinstance(expires, str)
    read = HashLines() if hash_data is None else await run_in_threadpool(_read_hashes, hash_data)
    if not photos and not read.pairs:
        rejects = sorted(read.rejected + read.skipped)[:SHOWN_LINES]
        return await refuse("admin.persons.error.no_hashes", 400, hash_rejects=rejects)
    templates: list[np.ndarray] = []
    if photos:
        assert extractor is not None
        limits = Limits.from_settings(settings)
        templates, refusals = await anyio.to_thread.run_sync(
            photo_templates, photos, extractor, limits, limiter=service.cpu_limiter
        )
        if refusals:
            return await refuse("admin.persons.error.refused", 422, refusals=refusals)
    del photos
    store = service.ws.persons
    actor = who.principal.name
    scope = [s.strip() for s in values["scope"].split(",") if s.strip()]
    try:
        info = await run_in_threadpool(
            lambda: store.enroll(
                values["name"],
                templates,
                hashes=read.pairs,
                consent_by=values["consent_by"],
                actor=actor,
                authority=values["authority"] or None,
                on_behalf_of=values["on_behalf_of"] or None,
                scope=scope,
                expires_at=expires,
                tool_version=__version__,
            )
        )
    except PersonError as exc:
        return await refuse("admin.persons.error.refused_store", 400, detail=str(exc))
    return await _enrolled(request, who, info, templates, read, hash_data is not None)


async def _enrolled(
    request: Request,
    who: SignedIn,
    info: PersonInfo,
    templates: list[np.ndarray],
    read: HashLines,
    with_hashes: bool,
) -> Response:
    """After an enrolment: the live matcher takes the person's bank, hashes and templates at
    once, the retroactive search runs, and the person's page is the answer."""
    service = request.app.state.service
    banks = service.ws.banks
    name = bank_name(info.person_id)
    spec = (await run_in_threadpool(banks.get, name)).spec()
    # The bank is new: what it holds is what this enrolment added.
    added = await run_in_threadpool(banks.entries, name) if read.pairs else []
    entries = [e.spec() for e in added]
    faces = [PersonTemplate(info.person_id, info.name, t) for t in templates]
    del templates
    await run_in_threadpool(service.apply_in_place, lambda m: _add_person(m, spec, faces, entries))
    hits = await run_in_threadpool(
        lambda: service.ws.persons.search_retroactive(
            info.person_id,
            threshold=service.ws.settings.face_match_threshold,
            actor=who.principal.name,
            tool_version=__version__,
        )
    )
    hashes = (
        _hashes_result(len(added), len(read.pairs) - len(added), read.rejected, read.skipped)
        if with_hashes
        else None
    )
    context = await _person_context(
        request, info.person_id, enrolled=True, hits=hits, hashes=hashes
    )
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
    hashes = _hashes_result(len(report.added), report.duplicates, report.rejected, report.skipped)
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
