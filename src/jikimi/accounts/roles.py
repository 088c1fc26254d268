"""Roles, permissions and the one table that joins them (least privilege).

A user has exactly one role. Routes ask for a :class:`Permission`, never for a role, so the
table below is the only place that says who may do what; ``docs/accounts.md`` prints it.

- ``child_safety`` is the only role with ``minors:view`` (suspected-minor items and cases),
  ``admin`` included: an admin manages users and settings but does not see that material.
  Nor does it hold ``reports:ncmec``: the cases reported to NCMEC are suspected-minor ones.
- ``auditor`` is read-only and has no ``media:view``: facts and the audit trail, not media.
- ``platform`` is a machine: it checks, ingests and reads back its own items (the items routes
  narrow ``items:read`` to the caller's own items for this role), and never views media.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from jikimi.errors import AccountError

__all__ = ["ROLE_PERMISSIONS", "Permission", "Principal", "Role", "parse_role", "permissions"]


class Role(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    CHILD_SAFETY = "child_safety"
    INVESTIGATOR = "investigator"
    SUPPORT_CENTRE = "support_centre"
    AUDITOR = "auditor"
    PLATFORM = "platform"


class Permission(StrEnum):
    CHECK = "check"  # POST /v1/check
    ITEMS_WRITE = "items:write"
    ITEMS_READ = "items:read"
    BANKS_READ = "banks:read"
    BANKS_WRITE = "banks:write"
    MATCH = "match"  # GET /v1/match: reveals whether a hash is in a bank
    MODELS_READ = "models:read"
    OUTBOX_ADMIN = "outbox:admin"
    USERS_ADMIN = "users:admin"
    SETTINGS_ADMIN = "settings:admin"
    MINORS_VIEW = "minors:view"  # suspected-minor items and cases
    MEDIA_VIEW = "media:view"
    AUDIT_READ = "audit:read"
    CASES_DECIDE = "cases:decide"  # decisions on cases (statements of reasons follow)
    # Authority orders and trusted-flagger notices (public kinds need no account).
    NOTICES_FILE = "notices:file"
    # POST /v1/exports: a Telegram Desktop export (an investigator's, a victim's) becomes items.
    EXPORTS_INGEST = "exports:ingest"
    # POST /v1/cases/{id}/reports/ncmec: a CyberTipline report about a child-safety case.
    REPORTS_NCMEC = "reports:ncmec"
    # GET /v1/cases/{id}/evidence: a case as an evidence package (media where kept; logged).
    EVIDENCE_EXPORT = "evidence:export"
    # POST /v1/reports/dsa: statements of reasons to the DSA Transparency Database.
    REPORTS_DSA = "reports:dsa"
    # GET /v1/cases/{id}/reports/kcsc: the takedown package for KCSC and the victim support
    # centre (support_centre: the cases it filed a notice in).
    REPORTS_KCSC = "reports:kcsc"


_P = Permission
_MODERATOR = frozenset(
    {_P.ITEMS_READ, _P.BANKS_READ, _P.MATCH, _P.MEDIA_VIEW, _P.MODELS_READ, _P.CASES_DECIDE}
)

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        # Only suspected-minor cases go to NCMEC: an admin could never see what it reports.
        Role.ADMIN: frozenset(Permission) - {_P.MINORS_VIEW, _P.REPORTS_NCMEC},
        Role.MODERATOR: _MODERATOR,
        # Child-safety reviewers hand their cases to NCMEC and police: they export them.
        Role.CHILD_SAFETY: _MODERATOR | {_P.MINORS_VIEW, _P.REPORTS_NCMEC, _P.EVIDENCE_EXPORT},
        # Investigators send the orders of the authority they work for.
        Role.INVESTIGATOR: frozenset(
            {
                _P.ITEMS_READ,
                _P.BANKS_READ,
                _P.MATCH,
                _P.MEDIA_VIEW,
                _P.AUDIT_READ,
                _P.NOTICES_FILE,
                _P.EXPORTS_INGEST,
                _P.EVIDENCE_EXPORT,
            }
        ),
        # A support centre looks its protected persons' hashes up and follows the items found
        # for them (its own); it reads no bank contents and views no media through the API.
        # Support centres are the usual trusted flaggers (DSA Art. 22), and receive the exports
        # victims make of the rooms they were shared in.
        # It files takedown requests for victims, so it takes the KCSC package of those cases.
        Role.SUPPORT_CENTRE: frozenset(
            {_P.ITEMS_READ, _P.MATCH, _P.NOTICES_FILE, _P.EXPORTS_INGEST, _P.REPORTS_KCSC}
        ),
        Role.AUDITOR: frozenset({_P.ITEMS_READ, _P.BANKS_READ, _P.MODELS_READ, _P.AUDIT_READ}),
        # A platform forwards the orders and flags it receives.
        Role.PLATFORM: frozenset(
            {_P.CHECK, _P.ITEMS_WRITE, _P.ITEMS_READ, _P.MATCH, _P.NOTICES_FILE, _P.EXPORTS_INGEST}
        ),
    }
)


def parse_role(role: str) -> Role:
    """The :class:`Role` named ``role``; :class:`~jikimi.errors.AccountError` if there is none."""
    try:
        return Role(role)
    except ValueError:
        raise AccountError(
            f"unknown role {role!r}; roles are: {', '.join(r.value for r in Role)}"
        ) from None


def permissions(role: str) -> frozenset[Permission]:
    """What ``role`` may do; :class:`~jikimi.errors.AccountError` for an unknown role."""
    return ROLE_PERMISSIONS[parse_role(role)]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a signed-in user (``token_id`` None) or the holder of an API token."""

    user_id: int
    name: str
    role: Role
    token_id: int | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]
