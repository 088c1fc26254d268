"""The permission table: least privilege, and the rules the issue states outright."""

from __future__ import annotations

from pathlib import Path

import pytest

from jikimi.accounts import roles
from jikimi.accounts.roles import ROLE_PERMISSIONS, Permission, Principal, Role, permissions
from jikimi.errors import AccountError

WRITES = {
    Permission.CHECK,
    Permission.ITEMS_WRITE,
    Permission.BANKS_WRITE,
    Permission.OUTBOX_ADMIN,
    Permission.USERS_ADMIN,
    Permission.SETTINGS_ADMIN,
}


def test_every_role_has_a_row_and_every_permission_a_holder() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    held = set().union(*ROLE_PERMISSIONS.values())
    assert held == set(Permission)


def test_child_safety_is_the_only_role_that_sees_minors() -> None:
    holders = [r for r, perms in ROLE_PERMISSIONS.items() if Permission.MINORS_VIEW in perms]
    assert holders == [Role.CHILD_SAFETY]
    assert Permission.MINORS_VIEW not in permissions("admin")


def test_child_safety_is_a_moderator_who_also_sees_minors() -> None:
    assert permissions("child_safety") == permissions("moderator") | {
        Permission.MINORS_VIEW,
        Permission.REPORTS_NCMEC,
        Permission.EVIDENCE_EXPORT,
    }


def test_only_child_safety_reports_to_ncmec() -> None:
    """The cases reported are suspected-minor ones: only a role that may see them reports."""
    holders = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.REPORTS_NCMEC in perms}
    assert holders == {Role.CHILD_SAFETY}


def test_auditor_is_read_only_and_sees_no_media() -> None:
    auditor = permissions("auditor")
    assert not auditor & WRITES
    assert Permission.MEDIA_VIEW not in auditor
    assert Permission.AUDIT_READ in auditor


def test_platform_is_a_machine() -> None:
    assert permissions("platform") == {
        Permission.CHECK,
        Permission.ITEMS_WRITE,
        Permission.ITEMS_READ,
        Permission.MATCH,
        Permission.NOTICES_FILE,
        Permission.EXPORTS_INGEST,
    }
    assert Permission.MEDIA_VIEW not in permissions("platform")


def test_investigators_and_support_centres_bring_exports_in() -> None:
    holders = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.EXPORTS_INGEST in perms}
    assert holders == {Role.ADMIN, Role.INVESTIGATOR, Role.SUPPORT_CENTRE, Role.PLATFORM}


def test_evidence_packages_go_to_investigators_admins_and_child_safety() -> None:
    holders = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.EVIDENCE_EXPORT in perms}
    assert holders == {Role.ADMIN, Role.INVESTIGATOR, Role.CHILD_SAFETY}


def test_regulator_reports_stay_with_admins_and_support_centres() -> None:
    dsa = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.REPORTS_DSA in perms}
    kcsc = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.REPORTS_KCSC in perms}
    assert dsa == {Role.ADMIN}
    assert kcsc == {Role.ADMIN, Role.SUPPORT_CENTRE}


def test_orders_and_flags_come_from_registered_senders() -> None:
    senders = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.NOTICES_FILE in perms}
    assert senders == {Role.ADMIN, Role.INVESTIGATOR, Role.SUPPORT_CENTRE, Role.PLATFORM}


def test_only_admin_administers() -> None:
    admin_only = {Permission.USERS_ADMIN, Permission.SETTINGS_ADMIN, Permission.OUTBOX_ADMIN}
    for role, perms in ROLE_PERMISSIONS.items():
        assert (perms >= admin_only) == (role is Role.ADMIN)
        assert bool(perms & (admin_only | {Permission.BANKS_WRITE})) == (role is Role.ADMIN)


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        ROLE_PERMISSIONS[Role.AUDITOR] = frozenset(Permission)  # type: ignore[index]


def test_unknown_role() -> None:
    with pytest.raises(AccountError, match=r"unknown role 'root'.*child_safety"):
        permissions("root")


def test_principal_can() -> None:
    moderator = Principal(1, "mo", Role.MODERATOR)
    assert moderator.can(Permission.MEDIA_VIEW)
    assert not moderator.can(Permission.MINORS_VIEW)
    assert Principal(2, "cs", Role.CHILD_SAFETY, token_id=7).can(Permission.MINORS_VIEW)


def test_string_values_are_stable() -> None:
    """Other engineers and stored rows use these strings."""
    assert [r.value for r in Role] == [
        "admin",
        "moderator",
        "child_safety",
        "investigator",
        "support_centre",
        "auditor",
        "platform",
    ]
    assert Permission.MATCH == "match" and Permission.ITEMS_WRITE == "items:write"


def test_public_api() -> None:
    assert sorted(roles.__all__) == sorted(
        ["ROLE_PERMISSIONS", "Permission", "Principal", "Role", "parse_role", "permissions"]
    )
    for name in roles.__all__:
        assert hasattr(roles, name)


def test_docs_table_matches_the_code() -> None:
    """docs/accounts.md prints ROLE_PERMISSIONS; it must not drift."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "accounts.md").read_text()
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    header = next(ln for ln in lines if ln.startswith("| permission |"))
    columns = [c.strip() for c in header.strip("|").split("|")][2:]
    assert columns == [r.value for r in Role]
    documented: dict[str, set[str]] = {r.value: set() for r in Role}
    rows = [ln for ln in lines if ln.startswith("| `") and ln.count("|") == len(columns) + 3]
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        permission = cells[0].strip("`")
        for role, mark in zip(columns, cells[2:], strict=True):
            if mark == "✓":
                documented[role].add(permission)
    assert {p.strip("|").split("|")[0].strip().strip("`") for p in rows} == {
        p.value for p in Permission
    }
    assert documented == {r.value: {p.value for p in ROLE_PERMISSIONS[r]} for r in Role}
