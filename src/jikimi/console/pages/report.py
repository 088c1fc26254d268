"""The public takedown form (``/report``): no account, plain English and Korean.

It asks for what a takedown request must carry under the US TAKE IT DOWN Act, 47 U.S.C.
223a(a)(2)(B) (kind ``takedown_request``, docs/cases.md): where the content is, a signature,
a good-faith statement of non-consent and a way to reach the person, and files it through
:meth:`Service.file_notice` as ``POST /v1/notices`` does. An incomplete request is recorded all
the same (nothing is lost) and the form comes back with the values kept and each problem next
to its field.

The content is located by links, by fingerprints (hashes) made on the person's own device (the
page hashes a chosen file with WebCrypto, the file never leaves the browser), or by uploading
the picture: it is read into memory, hashed (SHA-256, MD5 and PDQ, as
:func:`jikimi.signals.compute.compute_signals` does, under the media :class:`Limits`) and
dropped; only the hashes become locators. Nothing of it touches the disk: the body is read with
python-multipart's streaming parser into memory (Starlette's own parser spools files over 1 MiB
to a temporary file), capped at ``report_max_bytes`` by ``Content-Length`` and while it streams.

Each address may send ``report_per_hour`` requests per hour (:mod:`jikimi.console.ratelimit`).
See docs/report-form.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jikimi.cases.notices import MAX_EXPLANATION_CHARS, MAX_LOCATORS, MAX_TEXT_CHARS, check_notice
from jikimi.cases.store import NoticeReceipt
from jikimi.console.i18n import LANGUAGES
from jikimi.console.ratelimit import SlidingWindow, client_key
from jikimi.console.uploads import UploadError, read_form_data
from jikimi.console.web import check_origin, check_token, language_of, render
from jikimi.errors import MediaError, UnsupportedMedia
from jikimi.media.decode import check_file_size, load_rgb, open_image
from jikimi.media.limits import Limits
from jikimi.media.sniff import HEAD_BYTES, describe, sniff
from jikimi.settings import Settings
from jikimi.signals.crypto import bytes_digests
from jikimi.signals.pdq import PdqHasher

__all__ = ["PictureHashes", "hash_picture", "router"]

router = APIRouter(include_in_schema=False)

KIND = "takedown_request"
SUBMITTED_BY = "public-form"  # the custody actor of notices sent through this page
PICTURE = "picture"  # the one file part read
MAX_PARTS = 40  # the form has a dozen fields
MAX_TEXT_PART = 262_144  # 100 links of 2,048 characters, or 20,000 Korean characters, fit
# The member states as the shipped deadline profiles group them (a test compares the two).
EU_MEMBERS = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip
JURISDICTIONS = frozenset({"KR", "US", "GB", *EU_MEMBERS})
# check_notice's elements → the form field their message goes next to.
MISSING_FIELD = {
    "signature": "signature",
    "locators": "locators",
    "good_faith_statement": "statement",
    "contact": "contact",
}
TEXT_LIMITS = {
    "signature": MAX_TEXT_CHARS,
    "on_behalf_of": MAX_TEXT_CHARS,
    "explanation": MAX_EXPLANATION_CHARS,
}
# Fields in page order: the summary at the top lists errors in this order.
FIELD_ORDER = (
    "locators", "hashes", PICTURE, "signature", "statement", "contact", "email", "phone",
    "explanation", "on_behalf_of", "jurisdiction", "language", "form",
)  # fmt: skip
PICTURE_ERRORS = {
    "empty": "report.picture.empty",
    "unsupported": "report.picture.not_image",
    "corrupt": "report.picture.corrupt",
    "decompression_bomb": "report.picture.bomb",
    "too_large": "report.picture.too_large",
}
_TYPED_HASH = re.compile(r"([A-Za-z][A-Za-z0-9_]{0,31})\s+([0-9A-Fa-f]+)")  # "sha256 <hex>"
_BARE_HOST = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?", re.IGNORECASE)  # "t.me/x/1"

Errors = dict[str, list[tuple[str, dict[str, Any]]]]


# -- reading the body ------------------------------------------------------------------------


class TooLarge(Exception):
    """The body is over ``report_max_bytes``."""


class Malformed(Exception):
    """Not a form, or a broken one; ``key`` is the text to show."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(slots=True)
