"""POST /v1/check under load: 1080p JPEGs, hashes and match only, against a bank of N random
PDQ hashes, at a constant arrival rate on loopback.

    python benchmarks/bench_check.py [--bank-size 1000000] [--rate 100] [--seconds 30]
        [--warmup 5] [--workers 1] [--keep DIR] [--picture outdoor|photo]
        [--profile FILE] [--server SCRIPT]

1. Workspace (a temporary folder, or ``--keep DIR``, reused when it already holds the same
   bank): ``Workspace.init``, a known-abuse bank of N seeded random PDQ hashes plus the exact
   PDQ of one "known" image, imported with ``BankStore.import_lines`` (timed), a platform user
   and an API token.
2. Policy: a YAML file with only the two hash-match rules of the shipped default (known abuse
   removed or reviewed), pointed at by the ``policy_file`` setting.
3. Server: ``benchmarks/check_server.py`` in a subprocess, uvicorn on 127.0.0.1 with
   ``ServiceOptions(check_plan=HASHES_ONLY)`` (hashes, then match; the ``check_fast_hash``
   setting applies, default on) and ``--workers`` processes; the index build is timed in each.
4. Load: :mod:`loadgen`, open loop: a request every 1/rate s whatever the answers, latency
   from the scheduled start to the answer's last byte. Each request is a multipart POST of one
   1920x1080 quality-90 JPEG (jikimi.demo.synthetic.outdoor_like, or photo_like with
   ``--picture photo``), made a different file each time by a numbered JPEG comment; every
   100th request (1%) sends the known image, which must come back as a match (review).
   Requests scheduled in the first ``--warmup`` seconds are not counted.
5. Report: a table and one JSON line (``{"bench": "check", ...}``): achieved throughput,
   latency percentiles, errors by status, server, client and other processes' CPU, server
   RSS, and whether the goal (p99 < 50 ms at 100 requests/s) was met. The exit status is
   non-zero only on errors (failed requests, wrong verdicts), never for missing the goal.

``--profile FILE`` records the server with py-spy during the load (``pip install py-spy``);
``--server SCRIPT`` runs a patched copy of check_server.py instead, to measure a change.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from loadgen import Run, errors_by_kind, http_head, multipart_parts, open_loop

HERE = Path(__file__).resolve().parent
GOAL_P99_MS = 50.0
GOAL_RATE = 100.0
KNOWN_EVERY = 100  # one request in this many sends the known image
MIN_DISTANCE = 64  # bits between a non-matching image's PDQ and the known image's
BANK = "bench-known"
USER = "bench-platform"
ACTOR = "bench_check"
STATE_FILE = "bench_check.json"

HASH_ONLY_POLICY = """\
# Hash matches only (benchmarks/bench_check.py): the two hash rules of the shipped default.
version: "bench-1"
name: hash-only
description: Known abuse by hash match; nothing else is looked at.
rules:
  - id: known-abuse-auto-remove
    when:
      match: {bank_kind: known-abuse, auto_action: true}
    then: {outcome: remove, actions: [delete_message, notify]}
  - id: known-abuse-review
    when:
      match: {bank_kind: known-abuse, auto_action: false}
    then: {outcome: review, queue: known_abuse, priority: 95}
default: {outcome: allow}
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- workspace ------------------------------------------------------------------------------


def jpeg_bytes(seed: int, picture: str = "outdoor") -> bytes:
    """A benign synthetic 1920x1080 JPEG at quality 90."""
    from jikimi.demo import synthetic

    make = {"outdoor": synthetic.outdoor_like, "photo": synthetic.photo_like}[picture]
    buf = io.BytesIO()
    make(1920, 1080, seed=seed).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def pdq_hashes(data: bytes, workdir: Path, *, fast: bool) -> list[str]:
    """The PDQ of a JPEG and of its eight dihedral transforms (exact, or as the check
    computes them with ``fast``)."""
    from jikimi.media.limits import Limits
    from jikimi.signals.compute import compute_signals

    path = workdir / "probe.jpg"
    path.write_bytes(data)
    media = compute_signals(path, Limits(), transforms=True, fast=fast)
    path.unlink()
    value = media.signals["pdq"].value
    assert isinstance(value, str)
    return [value, *(str(h) for h in dict(media.pdq_transforms).values())]


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def benign_images(
    n: int, seed: int, known_pdq: str, workdir: Path, picture: str
) -> tuple[list[bytes], int]:
    """``n`` outdoor-like JPEGs none of whose PDQ transforms is within MIN_DISTANCE bits of
    the known image's (synthetic outdoor scenes resemble each other: some seeds land within
    the bank's 31 bits), and how many seeds were skipped for that."""
    out: list[bytes] = []
    skipped = 0
    i = 0
    while len(out) < n:
        data = jpeg_bytes(seed + i, picture)
        i += 1
        if min(hamming(known_pdq, h) for h in pdq_hashes(data, workdir, fast=True)) < MIN_DISTANCE:
            skipped += 1
            continue
        out.append(data)
    return out, skipped


