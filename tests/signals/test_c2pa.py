"""C2PA extractor: signed benign images read back as AI-made, offline, and tampering shows."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.conformance.extractor import MediaExtractorConformance
from tests.support.c2pa_ca import (
    IPTC,
    ThrowawaySigner,
    ai_manifest,
    make_test_signer,
    sign_bytes,
)

from jikimi.demo.synthetic import photo_like
from jikimi.model import MediaInfo
from jikimi.settings import Settings
from jikimi.signals.c2pa_manifest import ABSENT_NOTE, C2paExtractor, describe_store, load
from jikimi.signals.extractor import Finding, MediaInput

GENERATOR = "JikimiTestGenerator/2.0"


def _encode(fmt: str, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    photo_like(320, 240, seed=seed).save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _input(data: bytes, mime: str, name: str = "x") -> MediaInput:
    with Image.open(io.BytesIO(data)) as im:
        rgb = np.asarray(im.convert("RGB"))
    info = MediaInfo(media_type="image", mime=mime, width=rgb.shape[1], height=rgb.shape[0])
    return MediaInput(path=Path(name), data=data, info=info, rgb=rgb)


@pytest.fixture(scope="module")
def signer() -> ThrowawaySigner:
    return make_test_signer()


@pytest.fixture(scope="module")
def signed_jpeg(signer: ThrowawaySigner) -> bytes:
    return sign_bytes(_encode("JPEG"), "image/jpeg", signer, ai_manifest(GENERATOR))


@pytest.fixture(scope="module")
def signed_png(signer: ThrowawaySigner) -> bytes:
    return sign_bytes(_encode("PNG", 1), "image/png", signer, ai_manifest(GENERATOR))


def _extract(data: bytes, mime: str) -> Finding:
    (finding,) = load(Settings()).extract([_input(data, mime)])
    return finding


def _assert_ai_signed_untrusted(f: Finding) -> None:
    assert f.status == "ok", f.error
    assert f.present is True
    v = f.value
    assert v["manifest"] is True
    assert v["active_manifest"].startswith("urn:c2pa:")
    assert v["claim_generator"] == f"{GENERATOR} 1.0"
    assert v["digital_source_type"] == IPTC + "trainedAlgorithmicMedia"
    assert v["ai_generated"] is True
    # The throwaway CA is in no trust list: the signature verifies, the signer is untrusted.
    assert v["validation_state"] == "Valid"
    assert v["validation_failures"] == ["signingCredential.untrusted"]
    assert "signingCredential.ocsp.skipped" in v["validation_informational"]
    assert v["signer"]["common_name"] == "Jikimi Test Signer"


class TestC2paConformance(MediaExtractorConformance):
    def make(self) -> C2paExtractor:
        return load(Settings())

    def known(self) -> list[tuple[MediaInput, Any]]:
        signer = make_test_signer()
        jpeg = sign_bytes(_encode("JPEG"), "image/jpeg", signer, ai_manifest(GENERATOR))

        def absent(f: Finding) -> None:
            assert f.status == "ok" and f.present is False
            assert f.value == {"manifest": False, "note": ABSENT_NOTE}

        return [
            (_input(jpeg, "image/jpeg"), _assert_ai_signed_untrusted),
            (_input(_encode("PNG"), "image/png"), absent),
        ]


def test_signed_jpeg_reads_as_ai_generated(signed_jpeg: bytes) -> None:
    _assert_ai_signed_untrusted(_extract(signed_jpeg, "image/jpeg"))


def test_signed_png_reads_as_ai_generated(signed_png: bytes) -> None:
    _assert_ai_signed_untrusted(_extract(signed_png, "image/png"))


def test_composite_source_type_is_ai(signer: ThrowawaySigner) -> None:
    manifest = ai_manifest(GENERATOR, IPTC + "compositeWithTrainedAlgorithmicMedia")
    f = _extract(sign_bytes(_encode("JPEG"), "image/jpeg", signer, manifest), "image/jpeg")
    assert f.value["ai_generated"] is True
    assert f.value["digital_source_type"].endswith("/compositeWithTrainedAlgorithmicMedia")


def test_camera_capture_is_not_ai(signer: ThrowawaySigner) -> None:
    manifest = ai_manifest(GENERATOR, IPTC + "digitalCapture")
    f = _extract(sign_bytes(_encode("JPEG"), "image/jpeg", signer, manifest), "image/jpeg")
    assert f.present is True
    assert f.value["ai_generated"] is False


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_unsigned_image_has_no_manifest(fmt: str, mime: str) -> None:
    f = _extract(_encode(fmt), mime)
    assert f.status == "ok"
    assert f.present is False
    assert f.value["note"] == ABSENT_NOTE


def test_flipped_image_byte_is_a_hash_mismatch(signed_jpeg: bytes) -> None:
    data = bytearray(signed_jpeg)
    eoi = data.rindex(b"\xff\xd9")
    data[eoi - 100] ^= 0x01  # inside the entropy-coded scan, far from the manifest
    f = _extract(bytes(data), "image/jpeg")
    assert f.status == "ok"
    assert f.present is True
    assert f.value["validation_state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in f.value["validation_failures"]


def test_truncated_and_garbage_manifests_never_crash(signed_jpeg: bytes) -> None:
    ext = load(Settings())
    start = signed_jpeg.index(b"c2pa")
    cases = [
        signed_jpeg[: start + 200],  # manifest cut short
        signed_jpeg[:start] + bytes(range(256)) * 4 + signed_jpeg[start + 1024 :],
        b"\xff\xd8\xff\xe0" + b"\x00" * 64,
        b"not an image at all",
    ]
    findings = ext.extract(
        [MediaInput(Path("x"), c, MediaInfo("image", "image/jpeg", 1, 1)) for c in cases]
    )
    assert len(findings) == len(cases)
    for f in findings:
        assert f.status in ("ok", "error")
        if f.status == "error":
            assert f.error and "C2PA" in f.error
        json.dumps(f.as_dict())


def test_unsupported_mime_is_not_applicable() -> None:
    item = MediaInput(Path("x"), b"abc", MediaInfo("video", "video/x-matroska", 1, 1))
    (f,) = load(Settings()).extract([item])
    assert f.status == "not_applicable"


def test_describe_store_is_robust_to_odd_json() -> None:
    v = describe_store({"active_manifest": 3, "manifests": [], "validation_results": "x"})
    assert v["manifest"] is True and v["ai_generated"] is False


@pytest.fixture
def loopback_listener() -> Iterator[tuple[int, list[str]]]:
    """A listener on 127.0.0.1 that records every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    seen: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            seen.append("connection")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(2)
        server.close()


