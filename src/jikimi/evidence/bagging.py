"""The bag made with the ``bagit`` package, in a child process.

bagit changes the process's working directory while it writes a bag (``make_bag`` and
``Bag.save``); inside a running service that would move the ground under every other thread.
So the parent hands the folder, the bag-info and the extra tag files (the time-stamp tokens) to
``python -m jikimi.evidence.bagging`` as JSON on stdin, and the child alone changes directory.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import bagit

from jikimi.errors import EvidenceError

__all__ = ["BAGIT_TXT", "make_bag"]

# bagit writes BagIt-Version 0.97; RFC 8493 is 1.0, whose rules validate() then applies.
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
CHECKSUMS = ("sha256", "sha512")
TIMEOUT_SECONDS = 600


def make_bag(bag_dir: Path, info: dict[str, str], tag_files: dict[str, bytes]) -> None:
    """Turn ``bag_dir`` (its payload under ``data/``) into a BagIt 1.0 bag with ``info`` in
    bag-info.txt and ``tag_files`` (relative path -> bytes) listed in the tag manifests."""
    request = {
        "bag_dir": str(bag_dir),
        "info": info,
        "tag_files": {name: base64.b64encode(data).decode() for name, data in tag_files.items()},
    }
    done = subprocess.run(
        [sys.executable, "-m", "jikimi.evidence.bagging"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise EvidenceError(f"the bag could not be made in {bag_dir}: {detail}")


def _make(request: dict[str, Any]) -> None:
    bag_dir = Path(request["bag_dir"])
    bagit.make_bag(str(bag_dir), bag_info=request["info"], checksums=list(CHECKSUMS))
    (bag_dir / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
    for name, data in request["tag_files"].items():
        path = bag_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
    bagit.Bag(str(bag_dir)).save()  # the tag manifests now list the tag files too


if __name__ == "__main__":
    _make(json.load(sys.stdin))
