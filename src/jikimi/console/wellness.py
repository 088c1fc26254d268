"""Reviewer wellness: how media is veiled, and how much of it a reviewer has seen today.

People who review sexual-abuse material are harmed by what they see, so the console shows
facts first and media only blurred and in greyscale; a reveal is deliberate and logged
(DESIGN.md §2.3). Two layers of settings decide the veil:

- the **organisation** (an admin, ``settings:admin``; table ``console_settings``, key
  ``wellness``): the defaults, and the limits users choose within (the least blur, whether
  colour or sound may be turned on), and the daily reveal limit;
- the **user** (table ``user_preferences``, under ``wellness``): their own blur, greyscale and
  muting, clamped to the organisation's limits every time they are read, so a limit an admin
  tightens applies at once to choices made before.

Exposure is counted from the custody log: one ``media.revealed`` event per reveal, by actor,
since midnight UTC. Past the daily limit the console suggests a break, routes to cases that
need no media, and refuses reveals unless the reviewer confirms (the confirmation is logged).

The rules (:func:`effective`, :func:`parse_organisation`, :func:`parse_personal`) are pure;
:class:`WellnessStore` reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.evidence.custody import CustodyLog
from jikimi.store.db import write_session
from jikimi.store.models import ConsoleSetting, CustodyEventRecord, UserPreference

__all__ = [
    "BLUR_STEPS",
    "REVEALED",
    "Effective",
    "Organisation",
    "Personal",
    "WellnessStore",
    "effective",
    "parse_organisation",
    "parse_personal",
    "start_of_day",
]

# The blur strengths offered (CSS pixels on a preview at most 320 pixels wide). Discrete so
# that each has a CSS class: the Content-Security-Policy forbids inline styles.
BLUR_STEPS = (0, 4, 8, 12, 16, 24, 32, 48)
MAX_DAILY_LIMIT = 10_000
SETTING_KEY = "wellness"
PREFERENCE_KEY = "wellness"
# The custody event of one reveal of an original (see pages/media.py).
REVEALED = "media.revealed"


@dataclass(frozen=True, slots=True)
class Organisation:
    """The organisation's defaults and the limits users choose within."""

    blur_px: int = 24
    greyscale: bool = True
    mute_video: bool = True
    min_blur_px: int = 8  # the least blur a user may choose
    users_may_use_colour: bool = False  # whether users may turn greyscale off
    users_may_unmute: bool = True  # whether users may turn sound on by default
    daily_reveal_limit: int = 20  # reveals a day before the console suggests a break; 0: none


@dataclass(frozen=True, slots=True)
class Personal:
    """A user's own choices; ``None`` follows the organisation's default."""

    blur_px: int | None = None
    greyscale: bool | None = None
    mute_video: bool | None = None


@dataclass(frozen=True, slots=True)
class Effective:
    """What the console applies for one user."""

    blur_px: int
    greyscale: bool
    mute_video: bool
    daily_reveal_limit: int

    @property
    def css_class(self) -> str:
        """The classes of a veiled media area (console.css, section review)."""
        return f"veil-blur-{self.blur_px} veil-grey-{int(self.greyscale)}"

    @property
    def preview_radius(self) -> float:
        """The Gaussian blur radius of the server-side preview (at most 320 pixels wide): half
        the CSS blur, never less than 3, so the preview is never the picture itself."""
        return max(3.0, self.blur_px / 2)

    def over_limit(self, revealed_today: int) -> bool:
        return self.daily_reveal_limit > 0 and revealed_today >= self.daily_reveal_limit


def _step_at_least(value: int) -> int:
    return next((s for s in BLUR_STEPS if s >= value), BLUR_STEPS[-1])


def effective(org: Organisation, own: Personal) -> Effective:
    """The user's choices within the organisation's limits (a blur below the least allowed
    is raised to it; colour and sound only where the organisation lets users choose them)."""
    blur = org.blur_px if own.blur_px is None else own.blur_px
    blur = _step_at_least(max(blur, org.min_blur_px))
    grey = org.greyscale if own.greyscale is None else own.greyscale
    if not grey and not org.users_may_use_colour:
        grey = org.greyscale
    mute = org.mute_video if own.mute_video is None else own.mute_video
    if not mute and not org.users_may_unmute:
        mute = org.mute_video
    return Effective(blur, grey, mute, org.daily_reveal_limit)


# -- forms ------------------------------------------------------------------------------------


def _blur(text: str | None) -> int | None:
    try:
        value = int(text or "")
    except ValueError:
        return None
    return value if value in BLUR_STEPS else None


def _flag(fields_: Mapping[str, str], name: str) -> bool:
    return fields_.get(name, "") in ("1", "on", "true")


