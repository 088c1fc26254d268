"""Every extractor runs offline, and the default install carries no GPL or AGPL package."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from tests.conformance.extractor import image_input

from jikimi.demo.synthetic import photo_like
from jikimi.settings import Settings
from jikimi.signals.extractor import MediaExtractor, TextExtractor, TextInput
from jikimi.signals.registry import load_registry

EXPECTED = {"c2pa", "context", "faces", "generator_metadata", "nudity", "skin", "watermark"}


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Records (and refuses) every connection and name lookup that is not loopback, even one
    an extractor would catch and hide."""
    seen: list[Any] = []
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost"):
            seen.append(("connect", address))
            raise OSError("offline")
        connect(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (None, "127.0.0.1", "::1", "localhost"):
            seen.append(("getaddrinfo", host))
            raise OSError("offline")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield seen


def test_every_extractor_runs_without_touching_the_network(
    attempts: list[Any], tmp_path: Path
) -> None:
    registry = load_registry(Settings())
    assert set(registry.extractors) >= EXPECTED, registry.disabled
    jpeg, png = tmp_path / "a.jpg", tmp_path / "b.png"
    photo_like(640, 480, seed=1).save(jpeg, quality=90)
    photo_like(300, 300, seed=2).save(png)
    items = [image_input(jpeg), image_input(png)]
    text = [TextInput({"caption": "see https://t.me/example_undress_bot and deepfake room"})]
    ran = []
    for name, extractor in sorted(registry.extractors.items()):
        if isinstance(extractor, MediaExtractor):
            findings = extractor.extract(items)
        else:
            assert isinstance(extractor, TextExtractor)
            findings = extractor.extract_text(text)
        assert all(f.status != "error" for f in findings), (name, findings)
        ran.append(name)
    assert set(ran) == set(registry.extractors)
    assert attempts == []


def _requirements(name: str, extras: frozenset[str], seen: dict[str, set[str]]) -> None:
    """Every distribution ``name[extras]`` pulls in, with the extras seen for each."""
    key = re.sub(r"[-_.]+", "-", name).lower()
    new = extras - seen.get(key, set()) if key in seen else extras | {""}
    if not new:
        return
    seen.setdefault(key, set()).update(new)
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        return
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in new):
            _requirements(req.name, frozenset(req.extras), seen)


def test_default_install_has_no_gpl_or_agpl_package() -> None:
    seen: dict[str, set[str]] = {}
    _requirements("jikimi", frozenset({"all"}), seen)
    assert {"onnxruntime", "dlib-bin", "c2pa-python", "pdqhash"} <= seen.keys()
    offenders = []
    for name in sorted(seen):
        try:
            meta = distribution(name).metadata
        except PackageNotFoundError:
            continue
        texts = [
            meta.get("License-Expression") or "",
            (meta.get("License") or "")[:200],
            *meta.get_all("Classifier", []),
        ]
        licence = " ".join(t for t in texts if "License" in t or t in texts[:2])
        if re.search(r"\bA?GPL\b|GNU (Affero )?General Public", licence) and not re.search(
            r"LGPL|Lesser", licence
        ):
            offenders.append(f"{name}: {licence[:120]}")
    assert offenders == []
