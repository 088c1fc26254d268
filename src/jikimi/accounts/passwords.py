"""Password rules and argon2id hashing.

Rules follow NIST SP 800-63B §5.1.1.2: a length floor rather than composition rules, a
generous ceiling (long passphrases welcome; the ceiling only stops absurd inputs that would make
hashing a denial of service), no password equal to the account name, none made of one repeated
character. There is no breached-password list: Jikimi runs offline. Passwords are NFKC
normalised before hashing (same standard), so the same passphrase typed on another keyboard or
input method still matches.

Hashes are argon2id (RFC 9106) with argon2-cffi's defaults, its RFC 9106 "low memory" profile
(t=3, m=64 MiB, p=4); hashes made under older parameters are upgraded at the next sign-in.
"""

from __future__ import annotations

import secrets
import unicodedata

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from jikimi.errors import AccountError

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "Passwords", "check_password", "normalise"]

MIN_LENGTH = 12
MAX_LENGTH = 1024


def normalise(password: str) -> str:
    """NFKC, as NIST SP 800-63B recommends for Unicode passwords."""
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, *, name: str) -> str:
    """The normalised password, or :class:`~jikimi.errors.AccountError` saying what to change.
    The message never repeats the password."""
    password = normalise(password)
    if len(password) < MIN_LENGTH:
        raise AccountError(f"password too short: use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise AccountError(f"password too long: use at most {MAX_LENGTH} characters")
    if len(set(password)) == 1:
        raise AccountError("password is one character repeated: choose a real passphrase")
    if password.casefold() == name.casefold():
        raise AccountError("password equals the user name: choose another")
    return password


class Passwords:
    """Hash and verify with one :class:`argon2.PasswordHasher` (argon2id only).

    :meth:`verify` given no stored hash still runs one full verification against a dummy hash
    made with the same parameters, so an unknown, disabled or locked account costs the caller
    the same time as a wrong password."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        if self._hasher.type is not Type.ID:
            raise AccountError("passwords must be hashed with argon2id")
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(normalise(password))

    def verify(self, stored: str | None, password: str) -> bool:
        password = normalise(password)
        if stored is None:
            if self._dummy is None:
                self._dummy = self._hasher.hash(secrets.token_urlsafe(32))
            self._check(self._dummy, password)
            return False
        return self._check(stored, password)

    def _check(self, stored: str, password: str) -> bool:
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
