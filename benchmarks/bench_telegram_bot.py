"""End-to-end latency of the Telegram bot: from an update appearing at the Bot API to the
``deleteMessage`` that removes it arriving there.

    .venv/bin/python benchmarks/bench_telegram_bot.py [--n 200] [--warmup 5]

A fake Bot API on loopback (tests/support/fake_telegram.py, the real wire format) holds the
updates; the bot long-polls it (``poll_forever``), fetches each photo (``getFile`` + download),
scans and records it in a fresh SQLite workspace, and the outbox dispatcher on its thread
(woken by the bot) calls ``deleteMessage`` back on the fake. Every photo is a distinct benign
640x480 JPEG (jikimi.demo.synthetic) whose SHA-256 is in a known-abuse bank marked
auto_action, so each one is removed. Updates are sent one at a time (each waits for its
removal), so the figures are latency without queueing. Two plans: the default cascade, and
"hashes only" (every extractor in ``disabled_signals``). A known-abuse match stops the cascade
after matching, so the plans differ only by the cheap extractors before it (c2pa,
generator_metadata, context).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tests.support.fake_telegram import (
    TOKEN,
    FakeTelegram,
    fake_telegram,
    message,
    photo,
)

from jikimi.connectors.telegram_api import BotApi
from jikimi.connectors.telegram_bot import BotIdentity, TelegramBot
from jikimi.connectors.telegram_runtime import Deliveries, poll_forever
from jikimi.demo.synthetic import photo_like
from jikimi.settings import load_settings
from jikimi.web.service import Service, ServiceOptions
from jikimi.workspace import Workspace

EXTRACTORS = [
    "c2pa",
    "generator_metadata",
    "context",
    "skin",
    "nudity",
    "faces",
    "watermark",
    "synthetic",
]


def pictures(n: int) -> list[bytes]:
    out = []
    for seed in range(n):
        buffer = io.BytesIO()
        photo_like(640, 480, seed=10_000 + seed).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def run(plan: str, images: list[bytes], warmup: int) -> list[float]:
    """Milliseconds from each update's arrival at the fake to its deleteMessage."""
    with tempfile.TemporaryDirectory() as home, fake_telegram() as fake:
        settings = load_settings(
            home=Path(home),
            operator="bench",
            actions_mode="live",
            telegram_bot_token=TOKEN,
            telegram_api_url=fake.url,
            disabled_signals=EXTRACTORS if plan == "hashes only" else [],
        )
        with Workspace.init(settings) as ws:
            service = Service(ws, ServiceOptions(run_dispatcher=False))
            ws.banks.create("auto", auto_action=True, actor="bench")
            digests = [("sha256", hashlib.sha256(image).hexdigest()) for image in images]
            ws.banks.add("auto", digests, actor="bench")
            service.refresh_matcher(force=True)
            api = BotApi(TOKEN, api_url=fake.url)
            me = BotIdentity.of(api.get_me())
            deliveries = Deliveries(service.dispatcher()).start()
            bot = TelegramBot(service, api, me, poll_seconds=30, on_effects=deliveries.wake)
            stop = threading.Event()
            poller = threading.Thread(target=poll_forever, args=(bot, stop), daemon=True)
            poller.start()
            try:
                return measure(fake, images, warmup)
            finally:
                stop.set()
                fake.push("message", message(1, text="wake the long poll"))
                poller.join(60)
                deliveries.stop()
                service.stop()
                api.close()


def measure(fake: FakeTelegram, images: list[bytes], warmup: int) -> list[float]:
    latencies = []
    for n, image in enumerate(images):
        message_id = 1000 + n
        file = fake.add_file(image)
        started = time.monotonic()
        fake.push("message", message(message_id, photo=photo((file, 640, 480))))
        while not (done := _deleted(fake, message_id)):
            time.sleep(0.0005)
        if n >= warmup:
            latencies.append((done - started) * 1000)
    return latencies


def _deleted(fake: FakeTelegram, message_id: int) -> float | None:
    for call in reversed(fake.calls):
        if call.method == "deleteMessage" and call.params.get("message_id") == message_id:
            return call.at
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    images = pictures(args.n + args.warmup)
    print(f"{args.n} updates (+{args.warmup} warm-up), one at a time; ms update -> deleteMessage")
    print("| plan | p50 | p95 | max | mean |")
    print("|---|---|---|---|---|")
    for plan in ("default", "hashes only"):
        ms = run(plan, images, args.warmup)
        q = statistics.quantiles(ms, n=100)
        print(f"| {plan} | {q[49]:.1f} | {q[94]:.1f} | {max(ms):.1f} | {statistics.mean(ms):.1f} |")


if __name__ == "__main__":
    main()
