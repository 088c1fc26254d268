"""The exceptions Jikimi raises, one tree rooted at :class:`JikimiError`.

Every message says what was wrong and what to do about it::

    JikimiError
    ├── WorkspaceError            workspace missing, unreadable or not initialised
    ├── SettingsError             a setting out of bounds or of the wrong type
    │   ├── LexiconError          a context lexicon file that does not validate (path:line)
    │   └── PolicyError           a policy file that does not validate (path:line)
    ├── MediaError                a file that cannot be hashed safely (carries ``reason``)
    │   ├── UnreadableMedia       cannot be read at all (missing, permissions, I/O error)
    │   ├── EmptyMedia            zero bytes
    │   ├── UnsupportedMedia      not an image or video we decode (text named .jpg, ...)
    │   ├── CorruptMedia          truncated or undecodable
    │   ├── MediaTooLarge         over the file-size limit
    │   ├── DecompressionBomb     over the pixel limit
    │   └── VideoTooLong          over the duration limit
    ├── SignalValueError          a malformed signal value (wrong width, not hex, ...)
    ├── UnknownSignalType         a signal type Jikimi does not know
    ├── ExtractorUnavailable      an extractor cannot run here (names what to install)
    ├── ModelVerificationError    model weights do not match their recorded SHA-256
    ├── BankError
    │   ├── BankNotFound
    │   ├── BankExists
    │   └── EntryNotFound
    ├── ImportFormatError         a bad line in an imported hash list (carries ``line``)
    ├── ExchangeError             an exchange could not be set up or synced (names it)
    │   ├── ExchangeNotFound      no exchange by that name
    │   ├── ExchangeExists        the name is taken
    │   ├── ExchangeUnavailable   its client library is not installed (says what to install)
    │   ├── ExchangeCredentialsError  credentials missing, or refused (401/403); never shown
    │   ├── ExchangePageError     a page could not be fetched or read (``page``; earlier kept)
    │   └── ExchangeBusy          another sync of the same exchange moved its checkpoint
    ├── ExportError               a Telegram export that cannot be opened (no result.json)
    ├── IndexesLoading            a lookup before the match indexes are loaded (503, retry)
    ├── CustodyError              the custody log does not verify
    ├── TimestampError            no time-stamp authority gave a token (``failures``)
    ├── EvidenceError             an evidence package cannot be built or read (not a zip, no font)
    ├── VaultError                a vault blob is missing, damaged, or under another key
    ├── PersonError               a protected-person operation failed
    │   ├── PersonNotFound        no such person, or the person was deleted (withdrawn)
    │   ├── EnrolmentRefused      reference photos refused (carries ``refusals``)
    │   └── TemplateStoreCorrupt  an encrypted face template fails authentication
    ├── AccountError              a user or token operation refused (bad role, weak password)
    │   ├── UserExists
    │   ├── UserNotFound
    │   └── AuthenticationFailed  wrong name, password or token; disabled; throttled
    ├── NoticeError               a notice that cannot be taken in (unknown kind, bad locator)
    ├── CaseError                 a case operation not possible in the case's state
    │   └── CaseNotFound
    ├── OutboxError               an outbox row that does not exist or is in the wrong state
    ├── StatementError            a decision that cannot become a DSA statement (``problems``)
    ├── SinkError                 a sink could not deliver (``retryable``, ``retry_after``)
    ├── ReportError               a report to an outside body could not be built or sent
    │   ├── ReportInvalid         refused by local checks, nothing sent (``problems``)
    │   ├── ReportRejected        the body refused it (``status``, ``problems``)
    │   ├── ReportAuthError       credentials missing or refused (401/403); never shown
    │   │   └── ReportNotConfigured   no credentials set here: nothing was sent (409)
    │   ├── ReportUnavailable     unreachable, 429 or 5xx: try again (``retry_after``)
    │   └── ReportInDoubt         a report may already be at the body: not sent again (409)
    └── BotApiError               the Telegram bot's own Bot API call failed (``fatal``)
"""

from __future__ import annotations

from collections.abc import Sequence


class JikimiError(Exception):
    """Base of every error Jikimi raises on purpose."""


class WorkspaceError(JikimiError):
    """The workspace is missing, unreadable or not initialised."""


class SettingsError(JikimiError):
    """A setting is out of bounds or of the wrong type."""


class LexiconError(SettingsError):
    """A lexicon file that does not validate; ``path`` and ``line`` (1-based) say where."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


class PolicyError(SettingsError):
    """A policy file that does not validate; ``path`` and ``line`` (1-based) say where."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.detail = message


class DeadlineProfileError(PolicyError):
    """A deadline profiles file that does not validate (same shape as a policy error)."""


class MediaError(JikimiError):
    """A file cannot be hashed safely. ``reason`` is a short stable code for records."""

    reason = "media_error"


class UnreadableMedia(MediaError):
    reason = "unreadable"


class EmptyMedia(MediaError):
    reason = "empty"


class UnsupportedMedia(MediaError):
    reason = "unsupported"


class CorruptMedia(MediaError):
    reason = "corrupt"


class MediaTooLarge(MediaError):
    reason = "too_large"


class DecompressionBomb(MediaError):
    reason = "decompression_bomb"


class VideoTooLong(MediaError):
    reason = "video_too_long"


class SignalValueError(JikimiError, ValueError):
    """A signal value is malformed."""


class UnknownSignalType(JikimiError, ValueError):
    """A signal type that Jikimi does not know."""


class ExtractorUnavailable(JikimiError):
    """An extractor cannot run here; the message names the package to install. The registry
    disables that extractor and the others still run."""


