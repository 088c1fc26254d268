"""Plain data passed between the steps. No behaviour beyond validation-free containers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

MediaType = Literal["image", "animation", "video"]


@dataclass(frozen=True, slots=True)
class Signal:
    """One fact computed from media: a hash value (fixed-width lowercase hex) and its quality."""

    type: str
    value: str
    quality: int | None = None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What decoding learned about a file, recorded with its media record."""

    media_type: MediaType
    mime: str
    width: int
    height: int
    frames: int = 1
    duration: float | None = None
    orientation: int | None = None
    mode: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """A signal within a bank entry's threshold, or a face within a protected person's.

    Bank matches: ``transform`` names the query's dihedral transform that matched (``None``
    for the original orientation). Person matches (``person`` set, ``signal_type`` "faces"):
    ``distance`` is the Euclidean distance of 128-d face templates, ``box`` the face in the
    media (left, top, right, bottom pixels); ``bank`` is "person:<id>" and ``bank_kind``
    "protected-person".
    """

    bank: str
    entry_id: int
    signal_type: str
    distance: float
    bank_kind: str = "known-abuse"
    transform: str | None = None
    suppressed_by: str | None = None
    person: str | None = None
    person_name: str | None = None
    box: tuple[int, int, int, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.person is not None:
            return {
                "person": self.person,
                "name": self.person_name,
                "signal_type": self.signal_type,
                "distance": round(float(self.distance), 4),
                "box": list(self.box) if self.box else None,
            }
        out: dict[str, Any] = {
            "bank": self.bank,
            "entry_id": self.entry_id,
            "signal_type": self.signal_type,
            "distance": self.distance,
            "bank_kind": self.bank_kind,
        }
        if self.transform is not None:
            out["transform"] = self.transform
        if self.suppressed_by is not None:
            out["suppressed_by"] = self.suppressed_by
        return out

    @property
    def known_abuse(self) -> bool:
        """A match in a known-abuse bank that no known-benign entry suppressed."""
        return self.bank_kind == "known-abuse" and not self.suppressed_by


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one pipeline step did to an item: failures are data, never swallowed. ``note``
    says why a step was skipped (a stop, a condition, media it does not apply to)."""

    step: str
    component: str
    ok: bool
    duration_ms: float = 0.0
    error: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": self.step,
            "component": self.component,
            "ok": self.ok,
            "duration_ms": round(self.duration_ms, 3),
        }
        if self.error is not None:
            out["error"] = self.error
        if self.note is not None:
            out["note"] = self.note
        return out


@dataclass(slots=True)
class MediaSignals:
    """All signals of one file, plus what decoding learned, or the error that stopped it."""

    file: str
    size: int
    sha256: str | None = None
    signals: dict[str, Signal] = field(default_factory=dict)
    info: MediaInfo | None = None
    pdq_quality: int | None = None
    # PDQ of the eight dihedral transforms of the image, keyed by transform name.
    pdq_transforms: dict[str, str] = field(default_factory=dict)
    # vPDQ frames: (frame_number, quality, pdq_hex, timestamp_seconds)
    vpdq_frames: list[tuple[int, int, str, float]] = field(default_factory=list)
    error: str | None = None
    error_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    # Set when the caller's skip test said this media needs no more work (already recorded).
    skipped: bool = False
    # The decoded full-resolution RGB image (uint8 H x W x 3), in memory only: never recorded.
    rgb: Any = field(default=None, repr=False, compare=False)


BankKind = Literal["known-abuse", "known-benign"]


@dataclass(frozen=True, slots=True)
class BankSpec:
    """What matching and policy need to know of a bank. ``auto_action``: its matches may
    remove content without a human; ``minors``: it holds child sexual abuse material."""

    name: str
    kind: BankKind = "known-abuse"
    pdq_threshold: int = 31
    try_transforms: bool = True
    auto_action: bool = False
    minors: bool = False


@dataclass(frozen=True, slots=True)
class EntrySpec:
    """One active (not withdrawn) bank entry, as matching sees it."""

    entry_id: int
    bank: str
    signal_type: str
    value: str


Outcome = Literal["allow", "review", "remove"]
OUTCOMES: tuple[Outcome, ...] = ("allow", "review", "remove")


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a verdict is what it is: one rule (or built-in safeguard, ``safeguard:<name>``) that
    fired, the outcome it asked for, and the facts it fired on, in words a reviewer reads."""

    rule: str
    outcome: Outcome
    facts: tuple[str, ...] = ()
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "outcome": self.outcome,
            "facts": list(self.facts),
        }
        if self.note is not None:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the policy decided for an item: ``allow``, ``review`` (``queue``, ``priority``
    0-100, higher first) or ``remove``; ``actions`` names the effects a ``remove`` asks for
    (e.g. ``delete_message``, ``ban_author``, ``warn_chat``, ``notify``). ``automated`` is true
    when no human was needed for the outcome (``allow`` and automatic ``remove``)."""

    outcome: Outcome
    reasons: tuple[Reason, ...]
    policy_version: str
    automated: bool
    queue: str | None = None
    priority: int = 0
    actions: tuple[str, ...] = ()
    suspected_minor: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "queue": self.queue,
            "priority": self.priority,
            "automated": self.automated,
            "suspected_minor": self.suspected_minor,
            "actions": list(self.actions),
            "policy_version": self.policy_version,
            "reasons": [r.as_dict() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Effect:
    """One action to take on a platform, as the outbox holds it until a sink delivers it.
    ``idempotency_key`` is stable for the same action on the same target, so a retried or
    replayed delivery is recognisable by the receiver."""

    action: str
    sink: str
    target: dict[str, Any]
    idempotency_key: str
    payload: dict[str, Any] = field(default_factory=dict)


Language = Literal["en", "ko"]  # the languages people are answered in
MessageKind = Literal["receipt", "outcome", "appeal_outcome"]


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one person (a notifier): ``to`` is an email address; ``text`` is plain
    text. Composed by :mod:`jikimi.cases.messages`, sent as an effect by a sink."""

    kind: MessageKind
    to: str
    subject: str
    text: str
    language: Language

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
