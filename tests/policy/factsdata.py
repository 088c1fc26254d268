"""Realistic findings for policy tests, made by the extractors' own code paths where they run
without models (context, generator metadata, C2PA's ``describe_store``) and otherwise built
with :class:`Finding` exactly as the extractor builds them (nudity, watermark, synthetic, faces).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import PngImagePlugin

from jikimi.demo.synthetic import photo_like
from jikimi.model import BankSpec, Match, MediaInfo
from jikimi.policy.facts import ItemFacts
from jikimi.settings import Settings
from jikimi.signals import generator_metadata, nudity, watermark
from jikimi.signals.c2pa_manifest import describe_store
from jikimi.signals.context import ContextExtractor, load_context
from jikimi.signals.extractor import Finding, MediaInput, TextInput

A1111 = (
    "portrait photo\nNegative prompt: blurry\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1, Model: v1-5-pruned-emaonly"
)
AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CAPTURE_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"

Findings = dict[str, dict[str, Any]]


def nudity_finding(score: float) -> dict[str, Any]:
    value = {"score": score, "model": nudity.MODEL_NAME, "weights_sha256": nudity.OPEN_NSFW_SHA256}
    return Finding(nudity.NAME, "ok", nudity.VERSION, value, duration_ms=12.5).as_dict()


def failed_finding(signal: str, message: str) -> dict[str, Any]:
    return Finding.failed(signal, "1", message).as_dict()


def skin_finding(score: float) -> dict[str, Any]:
    return Finding("skin", "ok", "1", {"score": score}).as_dict()


@functools.cache
def _context() -> ContextExtractor:
    return load_context()


def context_finding(**fields: str) -> dict[str, Any]:
    """The real context extractor on ``fields`` (caption=..., chat_title=...)."""
    (finding,) = _context().extract_text([TextInput(dict(fields))])
    assert finding.status == "ok", finding.error
    return finding.as_dict()


def c2pa_finding(source_type: str = AI_SOURCE, generator: str = "Adobe Firefly 3") -> dict:
    store = {
        "active_manifest": "urn:uuid:1",
        "manifests": {
            "urn:uuid:1": {
                "claim_generator": generator,
                "assertions": [
                    {
                        "label": "c2pa.actions.v2",
                        "data": {
                            "actions": [
                                {"action": "c2pa.created", "digitalSourceType": source_type}
                            ]
                        },
                    }
                ],
            }
        },
        "validation_state": "Valid",
    }
    return Finding("c2pa", "ok", "1", describe_store(store), present=True).as_dict()


def c2pa_absent() -> dict[str, Any]:
    note = {"manifest": False, "note": "no C2PA manifest (proves nothing)"}
    return Finding("c2pa", "ok", "1", note, present=False).as_dict()


def generator_finding(parameters: str | None = A1111) -> dict[str, Any]:
    """The real generator-metadata extractor on a PNG with (or without) A1111 parameters."""
    info = PngImagePlugin.PngInfo()
    if parameters is not None:
        info.add_text("parameters", parameters)
    buf = io.BytesIO()
    photo_like(64, 48).save(buf, "PNG", pnginfo=info)
    media = MediaInput(
        path=Path("x.png"),
        data=buf.getvalue(),
        info=MediaInfo(media_type="image", mime="image/png", width=64, height=48),
        rgb=np.zeros((48, 64, 3), np.uint8),
    )
    (finding,) = generator_metadata.load(Settings()).extract([media])
    assert finding.status == "ok", finding.error
    return finding.as_dict()


def watermark_finding(payload: str | None = "sdxl") -> dict[str, Any]:
    """As ``WatermarkExtractor._find`` builds it."""
    bits = len(watermark.PAYLOADS[payload or "sdxl"])
    agree = bits - 2 if payload else bits // 2
    value: dict[str, Any] = {
        "bits_matching": agree,
        "of": bits,
        "payload": payload,
        "threshold": 44,
        "closest": payload or "sdxl",
        "channel_order": "bgr",
        "p_chance": float(f"{watermark.chance(bits, agree):.3g}"),
        "min_bits_of_48": 44,
    }
    if payload is None:
        value["note"] = watermark.ABSENT_NOTE
    return Finding(watermark.NAME, "ok", "1", value, present=payload is not None).as_dict()


def synthetic_finding(score: float) -> dict[str, Any]:
    value = {"score": score, "label": "synthetic" if score >= 0.5 else "real", "model": "det"}
    return Finding("synthetic", "ok", "1", value, advisory=True).as_dict()


def faces_finding(count: int = 1) -> dict[str, Any]:
    faces = [{"box": [10, 10, 110, 110], "score": 1.2, "quality": 0.8}] * count
    value = {"count": count, "faces": faces, "detector": "dlib_hog", "upsample": 1}
    return Finding("faces", "ok", "1", value, present=bool(count)).as_dict()


def bank_match(
    bank: str = "ncii",
    distance: float = 4,
    *,
    kind: str = "known-abuse",
    signal_type: str = "pdq",
    suppressed_by: str | None = None,
    entry_id: int = 1,
) -> Match:
    return Match(bank, entry_id, signal_type, distance, kind, suppressed_by=suppressed_by)


def person_match(person: str = "p-1", distance: float = 0.41) -> Match:
    return Match(
        f"person:{person}",
        0,
        "faces",
        distance,
        "protected-person",
        person=person,
        person_name="Jane Doe",
        box=(10, 10, 110, 110),
    )


BANKS = {
    "ncii": BankSpec("ncii", "known-abuse", auto_action=True),
    "partner": BankSpec("partner", "known-abuse", auto_action=False),
    "csam": BankSpec("csam", "known-abuse", auto_action=True, minors=True),
    "csam-unverified": BankSpec("csam-unverified", "known-abuse", minors=True),
    "memes": BankSpec("memes", "known-benign"),
}


def facts(
    *media: Findings,
    matches: tuple[Match, ...] = (),
    text: Findings | None = None,
    banks: dict[str, BankSpec] | None = None,
) -> ItemFacts:
    return ItemFacts(
        matches=matches,
        findings=tuple(media),
        banks=BANKS if banks is None else banks,
        text_findings=text or {},
    )
