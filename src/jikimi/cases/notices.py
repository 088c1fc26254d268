"""Notice intake validation: which legally required elements a notice has, lacks, or gets wrong.

Pure: a JSON body in, a :class:`NoticeCheck` out. A notice that lacks an element is still a
notice we keep (DESIGN.md §5: it is recorded either way), so missing elements are reported, not
raised; only a body that is not an object or names no known ``kind`` raises :class:`NoticeError`.
The required elements follow:

- ``takedown_request``: US TAKE IT DOWN Act, 47 U.S.C. 223a(a)(2)(B) (i)-(iv): signature,
  locating information, good-faith statement of non-consent, contact information; filed by the
  person or someone authorised to act for them (``on_behalf_of``).
- ``dsa_notice``: EU DSA Art. 16(2) (a)-(d): explanation, exact location, name and email of the
  notifier (not for child sexual abuse offences, Art. 16(2)(c)), good-faith statement.
- ``authority_order``: DSA Art. 9(2) and the KCSC correction request: issuing body, reference,
  legal basis, location, and the order's own deadline when it has one.
- ``trusted_flagger``: DSA Art. 22: a registered flagger, location, explanation.
- ``user_report``: the in-app report button.

The kinds, fields and formats are documented in docs/cases.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jikimi.cases.locators import Locator, parse_locator
from jikimi.cases.messages import LANGUAGES
from jikimi.errors import NoticeError

__all__ = [
    "FIELDS",
    "MAX_DEADLINE_AHEAD",
    "MAX_LOCATORS",
    "NOTICE_KINDS",
    "PUBLIC_KINDS",
    "REQUIRED",
    "NoticeCheck",
    "check_notice",
]

NOTICE_KINDS: tuple[str, ...] = (
    "takedown_request",
    "dsa_notice",
    "authority_order",
    "trusted_flagger",
    "user_report",
)
PUBLIC_KINDS = ("takedown_request", "dsa_notice", "user_report")  # no account needed

# Fields every kind may carry, then each kind's own. A field outside these is refused.
COMMON_FIELDS = ("kind", "jurisdiction", "locators", "explanation", "contact", "language")

FIELDS: dict[str, tuple[str, ...]] = {
    "takedown_request": (*COMMON_FIELDS, "signature", "good_faith_statement", "on_behalf_of"),
    "dsa_notice": (*COMMON_FIELDS, "name", "good_faith_statement", "csam", "on_behalf_of"),
    "authority_order": (*COMMON_FIELDS, "issuing_body", "reference", "legal_basis", "deadline"),
    "trusted_flagger": (*COMMON_FIELDS, "flagger_id", "csam"),
    "user_report": (*COMMON_FIELDS, "reason", "reporter", "item_id"),
}
# What each kind must have, in the order they are reported. "contact" means an email or a
# phone; "contact.email" an email; for user_report, "locators" is satisfied by an item_id.
REQUIRED: dict[str, tuple[str, ...]] = {
    "takedown_request": ("signature", "locators", "good_faith_statement", "contact"),
    "dsa_notice": ("explanation", "locators", "name", "contact.email", "good_faith_statement"),
    "authority_order": ("issuing_body", "reference", "legal_basis", "locators"),
    "trusted_flagger": ("flagger_id", "locators", "explanation"),
    "user_report": ("reason", "reporter", "locators"),
}
CONTACT_FIELDS = ("email", "phone")
_CONTACT_WORDS = {"email": "email address", "phone": "phone number"}

MAX_TEXT_CHARS = 500  # names, references, ids, reasons
MAX_EXPLANATION_CHARS = 20_000
MAX_LOCATORS = 100
MAX_DEADLINE_AHEAD = timedelta(days=366)  # an order due later than a year is a typo

_JURISDICTION = re.compile(r"[A-Z]{2}", re.ASCII)
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+", re.ASCII)
_PHONE = re.compile(r"\+?[0-9][0-9 ().-]{4,30}", re.ASCII)


@dataclass(frozen=True, slots=True)
class NoticeCheck:
    """What :func:`check_notice` found. ``missing`` names each absent required element,
    ``invalid`` pairs a field (``locators[2]``, ``contact.email``, ...) with the reason it was
    refused, ``locators`` holds the ones that parsed. ``jurisdiction`` is the normalised code,
    ``deadline`` an authority order's own deadline in UTC, ``on_behalf_of`` whom a
    representative filed for (``None`` when the person filed themselves), ``language`` the
    language to answer in."""

    kind: str
    missing: tuple[str, ...]
    invalid: tuple[tuple[str, str], ...]
    locators: tuple[Locator, ...]
    jurisdiction: str | None = None
    deadline: datetime | None = None
    on_behalf_of: str | None = None
    language: str = "en"  # the notifier is answered in this language

    @property
    def complete(self) -> bool:
        """Every required element is present and nothing is invalid."""
        return not self.missing and not self.invalid


def check_notice(body: Mapping[str, Any], *, received_at: datetime) -> NoticeCheck:
    """Validate one notice body received at ``received_at`` (time-zone aware)."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be time-zone aware")
    if not isinstance(body, Mapping):
        raise NoticeError(f"a notice must be a JSON object, not {type(body).__name__}")
    kind = body.get("kind")
    if kind not in NOTICE_KINDS:
        shown = repr(kind)[:60] if "kind" in body else "missing"
        raise NoticeError(f"notice kind {shown} is not one of: {', '.join(NOTICE_KINDS)}")
    return _Checker(kind, body, received_at).run()


