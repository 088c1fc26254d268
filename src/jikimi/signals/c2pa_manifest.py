"""C2PA content credentials: is there a manifest, who made it, and does it say "AI"?

Reads the manifest store embedded in the file bytes with ``c2pa-python`` (the C2PA 2.x
specification, https://spec.c2pa.org/specifications/specifications/2.1/specs/C2PA_Specification.html)
and reports the active manifest's claim generator, its validation state and status codes, and
the ``digitalSourceType`` of its ``c2pa.actions`` assertion. The digital source type is a term
of the IPTC digital source type vocabulary
(https://cv.iptc.org/newscodes/digitalsourcetype/); ``trainedAlgorithmicMedia`` and
``compositeWithTrainedAlgorithmicMedia`` mean a generative model made (part of) the image.

Offline by design: remote manifests are never fetched and OCSP is never queried (DESIGN.md
principle 6). No trust list ships, so a genuine credential reads as signed but untrusted
(``signingCredential.untrusted``); the claim is still evidence of what the signer asserted.
A found manifest is evidence; an absent one proves nothing (it is stripped by almost every
re-encode and by every messaging platform).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from typing import Any

from jikimi.errors import ExtractorUnavailable
from jikimi.settings import Settings
from jikimi.signals.extractor import Finding, MediaInput, ModelInfo

NAME = "c2pa"
VERSION = "1"

IPTC_PREFIX = "cv.iptc.org/newscodes/digitalsourcetype/"
AI_SOURCE_TYPES = frozenset({"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"})
ABSENT_NOTE = "no C2PA manifest (proves nothing)"

# c2pa-rs settings (C2PA SDK "verify" section). Unknown keys are silently accepted by the SDK,
# so tests prove these by behaviour: a remote-manifest reference to a loopback listener gets
# no connection, and OCSP shows up as "signingCredential.ocsp.skipped".
OFFLINE_SETTINGS: dict[str, Any] = {
    "verify": {
        "remote_manifest_fetch": False,
        "ocsp_fetch": False,
        "verify_after_reading": True,
        "verify_trust": True,
    }
}

_MAX_STR = 256
_MAX_CODES = 32


def _short(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= _MAX_STR else text[:_MAX_STR] + "…"


def source_type_term(uri: str) -> str:
    """The IPTC term of a digital source type URI (``…/trainedAlgorithmicMedia`` ->
    ``trainedAlgorithmicMedia``); C2PA 1.x wrote the same URIs with http or https."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        label = str(assertion.get("label", ""))
        if label != "c2pa.actions" and not label.startswith("c2pa.actions."):
            continue
        data = assertion.get("data")
        actions = data.get("actions") if isinstance(data, dict) else None
        found.extend(a for a in actions or [] if isinstance(a, dict))
    return found


def _source_types(manifest: dict[str, Any]) -> list[str]:
    types: list[str] = []
    for action in _actions(manifest):
        dst = action.get("digitalSourceType")
        if isinstance(dst, str) and dst and dst not in types:
            types.append(dst)
    return types


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    if manifest.get("claim_generator"):
        return _short(manifest["claim_generator"])
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict):
        name, version = info[0].get("name"), info[0].get("version")
        if name:
            return _short(f"{name} {version}" if version else name)
    return None