class ModelVerificationError(ExtractorUnavailable):
    """Model weights on disk do not match the SHA-256 recorded for them."""


class BankError(JikimiError):
    """A bank operation failed."""


class BankNotFound(BankError):
    pass


class BankExists(BankError):
    pass


class EntryNotFound(BankError):
    pass


class ImportFormatError(JikimiError):
    """A bad line in an imported hash list; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class IndexesLoading(JikimiError, RuntimeError):
    """A lookup before the match indexes finished loading (a server just started): retry."""


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


class ExportError(JikimiError):
    """A Telegram Desktop export that cannot be read at all (no ``result.json`` where pointed,
    an HTML-only export); the message says what to point at. Problems inside a readable export
    are yielded as data by :func:`jikimi.connectors.telegram_export.read_export`."""


class CustodyError(JikimiError):
    """The custody log does not verify."""


class TimestampError(JikimiError):
    """No time-stamp authority gave a good RFC 3161 token. ``failures`` lists each TSA with
    what went wrong (down, an HTTP error, garbage, a refusal, a wrong nonce or imprint)."""

    def __init__(self, message: str, *, failures: Sequence[tuple[str, str]]) -> None:
        super().__init__(message)
        self.failures = list(failures)  # (tsa, problem) pairs


class EvidenceError(JikimiError):
    """An evidence package cannot be built (the Korean font for the PDF is missing) or read
    (not a zip, truncated, unsafe member names); the message says which and what to do."""


class VaultError(JikimiError):
    """A vault blob is missing, damaged, or was not written with this master key."""


class PersonError(JikimiError):
    """A protected-person operation failed."""


class PersonNotFound(PersonError):
    """No person with this id, or the person was deleted (consent withdrawn)."""


class EnrolmentRefused(PersonError):
    """Reference photos were refused; ``refusals`` lists ``(photo, reason)`` for each, and
    nothing was stored."""

    def __init__(self, refusals: list[tuple[str, str]]) -> None:
        lines = "; ".join(f"{photo}: {reason}" for photo, reason in refusals)
        super().__init__(f"enrolment refused, nothing stored: {lines}")
        self.refusals = refusals


class TemplateStoreCorrupt(PersonError):
    """An encrypted face template does not authenticate: edited, moved to another row, or
    written under another master key. Never treated as "no match"."""


class AccountError(JikimiError):
    """A user or token operation was refused: unknown role, weak password, ..."""


class UserExists(AccountError):
    pass


class UserNotFound(AccountError):
    pass


class AuthenticationFailed(AccountError):
    """Wrong name, password or token, a disabled user, or too many recent failures. The
    message never says which, so it cannot be used to probe accounts."""


class NoticeError(JikimiError, ValueError):
    """A notice that cannot be taken in at all (not an object, an unknown ``kind``), or one
    locator that points nowhere; the message gives the reason. Missing elements of a known
    kind are never raised: :func:`jikimi.cases.notices.check_notice` reports them."""


class CaseError(JikimiError):
    """A case operation not possible in the case's state (deciding a closed case, ...)."""


class CaseNotFound(CaseError):
    pass


class OutboxError(JikimiError):
    """An outbox row that does not exist, or is not in a state that allows the operation."""


class StatementError(JikimiError):
    """A decision that cannot become a DSA statement of reasons. ``problems`` lists every
    problem found, each saying what to fix; nothing was produced."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("statement of reasons refused: " + "; ".join(problems))
        self.problems = list(problems)


class SinkError(JikimiError):
    """A sink could not deliver an effect. ``retryable``: try again later (after
    ``retry_after`` seconds if the platform said so); otherwise the effect is dead."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class ReportError(JikimiError):
    """A report to an outside body (a regulator, NCMEC, KCSC) could not be built or sent."""


class FontNotFound(EvidenceError, ReportError):
    """No TrueType font with Hangul for a PDF (the evidence report, the KCSC package); the
    message says what to install or set."""


class ReportInvalid(ReportError):
    """Local checks refused the report before anything was sent; ``problems`` lists each."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(f"{message}: " + "; ".join(problems))
        self.problems = list(problems)


class ReportRejected(ReportError):
    """The outside body refused the report (HTTP ``status``); ``problems`` are its reasons."""

    def __init__(self, message: str, *, status: int, problems: list[str]) -> None:
        super().__init__(f"{message}: " + "; ".join(problems) if problems else message)
        self.status = status
        self.problems = list(problems)


class ReportAuthError(ReportError):
    """Credentials are missing, or the outside body refused them. The message never shows
    the credential."""


class ReportNotConfigured(ReportAuthError):
    """The operator has not set this body's credentials: nothing was sent."""


class ReportUnavailable(ReportError):
    """The outside body was unreachable or overloaded (429, 5xx): nothing was recorded as
    sent, so sending again later is safe; ``retry_after`` is its own advice in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ReportInDoubt(ReportError):
    """A report of the case is being sent, or was sent without an answer and may already be
    held by the outside body: nothing is sent again until the operator checks and asks for a
    new report explicitly."""


class BotApiError(JikimiError):
    """A Bot API call of ``jikimi telegram-bot`` failed. ``fatal``: the bot cannot go on
    (wrong token, a webhook or another poller in the way: the message says what to do);
    ``retryable``: Telegram was unreachable or failing even after the call's own retries, so
    the update is tried again later; neither: Telegram refused this call (a file too big to
    fetch, say). ``code`` is the Bot API error code or HTTP status, when there was one."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        fatal: bool = False,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.fatal = fatal
        self.retryable = retryable
