"""The Telegram moderation bot: every post with media in the groups and channels where the bot
is an administrator is scanned and recorded; the verdict's effects (delete, ban, warn) go
through the outbox to the Telegram sink; ``/report`` as a reply files a user report.

One update at a time (docs/telegram-bot.md):

1. a post with a photo (its largest size), video, animation or document is skipped if its
   ``external_id`` is recorded already (a redelivery); else its file is fetched (``getFile``,
   then the download, into a private temp folder deleted afterwards) and the item goes
   through :meth:`Service.ingest` with the file's ``file_unique_id`` (the key that finds
   identical copies when one is removed). A file seen before is fetched again all the same:
   the verdict needs its signals, not only its hashes. A file over the download limit (20 MB
   on the cloud Bot API) is recorded as not retrieved, with its ``file_unique_id`` so
   identical copies are still found.
2. ``/report`` (``/report@<bot>``) replying to a message records that message (as above, or
   text-only) and files a ``user_report`` notice naming it; the reporter is the notifier and
   gets a short reply with the case. Without a reply, the member is told how to use it.
3. only then the next offset (``update_id + 1``) is saved (checkpoint
   ``telegram-bot:<bot id>``): a crash re-delivers at most the update in flight, which the
   ``external_id`` makes harmless, and never skips one.

Text-only posts are screened in memory (:meth:`Service.check`: the ``context`` signal reads
the text, the chat and the inline bot) and recorded only when the policy does not allow them,
for example a post advertising an "undress" bot; everything else said in the chat is kept
nowhere. Reported messages are always recorded.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from jikimi.cases.notices import check_notice
from jikimi.connectors.telegram_api import BotApi
from jikimi.connectors.telegram_update import (
    MediaRef,
    Post,
    author_of,
    is_report,
    locators_of,
    media_of,
    new_item,
    post_of,
    text_input,
)
from jikimi.errors import BotApiError
from jikimi.pipeline.item import Upload
from jikimi.store.checkpoints import Checkpoints
from jikimi.store.items_repo import MediaLink, RecordedItem

if TYPE_CHECKING:
    from jikimi.web.service import Service

__all__ = ["SUBMITTER", "BotIdentity", "TelegramBot", "checkpoint_name"]

log = logging.getLogger("jikimi.telegram_bot")

#: ``submitted_by`` of every item and notice the bot records (external ids are unique per
#: submitter, so two bots in one chat record a message once).
SUBMITTER = "telegram-bot"
REPORT_USAGE = (
    "To report a message to the moderators, reply to it with /report (you can add why, "
    "e.g. /report fake nude of a classmate)."
)
DEFAULT_REASON = "reported by a member of the chat with /report"
MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is (``getMe``)."""

    id: int
    username: str | None

    @classmethod
    def of(cls, me: dict[str, Any]) -> BotIdentity:
        username = me.get("username")
        return cls(int(me["id"]), username if isinstance(username, str) else None)


def checkpoint_name(bot: BotIdentity) -> str:
    return f"telegram-bot:{bot.id}"


