"""A reviewer's decision as a DSA statement of reasons (Regulation (EU) 2022/2065, Art. 17 and
Art. 24(5)), in the submission schema of the DSA Transparency Database, API v2.

Pure: values in, values out. :func:`statement_of_reasons` turns :class:`DecisionFacts` into the
record the database accepts, or raises :class:`~jikimi.errors.StatementError` listing every
problem at once. :func:`validate_statement` checks a record built or edited elsewhere against
the same rules. Field names and allowed values follow the Commission's own validation
(``StatementStoreRequest``) and API documentation; see :mod:`jikimi.reports.dsa_vocab` and
``docs/statements.md``.

Which outcomes produce a statement:

- ``remove`` and ``restrict`` restrict the content, so Art. 17 requires a statement.
- ``keep`` restricts nothing; Art. 17 requires no statement, so the result is ``None`` (the
  facts are still checked, so a bad decision record is refused either way).
- ``escalate`` is not a decision but a hand-over to another reviewer; asking for its statement
  is a mistake in the caller and raises :class:`StatementError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from jikimi.errors import StatementError
from jikimi.reports import dsa_vocab as v

__all__ = ["DecisionFacts", "DecisionOutcome", "statement_of_reasons", "validate_statement"]

DecisionOutcome = Literal["remove", "restrict", "keep", "escalate"]
Category = Literal["adult_ncii", "minors", "other"]
Source = Literal["notice", "trusted_flagger", "authority", "own_initiative", "user_report"]


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    """What a reviewer decided, in Jikimi's words.

    ``law`` names the law relied on (needed when ``ground`` is "illegal"; when ``ground`` is
    "terms" a ``law`` marks the content as illegal too). ``terms`` names the clause of the
    terms of service (needed when ``ground`` is "terms"). ``reasons`` is the free-text
    explanation; it is published, so it must carry no personal data. ``puid`` is the
    platform's identifier of this decision: the database requires it to be unique per
    statement and never reused. ``territorial_scope`` holds EU/EEA ISO codes; empty means
    the whole EEA. ``content_types`` adds DSA content types (``CONTENT_TYPE_IMAGE``, ...) to
    the one implied by the category; the "other" category needs at least one.
    """

    outcome: DecisionOutcome
    ground: Literal["illegal", "terms"]
    law: str | None
    terms: str | None
    category: Category
    reasons: str
    automated_detection: bool
    automated_decision: Literal["fully", "partially", "not"]
    source: Source
    content_date: datetime | None
    decided_at: datetime
    puid: str
    territorial_scope: tuple[str, ...] = ()
    content_language: str | None = None
    content_types: tuple[str, ...] = ()


_VISIBILITY = {
    "remove": "DECISION_VISIBILITY_CONTENT_REMOVED",
    # Restricting keeps the item but makes it unreachable (hidden, geo-blocked): "disabling
    # access to content". A demotion is a different, weaker measure Jikimi does not take.
    "restrict": "DECISION_VISIBILITY_CONTENT_DISABLED",
}
# (category, keywords, content types implied by the category)
_SYNTHETIC = ("CONTENT_TYPE_SYNTHETIC_MEDIA",)
_CATEGORY: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "adult_ncii": (v.CATEGORY_CYBER_VIOLENCE, (v.KEYWORD_NCII_DEEPFAKE,), _SYNTHETIC),
    "minors": (v.CATEGORY_PROTECTION_OF_MINORS, (v.KEYWORD_CSAM_DEEPFAKE,), _SYNTHETIC),
    "other": (v.CATEGORY_OTHER_VIOLATION_TC, (), ()),
}
_SOURCE = {
    "notice": "SOURCE_ARTICLE_16",
    "trusted_flagger": "SOURCE_TRUSTED_FLAGGER",
    # The schema has no type for authority orders (Art. 9) or in-app reports that are not
    # Art. 16 notices; "other type of notification" is the closest it offers.
    "authority": "SOURCE_TYPE_OTHER_NOTIFICATION",
    "user_report": "SOURCE_TYPE_OTHER_NOTIFICATION",
    "own_initiative": "SOURCE_VOLUNTARY",
}
_AUTOMATED_DECISION = {
    "fully": "AUTOMATED_DECISION_FULLY",
    "partially": "AUTOMATED_DECISION_PARTIALLY",
    "not": "AUTOMATED_DECISION_NOT_AUTOMATED",
}
_PUID = re.compile(r"^[A-Za-z0-9_-]+$")
_LANGUAGE = re.compile(r"^[A-Z]{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The database is public: free text must not carry personal data. These catch the obvious.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_URL = re.compile(r"(?i)\b(?:https?://|www\.|t\.me/)\S+")
_EARLIEST_CONTENT = date(2000, 1, 1)
_EARLIEST_APPLICATION = date(2020, 1, 1)


def statement_of_reasons(facts: DecisionFacts) -> dict[str, Any] | None:
    """The Transparency Database record for ``facts``; ``None`` for ``keep``.

    Raises :class:`StatementError` listing every problem (``escalate`` is always one).
    """
    problems = _fact_problems(facts)
    if facts.outcome == "escalate":
        problems.insert(
            0,
            "outcome: escalate is a hand-over, not a decision; "
            "make the statement when the case is decided",
        )
    if problems:
        raise StatementError(problems)
    if facts.outcome == "keep":
        return None
    record = _record(facts)
    problems = validate_statement(record)
    if problems:  # a mapping bug, never the caller's data; refuse rather than store it
        raise StatementError(problems)
    return record


def _record(facts: DecisionFacts) -> dict[str, Any]:
    category, keywords, implied_types = _CATEGORY[facts.category]
    content_types = sorted(set(implied_types) | set(facts.content_types))
    record: dict[str, Any] = {"decision_visibility": [_VISIBILITY[facts.outcome]]}
    reasons = facts.reasons.strip()
    if facts.ground == "illegal":
        record["decision_ground"] = v.DECISION_GROUND_ILLEGAL
        record["illegal_content_legal_ground"] = (facts.law or "").strip()
        record["illegal_content_explanation"] = reasons
    else:
        record["decision_ground"] = v.DECISION_GROUND_INCOMPATIBLE
        record["incompatible_content_ground"] = (facts.terms or "").strip()
        record["incompatible_content_explanation"] = reasons
        record["incompatible_content_illegal"] = "Yes" if (facts.law or "").strip() else "No"
    record["category"] = category
    if keywords:
        record["category_specification"] = list(keywords)
    record["content_type"] = content_types
    assert facts.content_date is not None  # _fact_problems refused it otherwise
    record["content_date"] = _utc_date(facts.content_date).isoformat()
    record["application_date"] = _utc_date(facts.decided_at).isoformat()
    record["territorial_scope"] = _scope(facts.territorial_scope)
    if facts.content_language:
        record["content_language"] = facts.content_language.strip().upper()
    record["decision_facts"] = reasons
    record["source_type"] = _SOURCE[facts.source]
    record["automated_detection"] = "Yes" if facts.automated_detection else "No"
    record["automated_decision"] = _AUTOMATED_DECISION[facts.automated_decision]
    record["puid"] = facts.puid
    return record


def _scope(codes: tuple[str, ...]) -> list[str]:
    if not codes:
        return list(v.EEA_COUNTRIES)
    return sorted({c.strip().upper() for c in codes})


def _utc_date(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _fact_problems(f: DecisionFacts) -> list[str]:
    p: list[str] = []
    if f.outcome not in ("remove", "restrict", "keep", "escalate"):
        p.append(f"outcome: {f.outcome!r} is not one of remove, restrict, keep, escalate")
    law, terms, reasons = (f.law or "").strip(), (f.terms or "").strip(), f.reasons.strip()
    if f.ground == "illegal":
        if not law:
            p.append("law: ground is illegal, so name the law relied on (e.g. a statute section)")
    elif f.ground == "terms":
        if not terms:
            p.append("terms: ground is terms, so name the terms-of-service clause relied on")
    else:
        p.append(f"ground: {f.ground!r} is not one of illegal, terms")
    if len(law) > 500:
        p.append(f"law: {len(law)} characters, the database takes at most 500")
    if len(terms) > 500:
        p.append(f"terms: {len(terms)} characters, the database takes at most 500")
    if f.category not in _CATEGORY:
        p.append(f"category: {f.category!r} is not one of adult_ncii, minors, other")
    elif f.category == "other":
        if f.ground == "illegal":
            p.append(
                "category: other maps to 'other violation of terms and conditions'; "
                "an illegal-content decision needs a specific category"
            )
        if not f.content_types:
            p.append("content_types: category other implies no content type; give at least one")
    p += _reasons_problems(reasons)
    bad_types = sorted(set(f.content_types) - v.CONTENT_TYPES)
    if bad_types:
        p.append(f"content_types: {bad_types} not in the DSA list {sorted(v.CONTENT_TYPES)}")
    if "CONTENT_TYPE_OTHER" in f.content_types:
        p.append("content_types: CONTENT_TYPE_OTHER needs a description Jikimi does not carry")
    if f.automated_decision not in _AUTOMATED_DECISION:
        p.append(
            f"automated_decision: {f.automated_decision!r} is not one of fully, partially, not"
        )
    if f.source not in _SOURCE:
        p.append(f"source: {f.source!r} is not one of {sorted(_SOURCE)}")
    p += _date_problems(f)
    bad_codes = sorted({c for c in f.territorial_scope if c.strip().upper() not in v.EEA_COUNTRIES})
    if bad_codes:
        hint = " (Greece is GR)" if any(c.strip().upper() == "EL" for c in bad_codes) else ""
        p.append(f"territorial_scope: {bad_codes} are not EU/EEA ISO 3166 codes{hint}")
    if f.content_language is not None and not _LANGUAGE.match(f.content_language.strip().upper()):
        p.append(f"content_language: {f.content_language!r} is not a two-letter ISO 639-1 code")
    p += _puid_problems(f.puid)
    return p


def _reasons_problems(reasons: str) -> list[str]:
    if not reasons:
        return ["reasons: empty; explain the facts and why they meet the ground"]
    p = []
    if len(reasons) > 2000:
        p.append(f"reasons: {len(reasons)} characters, the explanation takes at most 2000")
    if _EMAIL.search(reasons) or _URL.search(reasons):
        p.append("reasons: remove e-mail addresses and links; the database is public")
    return p


def _date_problems(f: DecisionFacts) -> list[str]:
    p = []
    decided_ok = f.decided_at.tzinfo is not None
    if not decided_ok:
        p.append("decided_at: give a timezone-aware datetime (the date is taken in UTC)")
    elif _utc_date(f.decided_at) < _EARLIEST_APPLICATION:
        p.append("decided_at: the database takes decisions from 2020-01-01 on")
    if f.content_date is None:
        p.append("content_date: required by the database (the upload or posting date)")
    elif f.content_date.tzinfo is None:
        p.append("content_date: give a timezone-aware datetime (the date is taken in UTC)")
    else:
        posted = _utc_date(f.content_date)
        if posted < _EARLIEST_CONTENT:
            p.append("content_date: the database takes content dates from 2000-01-01 on")
        if decided_ok and posted > _utc_date(f.decided_at):
            p.append("content_date: after decided_at; content cannot be posted after the decision")
    return p


def _puid_problems(puid: str) -> list[str]:
    if not puid:
        return ["puid: empty; give the platform's unique identifier for this decision"]
    p = []
    if len(puid) > 500:
        p.append(f"puid: {len(puid)} characters, the database takes at most 500")
    if not _PUID.match(puid):
        p.append("puid: only letters, digits, '-' and '_' are accepted")
    return p


# -- validation of a record built or edited elsewhere ---------------------------------------

_RESTRICTIONS = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
)
_REQUIRED = (
    "decision_ground",
    "category",
    "content_type",
    "content_date",
    "application_date",
    "territorial_scope",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
)


def validate_statement(record: Mapping[str, Any]) -> list[str]:
    """Every problem of ``record`` against the Transparency Database schema (API v2); empty
    when it would be accepted as far as Jikimi can tell offline."""
    p: list[str] = []
    unknown = sorted(set(record) - v.FIELDS)
    if unknown:
        p.append(f"unknown fields {unknown}; the database rejects or drops them")
    for name in _REQUIRED:
        if _blank(record.get(name)):
            p.append(f"{name}: required")
    if all(_blank(record.get(name)) for name in _RESTRICTIONS):
        p.append(f"one of {list(_RESTRICTIONS)} is required")
    p += _restriction_problems(record)
    p += _ground_problems(record)
    p += _category_problems(record)
    p += _content_problems(record)
    p += _date_field_problems(record)
    p += _one_of(record, "source_type", v.SOURCE_TYPES)
    p += _one_of(record, "automated_detection", v.YES_NO)
    p += _one_of(record, "automated_decision", v.AUTOMATED_DECISIONS)
    puid = record.get("puid")
    if not _blank(puid):
        p += _puid_problems(puid) if isinstance(puid, str) else ["puid: must be a string"]
    for name, limit in v.MAX_LEN.items():
        value = record.get(name)
        if name == "puid" or _blank(value):
            continue
        if not isinstance(value, str):
            p.append(f"{name}: must be a string")
        elif len(value) > limit:
            p.append(f"{name}: {len(value)} characters, at most {limit}")
    return p


def _blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str | list | tuple) and not value)
        or (isinstance(value, str) and not value.strip())
    )


def _one_of(record: Mapping[str, Any], name: str, allowed: frozenset[str]) -> list[str]:
    value = record.get(name)
    if _blank(value):
        return []
    if not isinstance(value, str) or value not in allowed:
        return [f"{name}: {value!r} is not one of {sorted(allowed)}{_retired_hint(value)}"]
    return []


def _many_of(record: Mapping[str, Any], name: str, allowed: frozenset[str]) -> list[str]:
    value = record.get(name)
    if _blank(value):
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(x, str) for x in value):
        return [f"{name}: must be a list of strings"]
    bad = [x for x in value if x not in allowed]
    if bad:
        hints = "".join(_retired_hint(x) for x in bad)
        return [f"{name}: {bad} not allowed{hints}"]
    if len(set(value)) != len(value):
        return [f"{name}: repeated values"]
    return []


def _retired_hint(value: Any) -> str:
    if isinstance(value, str) and value in v.RETIRED:
        new = v.RETIRED[value]
        use = f"use {new}" if new else "see the API v2 changelog"
        return f" ({value} is a v1 value retired on 2025-07-01; {use})"
    return ""


def _requires_other(record: Mapping[str, Any], name: str, other: str, value: str) -> list[str]:
    chosen = record.get(name)
    hit = chosen == value or (isinstance(chosen, list | tuple) and value in chosen)
    if hit and _blank(record.get(other)):
        return [f"{other}: required when {name} is {value}"]
    return []


def _restriction_problems(r: Mapping[str, Any]) -> list[str]:
    p = _many_of(r, "decision_visibility", v.DECISION_VISIBILITIES)
    vis = r.get("decision_visibility")
    if isinstance(vis, str):  # the commonest hand edit: v2 wants a list here
        p = [f"decision_visibility: must be a list, e.g. [{vis!r}]"]
    p += _requires_other(
        r, "decision_visibility", "decision_visibility_other", "DECISION_VISIBILITY_OTHER"
    )
    p += _one_of(r, "decision_monetary", v.DECISION_MONETARIES)
    p += _requires_other(
        r, "decision_monetary", "decision_monetary_other", "DECISION_MONETARY_OTHER"
    )
    p += _one_of(r, "decision_provision", v.DECISION_PROVISIONS)
    p += _one_of(r, "decision_account", v.DECISION_ACCOUNTS)
    p += _one_of(r, "account_type", v.ACCOUNT_TYPES)
    return p  # fmt: skip


def _ground_problems(r: Mapping[str, Any]) -> list[str]:
    p = _one_of(r, "decision_ground", v.DECISION_GROUNDS)
    ground = r.get("decision_ground")
    needs = {
        v.DECISION_GROUND_ILLEGAL: ("illegal_content_legal_ground", "illegal_content_explanation"),
        v.DECISION_GROUND_INCOMPATIBLE: (
            "incompatible_content_ground",
            "incompatible_content_explanation",
        ),
    }
    for name in needs.get(ground, ()):
        if _blank(r.get(name)):
            p.append(f"{name}: required when decision_ground is {ground}")
    if ground == v.DECISION_GROUND_INCOMPATIBLE:
        p += _one_of(r, "incompatible_content_illegal", v.YES_NO)
    return p


def _category_problems(r: Mapping[str, Any]) -> list[str]:
    p = _one_of(r, "category", v.CATEGORIES)
    p += _many_of(r, "category_addition", v.CATEGORIES)
    p += _many_of(r, "category_specification", v.KEYWORDS)
    categories = {r.get("category")}
    additions = r.get("category_addition")
    if isinstance(additions, list | tuple):
        categories |= set(additions)
    keywords = r.get("category_specification")
    for keyword in keywords if isinstance(keywords, list | tuple) else ():
        home = v.KEYWORD_CATEGORY.get(keyword)
        if home is not None and home not in categories:
            p.append(f"category_specification: {keyword} belongs under {home}")
    return p


def _content_problems(r: Mapping[str, Any]) -> list[str]:
    p = _many_of(r, "content_type", v.CONTENT_TYPES)
    p += _requires_other(r, "content_type", "content_type_other", "CONTENT_TYPE_OTHER")
    scope = r.get("territorial_scope")
    if not _blank(scope):
        if not isinstance(scope, list | tuple):
            p.append("territorial_scope: must be a list of ISO country codes")
        else:
            bad = [c for c in scope if c not in v.EEA_COUNTRIES]
            if bad:
                p.append(
                    f"territorial_scope: {bad} are not EU/EEA codes (upper case, GR for Greece)"
                )
    language = r.get("content_language")
    if not _blank(language) and not (isinstance(language, str) and _LANGUAGE.match(language)):
        p.append(f"content_language: {language!r} is not an upper-case ISO 639-1 code")
    return p


def _date_field_problems(r: Mapping[str, Any]) -> list[str]:
    p: list[str] = []
    dates: dict[str, date] = {}
    ends = [n for n in v.FIELDS if n.startswith("end_date_")]
    names = ["content_date", "application_date", *ends]
    for name in sorted(names):
        value = r.get(name)
        if _blank(value):
            continue
        parsed = _parse_date(value)
        if parsed is None:
            p.append(f"{name}: {value!r} is not a date in the form YYYY-MM-DD")
        else:
            dates[name] = parsed
    if "content_date" in dates and dates["content_date"] < _EARLIEST_CONTENT:
        p.append("content_date: must be 2000-01-01 or later")
    applied = dates.get("application_date")
    if applied is not None:
        if applied < _EARLIEST_APPLICATION:
            p.append("application_date: must be 2020-01-01 or later")
        if "content_date" in dates and dates["content_date"] > applied:
            p.append("content_date: after application_date")
        for name, when in dates.items():
            if name.startswith("end_date_") and when < applied:
                p.append(f"{name}: before application_date")
    return p


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not _DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
