"""Plain-text messages to notifiers and uploaders, in English and Korean. Pure: values in, text
out; sending is a sink's work (docs/notifications.md).

What each message must say follows the law that asks for it:

- the receipt of a notice: DSA Art. 16(4) (confirm receipt without undue delay), and for an
  incomplete notice exactly what is missing, so it can be sent again;
- the outcome to the notifier: DSA Art. 16(5) (the decision, and the redress available), with
  how to appeal within six months (Art. 20(1));
- the statement of reasons to the uploader: DSA Art. 17(3), from the record
  :func:`jikimi.reports.statement.statement_of_reasons` makes: what was done, on which ground,
  whether automated means were used, and the three ways to challenge it (Art. 17(3)(f)).

Every text lives in the per-language tables below, never inline. A message carries the
recipient's address and nothing personal about anyone else: no media, no item text.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from jikimi.cases.message_texts import (
    CATEGORIES,
    ELEMENTS,
    KINDS,
    MONTH_NAMES,
    TEXTS,
    WEEKDAY_NAMES,
)
from jikimi.model import Language, Message

__all__ = [
    "APPEAL_MONTHS",
    "APPEAL_PAGE",
    "LANGUAGES",
    "Message",
    "add_months",
    "appeal_outcome_message",
    "appeal_page",
    "appeal_path",
    "outcome_message",
    "receipt_message",
    "uploader_statement_text",
]

LANGUAGES: tuple[Language, ...] = ("en", "ko")
#: DSA Art. 20(1): the internal complaint stays open "for a period of at least six months".
APPEAL_MONTHS = 6
#: The public appeal page (jikimi.console.pages.appeal): case number, receipt code, reasons.
APPEAL_PAGE = "/report/appeal"


# -- composing ---------------------------------------------------------------------------------


def receipt_message(
    *,
    to: str,
    language: str = "en",
    kind: str,
    receipt: str,
    notice_id: int,
    case_id: int | None,
    due_at: datetime | None,
    missing: Sequence[str] = (),
    joined: bool = False,
    already_removed: Sequence[int] = (),
    suspended: bool = False,
    invalid: Sequence[str] = (),
) -> Message:
    """The notifier's receipt (DSA Art. 16(4)). A notice that opened or joined ``case_id``
    gets the case, the receipt code, the due time and what happens next; a suspended
    notifier's notice is recorded without a case; any other notice without a case is
    incomplete and lists each ``missing`` element (and each ``invalid`` field) exactly.
    ``already_removed`` holds the items removed before the notice came (only counted)."""
    lang = _language(language)
    t = TEXTS[lang]
    name = KINDS[lang].get(kind, KINDS[lang]["other"])
    if suspended:
        subject = t["suspended_subject"].format(kind=name, notice_id=notice_id)
        body = [
            t["suspended_intro"].format(kind=name, notice_id=notice_id, receipt=receipt),
            t["suspended_contest"],
        ]
    elif case_id is None:
        subject = t["incomplete_subject"].format(kind=name, notice_id=notice_id)
        body = _incomplete(lang, name, notice_id, receipt, missing, invalid)
    else:
        subject = t["receipt_subject"].format(kind=name, case_id=case_id)
        body = _received(lang, name, case_id, receipt, due_at, joined, len(already_removed))
        body.append(t["notice_number"].format(notice_id=notice_id))
    return Message("receipt", to, subject, _text(t["greeting"], *body), lang)


def _received(
    lang: Language,
    name: str,
    case_id: int,
    receipt: str,
    due_at: datetime | None,
    joined: bool,
    removed: int,
) -> list[str]:
    t = TEXTS[lang]
    opened = t["receipt_joined" if joined else "receipt_opened"].format(kind=name, case_id=case_id)
    if removed:
        opened += " " + t["receipt_already_removed"].format(count=removed)
    due = (
        t["receipt_due"].format(human=_moment(due_at, lang), iso=_iso(due_at))
        if due_at is not None
        else t["receipt_no_due"]
    )
    return [opened, t["receipt_code"].format(receipt=receipt), due, t["receipt_next"]]


def _incomplete(
    lang: Language,
    name: str,
    notice_id: int,
    receipt: str,
    missing: Sequence[str],
    invalid: Sequence[str],
) -> list[str]:
    t = TEXTS[lang]
    elements = ELEMENTS[lang]
    listed = "\n".join(
        f"- {field}: {elements[field]}" if field in elements else f"- {field}" for field in missing
    )
    body = [t["incomplete_intro"].format(kind=name, notice_id=notice_id) + "\n" + listed]
    if invalid:
        body.append(t["incomplete_invalid"].format(fields=", ".join(invalid)))
    body.append(t["incomplete_again"].format(kind=name, receipt=receipt))
    return body


def outcome_message(
    *,
    to: str,
    language: str = "en",
    case_id: int,
    receipt: str,
    outcome: str,
    ground: str,
    law: str | None,
    terms: str | None,
    reasons: str,
    decided_at: datetime,
    appeal_url: str | None = None,
) -> Message:
    """The decision on the notifier's case and how to appeal it (DSA Art. 16(5), Art. 20):
    within six months, by sending the receipt code and reasons to ``appeal_url`` (``{case_id}``
    in it is replaced), or without it on the appeal page (:func:`appeal_page`) or to
    ``/v1/cases/<id>/appeals``. ``escalate`` is a hand-over, not a decision: nothing is sent,
    and asking is a ValueError."""
    if outcome not in ("remove", "restrict", "keep"):
        raise ValueError(
            f"outcome {outcome!r}: only remove, restrict and keep are sent (escalate is a "
            "hand-over, not a decision)"
        )
    lang = _language(language)
    t = TEXTS[lang]
    body = [
        t["outcome_intro"].format(case_id=case_id),
        "\n".join(
            (
                t[f"outcome_{outcome}"],
                _ground(lang, outcome, ground, law, terms),
                t["reasons"].format(reasons=reasons.strip()),
                t["decided"].format(human=_moment(decided_at, lang), iso=_iso(decided_at)),
            )
        ),
        *_appeal(lang, case_id, receipt, decided_at, appeal_url),
    ]
    return Message(
        "outcome",
        to,
        t["outcome_subject"].format(case_id=case_id),
        _text(t["greeting"], *body),
        lang,
    )


def _ground(lang: Language, outcome: str, ground: str, law: str | None, terms: str | None) -> str:
    t = TEXTS[lang]
    prefix = "checked" if outcome == "keep" else "ground"
    if ground == "illegal":
        return t[f"{prefix}_illegal"].format(law=_given(law, lang))
    if ground == "terms":
        return t[f"{prefix}_terms"].format(terms=_given(terms, lang))
    raise ValueError(f"ground {ground!r} is not one of illegal, terms")


def _given(value: str | None, lang: Language) -> str:
    return (value or "").strip() or TEXTS[lang]["unspecified"]


def appeal_path(case_id: int, appeal_url: str | None = None) -> str:
    """Where a notifier's appeal is POSTed: ``appeal_url`` with ``{case_id}`` filled in, or the
    API's own ``/v1/cases/<id>/appeals``."""
    if not appeal_url:
        return f"/v1/cases/{case_id}/appeals"
    return appeal_url.replace("{case_id}", str(case_id))