def bench_images(
    n: int, seed: int, picture: str, workdir: Path
) -> tuple[list[bytes], bytes, str, int]:
    """The non-matching JPEGs, the known JPEG, the known JPEG's exact PDQ, and how many seeds
    were skipped for being too close to it."""
    known_image = jpeg_bytes(seed + 1000)
    known_pdq = pdq_hashes(known_image, workdir, fast=False)[0]
    images, skipped = benign_images(n, seed, known_pdq, workdir, picture)
    return images, known_image, known_pdq, skipped


def random_pdq_lines(n: int, seed: int) -> list[str]:
    codes = np.random.default_rng(seed).integers(0, 256, size=(n, 32), dtype=np.uint8)
    return [f"pdq {row.hex()}" for row in (bytes(r) for r in codes)]


def build_workspace(home: Path, args: argparse.Namespace, known_pdq: str) -> dict[str, object]:
    """Create the workspace, bank, user and token; the state is saved for --keep."""
    from jikimi.settings import load_settings
    from jikimi.workspace import Workspace

    state_file = home / STATE_FILE
    if state_file.is_file():
        state = json.loads(state_file.read_text())
        if state.get("bank_size") == args.bank_size and state.get("seed") == args.seed:
            log(f"reusing the workspace at {home} (bank of {args.bank_size:,})")
            return state
        raise SystemExit(
            f"{home} holds a workspace for another bank (size {state.get('bank_size')}, seed "
            f"{state.get('seed')}); pass an empty folder or the same --bank-size and --seed"
        )
    if home.exists() and any(home.iterdir()):
        raise SystemExit(f"{home} is not empty and has no {STATE_FILE}; pass an empty folder")
    ws = Workspace.init(load_settings(home=home, database_url=None))
    try:
        ws.banks.create(BANK, kind="known-abuse", actor=ACTOR)
        t0 = time.perf_counter()
        lines = random_pdq_lines(args.bank_size, args.seed)
        lines.insert(len(lines) // 2, f"pdq {known_pdq}")
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = ws.banks.import_lines(BANK, lines, fmt="txt", actor=ACTOR, source="bench")
        t_import = time.perf_counter() - t0
        del lines
        log(
            f"bank: {len(report.added):,} added, {report.duplicates} duplicates, "
            f"{len(report.rejected)} rejected; generated in {t_gen:.1f} s, imported in "
            f"{t_import:.1f} s"
        )
        if report.rejected:
            raise SystemExit(f"import rejected lines: {report.rejected[:3]}")
        ws.users.add(USER, "platform", password=None, actor=ACTOR)
        token, _ = ws.users.issue_token(USER, actor=ACTOR, label="bench")
    finally:
        ws.close()
    state = {
        "bank_size": args.bank_size,
        "seed": args.seed,
        "entries": len(report.added),
        "import_seconds": round(t_import, 1),
        "token": token,
        "known_pdq": known_pdq,
    }
    state_file.write_text(json.dumps(state))
    state_file.chmod(0o600)
    return state


# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    server: Path,
    home: Path,
    policy: Path,
    port: int,
    workers: int,
    logfile: Path,
    timeout: float,
) -> tuple[subprocess.Popen[bytes], list[float], float]:
    """Start the server script; wait until every worker has built its indexes and /readyz is
    200. Returns the process, each worker's index build seconds, and seconds to ready."""
    cmd = [sys.executable, str(server), "--home", str(home)]
    cmd += ["--port", str(port), "--workers", str(workers), "--policy", str(policy)]
    t0 = time.perf_counter()
    with logfile.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        loaded, text = wait_ready(proc, port, workers, logfile, t0 + timeout)
    except BaseException:  # also Ctrl-C: never leave the server running
        stop_server(proc)
        raise
    if loaded is None:
        stop_server(proc)
        raise SystemExit(f"the server was not ready in {timeout:.0f} s:\n{text}")
    return proc, loaded, time.perf_counter() - t0