class TelegramBot:
    def __init__(
        self,
        service: Service,
        api: BotApi,
        bot: BotIdentity,
        *,
        poll_seconds: int = 30,
        max_download_bytes: int = 20 * 1024**2,
        on_effects: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self.api = api
        self.bot = bot
        self.poll_seconds = poll_seconds
        self.max_download_bytes = max_download_bytes
        self.actor = f"telegram-bot:{bot.username or bot.id}"
        self.checkpoints = Checkpoints(service.ws.sessions)
        self.checkpoint = checkpoint_name(bot)
        self._on_effects = on_effects or (lambda: None)
        self._lock = threading.Lock()  # one update at a time (the webhook has many threads)
        self.waiting = False  # True while a getUpdates long poll waits

    # -- polling --------------------------------------------------------------------------

    def offset(self) -> int | None:
        """The next ``getUpdates`` offset saved by the last run, if any."""
        saved = self.checkpoints.load(self.checkpoint)
        value = saved.get("offset") if saved else None
        return value if isinstance(value, int) else None

    def poll_once(self, stop: threading.Event | None = None, *, timeout: int | None = None) -> int:
        """One ``getUpdates`` round: each update handled, then its offset saved; stops early
        (after the update in flight) when ``stop`` is set. How many updates were handled."""
        wait = self.poll_seconds if timeout is None else timeout
        self.waiting = True  # nothing in flight: a stop may cut the long poll short
        try:
            updates = self.api.get_updates(self.offset(), wait)
        finally:
            self.waiting = False
        handled = 0
        for update in updates:
            if stop is not None and stop.is_set():
                break
            self.handle(update)
            update_id = update.get("update_id")
            if isinstance(update_id, int):
                self.checkpoints.save(self.checkpoint, {"offset": update_id + 1})
            handled += 1
        return handled

    # -- one update -----------------------------------------------------------------------

    def handle(self, update: dict[str, Any]) -> RecordedItem | None:
        """Record one update (and file a report it makes); the item recorded, if any."""
        post = post_of(update)
        if post is None:
            return None
        with self._lock:
            if post.kind == "message" and is_report(post.message, self.bot.username):
                self._report(post)
                return None
            if media_of(post.message) is None and not self._flagged(post):
                return None
            return self._record(post)

    def _flagged(self, post: Post) -> bool:
        """Whether a text-only post is more than allowed: checked, nothing recorded."""
        text = text_input(post)
        if text is None:
            return False
        analysis = self.service.check([], text=text, signals=())
        return analysis.verdict is not None and analysis.verdict.outcome != "allow"

    def _record(self, post: Post) -> RecordedItem:
        item = new_item(post, submitted_by=SUBMITTER)
        assert item.external_id is not None
        existing = self.service.items.find_external(SUBMITTER, item.external_id)
        if existing is not None:
            return existing  # a redelivered update: nothing fetched, nothing recorded again
        media = media_of(post.message)
        with tempfile.TemporaryDirectory(prefix="jikimi-telegram-") as folder:
            uploads, missing = self._media(media, Path(folder))
            recorded, analysis = self.service.ingest(
                item,
                uploads,
                text=text_input(post),
                signals=(),
                actor=self.actor,
                file_ids=[media.file_unique_id] if uploads and media else [],
                missing_media=missing,
            )
        if analysis is not None and analysis.verdict and analysis.verdict.outcome != "allow":
            self._on_effects()
        return recorded

    def _media(self, media: MediaRef | None, folder: Path) -> tuple[list[Upload], list[MediaLink]]:
        """(the upload, or the media that could not be fetched)."""
        if media is None:
            return [], []
        if media.file_size is not None and media.file_size > self.max_download_bytes:
            return [], [self._not_retrieved(media, _too_big(media.file_size))]
        try:
            path = self._fetch(media, folder)
        except BotApiError as exc:
            if exc.fatal or exc.retryable:
                raise  # the update is tried again later (or the bot stops)
            return [], [self._not_retrieved(media, str(exc))]
        return [Upload(path, media.filename or path.name)], []

    def _fetch(self, media: MediaRef, folder: Path) -> Path:
        info = self.api.get_file(media.file_id)
        size = info.get("file_size") if isinstance(info, dict) else None
        if isinstance(size, int) and size > self.max_download_bytes:
            raise BotApiError(_too_big(size))
        file_path = info.get("file_path") if isinstance(info, dict) else None
        if not isinstance(file_path, str) or not file_path:
            raise BotApiError("telegram getFile: no file_path (the file cannot be downloaded)")
        # The name only: a file_path is Telegram's, never a path into our folder.
        path = folder / (PurePosixPath(file_path).name or media.file_unique_id)
        self.api.download(file_path, path, self.max_download_bytes)
        return path

    def _not_retrieved(self, media: MediaRef, why: str) -> MediaLink:
        return MediaLink(
            None, media.filename, error=f"not retrieved: {why}", file_id=media.file_unique_id
        )

    # -- /report --------------------------------------------------------------------------

    def _report(self, post: Post) -> None:
        message, chat = post.message, post.chat
        reported = message.get("reply_to_message")
        if not isinstance(reported, dict) or not isinstance(reported.get("message_id"), int):
            self._answer(post, REPORT_USAGE)
            return
        reported = {**reported, "chat": reported.get("chat") or chat}
        target = Post(post.update_id, "message", reported)
        item = self._record_reported(target)
        locators = locators_of(target.chat, reported["message_id"])
        body: dict[str, Any] = {
            "kind": "user_report",
            "reason": _reason(message.get("text") or ""),
            "reporter": f"telegram:{author_of(message) or 'unknown'}",
            "item_id": str(item.item_id),
        }
        if locators:
            body["locators"] = locators
        received = self.service.now()
        check = check_notice(body, received_at=received)
        receipt = self.service.file_notice(body, check, received, SUBMITTER)
        if receipt.case_id is not None:
            text = (
                f"Thank you. Your report is case {receipt.case_id} (receipt {receipt.receipt}); "
                "the moderators will look at the message."
            )
        else:
            text = f"Thank you. Your report was recorded (receipt {receipt.receipt})."
        self._answer(post, text)

    def _record_reported(self, post: Post) -> RecordedItem:
        """The reported message, recorded if it was not (text-only ones too)."""
        if media_of(post.message) is not None:
            return self._record(post)
        item = new_item(post, submitted_by=SUBMITTER)
        recorded, _ = self.service.ingest(
            item, [], text=text_input(post), signals=(), actor=self.actor
        )
        return recorded

    def _answer(self, post: Post, text: str) -> None:
        """A reply to a member; a chat where the bot may not write is logged, not retried."""
        try:
            self.api.send_message(post.chat["id"], text, reply_to=post.message["message_id"])
        except BotApiError as exc:
            if exc.fatal or exc.retryable:
                raise
            log.warning("could not answer in chat %s: %s", post.chat["id"], exc)


def _too_big(size: int) -> str:
    return f"{size} bytes, over the bot's download limit (the Bot API serves at most 20 MB)"


def _reason(text: str) -> str:
    """What the member wrote after ``/report``, else the default reason."""
    _, _, rest = text.partition(" ")
    rest = rest.strip()
    return rest[:MAX_REASON_CHARS] if rest else DEFAULT_REASON