class Posted:
    """The text fields and, if one was chosen, the picture's bytes (memory only)."""

    fields: dict[str, str] = field(default_factory=dict)
    picture: bytes | None = field(default=None, repr=False)


async def read_form(request: Request, limit: int) -> Posted:
    """The posted form within ``limit`` bytes, in memory: :class:`TooLarge` as soon as it is
    known to be over (``Content-Length``, then the bytes as they stream), :class:`Malformed`
    for a body that is not this form (a file other than the picture, or two pictures)."""
    try:
        upload = await read_form_data(
            request,
            max_bytes=limit,
            max_files=1,
            max_field_bytes=MAX_TEXT_PART,
            max_fields=MAX_PARTS,
        )
    except UploadError as exc:
        if exc.reason == "too_large":
            raise TooLarge from None
        raise Malformed(_UPLOAD_KEYS[exc.reason]) from None
    if any(f.field != PICTURE for f in upload.files):
        raise Malformed("report.malformed")
    pictures = upload.files_of(PICTURE)
    return Posted(upload.fields, pictures[0].data if pictures else None)


_UPLOAD_KEYS = {
    "too_many_files": "report.picture.one",
    "field_too_large": "report.text_too_large",
    "malformed": "report.malformed",
}


# -- the picture ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PictureHashes:
    """The fingerprints of an uploaded picture; ``pdq`` is ``None`` below the quality floor."""

    sha256: str
    md5: str
    pdq: str | None

    def locators(self) -> list[str]:
        found = [f"sha256:{self.sha256}", f"md5:{self.md5}"]
        return [*found, f"pdq:{self.pdq}"] if self.pdq else found


class NotAPicture(UnsupportedMedia):
    """A video or animation container where a still picture was asked for."""

    reason = "video"


def hash_picture(data: bytes, limits: Limits, *, min_quality: int = 50) -> PictureHashes:
    """SHA-256, MD5 and PDQ of a picture held in memory, in the order and under the limits of
    :func:`~jikimi.signals.compute.compute_signals` (which reads a path: here the picture is
    never written anywhere). Raises :class:`~jikimi.errors.MediaError` for what cannot be
    hashed safely: empty, not a picture, damaged, a decompression bomb."""
    check_file_size(len(data), limits)
    digests = bytes_digests(data, ("sha256", "md5"))
    head = data[:HEAD_BYTES]
    sniffed = sniff(head)
    if sniffed is None:
        raise UnsupportedMedia(f"not an image: {describe(head)}")
    if sniffed.kind != "image":
        raise NotAPicture(f"a {sniffed.mime} video, not a picture")
    im, _ = open_image(data, sniffed, limits)  # header checked against the pixel limit first
    with im:
        rgb = load_rgb(im)
    value, quality = PdqHasher().hash_rgb(rgb)
    pdq = value if quality >= min_quality else None
    return PictureHashes(digests["sha256"], digests["md5"], pdq)


def _picture_error(exc: MediaError) -> str:
    if isinstance(exc, NotAPicture):
        return "report.picture.video"
    return PICTURE_ERRORS.get(exc.reason, "report.picture.unreadable")


# -- from form fields to a notice --------------------------------------------------------------


def form_values(fields: dict[str, str], lang: str) -> dict[str, Any]:
    """What the person typed, trimmed, to file and to show again."""

    def text(name: str) -> str:
        return fields.get(name, "").strip()

    return {
        "locators": text("locators"),
        "hashes": text("hashes"),
        "signature": text("signature"),
        "statement": fields.get("statement") == "yes",
        "email": text("email"),
        "phone": text("phone"),
        "explanation": text("explanation"),
        "on_behalf_of": text("on_behalf_of"),
        "jurisdiction": text("jurisdiction").upper(),
        "language": text("language") or lang,
    }


def _link(line: str) -> str:
    """A link as typed; ``t.me/channel/12`` (no scheme, as apps copy it) gets ``https://``."""
    return "https://" + line if _BARE_HOST.fullmatch(line) else line


