"""Statements of reasons as the DSA Transparency Database API takes them (API v2).

Pure: values in, values out. :func:`check_statement` is every rule of the submission schema
that can be checked offline; :func:`statement_payload` is the body of
``POST /api/v1/statement``; :func:`batches` and :func:`batch_payload` make the bodies of
``POST /api/v1/statements`` (at most :data:`MAX_BATCH` statements each).

Sources: the Commission's API documentation (https://transparency.dsa.ec.europa.eu/page/
api-documentation, ``resources/markdown/api-documentation-two.md`` in
github.com/digital-services-act/transparency-database): "Creating Multiple Statements" (the
``statements`` field, 100 per call), "Statement Attributes" (every field below), "Errors"
(``statement_<n>`` indexing); and ``StatementMultipleAPIController.php`` (``between:1,100``,
PUIDs unique within one call). The field-by-field rules shared with the statement builder live
in :func:`jikimi.reports.statement.validate_statement` and :mod:`jikimi.reports.dsa_vocab`;
the rules here are the ones that builder never needs because it never emits those fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from jikimi.errors import ReportInvalid
from jikimi.reports import dsa_vocab as v
from jikimi.reports.statement import validate_statement

__all__ = [
    "MAX_BATCH",
    "RULES",
    "batch_payload",
    "batches",
    "check_batch",
    "check_statement",
    "statement_payload",
]

#: "The multiple endpoint is capable of making 100 statements per call." (API documentation)
MAX_BATCH = 100

T = TypeVar("T")
Rule = Callable[[Mapping[str, Any]], str | None]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_LINK = re.compile(r"(?i)\b(?:https?://|www\.|t\.me/)\S+")
_HTTP_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$", re.IGNORECASE)
_EAN13 = re.compile(r"^\d{13}$")


def _ean13_ok(code: str) -> bool:
    """GS1 check digit: weights 1, 3 alternating over the first twelve digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def _content_id(r: Mapping[str, Any]) -> str | None:
    value = r.get("content_id")
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"EAN-13"}:
        return 'content_id: must be {"EAN-13": "<13 digits>"} (the only key the API takes)'
    code = value["EAN-13"]
    if not isinstance(code, str) or not _EAN13.match(code) or not _ean13_ok(code):
        return f"content_id: {code!r} is not an EAN-13 code with a valid check digit"
    return None


def _keyword_other(r: Mapping[str, Any]) -> str | None:
    keywords = r.get("category_specification") or []
    if r.get("category_specification_other") and v.KEYWORD_OTHER not in keywords:
        return "category_specification_other: only with KEYWORD_OTHER in category_specification"
    return None


def _reference_url(r: Mapping[str, Any]) -> str | None:
    url = r.get("decision_ground_reference_url")
    if url is not None and not (isinstance(url, str) and _HTTP_URL.match(url)):
        return f"decision_ground_reference_url: {url!r} is not an http(s) URL"
    return None


def _voluntary_identity(r: Mapping[str, Any]) -> str | None:
    if r.get("source_type") == "SOURCE_VOLUNTARY" and r.get("source_identity"):
        return "source_identity: ignored by the database when source_type is SOURCE_VOLUNTARY"
    return None


def _no_personal_data(r: Mapping[str, Any]) -> str | None:
    for name in _PUBLIC_TEXT:
        value = r.get(name)
        if isinstance(value, str) and (_EMAIL.search(value) or _LINK.search(value)):
            return f"{name}: remove e-mail addresses and links; the database is public"
    return None


def _json_values(r: Mapping[str, Any]) -> str | None:
    try:
        json.dumps(dict(r), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"the statement is not plain JSON ({exc})"
    return None


# Free text that is published as is ("When submitting statements please take care to not
# submit ANY personal data", API documentation, Statement Attributes).
_PUBLIC_TEXT = (
    "decision_facts",
    "illegal_content_explanation",
    "incompatible_content_explanation",
    "decision_visibility_other",
    "decision_monetary_other",
    "content_type_other",
    "category_specification_other",
    "source_identity",
)

# Rules beyond validate_statement, each with the documentation section it comes from.
RULES: tuple[tuple[str, Rule], ...] = (
    ("Content identifier (content_id): key-value, only EAN-13", _content_id),
    ("Other Keyword (category_specification_other): with KEYWORD_OTHER", _keyword_other),
    ("Decision Ground Reference Url: an url to the TOS or law", _reference_url),
    ("Source Identity: not taken into account for SOURCE_VOLUNTARY", _voluntary_identity),
    ("Statement Attributes: no personal data", _no_personal_data),
    ("Creating a Statement: a json encoded payload", _json_values),
)


def check_statement(sor: Mapping[str, Any]) -> list[str]:
    """Every problem the Transparency Database would refuse ``sor`` for, as far as can be told
    offline; each starts with the field it is about. Empty: send it."""
    problems = validate_statement(sor)
    for _source, rule in RULES:
        found = rule(sor)
        if found is not None:
            problems.append(found)
    return problems


def statement_payload(statement: Mapping[str, Any], puid: str) -> dict[str, Any]:
    """The body of ``POST /api/v1/statement`` for a stored statement of reasons under
    ``puid``; :class:`ReportInvalid` (nothing to send) when it would be refused."""
    payload = {**statement, "puid": puid}
    problems = check_statement(payload)
    if problems:
        raise ReportInvalid(f"statement {puid} would be refused", problems)
    return payload


def check_batch(statements: Sequence[Mapping[str, Any]]) -> list[str]:
    """Problems of one ``POST /api/v1/statements`` call, indexed as the API indexes them
    (``statement_<n>``, 0-based): the size (1 to 100), PUIDs repeated within the call, and
    each statement's own problems."""
    problems = []
    if not 1 <= len(statements) <= MAX_BATCH:
        problems.append(f"statements: {len(statements)} in one call; send 1 to {MAX_BATCH}")
    seen: dict[str, int] = {}
    for n, sor in enumerate(statements):
        problems += [f"statement_{n}.{p}" for p in check_statement(sor)]
        puid = sor.get("puid")
        if isinstance(puid, str):
            if puid in seen:
                problems.append(f"statement_{n}.puid: {puid} repeats statement_{seen[puid]}")
            seen.setdefault(puid, n)
    return problems


def batch_payload(statements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The body of ``POST /api/v1/statements``; :class:`ReportInvalid` when refused."""
    problems = check_batch(statements)
    if problems:
        raise ReportInvalid("batch of statements would be refused", problems)
    return {"statements": [dict(s) for s in statements]}


def batches(items: Sequence[T], size: int = MAX_BATCH) -> Iterator[list[T]]:
    """``items`` in order, in runs of at most ``size`` (250 become 100, 100, 50)."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size {size}: the API takes 1 to {MAX_BATCH}")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