def appeal_page(case_id: int, appeal_url: str | None = None) -> str | None:
    """The page where a person appeals without any tool, the case number filled in: this
    service's own :data:`APPEAL_PAGE`, or ``None`` when ``appeal_url`` sends appeals elsewhere
    (the operator's page then says how). Kept apart from :func:`appeal_path`, which is the
    address of a POST with a JSON body."""
    return None if appeal_url else f"{APPEAL_PAGE}?case={case_id}"


def _appeal(
    lang: Language, case_id: int, receipt: str, decided_at: datetime, appeal_url: str | None
) -> list[str]:
    t = TEXTS[lang]
    until = _day(add_months(_utc(decided_at).date(), APPEAL_MONTHS), lang)
    example = json.dumps(
        {"receipt": receipt, "reasons": t["appeal_reasons_placeholder"]}, ensure_ascii=False
    )
    heading = (
        t["appeal_heading"]
        + "\n"
        + t["appeal_body"].format(months=APPEAL_MONTHS, until=until, receipt=receipt)
    )
    url = appeal_path(case_id, appeal_url)
    page = appeal_page(case_id, appeal_url)
    if page is None:
        return [heading, t["appeal_how"].format(url=url, body=example)]
    return [
        heading,
        t["appeal_page"].format(page=page, case_id=case_id),
        t["appeal_how_also"].format(url=url, body=example),
    ]