def _hash_lines(line: str) -> list[str]:
    """A line of the fingerprints box: ``sha256:<hex>``, ``sha256 <hex>`` (threatexchange's
    text format), or a JSON line of ``jikimi hash --json`` (its sha256, md5 and pdq)."""
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            return [line]
        if isinstance(record, dict):
            found = [
                f"{k}:{record[k]}"
                for k in ("sha256", "md5", "pdq")
                if isinstance(record.get(k), str)
            ]
            return found or [line]
        return [line]
    typed = _TYPED_HASH.fullmatch(line)
    return [f"{typed[1]}:{typed[2]}"] if typed else [line]


def notice_body(
    values: dict[str, Any], picture: PictureHashes | None
) -> tuple[dict[str, Any], list[tuple[str, int, str]]]:
    """The ``takedown_request`` body, and for each of its locators the field and line it came
    from (to put a bad locator's message next to the line that holds it)."""
    sources: list[tuple[str, int, str]] = []
    for number, line in enumerate(values["locators"].splitlines(), 1):
        if line.strip():
            sources.append(("locators", number, _link(line.strip())))
    for number, line in enumerate(values["hashes"].splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            sources += [("hashes", number, h) for h in _hash_lines(line)]
    if picture is not None:
        sources += [(PICTURE, 0, h) for h in picture.locators()]
    body: dict[str, Any] = {
        "kind": KIND,
        "locators": [text for _, _, text in sources],
        "signature": values["signature"] or None,
        "good_faith_statement": values["statement"],
        "contact": {k: values[k] for k in ("email", "phone") if values[k]},
        "explanation": values["explanation"] or None,
        "on_behalf_of": values["on_behalf_of"] or None,
        "jurisdiction": values["jurisdiction"] or None,
        "language": values["language"],
    }
    return {k: v for k, v in body.items() if v is not None}, sources


def field_errors(
    missing: tuple[str, ...],
    invalid: tuple[tuple[str, str], ...],
    sources: list[tuple[str, int, str]],
) -> Errors:
    """check_notice's findings as (text key, values) by form field."""
    errors: Errors = {}

    def add(name: str, key: str, **values: Any) -> None:
        errors.setdefault(name, []).append((key, values))

    for element in missing:
        add(MISSING_FIELD.get(element, "form"), f"report.missing.{element}")
    for name, reason in invalid:
        at = re.fullmatch(r"locators\[(\d+)\]", name)
        if at and int(at[1]) < len(sources):
            where, line, text = sources[int(at[1])]
            shown = text if len(text) <= 80 else text[:77] + "..."
            add(where, "report.invalid.line", line=line, text=shown, reason=reason)
        elif name == "locators":
            add("locators", "report.invalid.too_many", limit=MAX_LOCATORS)
        elif name in ("contact.email", "contact.phone"):
            add(name.split(".")[1], f"report.invalid.{name.split('.')[1]}")
        elif name in TEXT_LIMITS:
            add(name, "report.invalid.too_long", limit=TEXT_LIMITS[name])
        elif name in ("jurisdiction", "language"):
            add(name, "report.invalid.choice")
        else:
            add("form", "report.invalid.other", field=name, reason=reason)
    return errors


# -- pages ------------------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    return request.app.state.service.ws.settings


def _limiter(request: Request) -> SlidingWindow:
    """This process's window (the app's lifetime; created on the first post)."""
    state = request.app.state
    limiter = getattr(state, "report_limiter", None)
    if not isinstance(limiter, SlidingWindow):
        limiter = state.report_limiter = SlidingWindow(_settings(request).report_per_hour)
    return limiter


def _form_page(
    request: Request,
    values: dict[str, Any] | None = None,
    errors: Errors | None = None,
    *,
    recorded: NoticeReceipt | None = None,
    picture: PictureHashes | None = None,
    status: int = 200,
) -> Response:
    lang = language_of(request)
    if values is None:
        values = form_values({}, lang)
        values["jurisdiction"] = "KR" if lang == "ko" else ""
    errors = errors or {}
    context = {
        "values": values,
        "errors": errors,
        "summary": [name for name in FIELD_ORDER if name in errors],
        "recorded": recorded,
        "picture": picture,
        "eu_members": EU_MEMBERS,
        "form_languages": LANGUAGES,
        "max_size": _size(_settings(request)),
        "max_bytes": _settings(request).report_max_bytes,
        "limits": TEXT_LIMITS,
        "blocked": None,
    }
    return render(request, "report.html", context, status=status)


@router.get("/report")
async def report_form(request: Request) -> Response:
    return _form_page(request)


@router.post("/report")
async def report_submit(request: Request) -> Response:
    """File the request; the answer is the receipt page (201), the form again with each
    problem next to its field (422, recorded all the same when it got as far as a notice),
    413 (too large), 429 (too many from this address) or 403 (not from this page)."""
    settings = _settings(request)
    admitted = _limiter(request).hit(client_key(request.client.host if request.client else None))
    if not admitted.allowed:
        return _blocked(request, admitted.retry_after)
    check_origin(request)
    try:
        posted = await read_form(request, settings.report_max_bytes)
    except TooLarge:
        errors: Errors = {PICTURE: [("report.too_large", {"size": _size(settings)})]}
        return _form_page(request, errors=errors, status=413)
    except Malformed as exc:
        return _form_page(request, errors={"form": [(exc.key, {})]}, status=400)
    check_token(request, posted.fields, None)
    values = form_values(posted.fields, language_of(request))
    picture = None
    if posted.picture is not None:
        data, posted.picture = posted.picture, None
        limits = Limits.from_settings(settings)
        try:
            picture = await run_in_threadpool(
                hash_picture, data, limits, min_quality=settings.pdq_min_quality
            )
        except MediaError as exc:
            # Nothing is filed: the person is about to send it again, the typing all kept.
            errors = {PICTURE: [(_picture_error(exc), {"detail": str(exc)})]}
            return _form_page(request, values, errors, status=422)
        finally:
            del data
    return await _file(request, values, picture)


async def _file(
    request: Request, values: dict[str, Any], picture: PictureHashes | None
) -> Response:
    body, sources = notice_body(values, picture)
    service = request.app.state.service
    received = service.now()
    check = check_notice(body, received_at=received)
    receipt = await run_in_threadpool(service.file_notice, body, check, received, SUBMITTED_BY)
    if not check.complete and not receipt.suspended:
        if picture is not None:  # the picture is gone; its fingerprints stay in the form
            kept = values["hashes"].splitlines()
            added = [h for h in picture.locators() if h not in kept]
            values["hashes"] = "\n".join([*kept, *added]).strip()
        errors = field_errors(check.missing, check.invalid, sources)
        return _form_page(request, values, errors, recorded=receipt, picture=picture, status=422)
    return _done(request, receipt, received, values, picture)


def _done(
    request: Request,
    receipt: NoticeReceipt,
    received: datetime,
    values: dict[str, Any],
    picture: PictureHashes | None,
) -> Response:
    settings = _settings(request)
    due = receipt.deadline_at
    hours = None if due is None else max(0, round((due - received).total_seconds() / 3600))
    context = {
        "receipt": receipt,
        "due": due,
        "due_text": due.strftime("%Y-%m-%d %H:%M UTC") if due else None,
        "hours": hours,
        "email": values["email"],
        "emails_sent": settings.actions_mode == "live" and bool(settings.smtp_host),
        "picture": picture,
    }
    return render(request, "report_done.html", context, status=403 if receipt.suspended else 201)


def _blocked(request: Request, retry_after: int) -> Response:
    settings = _settings(request)
    context = {
        "blocked": {"per_hour": settings.report_per_hour, "minutes": -(-retry_after // 60)},
        "values": {},
        "errors": {},
        "summary": [],
    }
    response = render(request, "report.html", context, status=429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _size(settings: Settings) -> str:
    """The size limit in words: ``20 MB``, ``500 KB``."""
    limit = settings.report_max_bytes
    if limit >= 1_048_576:
        return f"{round(limit / 1_048_576, 1):g} MB"
    return f"{round(limit / 1024)} KB"