class _Checker:
    def __init__(self, kind: str, body: Mapping[str, Any], received_at: datetime) -> None:
        self.kind = kind
        self.body = body
        self.received_at = received_at
        self.invalid: list[tuple[str, str]] = []
        self.present: set[str] = set()  # required elements found (even if invalid)

    def run(self) -> NoticeCheck:
        allowed = FIELDS[self.kind]
        for key in self.body:
            if key not in allowed:
                self.invalid.append((str(key)[:80], _unknown(key, self.kind, allowed)))
        readers: dict[str, Callable[[str, Any], Any]] = {
            "jurisdiction": self._jurisdiction,
            "locators": self._locators,
            "explanation": lambda k, v: self._text(k, v, MAX_EXPLANATION_CHARS),
            "contact": self._contact,
            "good_faith_statement": self._statement,
            "csam": self._flag,
            "deadline": self._deadline,
            "item_id": self._text,
            "language": self._language,
        }
        values: dict[str, Any] = {}
        for key in allowed:
            if key == "kind" or self.body.get(key) is None:
                continue
            value = readers.get(key, self._text)(key, self.body[key])
            if value is not None:
                values[key] = value
        if self.kind == "user_report" and "item_id" in self.present:
            self.present.add("locators")
        required = REQUIRED[self.kind]
        if self.kind == "dsa_notice" and values.get("csam"):
            required = tuple(r for r in required if r not in ("name", "contact.email"))
        return NoticeCheck(
            kind=self.kind,
            missing=tuple(r for r in required if r not in self.present),
            invalid=tuple(self.invalid),
            locators=values.get("locators", ()),
            jurisdiction=values.get("jurisdiction"),
            deadline=values.get("deadline"),
            on_behalf_of=values.get("on_behalf_of"),
            language=values.get("language", "en"),
        )

    def _bad(self, key: str, reason: str) -> None:
        self.invalid.append((key, reason))

    def _text(self, key: str, value: Any, limit: int = MAX_TEXT_CHARS) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            self._bad(key, f"must be text, not {_type(value)}")
            return None
        text = str(value).strip()
        if not text:
            return None  # blank is the same as absent: reported as missing when required
        self.present.add(key)
        if len(text) > limit:
            self._bad(key, f"is {len(text)} characters; the limit is {limit}")
            return None
        return text

    def _flag(self, key: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self._bad(key, f"must be true or false, not {_type(value)}")
            return None
        return value

    def _statement(self, key: str, value: Any) -> bool | None:
        # false is a statement not made: the element is missing, not malformed.
        if self._flag(key, value) and value:
            self.present.add(key)
            return True
        return None

    def _language(self, key: str, value: Any) -> str | None:
        text = self._text(key, value, 8)
        if text is None:
            return None
        code = text.lower()
        if code not in LANGUAGES:
            self._bad(key, f"{text!r} is not a language we answer in; use one of {LANGUAGES}")
            return None
        return code

    def _jurisdiction(self, key: str, value: Any) -> str | None:
        text = self._text(key, value, 8)
        if text is None:
            return None
        code = text.upper()
        code = "GB" if code == "UK" else code
        if not _JURISDICTION.fullmatch(code):
            self._bad(key, f"{text!r} is not a two-letter country code (ISO 3166) or EU")
            return None
        return code

    def _locators(self, key: str, value: Any) -> tuple[Locator, ...] | None:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self._bad(key, f"must be a list of URLs or hashes, not {_type(value)}")
            return None
        if not value:
            return None
        self.present.add(key)
        if len(value) > MAX_LOCATORS:
            self._bad(key, f"has {len(value)} entries; the limit is {MAX_LOCATORS}")
            return None
        found: dict[Locator, None] = {}
        for index, text in enumerate(value):
            try:
                found[parse_locator(text)] = None
            except NoticeError as exc:
                self._bad(f"{key}[{index}]", str(exc))
        return tuple(found)

    def _contact(self, key: str, value: Any) -> dict[str, str] | None:
        if not isinstance(value, Mapping):
            self._bad(key, f"must be an object with email and/or phone, not {_type(value)}")
            return None
        contact: dict[str, str] = {}
        for field, item in value.items():
            name = f"{key}.{str(field)[:40]}"
            if field not in CONTACT_FIELDS:
                self._bad(name, f"unknown field; allowed: {', '.join(CONTACT_FIELDS)}")
                continue
            text = self._text(name, item) if item is not None else None
            if text is None:
                continue
            pattern = _EMAIL if field == "email" else _PHONE
            if not pattern.fullmatch(text):
                self._bad(
                    name,
                    f"{text[:80]!r} is not a valid {_CONTACT_WORDS[field]}",
                )
                continue
            contact[field] = text
        if contact:
            self.present.add(key)
        return contact or None

    def _deadline(self, key: str, value: Any) -> datetime | None:
        if not isinstance(value, str):
            self._bad(key, f"must be an ISO 8601 date and time text, not {_type(value)}")
            return None
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            self._bad(key, f"{value[:60]!r} is not an ISO 8601 date and time")
            return None
        if when.tzinfo is None or when.utcoffset() is None:
            self._bad(key, f"{value[:60]!r} has no time zone; add one, like Z or +09:00")
            return None
        if when < self.received_at:
            self._bad(key, f"{value!r} is before the notice was received")
            return None
        if when - self.received_at > MAX_DEADLINE_AHEAD:
            self._bad(key, f"{value!r} is over {MAX_DEADLINE_AHEAD.days} days after receipt")
            return None
        return when.astimezone(UTC)


def _unknown(key: object, kind: str, allowed: tuple[str, ...]) -> str:
    if any(key in fields for fields in FIELDS.values()):
        return f"not a field of a {kind} notice; allowed: {', '.join(allowed)}"
    return f"unknown field; a {kind} notice takes: {', '.join(allowed)}"


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false", type(None): "null"}.get(
        type(value), type(value).__name__
    )
