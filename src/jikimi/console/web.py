"""What every console page shares: templates, the signed-in user, CSRF, security headers.

- :func:`signed_in` (a dependency) resolves the session cookie; without one the browser is sent
  to the sign-in page (303), never shown a page.
- :func:`permitted` adds a permission check: a 403 page, never a partial page.
- :func:`form` reads a POSTed form (small bodies only) and checks its CSRF token (the session's,
  or for public forms the double-submit cookie) and that it came from this site (``Origin``).
- :func:`render` fills a template with ``t`` (translations), the user, the CSRF token and the
  navigation, and sends it with a strict Content-Security-Policy: scripts and styles from this
  app only, no inline script, no framing, forms only to this app; ``no-store`` so a reviewer's
  pages are not kept in the browser's cache.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.console.i18n import LANGUAGE_NAMES, LANGUAGES, catalog, pick_language
from jikimi.console.sessions import SignedIn

__all__ = [
    "COOKIE",
    "LANG_COOKIE",
    "ConsoleForbidden",
    "FormError",
    "NotSignedIn",
    "check_origin",
    "check_token",
    "form",
    "language_of",
    "permitted",
    "render",
    "set_cookie",
    "signed_in",
]

COOKIE = "jikimi_session"
LANG_COOKIE = "jikimi_lang"
FORM_COOKIE = "jikimi_form"  # the double-submit CSRF token of public forms
MAX_FORM_BYTES = 65_536  # console forms are short; uploads have their own limits
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; font-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: under it browsers send "Origin: null" with form posts, and the origin
    # check refuses every form. same-origin gives other sites nothing either.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


class NotSignedIn(Exception):
    """No live session: the handler sends the browser to the sign-in page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class ConsoleForbidden(Exception):
    """A signed-in user whose role may not see the page (the handler renders 403)."""

    def __init__(self, who: SignedIn, needs: tuple[Permission, ...]) -> None:
        super().__init__(", ".join(p.value for p in needs))
        self.who = who
        self.needs = needs


class FormError(Exception):
    """A form that did not come from this site's own page (CSRF) or is too large."""

    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("jikimi.console", "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


async def signed_in(request: Request) -> SignedIn:
    """The console user, or :class:`NotSignedIn`."""
    store = request.app.state.console_sessions
    who = await run_in_threadpool(store.resolve, request.cookies.get(COOKIE))
    if who is None:
        raise NotSignedIn(request.url.path)
    request.state.console_user = who
    return who


def permitted(*needed: Permission) -> Callable[..., Awaitable[SignedIn]]:
    """A dependency admitting signed-in users whose role has every permission in ``needed``."""

    async def check(who: SignedIn = Depends(signed_in)) -> SignedIn:
        if not all(who.principal.can(p) for p in needed):
            raise ConsoleForbidden(who, needed)
        return who

    return check


def _same_origin(request: Request) -> bool:
    """A POST whose ``Origin`` (or, failing that, ``Referer``) is this site; browsers send one
    of them on every form post."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    parts = urlsplit(source)
    return parts.netloc == request.headers.get("host", request.url.netloc)


async def form(request: Request, who: SignedIn | None = None) -> dict[str, str]:
    """The posted form's text fields, after the CSRF checks; files are not read here."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormError(413, "error.form_too_large")
    check_origin(request)
    async with request.form(max_files=0, max_fields=200) as data:
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
    check_token(request, fields, who)
    return fields


def check_origin(request: Request) -> None:
    """:class:`FormError` (403) unless the POST came from this site; pages that read their own
    bodies (uploads) call it before reading, then :func:`check_token` on the fields."""
    if not _same_origin(request):
        raise FormError(403, "error.csrf")


def check_token(request: Request, fields: Mapping[str, str], who: SignedIn | None) -> None:
    """:class:`FormError` (403) unless ``fields["csrf"]`` is the session's token (or, for
    public forms, the double-submit cookie's)."""
    expected = who.csrf if who is not None else request.cookies.get(FORM_COOKIE, "")
    given = fields.get("csrf", "")
    # Bytes: compare_digest refuses non-ASCII str (a TypeError, a 500) instead of saying no.
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise FormError(403, "error.csrf")


def language_of(request: Request, who: SignedIn | None = None) -> str:
    if who is not None:
        return who.locale if who.locale in LANGUAGES else "en"
    return pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def _nav(who: SignedIn | None) -> list[tuple[str, str]]:
    """(path, text key) of the pages the user may open."""
    if who is None:
        return []
    can = who.principal.can
    pages: list[tuple[str, str]] = []
    if can(Permission.CASES_DECIDE) or can(Permission.AUDIT_READ):
        pages.append(("/console/queues", "nav.queues"))
        pages.append(("/console/dashboard", "nav.dashboard"))
    if can(Permission.USERS_ADMIN) or can(Permission.BANKS_WRITE):
        pages.append(("/console/admin", "nav.admin"))
    pages.append(("/console/wellness", "nav.wellness"))
    return pages


def _secure(request: Request) -> bool:
    setting = request.app.state.service.ws.settings.console_secure_cookies
    if setting == "auto":
        return request.url.scheme == "https"
    return setting == "always"


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None = None
) -> None:
    """A cookie only this app's pages send back: HttpOnly, SameSite=Strict, Secure on HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    who: SignedIn | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page: the template with the user, language, CSRF token, navigation and ``t``."""
    lang = language_of(request, who)
    texts = catalog()
    form_token = None
    if who is None:
        form_token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    values = {
        "who": who,
        "lang": lang,
        "languages": LANGUAGE_NAMES,
        "csrf": who.csrf if who is not None else form_token,
        "nav": _nav(who),
        "path": request.url.path,
        "t": lambda key, **kw: texts.text(key, lang, **kw),
        **(context or {}),
    }
    html = _environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if who is None and request.cookies.get(FORM_COOKIE) != form_token:
        assert form_token is not None
        set_cookie(request, response, FORM_COOKIE, form_token)
    return response


def to_sign_in(path: str) -> RedirectResponse:
    target = "/console/login"
    if path.startswith("/console") and path != target:
        target += "?next=" + quote(path, safe="/")
    return RedirectResponse(target, status_code=303)