def wait_ready(
    proc: subprocess.Popen[bytes], port: int, workers: int, logfile: Path, deadline: float
) -> tuple[list[float] | None, str]:
    """Each worker's index build seconds once all have built and /readyz is 200 (None when
    ``deadline`` passes), and the server's log."""
    while True:
        text = logfile.read_text(errors="replace")
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}):\n{text}")
        loaded = [float(x) for x in re.findall(r"index-loaded pid=\d+ seconds=([\d.]+)", text)]
        if len(loaded) >= workers and readyz(port):
            return loaded, text
        if time.perf_counter() > deadline:
            return None, text
        time.sleep(0.5)


def start_profiler(args: argparse.Namespace, pid: int) -> subprocess.Popen[bytes]:
    """py-spy over the server (and its workers) for the warm-up and the window."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    cmd = [spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw"]
    cmd += ["--duration", str(round(args.warmup + args.seconds)), "-o", str(args.profile)]
    cmd += args.py_spy_args.split()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attach before the load starts
    return proc


def readyz(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, ()))
    return out


def cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])  # without guest time, which is counted in user already
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# -- the load -------------------------------------------------------------------------------


@dataclass
class Window:
    """The measured window, as the server and the machine saw it."""

    seconds: float
    server_cpu: float  # CPU seconds of the server's processes
    machine_busy: float  # busy cores of the whole machine (everyone's work)
    rss: dict[int, float] = field(default_factory=dict)  # server MiB by pid, after the run
    index_builds: list[float] = field(default_factory=list)
    ready_seconds: float = 0.0
    load_before: str = ""
    load_after: str = ""


class Upload:
    """A pre-built ``POST /v1/check`` of one JPEG. Every request sends a different file: a
    JPEG comment segment (COM) right after the start-of-image marker carries the request's
    number, so the bytes and SHA-256 differ while the pixels (and so decoding, PDQ and the
    verdict) stay the same; nothing keyed on the file's digest can shortcut the work."""

    COMMENT = 24  # bytes of comment payload

    def __init__(self, port: int, token: str, jpeg: bytes, filename: str) -> None:
        assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
        content_type, before, after = multipart_parts("media", filename, "image/jpeg")
        self.before = before + jpeg[:2]
        self.rest = jpeg[2:] + after
        length = len(self.before) + 4 + self.COMMENT + len(self.rest)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
        self.head = http_head("127.0.0.1", port, "/v1/check", headers, length)

    def pieces(self, i: int) -> list[bytes]:
        payload = f"jikimi-bench {i:011d}".encode().ljust(self.COMMENT)
        segment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
        return [self.head, self.before, segment, self.rest]


async def measure(
    port: int, requests: list[Upload], known: Upload, args: argparse.Namespace, pids: list[int]
) -> tuple[Run, Window]:
    """The open-loop run, and what the server and the machine used during its window."""
    loop = asyncio.get_running_loop()
    window: dict[str, float] = {}

    def request_for(i: int) -> list[bytes]:
        if i % KNOWN_EVERY == KNOWN_EVERY // 2:
            return known.pieces(i)
        return requests[i % len(requests)].pieces(i)

    def on_window(event: str) -> None:
        # Server CPU over the measured window, on the load generator's clock.
        window[f"cpu_{event}"], window[f"t_{event}"] = cpu_seconds(pids), loop.time()
        window[f"busy_{event}"] = machine_cpu()[0]

    run = await open_loop(
        "127.0.0.1",
        port,
        request_for,
        rate=args.rate,
        warmup=args.warmup,
        seconds=args.seconds,
        timeout=args.timeout,
        on_window=on_window,
    )
    wall = window["t_end"] - window["t_start"]
    return run, Window(
        seconds=wall,
        server_cpu=window["cpu_end"] - window["cpu_start"],
        machine_busy=(window["busy_end"] - window["busy_start"]) / wall,
    )


def finite(x: float) -> float | None:
    """``x`` rounded for the JSON line, ``None`` for NaN (no successful answer)."""
    return None if x != x else round(x, 2)


