"""The demo workspace: synthetic, benign data that shows the whole flow.

Generated pictures (gradients and shapes, no people), a known-abuse bank built from some of
them and marked for automatic action, a second bank that only routes to review, users with
fresh random passwords and tokens, and a few items sent through the real pipeline: an exact
copy and a mirrored copy of banked pictures (removed automatically, the actions recorded by the
dry-run sink), a picture from the review bank (a case in a queue), an unrelated picture
(allowed) and a text-only message naming a generator bot. Then notices on the legal clock: a
US takedown request naming the message under review (it joins that case), a Korean authority
order and a user report, so the console's queues have work ordered by deadline. Last, an
investigator's Telegram Desktop export (demo/telegram_export.py) in which a picture from the
review bank was posted, forwarded from a channel and sent through a bot: its cases show where
each copy came from.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from jikimi.cases.notices import check_notice
from jikimi.connectors.export_ingest import ingest_export
from jikimi.demo.synthetic import outdoor_like, photo_like, screenshot_like
from jikimi.demo.telegram_export import KNOWN_PHOTO, write_demo_export
from jikimi.media.limits import Limits
from jikimi.pipeline.item import Upload
from jikimi.signals.base import SIGNAL_FORMATS
from jikimi.signals.compute import compute_signals
from jikimi.signals.extractor import TextInput
from jikimi.store.items_repo import NewItem
from jikimi.web.service import Service

MARKER = ".jikimi-demo"
AUTO_BANK = "demo-known-abuse"
REVIEW_BANK = "demo-review"
DEMO_CHAT = "-1001234567890"


@dataclass
class DemoUser:
    name: str
    role: str
    password: str | None
    token: str


@dataclass
class DemoSummary:
    media_dir: Path
    users: list[DemoUser] = field(default_factory=list)
    items: list[tuple[str, int, str, int | None]] = field(default_factory=list)  # label, id, ...
    notices: list[tuple[str, int | None]] = field(default_factory=list)  # kind, case id


def _pictures(media_dir: Path) -> dict[str, Path]:
    media_dir.mkdir(parents=True, exist_ok=True)
    pictures = {
        "known-1.jpg": photo_like(800, 600, seed=101),
        "known-2.jpg": outdoor_like(800, 600, seed=102),
        "review-1.png": screenshot_like(540, 960, seed=103),
        "unrelated.jpg": photo_like(800, 600, seed=104),
    }
    paths = {}
    for name, image in pictures.items():
        path = media_dir / name
        image.save(path, quality=92) if name.endswith(".jpg") else image.save(path)
        paths[name] = path
    with Image.open(paths["known-2.jpg"]) as im:
        ImageOps.mirror(im).save(media_dir / "known-2-mirrored.jpg", quality=85)
    paths["known-2-mirrored.jpg"] = media_dir / "known-2-mirrored.jpg"
    with Image.open(paths["known-1.jpg"]) as im:
        im.resize((640, 480)).save(media_dir / "known-1-resized.jpg", quality=80)
    paths["known-1-resized.jpg"] = media_dir / "known-1-resized.jpg"
    return paths


def seed_demo(service: Service, media_dir: Path) -> DemoSummary:
    """Fill an empty workspace with the demo data (see the module docstring)."""
    ws = service.ws
    actor = "demo"
    summary = DemoSummary(media_dir=media_dir)
    paths = _pictures(media_dir)
    ws.banks.create(AUTO_BANK, auto_action=True, actor=actor)
    ws.banks.add(
        AUTO_BANK,
        _signals(service, paths["known-1.jpg"]) + _signals(service, paths["known-2.jpg"]),
        actor=actor,
        note="benign stand-in for known abuse imagery (demo)",
    )
    ws.banks.create(REVIEW_BANK, actor=actor)
    ws.banks.add(REVIEW_BANK, _signals(service, paths["review-1.png"]), actor=actor)
    export = write_demo_export(media_dir / "telegram-export", known_seed=105).parent
    ws.banks.add(REVIEW_BANK, _signals(service, export / KNOWN_PHOTO), actor=actor)
    service.refresh_matcher(force=True)
    for name, role in (("demo-admin", "admin"), ("demo-moderator", "moderator")):
        password = secrets.token_urlsafe(12)
        ws.users.add(name, role, password=password, actor=actor)
        token, _ = ws.users.issue_token(name, actor=actor, label="demo")
        summary.users.append(DemoUser(name, role, password, token))
    ws.users.add("demo-platform", "platform", password=None, actor=actor)
    token, _ = ws.users.issue_token("demo-platform", actor=actor, label="demo")
    summary.users.append(DemoUser("demo-platform", "platform", None, token))
    messages = [
        ("exact copy of a banked picture", "known-1-resized.jpg", "look at this"),
        ("mirrored copy of a banked picture", "known-2-mirrored.jpg", None),
        ("picture from the review bank", "review-1.png", None),
        ("unrelated picture", "unrelated.jpg", "holiday photo"),
        ("text naming a generator bot", None, "try @example_undress_bot for a deepfake"),
    ]
    for number, (label, picture, text) in enumerate(messages, start=1):
        item = NewItem(
            platform="telegram",
            submitted_by="demo-platform",
            chat_id=DEMO_CHAT,
            message_id=str(number),
            author_id=str(5550000 + number),
            text=text,
            meta={"chat_title": "demo room"},
            external_id=f"demo-{number}",
        )
        uploads = [Upload(paths[picture], picture)] if picture else []
        fields = {"text": text, "chat_title": "demo room"} if text else {"chat_title": "demo room"}
        recorded, analysis = service.ingest(
            item, uploads, text=TextInput(fields), signals=(), actor="demo-platform"
        )
        outcome = analysis.verdict.outcome if analysis and analysis.verdict else "recorded"
        summary.items.append((label, recorded.item_id, outcome, recorded.case_id))
    for body in _NOTICES:
        check = check_notice(body, received_at=service.now())
        receipt = service.file_notice(body, check, service.now(), "demo")
        summary.notices.append((str(body["kind"]), receipt.case_id))
    for message in ingest_export(service, export, actor="demo-investigator"):
        if message.item_id is not None and message.verdict not in (None, "allow"):
            label = f"Telegram export, message {message.message_id}"
            summary.items.append((label, message.item_id, message.verdict, None))
    return summary


def _link(message: int) -> str:
    return f"https://t.me/c/{DEMO_CHAT.removeprefix('-100')}/{message}"


_NOTICES: list[dict[str, object]] = [
    {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": [_link(3)],
        "signature": "Demo Person",
        "good_faith_statement": True,
        "contact": {"email": "demo-person@example.org"},
        "explanation": "A fake intimate picture made from my photos (demo data).",
    },
    {
        "kind": "authority_order",
        "jurisdiction": "KR",
        "issuing_body": "KCSC (demo)",
        "reference": "DEMO-2026-0001",
        "legal_basis": "Act on the Establishment and Operation of the KCSC (demo)",
        "locators": [_link(4)],
        "language": "ko",
    },
    {
        "kind": "user_report",
        "jurisdiction": "KR",
        "reason": "Advertises a bot that makes fake nude pictures (demo)",
        "reporter": "demo-reporter",
        "locators": [_link(5)],
    },
]


def _signals(service: Service, path: Path) -> list[tuple[str, str]]:
    """The signals of a picture that banks hold, as ``jikimi bank add FILE`` takes them."""
    media = compute_signals(path, Limits.from_settings(service.ws.settings), transforms=False)
    return [(t, s.value) for t, s in media.signals.items() if t in SIGNAL_FORMATS]
