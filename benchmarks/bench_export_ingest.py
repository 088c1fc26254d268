"""Telegram Desktop exports: the streaming reader on a large export, and the full ingest (every
message an item through the service) on a smaller one.

    python benchmarks/bench_export_ingest.py [--messages 1000000] [--ingest-messages 20000]
        [--media-every 1000] [--database-url URL] [--keep DIR]

1. Generate (streamed to disk, never held in memory) a one-chat export of ``--messages``
   messages shaped as Telegram Desktop writes them (``indent=1``): plain text mostly, every 7th a
   mixed text array with a link, every 11th a reply, every 13th a forward, every 17th via a bot,
   and every ``--media-every``-th a small benign photo (jikimi.demo.synthetic, 64x64 JPEG, each
   a different file).
2. Reader: :func:`jikimi.connectors.telegram_export.read_export` over it in a fresh process
   (so its peak RSS is the reader's own): messages/s, MB/s of JSON, peak RSS
   (``resource.getrusage``) against the RSS after imports.
3. Ingest: :func:`jikimi.connectors.export_ingest.ingest_export` over an export of
   ``--ingest-messages`` messages (same shape) into a fresh workspace (SQLite in the temp folder
   unless ``--database-url``), with the default cascade and policy: messages/s for the first
   run, for each half of it (does the rate fall as the tables grow?), and for a re-run (every
   message already recorded). The ingest is run on fewer messages than the reader because each
   message is a database transaction with two hash-chained custody events, and that cost per
   message is what the halves show to be flat; a million would take hours and say nothing more.
4. Report: a table and one JSON line ``{"bench": "export_ingest", ...}``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

HERE = Path(__file__).resolve().parent
T0 = 1_700_000_000


def _photo(seed: int) -> bytes:
    from jikimi.demo.synthetic import photo_like

    out = io.BytesIO()
    photo_like(64, 64, seed=seed).save(out, format="JPEG", quality=85)
    return out.getvalue()


def _message(i: int, media_every: int, folder: Path) -> dict[str, Any]:
    text: Any = f"message {i}: the tomatoes are ripe, see you at the garden on Saturday"
    if i % 7 == 0:
        text = ["see ", {"type": "link", "text": f"https://example.org/p/{i}"}, " for details"]
    msg: dict[str, Any] = {
        "id": i,
        "type": "message",
        "date": "2023-11-15T07:13:20",
        "date_unixtime": str(T0 + i),
        "from": f"Member {i % 500}",
        "from_id": f"user{1000 + i % 500}",
        "text": text,
        "text_entities": [{"type": "plain", "text": text if isinstance(text, str) else "see "}],
    }
    if i % 11 == 0:
        msg["reply_to_message_id"] = i - 1
    if i % 13 == 0:
        msg["forwarded_from"] = "Seed Exchange"
    if i % 17 == 0:
        msg["via_bot"] = "@gardenbot"
    if i % media_every == 0:
        name = f"photos/photo_{i}@15-11-2023_07-13-20.jpg"
        (folder / name).write_bytes(_photo(i))
        msg.update(photo=name, width=64, height=64)
    return msg


def generate(folder: Path, n: int, media_every: int) -> int:
    """Write the export; its result.json size in bytes."""
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    with (folder / "result.json").open("wb") as out:
        _write(out, folder, n, media_every)
    return (folder / "result.json").stat().st_size


def _write(out: BinaryIO, folder: Path, n: int, media_every: int) -> None:
    out.write(b'{\n "name": "Garden club",\n "type": "private_supergroup",\n "id": 4242,\n')
    out.write(b' "messages": [\n')
    for i in range(1, n + 1):
        obj = json.dumps(_message(i, media_every, folder), ensure_ascii=False, indent=1)
        out.write(b"  " + obj.replace("\n", "\n  ").encode("utf-8"))
        out.write(b",\n" if i < n else b"\n")
    out.write(b" ]\n}\n")


def read_only(folder: Path) -> dict[str, Any]:
    """Run in a fresh process: the reader alone."""
    from jikimi.connectors.telegram_export import ExportMessage, read_export

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = (folder / "result.json").stat().st_size
    started = time.perf_counter()
    messages = problems = media = 0
    for entry in read_export(folder):
        if isinstance(entry, ExportMessage):
            messages += 1
            media += len(entry.media)
        else:
            problems += 1
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "messages": messages,
        "problems": problems,
        "media": media,
        "json_mb": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "messages_per_s": round(messages / seconds),
        "mb_per_s": round(size / 1e6 / seconds, 1),
        "rss_after_imports_mib": round(base_rss / 1024, 1),
        "peak_rss_mib": round(peak / 1024, 1),
    }


def ingest(folder: Path, home: Path, database_url: str | None) -> dict[str, Any]:
    from jikimi.connectors.export_ingest import ExportSummary, ingest_export
    from jikimi.settings import load_settings
    from jikimi.web.service import Service, ServiceOptions
    from jikimi.workspace import Workspace

    extra = {"database_url": database_url} if database_url else {}
    settings = load_settings(home=home, operator="bench", **extra)
    with Workspace.init(settings) as ws:
        service = Service(ws, ServiceOptions(run_dispatcher=False))
        try:
            service.refresh_matcher(force=True)
            first = ExportSummary(str(folder))
            marks: list[float] = []
            started = time.perf_counter()
            for _ in ingest_export(service, folder, actor="bench", summary=first):
                marks.append(time.perf_counter() - started)
            again = ExportSummary(str(folder))
            rerun_started = time.perf_counter()
            for _ in ingest_export(service, folder, actor="bench", summary=again):
                pass
            rerun = time.perf_counter() - rerun_started
        finally:
            service.stop()
    half = len(marks) // 2
    return {
        "database": "postgresql" if database_url else "sqlite",
        "messages": first.messages,
        "recorded": first.recorded,
        "media": first.media,
        "problems": first.problems,
        "seconds": round(marks[-1], 1),
        "messages_per_s": round(len(marks) / marks[-1]),
        "first_half_per_s": round(half / marks[half - 1]),
        "second_half_per_s": round((len(marks) - half) / (marks[-1] - marks[half - 1])),
        "rerun_already_recorded": again.already_recorded,
        "rerun_per_s": round(again.messages / rerun),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--ingest-messages", type=int, default=20_000)
    parser.add_argument("--media-every", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it")
    parser.add_argument("--read", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read is not None:  # the child process of step 2
        print(json.dumps(read_only(args.read)))
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        big = work / "big"
        if not (big / "result.json").is_file():
            started = time.perf_counter()
            size = generate(big, args.messages, args.media_every)
            print(f"generated {args.messages} messages, {size / 1e6:.0f} MB "
                  f"in {time.perf_counter() - started:.0f}s", file=sys.stderr)  # fmt: skip
        child = subprocess.run(
            [sys.executable, __file__, "--read", str(big)],
            check=True,
            capture_output=True,
            text=True,
        )
        reader = json.loads(child.stdout)
        small = work / "small"
        shutil.rmtree(small, ignore_errors=True)
        generate(small, args.ingest_messages, args.media_every // 10 or 1)
        home = work / "home"
        shutil.rmtree(home, ignore_errors=True)
        full = ingest(small, home, args.database_url)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"reader   {reader['messages']:>9} messages  {reader['json_mb']:>7} MB  "
        f"{reader['messages_per_s']:>7}/s  {reader['mb_per_s']:>6} MB/s  peak RSS "
        f"{reader['peak_rss_mib']} MiB (imports {reader['rss_after_imports_mib']})"
    )
    print(f"ingest   {full['messages']:>9} messages  {full['media']} media  "
          f"{full['messages_per_s']}/s (halves {full['first_half_per_s']}/s, "
          f"{full['second_half_per_s']}/s) on {full['database']}; re-run "
          f"{full['rerun_per_s']}/s")  # fmt: skip
    print(json.dumps({"bench": "export_ingest", "cpus": os.cpu_count(), "reader": reader,
                      "ingest": full}))  # fmt: skip


if __name__ == "__main__":
    main()