def percentile_ms(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if len(values) else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bank-size", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=100.0, help="requests per second")
    ap.add_argument("--seconds", type=float, default=30.0, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds at rate, not counted")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--keep", type=Path, default=None, help="workspace folder to build/reuse")
    ap.add_argument("--images", type=int, default=4, help="distinct non-matching JPEGs sent")
    ap.add_argument(
        "--picture",
        choices=["outdoor", "photo"],
        default="outdoor",
        help="generator of the non-matching JPEGs (the known one is always outdoor-like)",
    )
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, s")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--ready-timeout", type=float, default=900.0)
    ap.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record the server with py-spy during the load (collapsed stacks to this file)",
    )
    ap.add_argument("--py-spy-args", default="--rate 250", help="extra py-spy record options")
    ap.add_argument(
        "--server",
        type=Path,
        default=HERE / "check_server.py",
        help="server script (a patched copy of check_server.py, to try a change)",
    )
    args = ap.parse_args()

    log(f"load average at start: {load_average()}")
    tmp = None
    if args.keep is None:
        tmp = tempfile.mkdtemp(prefix="jikimi-bench-check-")
        home = Path(tmp) / "home"
    else:
        home = args.keep.resolve()
    home.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="jikimi-bench-files-"))
    proc = None
    try:
        t0 = time.perf_counter()
        images, known_image, known_pdq, skipped = bench_images(
            args.images, args.seed, args.picture, work
        )
        mean_kib = np.mean([len(b) for b in images]) / 1024
        args.mean_kib = float(mean_kib)
        log(
            f"{len(images)} + 1 JPEGs 1920x1080 q90 ({args.picture}-like, {mean_kib:.0f} KiB "
            f"mean) in {time.perf_counter() - t0:.1f} s ({skipped} seeds skipped: within "
            f"{MIN_DISTANCE} bits of the known image)"
        )
        state = build_workspace(home, args, known_pdq)
        if state["known_pdq"] != known_pdq:
            raise SystemExit("the kept workspace's known image differs; use a fresh --keep")
        policy = work / "hash-only.yaml"
        policy.write_text(HASH_ONLY_POLICY)

        port = free_port()
        proc, loaded, t_ready = start_server(
            args.server, home, policy, port, args.workers, work / "server.log", args.ready_timeout
        )
        pids = process_tree(proc.pid)
        log(
            f"server ready in {t_ready:.1f} s (index builds {', '.join(f'{s:.1f}' for s in loaded)}"
            f" s), RSS {sum(rss_mib(p) for p in pids):,.0f} MiB over {len(pids)} processes"
        )

        token = str(state["token"])

        requests = [Upload(port, token, b, f"upload{i}.jpg") for i, b in enumerate(images)]
        known = Upload(port, token, known_image, "known.jpg")

        spy = start_profiler(args, proc.pid) if args.profile else None
        load_before = load_average()
        log(f"load average before the run: {load_before}")
        run, window = asyncio.run(measure(port, requests, known, args, pids))
        if spy is not None:
            spy.wait()
            log(f"py-spy: {args.profile}")
        window.load_before, window.load_after = load_before, load_average()
        window.rss = {p: rss_mib(p) for p in process_tree(proc.pid)}
        window.index_builds, window.ready_seconds = loaded, t_ready
        log(f"load average after the run: {window.load_after}")
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(work, ignore_errors=True)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    return report(run, window, args, state)