def _remote_only(signer: ThrowawaySigner, url: str) -> bytes:
    """A JPEG that holds only a reference to a remote manifest store at ``url``."""
    import c2pa

    info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, signer.chain_pem.encode(), signer.key_pem.encode(), None
    )
    with (
        c2pa.Signer.from_info(info) as c2pa_signer,
        c2pa.Builder(json.dumps(ai_manifest(GENERATOR))) as builder,
    ):
        builder.set_no_embed()
        builder.set_remote_url(url)
        out = io.BytesIO()
        builder.sign(c2pa_signer, "image/jpeg", io.BytesIO(_encode("JPEG")), out)
    return out.getvalue()


def test_reading_never_touches_the_network(
    signer: ThrowawaySigner,
    signed_jpeg: bytes,
    loopback_listener: tuple[int, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, seen = loopback_listener
    remote = _remote_only(signer, f"http://127.0.0.1:{port}/manifest.c2pa")
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network refused by test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    ext = load(Settings())
    signed, remote_f = ext.extract(
        [_input(signed_jpeg, "image/jpeg"), _input(remote, "image/jpeg")]
    )
    monkeypatch.undo()
    assert attempts == []  # nothing in Python tried
    assert seen == []  # and the native SDK did not fetch the remote manifest either
    _assert_ai_signed_untrusted(signed)
    assert remote_f.status == "ok", remote_f.error
    assert remote_f.present is False
    assert remote_f.value["remote_manifest"] is True
    assert remote_f.value["remote_manifest_url"] == f"http://127.0.0.1:{port}/manifest.c2pa"


def test_the_listener_would_see_a_fetch(
    signer: ThrowawaySigner, loopback_listener: tuple[int, list[str]]
) -> None:
    """Control for the test above: with fetching on, the native SDK does connect, so the
    silence there is the setting's doing."""
    import c2pa

    port, seen = loopback_listener
    remote = _remote_only(signer, f"http://127.0.0.1:{port}/manifest.c2pa")
    online = c2pa.Context(
        settings=c2pa.Settings.from_dict({"verify": {"remote_manifest_fetch": True}})
    )
    with pytest.raises(c2pa.C2paError):
        c2pa.Reader("image/jpeg", io.BytesIO(remote), context=online)
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen
