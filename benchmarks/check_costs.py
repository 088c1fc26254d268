"""Where the CPU of one ``POST /v1/check`` goes: each stage of the request timed in-process.

    python benchmarks/check_costs.py [--keep DIR] [--picture outdoor|photo] [--n 50]

The companion of bench_check.py, for reading its per-request CPU figure. On the JPEGs that
bench_check.py sends (1920x1080, quality 90, the non-matching ones) it measures
``time.process_time`` per call of: parsing the HTTP request (h11, as uvicorn does), parsing the
multipart body (Starlette + python-multipart), saving the upload to a temporary file, the
digests, the draft JPEG decode, the resize, pdqhash's own float64 luma conversion, the PDQ with
its eight transforms, and, with ``--keep DIR`` (a workspace bench_check.py built), the match
and the whole ``Service.check``. It also says which stages run in parallel on two threads,
i.e. release the GIL (near 2x on two idle cores), and which do not (near 1x).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11
import numpy as np
import pdqhash
from PIL import Image
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartParser

from bench_check import bench_images
from jikimi.pipeline.item import Upload
from loadgen import http_head, multipart_parts

CHUNK = 65536  # what the event loop hands h11 per read
RESAMPLED = (640, 360)  # jikimi.media.decode.pdq_friendly_size of 1920x1080


def cpu_ms(fn: Callable[[], object], n: int) -> float:
    fn()
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1000


def two_thread_speedup(fn: Callable[[], object], seconds: float = 0.5) -> float:
    """Calls per second on two threads over calls per second on one, each run for
    ``seconds``: near 2 when ``fn`` releases the GIL (and the machine has two idle cores)."""

    def rate(threads: int) -> float:
        counts = [0] * threads
        stop = time.perf_counter() + seconds

        def loop(k: int) -> None:
            while time.perf_counter() < stop:
                fn()
                counts[k] += 1

        workers = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        return sum(counts) / seconds

    return rate(2) / rate(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", type=Path, default=None, help="a bench_check.py workspace")
    ap.add_argument("--picture", choices=["outdoor", "photo"], default="outdoor")
    ap.add_argument("--n", type=int, default=50, help="calls per stage and image")
    ap.add_argument("--images", type=int, default=4, help="JPEGs (bench_check.py sends 4)")
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    print(f"load average: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")

    tmp = Path(tempfile.mkdtemp(prefix="jikimi-check-costs-"))
    images = bench_images(args.images, args.seed, args.picture, tmp)[0]
    loop = asyncio.new_event_loop()
    service = _service(args.keep) if args.keep is not None else None
    totals: dict[str, list[float]] = {}
    speedups: dict[str, float] = {}
    for k, data in enumerate(images):
        for name, fn in _stages(data, tmp, loop, service):
            totals.setdefault(name, []).append(cpu_ms(fn, args.n))
            if k == 0 and "parse" not in name:  # the parsers run on the one event loop
                speedups[name] = two_thread_speedup(fn)
    loop.close()
    shutil.rmtree(tmp, ignore_errors=True)
    if service is not None:
        service.stop()  # removes its uploads folder
        service.ws.close()
    kib = sum(len(d) for d in images) / len(images) / 1024
    print(f"{len(images)} {args.picture}-like 1920x1080 q90 JPEGs, {kib:.0f} KiB mean")
    print("| stage | CPU ms (mean) | 2 threads / 1 |\n|---|---:|---:|")
    for name, values in totals.items():
        shown = f"{speedups[name]:.2f}x" if name in speedups else "-"
        print(f"| {name} | {sum(values) / len(values):.2f} | {shown} |")
    sys.stdout.flush()


def _stages(
    data: bytes, tmp: Path, loop: asyncio.AbstractEventLoop, service: Any
) -> list[tuple[str, Callable[[], object]]]:
    content_type, before, after = multipart_parts("media", "a.jpg", "image/jpeg")
    body = before + data + after
    headers = {"Authorization": "Bearer x", "Content-Type": content_type}
    request = http_head("127.0.0.1", 80, "/v1/check", headers, len(body)) + body
    path = tmp / "upload.jpg"
    path.write_bytes(data)

    def http() -> None:
        conn = h11.Connection(h11.SERVER)
        for i in range(0, len(request), CHUNK):
            conn.receive_data(request[i : i + CHUNK])
            while conn.next_event() is not h11.NEED_DATA:
                pass

    async def form() -> None:
        async def stream():  # type: ignore[no-untyped-def]
            for i in range(0, len(body), CHUNK):
                yield body[i : i + CHUNK]

        parser = MultiPartParser(Headers({"content-type": content_type}), stream())
        await (await parser.parse()).close()

    def save() -> None:
        fd, name = tempfile.mkstemp(dir=tmp)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.unlink(name)

    def digests(names: tuple[str, ...]) -> Callable[[], object]:
        return lambda: [hashlib.new(n, data).hexdigest() for n in names]

    def decode() -> Image.Image:
        im = Image.open(io.BytesIO(data))
        im.draft("L", (960, 540))
        im.load()
        return im

    plane = decode()
    luma = np.asarray(plane.resize(RESAMPLED, Image.Resampling.BILINEAR))
    three = np.broadcast_to(luma[:, :, np.newaxis], (*luma.shape, 3))

    def pdq_luma() -> object:  # pdqhash.compute_dihedral's first line
        return (three[:, :, 0] * 0.299 + three[:, :, 1] * 0.587 + three[:, :, 2] * 0.114).astype(
            "float32"
        )

    stages: list[tuple[str, Callable[[], object]]] = [
        ("HTTP request parse (h11)", http),
        ("multipart parse (starlette)", lambda: loop.run_until_complete(form())),
        ("upload to temporary file", save),
        ("digests sha256+md5+sha1", digests(("sha256", "md5", "sha1"))),
        ("digest sha256 only", digests(("sha256",))),
        ("JPEG decode, luma at 1/2 (960x540)", decode),
        (
            "resize to 640x360 (bilinear)",
            lambda: plane.resize(RESAMPLED, Image.Resampling.BILINEAR),
        ),
        ("pdqhash's float64 luma (inside PDQ)", pdq_luma),
        ("PDQ + 8 transforms (pdqhash, all)", lambda: pdqhash.compute_dihedral(three)),
    ]
    if service is not None:
        upload = Upload(path, "upload.jpg")
        media = service.check([upload], text=None, signals=[]).media[0][1].media
        stages += [
            ("match (9 PDQ + exact lookups)", lambda: service.matcher.match_media(media)),
            (
                "Service.check (file to verdict)",
                lambda: service.check([upload], text=None, signals=[]),
            ),
        ]
    return stages


def _service(home: Path) -> Any:
    from jikimi.settings import load_settings
    from jikimi.web.service import HASHES_ONLY, Service, ServiceOptions
    from jikimi.workspace import Workspace

    ws = Workspace.open(load_settings(home=home, database_url=None))
    service = Service(ws, ServiceOptions(check_plan=HASHES_ONLY, run_dispatcher=False))
    service.refresh_matcher(force=True)
    return service


if __name__ == "__main__":
    main()