def appeal_outcome_message(
    *,
    to: str,
    language: str = "en",
    case_id: int,
    upheld: bool,
    reasons: str,
    decided_at: datetime,
) -> Message:
    """The decision on an appeal (DSA Art. 20(4)), and the redress left (Art. 21, courts)."""
    lang = _language(language)
    t = TEXTS[lang]
    verdict = t["appeal_upheld" if upheld else "appeal_changed"].format(case_id=case_id)
    details = "\n".join(
        (
            t["reasons"].format(reasons=reasons.strip()),
            t["decided"].format(human=_moment(decided_at, lang), iso=_iso(decided_at)),
        )
    )
    return Message(
        "appeal_outcome",
        to,
        t["appeal_outcome_subject"].format(case_id=case_id),
        _text(t["greeting"], verdict, details, t["appeal_further"]),
        lang,
    )


def uploader_statement_text(statement: Mapping[str, Any], *, language: str = "en") -> str:
    """A DSA statement of reasons (the record of
    :func:`jikimi.reports.statement.statement_of_reasons`) told to the uploader (Art. 17(3)):
    what was done, why, whether automated means were used, and how to challenge it."""
    lang = _language(language)
    t = TEXTS[lang]
    facts = [_why(statement, lang)]
    category = CATEGORIES[lang].get(str(statement.get("category")))
    if category:
        facts.append(t["statement_category"].format(category=category))
    facts.append(
        t["statement_facts"].format(facts=str(statement.get("decision_facts", "")).strip())
    )
    applied = date.fromisoformat(str(statement["application_date"]))
    record = [
        t["statement_date"].format(date=_day(applied, lang)),
        t["statement_reference"].format(puid=statement["puid"]),
    ]
    until = _day(add_months(applied, APPEAL_MONTHS), lang)
    redress = (
        t["statement_redress_heading"]
        + "\n"
        + t["statement_redress"].format(months=APPEAL_MONTHS, until=until)
    )
    return _text(
        _what(statement, lang),
        "\n".join(facts),
        _automation(statement, lang),
        "\n".join(record),
        redress,
    )


def _what(statement: Mapping[str, Any], lang: Language) -> str:
    visibility = statement.get("decision_visibility") or []
    if "DECISION_VISIBILITY_CONTENT_REMOVED" in visibility:
        return TEXTS[lang]["statement_removed"]
    if "DECISION_VISIBILITY_CONTENT_DISABLED" in visibility:
        return TEXTS[lang]["statement_disabled"]
    return TEXTS[lang]["statement_restricted"]


def _why(statement: Mapping[str, Any], lang: Language) -> str:
    t = TEXTS[lang]
    if statement.get("decision_ground") == "DECISION_GROUND_ILLEGAL_CONTENT":
        law = _given(statement.get("illegal_content_legal_ground"), lang)
        return t["statement_illegal"].format(law=law)
    terms = _given(statement.get("incompatible_content_ground"), lang)
    return t["statement_terms"].format(terms=terms)


def _automation(statement: Mapping[str, Any], lang: Language) -> str:
    t = TEXTS[lang]
    detected = "yes" if statement.get("automated_detection") == "Yes" else "no"
    decided = {
        "AUTOMATED_DECISION_FULLY": "fully",
        "AUTOMATED_DECISION_PARTIALLY": "partially",
    }.get(str(statement.get("automated_decision")), "not")
    return t[f"statement_detected_{detected}"] + " " + t[f"statement_decided_{decided}"]


# -- helpers -----------------------------------------------------------------------------------


def _language(language: str) -> Language:
    return "ko" if language == "ko" else "en"


def _text(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs) + "\n"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times in messages must be time-zone aware")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat(timespec="seconds")


def _moment(moment: datetime, lang: Language) -> str:
    utc = _utc(moment)
    return TEXTS[lang]["date_moment"].format(
        weekday=WEEKDAY_NAMES[lang][utc.weekday()],
        day=utc.day,
        month=MONTH_NAMES[lang][utc.month - 1],
        year=utc.year,
        time=f"{utc:%H:%M}",
    )


def _day(day: date, lang: Language) -> str:
    return TEXTS[lang]["date_day"].format(
        day=day.day, month=MONTH_NAMES[lang][day.month - 1], year=day.year
    )


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (31 August
    plus six months is 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
