"""Loading model weights safely: hash them, check the hash we recorded, then build the session.

Shared by the extractors that run a neural network (``nudity``, ``synthetic``). The weights are
read once into memory, hashed, compared with the SHA-256 recorded for them and only then handed
to onnxruntime, so the bytes that run are the bytes that were checked (no gap between checking a
file and loading it). Weights come from installed packages or from a path the operator gives;
nothing is ever downloaded (DESIGN.md §2.6).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from jikimi.errors import ExtractorUnavailable, ModelVerificationError
from jikimi.signals.extractor import Finding, MediaInput, ModelInfo

if TYPE_CHECKING:
    import onnxruntime

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data``, 64 lowercase hex characters."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks, 64 lowercase hex characters."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_sha256_hex(value: object) -> bool:
    return isinstance(value, str) and bool(_HEX64.match(value))


def read_sidecar_sha256(path: Path) -> str:
    """The hash in a ``sha256sum``-style sidecar file (``<hex>  <name>``), lowercased."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelVerificationError(
            f"cannot read the recorded hash {path}: {exc}; reinstall the package that ships it"
        ) from exc
    first = text.split()[0].lower() if text else ""
    if not is_sha256_hex(first):
        raise ModelVerificationError(f"{path} does not hold a SHA-256 (got {text[:80]!r})")
    return first


@dataclass(frozen=True, slots=True)
class VerifiedWeights:
    """Model weights read into memory whose SHA-256 matched every recorded hash."""

    path: Path
    data: bytes
    sha256: str


def read_verified(path: Path, expected: dict[str, str], *, what: str) -> VerifiedWeights:
    """Read ``path`` and check its SHA-256 against each recorded hash in ``expected``
    (``{where the hash was recorded: hex}``). A mismatch raises
    :class:`~jikimi.errors.ModelVerificationError` naming the file, both hashes and the record
    that disagreed; a missing file raises :class:`~jikimi.errors.ExtractorUnavailable`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ExtractorUnavailable(f"{what}: model weights not found at {path}") from exc
    except OSError as exc:
        raise ExtractorUnavailable(f"{what}: cannot read model weights {path}: {exc}") from exc
    actual = sha256_hex(data)
    for source, want in expected.items():
        if actual != want.lower():
            raise ModelVerificationError(
                f"{what}: weights {path} have SHA-256 {actual} but {source} records {want}; "
                "the file is damaged or was replaced: reinstall it, do not run it"
            )
    return VerifiedWeights(path=path, data=data, sha256=actual)


def onnx_session(weights: VerifiedWeights, *, what: str) -> onnxruntime.InferenceSession:
    """A CPU onnxruntime session on verified weights: one thread, no spinning, sequential
    execution. Scans run one worker process per core, so more threads per session would only
    add CPU time (2 threads: ~22 ms CPU per open_nsfw image against 20.5 ms with one).
    onnxruntime never fetches anything for a model given as bytes; an unloadable model raises
    :class:`~jikimi.errors.ExtractorUnavailable`."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ExtractorUnavailable(
            f"{what}: onnxruntime is not installed; pip install onnxruntime"
        ) from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: onnxruntime's warnings are not ours to print
    try:
        return ort.InferenceSession(
            weights.data, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad models
        raise ExtractorUnavailable(
            f"{what}: onnxruntime cannot load {weights.path}: {exc}"
        ) from exc


def package_metadata(distribution: str) -> tuple[str, str]:
    """(version, licence) of an installed distribution from its metadata; the licence is the
    SPDX ``License-Expression`` (PEP 639) or the older ``License`` field."""
    try:
        meta = metadata.metadata(distribution)
    except metadata.PackageNotFoundError as exc:
        raise ExtractorUnavailable(
            f"{distribution} is not installed; pip install {distribution}"
        ) from exc
    licence = meta.get("License-Expression") or meta.get("License") or "unknown"
    return meta.get("Version") or "unknown", licence


def package_model_info(
    name: str,
    distribution: str,
    weights: VerifiedWeights,
    *,
    licence: str | None = None,
) -> ModelInfo:
    """The :class:`ModelInfo` of verified weights shipped inside an installed package.
    ``licence`` overrides the package's own when the weights are under another one."""
    version, package_licence = package_metadata(distribution)
    return ModelInfo(
        name=name,
        package=distribution,
        package_version=version,
        path=str(weights.path),
        sha256=weights.sha256,
        licence=licence or package_licence,
        loaded=True,
    )


Prepared = tuple[int, np.ndarray, float]  # (index in the batch, model input, preprocessing ms)


def extract_in_batches(
    items: Sequence[MediaInput],
    prepare: Callable[[MediaInput], tuple[Finding | None, np.ndarray | None]],
    run_batch: Callable[[list[Prepared]], list[tuple[int, Finding]]],
    batch_size: int,
) -> list[Finding]:
    """One finding per item, in order: ``prepare`` turns each item into a model input (or a
    finding that says why not), ``run_batch`` scores up to ``batch_size`` inputs at a time."""
    findings: list[Finding | None] = [None] * len(items)
    ready: list[Prepared] = []
    for i, item in enumerate(items):
        start = time.perf_counter()
        finding, arr = prepare(item)
        if arr is None:
            findings[i] = finding
        else:
            ready.append((i, arr, (time.perf_counter() - start) * 1000))
    for lo in range(0, len(ready), batch_size):
        for i, finding in run_batch(ready[lo : lo + batch_size]):
            findings[i] = finding
    return [f for f in findings if f is not None]
