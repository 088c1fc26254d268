"""Deadline profiles: the clock each notice starts, per jurisdiction and notice kind.

DESIGN.md §2.4, "deadlines are first-class". The shipped profiles are data
(``cases/deadlines.yaml``, one comment per entry naming the law); an operator file of the same
shape overrides them entry by entry. Files are validated as the policy loader validates policies
(:mod:`jikimi.policy.nodes`): every error is a :class:`DeadlineProfileError` naming the file
and line, and unknown keys are refused.

Clocks are elapsed time in UTC from receipt: 48 hours is 48 real hours even across a daylight
saving change in the notifier's or the operator's zone, and ``14d`` is 14 times 24 hours.
Lookup: the jurisdiction's entry for the kind, then its ``other`` entry, then the same in the
group it is a member of (DE → EU), then ``default``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from yaml.nodes import Node

from jikimi.cases.notices import NOTICE_KINDS
from jikimi.errors import DeadlineProfileError, PolicyError
from jikimi.policy.nodes import MAX_POLICY_BYTES, NULL, NodeReader, compose

__all__ = [
    "DEFAULT_PRIORITY",
    "DEFAULT_SOURCE",
    "Deadline",
    "DeadlineProfiles",
    "Profile",
    "load_profiles",
    "normalise_jurisdiction",
    "overdue",
    "parse_profiles",
    "time_left",
]

DEFAULT_SOURCE = "<default deadlines>"
DEFAULT_PRIORITY = 50
DEFAULT = "default"
OTHER = "other"
MAX_DURATION = timedelta(days=366)

TOP_KEYS = ("version", "default", "jurisdictions")
ENTRY_KEYS = ("due_within", "rule", "without_delay", "notify_within", "priority")
JURISDICTION_KEYS = ("name", "members", OTHER, *NOTICE_KINDS)
_CODE = re.compile(r"[A-Z]{2}", re.ASCII)
_DURATION = re.compile(r"([0-9]{1,6})\s*([mhd])", re.ASCII)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True, slots=True)
class Profile:
    """One entry of a profiles file."""

    due_within: timedelta
    rule: str
    without_delay: bool = False
    notify_within: timedelta | None = None
    priority: int = DEFAULT_PRIORITY
    source: str = DEFAULT_SOURCE
    line: int = 0


@dataclass(frozen=True, slots=True)
class Deadline:
    """The clock of one notice. ``profile`` names the entry used (``US/takedown_request``,
    ``EU/other``, ``default/other``); ``due_at`` and ``notify_by`` are in UTC; ``rule`` says
    in words where the deadline comes from."""

    profile: str
    due_at: datetime
    notify_by: datetime | None
    without_delay: bool
    priority: int
    rule: str


@dataclass(frozen=True, slots=True)
class DeadlineProfiles:
    """Validated profiles: ``entries[jurisdiction][kind or "other"]``, with ``"default"`` as
    a jurisdiction; ``groups`` maps a member code to its group (``DE`` → ``EU``)."""

    entries: Mapping[str, Mapping[str, Profile]]
    groups: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = (DEFAULT_SOURCE,)

    def profile(self, jurisdiction: str | None, kind: str) -> tuple[str, Profile]:
        """The name and entry that apply to ``kind`` in ``jurisdiction``."""
        if kind not in NOTICE_KINDS:
            raise ValueError(f"unknown notice kind {kind!r}; one of: {', '.join(NOTICE_KINDS)}")
        chain: list[str] = []
        code = normalise_jurisdiction(jurisdiction)
        if code is not None:
            chain.append(code)
            if code in self.groups:
                chain.append(self.groups[code])
        chain.append(DEFAULT)
        for name in chain:
            entries = self.entries.get(name, {})
            for key in (kind, OTHER):
                if key in entries:
                    return f"{name}/{key}", entries[key]
        raise AssertionError("the default profile always has an 'other' entry")

    def deadline(
        self,
        *,
        jurisdiction: str | None,
        kind: str,
        received_at: datetime,
        ordered_by: datetime | None = None,
    ) -> Deadline:
        """The clock for a notice of ``kind`` from ``jurisdiction`` received at
        ``received_at``; ``ordered_by`` is an order's own deadline, used when it is earlier."""
        received = _utc(received_at, "received_at")
        name, entry = self.profile(jurisdiction, kind)
        due_at = received + entry.due_within
        rule = entry.rule
        if ordered_by is not None:
            ordered = _utc(ordered_by, "ordered_by")
            if ordered < due_at:
                due_at = ordered
                rule = (
                    f"the order's own deadline, {ordered:%Y-%m-%d %H:%M} UTC (earlier than: {rule})"
                )
        return Deadline(
            profile=name,
            due_at=due_at,
            notify_by=received + entry.notify_within if entry.notify_within else None,
            without_delay=entry.without_delay,
            priority=entry.priority,
            rule=rule,
        )


def time_left(deadline: Deadline, now: datetime) -> timedelta:
    """Time until ``deadline.due_at``; negative once it has passed."""
    return deadline.due_at - _utc(now, "now")


def overdue(deadline: Deadline, now: datetime) -> bool:
    """Whether ``now`` is past ``deadline.due_at``."""
    return _utc(now, "now") > deadline.due_at


def normalise_jurisdiction(jurisdiction: str | None) -> str | None:
    """An upper-case code (``UK`` is read as ``GB``, ISO 3166), or ``None``."""
    if jurisdiction is None or not jurisdiction.strip():
        return None
    code = jurisdiction.strip().upper()
    return "GB" if code == "UK" else code


