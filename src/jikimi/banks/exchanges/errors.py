"""The errors an exchange raises, under :class:`~jikimi.errors.JikimiError`::

    ExchangeError                 an exchange could not be set up or synced (names it)
    ├── ExchangeNotFound          no exchange by that name
    ├── ExchangeExists            the name is taken
    ├── ExchangeUnavailable       its client library is not installed (says what to install)
    ├── ExchangeCredentialsError  credentials missing, or refused by the exchange (401/403)
    ├── ExchangePageError         a page could not be fetched or read (names the page)
    └── ExchangeBusy              another sync of the same exchange moved its checkpoint

Messages never carry credentials: they name the environment variables to set instead.
"""

from __future__ import annotations

from jikimi.errors import JikimiError


class ExchangeError(JikimiError):
    """An exchange could not be set up or synced."""


class ExchangeNotFound(ExchangeError):
    """No exchange by that name."""


class ExchangeExists(ExchangeError):
    """An exchange by that name exists."""


class ExchangeUnavailable(ExchangeError):
    """The exchange's client library is not installed."""


class ExchangeCredentialsError(ExchangeError):
    """Credentials are missing, or the exchange refused them."""


class ExchangePageError(ExchangeError):
    """A page could not be fetched or read; earlier pages are kept."""

    def __init__(self, message: str, *, page: int) -> None:
        super().__init__(message)
        self.page = page


class ExchangeBusy(ExchangeError):
    """Another sync of the same exchange is running (it moved the checkpoint)."""
