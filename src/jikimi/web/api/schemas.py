"""Request bodies of the API (unknown fields refused, strings bounded) and records as JSON."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from jikimi.signals.extractor import TextInput

MAX_TEXT = 100_000
MAX_ID = 2**63 - 1  # ids are 64-bit in both stores
MAX_SIGNALS = 64
MAX_MEDIA = 32  # media files of one item (Telegram albums hold at most 10)
Short = Annotated[str, Field(min_length=1, max_length=200)]


def _small_meta(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > 64:
        raise ValueError("at most 64 keys")
    return value


# A row id in a path or query: refused (422) outside what the stores can hold.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="Page: rows with a larger id.")]


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined, for ``openapi_extra`` (where a
    ``#/$defs/...`` reference would point nowhere)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)


def jsonable(record: Any) -> dict[str, Any]:
    """A store's dataclass record as JSON: times in ISO 8601."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(record).items()}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextFields(Strict):
    """Text around the media: the context signal reads it (trade terms, generator bots)."""

    text: str | None = Field(default=None, max_length=MAX_TEXT, description="Message or caption.")
    chat_title: str | None = Field(default=None, max_length=1000)
    author_username: str | None = Field(default=None, max_length=200)

    def text_input(self) -> TextInput | None:
        fields = {
            k: v
            for k, v in (
                ("text", self.text),
                ("chat_title", self.chat_title),
                ("username", self.author_username),
            )
            if v
        }
        return TextInput(fields) if fields else None


class CheckIn(TextFields):
    """``POST /v1/check``: signals computed by the caller, and/or text; media go as files."""

    signals: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_SIGNALS,
        description='Signal type to value, e.g. {"pdq": "<64 hex>", "sha256": "<hex>"}.',
    )


class ItemIn(TextFields):
    """``POST /v1/items``: one item as the platform sees it."""

    platform: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    chat_id: Short | None = None
    message_id: Short | None = None
    url: str | None = Field(default=None, max_length=2048)
    author_id: Short | None = None
    posted_at: datetime | None = Field(default=None, description="With a time zone (ISO 8601).")
    external_id: Short | None = Field(
        default=None, description="Your id for the item: sending it again returns the first."
    )
    signals: dict[str, str] = Field(default_factory=dict, max_length=MAX_SIGNALS)
    file_ids: list[Short] = Field(
        default_factory=list,
        max_length=MAX_MEDIA,
        description="The platform's ids of the media files (Telegram: file_unique_id), in the "
        "order of the uploaded files; ids beyond them are media that could not be fetched.",
    )
    meta: Annotated[dict[str, Any], AfterValidator(_small_meta)] = Field(default_factory=dict)


class BankIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["known-abuse", "known-benign"] = "known-abuse"
    pdq_threshold: int | None = Field(default=None, ge=0, le=64)
    try_transforms: bool = True
    auto_action: bool = False
    minors: bool = False


class SignalIn(Strict):
    signal_type: str = Field(min_length=1, max_length=32)
    value: str = Field(min_length=1, max_length=10_000_000)


class EntriesIn(Strict):
    signals: list[SignalIn] = Field(min_length=1, max_length=10_000)
    note: str | None = Field(default=None, max_length=2000)
    labels: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=32)


class DropIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class LoginIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class DecisionIn(Strict):
    """``POST /v1/cases/{id}/decisions``: the ruling and its grounds (docs/statements.md)."""

    outcome: Literal["remove", "restrict", "keep", "escalate"]
    ground: Literal["illegal", "terms"]
    category: Literal["adult_ncii", "minors", "other"]
    reasons: str = Field(min_length=1, max_length=5000, description="Published: no personal data.")
    law: str | None = Field(default=None, max_length=500)
    terms: str | None = Field(default=None, max_length=500)
    territorial_scope: list[Annotated[str, Field(min_length=2, max_length=2)]] = Field(
        default_factory=list, max_length=40
    )
    content_language: str | None = Field(default=None, min_length=2, max_length=2)


class AssignmentIn(Strict):
    """``POST /v1/cases/{id}/assignment``: claim the case (``claim`` true), release it
    (false), or, for an admin, hand it to ``assignee``."""

    claim: bool = True
    assignee: str | None = Field(default=None, min_length=1, max_length=200)


class AppealIn(Strict):
    """``POST /v1/cases/{id}/appeals``: why the decision is wrong; a notifier without an
    account proves standing with the receipt of their notice."""

    reasons: str = Field(min_length=1, max_length=5000)
    receipt: str | None = Field(default=None, max_length=64)


class SuspensionIn(Strict):
    """Suspend (or, without ``reason``, lift the suspension of) a notifier."""

    notifier: str = Field(min_length=1, max_length=320, description="As in GET /v1/notifiers.")
    reason: str | None = Field(default=None, min_length=1, max_length=2000)