def load_profiles(path: Path | None = None) -> DeadlineProfiles:
    """The shipped profiles, overridden entry by entry by the operator file at ``path``;
    :class:`DeadlineProfileError` when either does not validate or cannot be read."""
    data = files("jikimi.cases").joinpath("deadlines.yaml").read_text("utf-8")
    profiles = parse_profiles(data, DEFAULT_SOURCE)
    if path is None:
        return profiles
    return parse_profiles(_read(path), str(path), base=profiles)


def parse_profiles(
    text: str, source: str, *, base: DeadlineProfiles | None = None
) -> DeadlineProfiles:
    """Profiles from ``text``; with ``base``, ``text`` overrides it entry by entry (and a
    jurisdiction's ``members`` replace the base's). Without ``base`` a ``default`` with an
    ``other`` entry is required. Raises :class:`DeadlineProfileError` with file and line."""
    try:
        return _parse(text, source, base)
    except DeadlineProfileError:
        raise
    except PolicyError as exc:  # the YAML reader shared with policy files
        raise DeadlineProfileError(exc.path, exc.line, exc.detail) from None


def _parse(text: str, source: str, base: DeadlineProfiles | None) -> DeadlineProfiles:
    root = compose(text, source)
    reader = NodeReader(source)
    if root is None or root.tag == NULL:
        raise DeadlineProfileError(
            source, 1, "empty deadlines file; it needs version and jurisdictions"
        )
    keys = reader.fields(root, "the deadlines file", TOP_KEYS, ("version",))
    reader.string(keys["version"], "version")
    entries = {name: dict(kinds) for name, kinds in (base.entries if base else {}).items()}
    members = {}
    if base:
        for code, group in base.groups.items():
            members.setdefault(group, []).append(code)
    if "default" in keys:
        body = reader.fields(keys["default"], "default", (OTHER, *NOTICE_KINDS))
        entries.setdefault(DEFAULT, {}).update(_entries(reader, body, source))
    if OTHER not in entries.get(DEFAULT, {}):
        raise DeadlineProfileError(
            source, 1, "default must have an 'other' entry (the fallback clock)"
        )
    if "jurisdictions" in keys:
        for code, (key_node, body) in reader.mapping(
            keys["jurisdictions"], "jurisdictions", None
        ).items():
            if not _CODE.fullmatch(code) and code != "EU":
                raise reader.error(key_node, f"jurisdiction {code!r} is not an ISO 3166 code")
            fields = reader.fields(body, f"jurisdiction {code}", JURISDICTION_KEYS)
            if "name" in fields:
                reader.string(fields["name"], "name")
            if "members" in fields:
                members[code] = _members(reader, fields["members"], code)
            entries.setdefault(code, {}).update(_entries(reader, fields, source))
    return DeadlineProfiles(
        entries=entries,
        groups=_groups(source, members),
        sources=(*(base.sources if base else ()), source),
    )


def _entries(reader: NodeReader, fields: Mapping[str, Node], source: str) -> dict[str, Profile]:
    return {
        key: _entry(reader, node, key, source)
        for key, node in fields.items()
        if key not in ("name", "members")
    }


def _entry(reader: NodeReader, node: Node, what: str, source: str) -> Profile:
    keys = reader.fields(node, what, ENTRY_KEYS, ("due_within", "rule"))
    notify = keys.get("notify_within")
    return Profile(
        due_within=_duration(reader, keys["due_within"], "due_within"),
        rule=reader.string(keys["rule"], "rule"),
        without_delay=reader.boolean(keys["without_delay"], "without_delay")
        if "without_delay" in keys
        else False,
        notify_within=_duration(reader, notify, "notify_within") if notify else None,
        priority=reader.integer(keys["priority"], "priority", 0, 100)
        if "priority" in keys
        else DEFAULT_PRIORITY,
        source=source,
        line=node.start_mark.line + 1,
    )


def _duration(reader: NodeReader, node: Node, what: str) -> timedelta:
    text = reader.string(node, what)
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise reader.error(node, f"{what} {text!r} must be a whole number of m, h or d, like 48h")
    value = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not timedelta(0) < value <= MAX_DURATION:
        raise reader.error(node, f"{what} {text!r} must be more than 0 and at most 366d")
    return value


def _members(reader: NodeReader, node: Node, group: str) -> list[str]:
    codes = reader.strings(node, "members")
    for code in codes:
        if not _CODE.fullmatch(code) or code == group:
            raise reader.error(node, f"member {code!r} is not an ISO 3166 code of a country")
    return list(codes)


def _groups(source: str, members: Mapping[str, list[str]]) -> dict[str, str]:
    groups: dict[str, str] = {}
    for group, codes in members.items():
        for code in codes:
            if groups.get(code, group) != group:
                raise DeadlineProfileError(
                    source, 1, f"{code} is a member of both {groups[code]} and {group}"
                )
            groups[code] = group
    return groups


def _read(path: Path) -> str:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise DeadlineProfileError(
            str(path), 1, f"cannot read the deadlines file: {exc.strerror}"
        ) from None
    if len(data) > MAX_POLICY_BYTES:
        raise DeadlineProfileError(str(path), 1, f"deadlines file is over {MAX_POLICY_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DeadlineProfileError(str(path), line, "deadlines file is not UTF-8 text") from None


def _utc(when: datetime, what: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be time-zone aware")
    return when.astimezone(UTC)
