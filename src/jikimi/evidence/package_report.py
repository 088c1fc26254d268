"""The report's sections from a case's records: what a reader of the package sees first."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from jikimi.evidence.package_records import CaseRecords
from jikimi.evidence.report_doc import ReportDoc, Section

# Keys of an item's meta that hold the platform's own (local) time of the item.
LOCAL_TIME_KEYS = ("date_local", "edited_local", "timezone", "utc_offset")


def _s(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def original_times(meta: dict[str, Any]) -> str:
    """The item's times as the platform recorded them (Telegram exports: the exporting
    machine's local time, zone not stated)."""
    found = [f"{k}={meta[k]}" for k in LOCAL_TIME_KEYS if meta.get(k)]
    return ", ".join(found) or "-"


def build_report(
    records: CaseRecords,
    *,
    media_included: dict[str, str],
    withheld: list[dict[str, str]],
    exported_by: str,
    exported_at: datetime,
    tool: str,
    anchored: tuple[int, int] = (0, 0),
) -> ReportDoc:
    """The report's sections; ``anchored``: how many of the custody events are proved in a
    custody anchor (data/anchors.json) and how many are not yet anchored."""
    case = records.case
    return ReportDoc(
        title=f"Evidence package: case {case['id']}",
        subtitle=(
            f"Exported {exported_at.isoformat()} (UTC) by {exported_by} with {tool}. All "
            "times are UTC (ISO 8601); where the platform recorded its own local time it is "
            "shown beside. The manifest (data/manifest.jsonld) names every file with its "
            "SHA-256, this report's included; verify offline with `jikimi evidence verify`."
        ),
        sections=[
            _case_section(case),
            _timeline(records),
            _items(records),
            _matches(records),
            _decisions(records),
            _custody(records, anchored),
            _contents(records, media_included, withheld),
        ],
    )


def _case_section(case: dict[str, Any]) -> Section:
    keys = (
        "id",
        "queue",
        "state",
        "origin",
        "jurisdiction",
        "priority",
        "suspected_minor",
        "assignee",
        "created_at",
        "due_at",
        "deadline_rule",
        "closed_at",
    )
    return Section("Case", rows=[(k, _s(case.get(k))) for k in keys], header=("field", "value"))


def _timeline(records: CaseRecords) -> Section:
    rows: list[tuple[str, str, str, str]] = []
    for item in records.items:
        r = item.record
        if r["posted_at"]:
            rows.append(
                (
                    r["posted_at"],
                    original_times(r["meta"]),
                    f"item {item.id} posted",
                    _s(r["author_id"]),
                )
            )
        rows.append((r["received_at"], "-", f"item {item.id} received", r["submitted_by"]))
    for n in records.notices:
        rows.append(
            (n["received_at"], "-", f"notice {n['id']} ({n['kind']}) received", n["submitted_by"])
        )
    for d in records.decisions:
        rows.append((d["decided_at"], "-", f"decision {d['id']}: {d['outcome']}", d["decided_by"]))
    for a in records.appeals:
        rows.append((a["filed_at"], "-", f"appeal {a['id']} filed", a["filed_by"]))
    rows.sort(key=lambda row: row[0])
    return Section(
        "Timeline (UTC)",
        rows=rows,
        header=("UTC", "as the platform recorded it", "what", "who"),
    )


def _items(records: CaseRecords) -> Section:
    rows = []
    for item in records.items:
        r = item.record
        where = " ".join(
            f"{k}={r[k]}" for k in ("platform", "chat_id", "message_id", "url") if r.get(k)
        )
        raw = f"data/items/{item.id}/raw.json" if item.raw is not None else "none received"
        media = ", ".join(item.media) or "-"
        local = original_times(r["meta"])
        rows.append((str(item.id), where, _s(r["posted_at"]), local, media, raw))
    return Section(
        "Items and their locators",
        rows=rows,
        header=(
            "item",
            "where",
            "posted (UTC)",
            "as the platform recorded it",
            "media SHA-256",
            "platform record",
        ),
        note=None if rows else "The case holds no items.",
    )


def _matches(records: CaseRecords) -> Section:
    rows = [
        (
            sha,
            m["bank"],
            m["bank_kind"],
            m["signal_type"],
            _s(m["distance"]),
            _s(m["suppressed_by"]),
            _s(m["matched_at"]),
        )
        for sha, media in records.media.items()
        for m in media.matches
    ]
    return Section(
        "Matches",
        rows=rows,
        header=("media", "bank", "kind", "signal", "distance", "suppressed by", "matched (UTC)"),
        note=None if rows else "No media of the case matched a bank or a protected person.",
    )


def _decisions(records: CaseRecords) -> Section:
    rows = []
    for d in records.decisions:
        basis = d["law"] if d["ground"] == "illegal" else d["terms"]
        statement = "attached (case.json)" if d["statement"] else "none (not a restriction)"
        rows.append(
            (
                str(d["id"]),
                d["outcome"],
                f"{d['ground']}: {_s(basis)}",
                d["category"],
                d["reasons"],
                d["decided_by"],
                d["decided_at"],
                statement,
            )
        )
    return Section(
        "Decisions and statements of reasons",
        rows=rows,
        header=(
            "decision",
            "outcome",
            "ground",
            "category",
            "reasons",
            "by",
            "at (UTC)",
            "DSA statement",
        ),
        note=None if rows else "No decision has been made on this case.",
    )


def _custody(records: CaseRecords, anchored: tuple[int, int]) -> Section:
    events = records.events
    kinds = Counter(e.kind for e in events)
    rows = [(kind, str(count)) for kind, count in sorted(kinds.items())]
    if events:
        note = (
            f"{len(events)} custody events about the case, its items, media, notices and "
            f"decisions (seq {events[0].seq} to {events[-1].seq}; other subjects' events "
            "between them are not part of this package), in data/custody.jsonl. Each event's "
            "hash is recomputable; consecutive seqs link by prev_hash. "
            f"{anchored[0]} are proved included in time-stamped custody anchors and "
            f"{anchored[1]} are not yet anchored (data/anchors.json); this export's own event is "
            "logged after the package is made."
        )
    else:
        note = "No custody events recorded for this case."
    return Section("Custody summary", rows=rows, header=("event", "count"), note=note)


def _contents(
    records: CaseRecords, media_included: dict[str, str], withheld: list[dict[str, str]]
) -> Section:
    rows = [("included", f"media {sha}", path) for sha, path in media_included.items()]
    rows += [
        ("included", f"item {i.id} platform record", f"data/items/{i.id}/raw.json")
        for i in records.items
        if i.raw is not None
    ]
    rows += [("withheld", w["what"], w["why"]) for w in withheld]
    note = (
        "Media without a kept copy appear by their hashes and locators only. "
        "Protected persons' face templates and the templates of faces found in media are "
        "never part of a package."
    )
    return Section(
        "What is included and what is not", rows=rows, header=("", "what", "where / why"), note=note
    )