def report(run: Run, w: Window, args: argparse.Namespace, state: dict[str, object]) -> int:
    measured = [s for s in run.samples if s.scheduled >= run.measure_from]
    ok = [s for s in measured if s.status == 200]
    lat = np.array([s.latency for s in ok])
    errors = errors_by_kind(measured)
    known = [s for s in ok if s.index % KNOWN_EVERY == KNOWN_EVERY // 2]
    others = [s for s in ok if s.index % KNOWN_EVERY != KNOWN_EVERY // 2]
    missed_known = sum(1 for s in known if s.matches == 0 or s.outcome == "allow")
    false_matches = sum(1 for s in others if s.matches or s.outcome != "allow")
    last_done = max((s.finished for s in measured), default=run.measure_to)
    span = max(run.measure_to, last_done) - run.measure_from
    throughput = len(ok) / span if span > 0 else 0.0
    p = {q: percentile_ms(lat, q) for q in (50, 90, 99, 99.9)}
    p_max = float(lat.max()) * 1000 if len(lat) else float("nan")
    goal_met = bool(args.rate >= GOAL_RATE and not errors and p[99] < GOAL_P99_MS)
    server_cores = w.server_cpu / w.seconds
    client_cores = run.client_cpu / w.seconds
    others = max(0.0, w.machine_busy - server_cores - client_cores)
    # Answers completed inside the window (warm-up requests included): what the CPU paid for.
    done = sum(1 for s in run.samples if run.measure_from <= s.finished < run.measure_to)
    ms_per_request = w.server_cpu / max(done, 1) * 1000
    rows = [
        ("bank", f"{state['entries']:,} PDQ entries (import {state['import_seconds']} s)"),
        ("index build per worker", ", ".join(f"{s:.1f} s" for s in w.index_builds)),
        ("server start -> ready", f"{w.ready_seconds:.1f} s"),
        ("workers", str(args.workers)),
        (
            "server RSS after the run",
            f"{sum(w.rss.values()):,.0f} MiB ({len(w.rss)} processes: "
            + ", ".join(f"{v:,.0f}" for v in w.rss.values())
            + ")",
        ),
        ("JPEGs sent", f"{args.picture}-like 1920x1080 q90, {args.mean_kib:.0f} KiB mean"),
        ("offered rate", f"{args.rate:g}/s for {args.seconds:g} s (+{args.warmup:g} s warm-up)"),
        ("requests measured", f"{len(measured):,} ({len(known)} known-image)"),
        ("achieved throughput", f"{throughput:,.1f}/s"),
        ("latency p50", f"{p[50]:,.1f} ms"),
        ("latency p90", f"{p[90]:,.1f} ms"),
        ("latency p99", f"{p[99]:,.1f} ms"),
        ("latency p99.9", f"{p[99.9]:,.1f} ms"),
        ("latency max", f"{p_max:,.1f} ms"),
        ("errors", ", ".join(f"{k}: {v}" for k, v in errors.items()) or "none"),
        ("known image matched", f"{len(known) - missed_known} of {len(known)}"),
        ("false matches", str(false_matches)),
        (
            "server CPU",
            f"{server_cores:.2f} cores ({ms_per_request:.1f} ms per answer in the window)",
        ),
        ("client CPU", f"{client_cores:.2f} cores"),
        ("other processes' CPU (machine busy - server - client)", f"{others:.2f} cores"),
        ("client: late starts > 5 ms", f"{run.late_starts}"),
        ("connections opened / max in flight", f"{run.connections_opened} / {run.max_in_flight}"),
        ("load average before / after", f"{w.load_before} / {w.load_after}"),
        (f"goal p99 < {GOAL_P99_MS:g} ms at {GOAL_RATE:g}/s", "met" if goal_met else "NOT met"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure':<{width}} | result |")
    print(f"|{'-' * (width + 2)}|---|")
    for k, v in rows:
        print(f"| {k:<{width}} | {v} |")
    summary = {
        "bench": "check",
        "bank_size": state["entries"],
        "workers": args.workers,
        "rate": args.rate,
        "picture": args.picture,
        "jpeg_kib": round(args.mean_kib),
        "seconds": args.seconds,
        "measured": len(measured),
        "ok": len(ok),
        "throughput": round(throughput, 2),
        "p50_ms": finite(p[50]),
        "p90_ms": finite(p[90]),
        "p99_ms": finite(p[99]),
        "p999_ms": finite(p[99.9]),
        "max_ms": finite(p_max),
        "errors": dict(errors),
        "known_matched": len(known) - missed_known,
        "known_sent": len(known),
        "false_matches": false_matches,
        "server_cores": round(server_cores, 3),
        "server_ms_per_request": round(ms_per_request, 2),
        "client_cores": round(client_cores, 3),
        "other_cores": round(others, 3),
        "server_rss_mib": round(sum(w.rss.values())),
        "index_build_s": [round(s, 2) for s in w.index_builds],
        "ready_s": round(w.ready_seconds, 1),
        "import_s": state["import_seconds"],
        "loadavg_before": w.load_before,
        "loadavg_after": w.load_after,
        "goal_met": goal_met,
    }
    print(json.dumps(summary))
    return 1 if errors or missed_known or false_matches else 0


if __name__ == "__main__":
    sys.exit(main())