def _status_codes(store: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(failure codes, informational codes) of the active manifest, deduplicated."""
    failures: list[str] = []
    info: list[str] = []
    results = store.get("validation_results")
    active = results.get("activeManifest") if isinstance(results, dict) else None
    if isinstance(active, dict):
        for key, out in (("failure", failures), ("informational", info)):
            for entry in active.get(key) or []:
                code = entry.get("code") if isinstance(entry, dict) else None
                if code and code not in out:
                    out.append(str(code))
    for entry in store.get("validation_status") or []:  # 1.x-style flat list
        code = entry.get("code") if isinstance(entry, dict) else None
        if code and code not in failures:
            failures.append(str(code))
    return failures[:_MAX_CODES], info[:_MAX_CODES]


def describe_store(store: dict[str, Any]) -> dict[str, Any]:
    """The recorded value of a manifest store (the Reader's JSON), bounded in size."""
    label = store.get("active_manifest")
    manifests = store.get("manifests") if isinstance(store.get("manifests"), dict) else {}
    active = manifests.get(label) if isinstance(label, str) else None
    active = active if isinstance(active, dict) else {}
    types = _source_types(active)
    primary = types[0] if types else None
    other_types = sorted(
        {
            t
            for key, m in manifests.items()
            if key != label and isinstance(m, dict)
            for t in _source_types(m)
        }
    )
    failures, info = _status_codes(store)
    signature = (
        active.get("signature_info") if isinstance(active.get("signature_info"), dict) else {}
    )
    value: dict[str, Any] = {
        "manifest": True,
        "active_manifest": _short(label),
        "claim_generator": _claim_generator(active),
        "validation_state": _short(store.get("validation_state")),
        "validation_failures": failures,
        "validation_informational": info,
        "digital_source_type": _short(primary),
        "ai_generated": any(source_type_term(t) in AI_SOURCE_TYPES for t in types),
        "ingredient_ai_generated": any(source_type_term(t) in AI_SOURCE_TYPES for t in other_types),
        "signer": {
            "issuer": _short(signature.get("issuer")),
            "common_name": _short(signature.get("common_name")),
            "alg": _short(signature.get("alg")),
        },
        "manifests": len(manifests),
    }
    if len(types) > 1:
        value["digital_source_types"] = [_short(t) for t in types[:8]]
    return value


def _remote_url(message: str) -> str | None:
    """The URL in the SDK's "must fetch remote manifests from url …" message."""
    for word in message.split():
        if word.startswith(("http://", "https://")):
            return word.rstrip(").,")
    return None


class C2paExtractor:
    """Reads embedded C2PA manifest stores, offline."""

    name = NAME
    version = VERSION
    media: tuple[str, ...] = ("image", "animation", "video")
    cost = "cheap"

    def __init__(self, c2pa_module: Any) -> None:
        self._c2pa = c2pa_module
        self._context = c2pa_module.Context(
            settings=c2pa_module.Settings.from_dict(OFFLINE_SETTINGS)
        )
        self._mimes = set(c2pa_module.Reader.get_supported_mime_types())

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        return [self._one(item) for item in items]

    def models(self) -> list[ModelInfo]:
        return []

    def _one(self, item: MediaInput) -> Finding:
        start = time.perf_counter()
        finding = self._read(item)
        finding.duration_ms = (time.perf_counter() - start) * 1000
        return finding

    def _read(self, item: MediaInput) -> Finding:
        mime = item.info.mime
        if mime not in self._mimes:
            return Finding.not_applicable(NAME, VERSION, f"C2PA SDK cannot read {mime}")
        try:
            # Videos are streamed from disk: their bytes may be gigabytes.
            stream = item.path.open("rb") if item.info.media_type == "video" else None
        except OSError as exc:
            return Finding.failed(NAME, VERSION, f"cannot read {item.path}: {exc.strerror}")
        if stream is None:
            data = item.data
            if not data:
                return Finding.not_applicable(NAME, VERSION, "no file bytes to read a manifest")
            stream = io.BytesIO(data)
        with stream:  # the reader may read the stream until it is closed
            try:
                reader = self._c2pa.Reader.try_create(mime, stream, None, self._context)
            except self._c2pa.C2paError as exc:
                return self._unreadable(exc)
            if reader is None:
                note = {"manifest": False, "note": ABSENT_NOTE}
                return Finding(NAME, "ok", VERSION, note, present=False)
            try:
                with reader:
                    store = json.loads(reader.json())
            except (self._c2pa.C2paError, ValueError) as exc:
                return self._unreadable(exc)
        if not isinstance(store, dict):
            return Finding.failed(NAME, VERSION, "C2PA manifest store is not a JSON object")
        return Finding(NAME, "ok", VERSION, describe_store(store), present=True)

    def _unreadable(self, exc: Exception) -> Finding:
        message = _short(exc) or type(exc).__name__
        if isinstance(exc, self._c2pa.C2paError.RemoteManifest) or message.startswith("Remote"):
            # Only a reference to a manifest elsewhere: we never fetch it (offline).
            value = {
                "manifest": False,
                "remote_manifest": True,
                "remote_manifest_url": _remote_url(message),
                "note": "the file points to a remote C2PA manifest, not fetched (offline); "
                "an absent manifest proves nothing",
            }
            return Finding(NAME, "ok", VERSION, value, present=False)
        return Finding.failed(
            NAME, VERSION, f"a C2PA manifest is present but cannot be read: {message}"
        )


def load(settings: Settings) -> C2paExtractor:
    """Entry point ``c2pa``."""
    del settings  # nothing to tune yet; trust anchors would come from here
    try:
        import c2pa
    except ImportError as exc:
        raise ExtractorUnavailable("c2pa: cannot import c2pa; install c2pa-python==0.38.1") from exc
    return C2paExtractor(c2pa)