def parse_organisation(form: Mapping[str, str]) -> tuple[Organisation, list[tuple[str, str]]]:
    """The organisation settings from a form, and ``(field, text key)`` problems."""
    problems: list[tuple[str, str]] = []
    blur, least = _blur(form.get("blur_px")), _blur(form.get("min_blur_px"))
    if blur is None:
        problems.append(("blur_px", "wellness.error.blur_step"))
    if least is None:
        problems.append(("min_blur_px", "wellness.error.blur_step"))
    if blur is not None and least is not None and blur < least:
        problems.append(("blur_px", "wellness.error.default_below_least"))
    limit_text = form.get("daily_reveal_limit", "").strip()
    limit = int(limit_text) if limit_text.isdigit() else -1
    if not 0 <= limit <= MAX_DAILY_LIMIT:
        problems.append(("daily_reveal_limit", "wellness.error.limit_range"))
    org = Organisation(
        blur_px=blur if blur is not None else Organisation.blur_px,
        greyscale=_flag(form, "greyscale"),
        mute_video=_flag(form, "mute_video"),
        min_blur_px=least if least is not None else Organisation.min_blur_px,
        users_may_use_colour=_flag(form, "users_may_use_colour"),
        users_may_unmute=_flag(form, "users_may_unmute"),
        daily_reveal_limit=max(limit, 0),
    )
    return org, problems


def parse_personal(
    form: Mapping[str, str], org: Organisation
) -> tuple[Personal, list[tuple[str, str]]]:
    """A user's choices from a form, refused where they pass the organisation's limits."""
    problems: list[tuple[str, str]] = []
    blur = _blur(form.get("blur_px"))
    if blur is None:
        problems.append(("blur_px", "wellness.error.blur_step"))
    elif blur < org.min_blur_px:
        problems.append(("blur_px", "wellness.error.below_least"))
    grey = _flag(form, "greyscale")
    if not grey and not org.users_may_use_colour:
        problems.append(("greyscale", "wellness.error.colour_not_allowed"))
    mute = _flag(form, "mute_video")
    if not mute and not org.users_may_unmute:
        problems.append(("mute_video", "wellness.error.sound_not_allowed"))
    return Personal(blur, grey, mute), problems


def _known(cls: type[Any], value: Mapping[str, Any]) -> dict[str, Any]:
    """The stored fields this version knows, of the right type (a row written by another
    version, or edited by hand, never breaks a page: unknown or odd values are left out)."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        v = value.get(f.name)
        if f.name.endswith("_px") or f.name == "daily_reveal_limit":
            if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                out[f.name] = v
        elif isinstance(v, bool):
            out[f.name] = v
    return out


def start_of_day(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s day: exposure is counted per UTC day."""
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


class WellnessStore:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        custody: CustodyLog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._custody = custody
        self._clock = clock

    def organisation(self) -> Organisation:
        with self._sessions() as session:
            row = session.get(ConsoleSetting, SETTING_KEY)
            return Organisation(**_known(Organisation, row.value if row else {}))

    def personal(self, user_id: int) -> Personal:
        with self._sessions() as session:
            row = session.get(UserPreference, user_id)
            stored = (row.value if row else {}).get(PREFERENCE_KEY) or {}
            return Personal(**_known(Personal, stored if isinstance(stored, dict) else {}))

    def effective(self, user_id: int) -> Effective:
        return effective(self.organisation(), self.personal(user_id))

    def set_organisation(self, org: Organisation, *, actor: str) -> None:
        """Store the organisation's settings, with a custody event (who changed what)."""
        now = self._clock()
        with write_session(self._sessions) as session:
            row = session.get(ConsoleSetting, SETTING_KEY)
            before = Organisation(**_known(Organisation, row.value if row else {}))
            if row is None:
                row = ConsoleSetting(key=SETTING_KEY, value={}, updated_by=actor, updated_at=now)
                session.add(row)
            row.value, row.updated_by, row.updated_at = asdict(org), actor, now
            self._custody.append(
                "console.wellness_changed",
                "console:wellness",
                {"before": asdict(before), "after": asdict(org)},
                actor=actor,
                tool_version=__version__,
                session=session,
            )

    def set_personal(self, user_id: int, own: Personal) -> None:
        """Store a user's choices beside whatever else their preferences hold."""
        now = self._clock()
        with write_session(self._sessions) as session:
            row = session.get(UserPreference, user_id)
            if row is None:
                row = UserPreference(user_id=user_id, value={}, updated_at=now)
                session.add(row)
            # A new dict: the JSON column notices reassignment, not changes in place.
            row.value = {**(row.value or {}), PREFERENCE_KEY: asdict(own)}
            row.updated_at = now

    def revealed_today(self, actor: str, now: datetime | None = None) -> int:
        """How many originals ``actor`` revealed since midnight UTC: one query on the custody
        events, narrowed by the (kind, seq) index to reveals only."""
        since = start_of_day(now or self._clock())
        with self._sessions() as session:
            found = session.scalar(
                select(func.count()).where(
                    CustodyEventRecord.kind == REVEALED,
                    CustodyEventRecord.actor == actor,
                    CustodyEventRecord.at >= since,
                )
            )
            return int(found or 0)
