"""Generator metadata: what image generators write about themselves into the file.

Read, without decoding pixels and within fixed bounds:

- PNG text chunks (PNG 3rd edition, W3C, sections 11.3.3 tEXt, zTXt, iTXt): AUTOMATIC1111's
  ``parameters`` (prompt, ``Negative prompt:``, then ``Steps: .., Sampler: .., Model: ..``;
  also written by Forge, SD.Next and Fooocus), ComfyUI's ``prompt`` (API graph) and
  ``workflow`` (UI graph) JSON, InvokeAI's ``invokeai_metadata``/``sd-metadata``/``dream``,
  NovelAI's ``Software``/``Source``/``Comment``;
- EXIF (CIPA DC-008) ``Software`` (0x0131), ``ImageDescription`` (0x010E) and ``UserComment``
  (0x9286, with its 8-byte character-code prefix; A1111 stores its parameters there in JPEG
  and WebP);
- XMP (ISO 16684-1) ``xmp:CreatorTool``.

Text is matched against known generator names. The record keeps a few KB at most: prompts are
cut to :data:`MAX_PROMPT` characters and the record says ``truncated``. A chunk is read to at
most :data:`MAX_TEXT_BYTES` (compressed ones are inflated only that far), JSON deeper than the
parser allows is reported, not followed. Metadata is stripped by most platforms and trivially
forged: a found generator name is evidence of what the file claims; none proves nothing.
"""

from __future__ import annotations

import io
import json
import re
import struct
import time
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from jikimi.errors import ExtractorUnavailable
from jikimi.settings import Settings
from jikimi.signals.extractor import Finding, MediaInput, ModelInfo

NAME = "generator_metadata"
VERSION = "1"
ABSENT_NOTE = "no generator metadata (proves nothing)"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_BYTES = 2 * 1024 * 1024  # of one text chunk read or inflated
MAX_JSON_CHARS = 2 * 1024 * 1024  # larger JSON is not parsed
MAX_PROMPT = 1024  # characters of a prompt kept in the record
MAX_VALUE = 128  # characters of any other kept value
MAX_KEYS = 24
MAX_NODES = 32
MAX_CHUNKS = 100_000
MAX_XMP = 64 * 1024

# Known generators and face-swap tools, most specific first; matched case-insensitively.
GENERATORS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("AUTOMATIC1111", r"automatic1111|stable[- ]diffusion[- ]webui"),
        ("ComfyUI", r"\bcomfy\s?ui\b"),
        ("InvokeAI", r"\binvoke\s?ai\b"),
        ("Fooocus", r"\bfooocus\b"),
        ("SD.Next", r"\bsd\.next\b"),
        ("NovelAI", r"\bnovel\s?ai\b"),
        ("Midjourney", r"\bmid\s?journey\b"),
        ("DALL-E", r"\bdall[-·‧ ]?e\b"),
        ("Adobe Firefly", r"\bfirefly\b"),
        ("DreamStudio", r"\bdream\s?studio\b"),
        ("Leonardo.Ai", r"\bleonardo\.ai\b"),
        ("Draw Things", r"\bdraw things\b"),
        ("DiffusionBee", r"\bdiffusion\s?bee\b"),
        ("Ideogram", r"\bideogram\b"),
        ("Kandinsky", r"\bkandinsky\b"),
        ("FLUX", r"\bflux\.1\b"),
        ("DeepFaceLab", r"\bdeep\s?face\s?lab\b"),
        ("FaceFusion", r"\bface\s?fusion\b"),
        ("roop", r"\broop\b"),
        ("DeepSwap", r"\bdeep\s?swap\b"),
        ("Stable Diffusion", r"\bstable[- ]?diffusion\b|\bsdxl\b"),
    )
)

_A1111_PARAM = re.compile(r'\s*([\w ]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_XMP_CREATOR = re.compile(rb'CreatorTool(?:="([^"]{0,512})"|>([^<]{0,512})</)', re.IGNORECASE)


class _Record:
    """The bounded value being built, and whether anything was cut."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.truncated = False
        self.found: list[tuple[str, str]] = []  # (generator, source)

    def keep(self, key: str, value: Any, limit: int = MAX_VALUE) -> None:
        if len(self.fields) >= MAX_KEYS or key in self.fields:
            return
        if isinstance(value, str) and len(value) > limit:
            value, self.truncated = value[:limit], True
        self.fields[key] = value

    def claim(self, generator: str, source: str) -> None:
        if (generator, source) not in self.found:
            self.found.append((generator, source))


def match_generator(text: str) -> str | None:
    """The first known generator named in ``text`` (only its first 64 KB are searched)."""
    head = text[:65536]
    for name, pattern in GENERATORS:
        if pattern.search(head):
            return name
    return None


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _inflate(raw: bytes | memoryview) -> tuple[bytes, bool]:
    """At most MAX_TEXT_BYTES of a zlib stream; (text, cut short)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_TEXT_BYTES)
    except zlib.error:
        return b"", False
    return out, bool(inflater.unconsumed_tail)


def png_chunks(data: bytes) -> Iterator[tuple[bytes, memoryview]]:
    """(type, body) of each PNG chunk before IEND; a truncated last chunk is cut short."""
    if not data.startswith(PNG_SIGNATURE):
        return
    view = memoryview(data)
    pos, seen = len(PNG_SIGNATURE), 0
    while pos + 8 <= len(data) and seen < MAX_CHUNKS:
        seen += 1
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IEND":
            return
        yield kind, view[pos + 8 : min(pos + 8 + length, len(data))]
        pos += 12 + length


def png_text(kind: bytes, body: memoryview) -> Iterator[tuple[str, str, bool]]:
    """(keyword, text, truncated) of a tEXt, zTXt or iTXt chunk, bounded in size."""
    head = bytes(body[:80])
    nul = head.find(b"\0")
    if nul <= 0:
        return
    keyword = head[:nul].decode("latin-1")
    rest = body[nul + 1 :]
    if kind == b"tEXt":
        yield keyword, _decode(bytes(rest[:MAX_TEXT_BYTES])), len(rest) > MAX_TEXT_BYTES
    elif kind == b"zTXt":
        text, cut = _inflate(rest[1:])
        yield keyword, _decode(text), cut
    elif kind == b"iTXt":
        yield from _itxt(keyword, rest)


def _itxt(keyword: str, rest: memoryview) -> Iterator[tuple[str, str, bool]]:
    if len(rest) < 2:
        return
    compressed = rest[0] == 1
    tail = bytes(rest[2 : 2 + 2048])
    lang_end = tail.find(b"\0")
    trans_end = tail.find(b"\0", lang_end + 1) if lang_end >= 0 else -1
    if trans_end < 0:
        return
    text = rest[2 + trans_end + 1 :]
    if compressed:
        raw, cut = _inflate(text)
    else:
        raw, cut = bytes(text[:MAX_TEXT_BYTES]), len(text) > MAX_TEXT_BYTES
    yield keyword, raw.decode("utf-8", errors="replace"), cut


def parse_a1111(text: str, record: _Record, source: str) -> bool:
    """AUTOMATIC1111 ``parameters``: prompt, negative prompt, and the key/value line that
    starts with ``Steps:``. True when it is in that format."""
    lines = text.strip().split("\n")
    if not lines or not lines[-1].lstrip().startswith("Steps:"):
        return False
    params = dict(_A1111_PARAM.findall(lines[-1][:8192]))
    body = "\n".join(lines[:-1])
    prompt, _, negative = body.partition("Negative prompt:")
    record.keep("prompt", prompt.strip(), MAX_PROMPT)
    if negative:
        record.keep("negative_prompt", negative.strip(), MAX_PROMPT)
    for key, value in list(params.items())[:MAX_KEYS]:
        record.keep(key.strip(), value.strip().strip('"'))
    version = params.get("Version", "")
    generator = match_generator(version) or (
        "Forge" if version.startswith("f") else "AUTOMATIC1111"
    )
    record.claim(generator, source)
    return True


def _load_json(text: str, record: _Record, source: str) -> Any:
    if len(text) > MAX_JSON_CHARS:
        record.keep(f"{source}_note", "JSON too large to parse")
        record.truncated = True
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        record.keep(f"{source}_note", "not parseable JSON (malformed or nested too deeply)")
        return None


def parse_comfyui(text: str, record: _Record, source: str) -> None:
    """ComfyUI ``prompt`` ({node id: {class_type, inputs}}) or ``workflow`` ({nodes: [{type}]})
    JSON: node class types and checkpoint/LoRA names, capped."""
    graph = _load_json(text, record, source)
    if isinstance(graph, dict) and isinstance(graph.get("nodes"), list):
        nodes = [n for n in graph["nodes"][:10_000] if isinstance(n, dict)]
        types = [n.get("type") for n in nodes]
        models = [
            w
            for n in nodes
            for w in (n.get("widgets_values") or [])[:4]
            if isinstance(w, str) and w.endswith((".safetensors", ".ckpt", ".pt", ".gguf"))
        ]
    elif isinstance(graph, dict):
        nodes = [n for n in list(graph.values())[:10_000] if isinstance(n, dict)]
        types = [n.get("class_type") for n in nodes]
        models = [
            v
            for n in nodes
            if isinstance(n.get("inputs"), dict)
            for k, v in n["inputs"].items()
            if k in ("ckpt_name", "unet_name", "lora_name", "vae_name") and isinstance(v, str)
        ]
    else:
        return
    classes = sorted({t for t in types if isinstance(t, str)})
    if not classes:
        return
    key = "comfyui_nodes" if "comfyui_nodes" not in record.fields else f"{source}_nodes"
    record.keep(key, [c[:MAX_VALUE] for c in classes[:MAX_NODES]])
    if models:
        record.keep("checkpoints", sorted({m[:MAX_VALUE] for m in models})[:8])
    record.truncated |= len(classes) > MAX_NODES
    record.claim("ComfyUI", source)


def _png_chunk(keyword: str, text: str, record: _Record) -> None:
    source = f"png:{keyword[:40]}"
    low = keyword.lower()
    if low == "parameters":
        if parse_a1111(text, record, source):
            return
        parsed = _load_json(text, record, source) if text.lstrip().startswith("{") else None
        if isinstance(parsed, dict):  # Fooocus writes its parameters as JSON
            version = str(parsed.get("version") or parsed.get("Version") or "")
            record.keep("version", version)
            prompt = parsed.get("prompt") or parsed.get("Prompt") or ""
            record.keep("prompt", str(prompt), MAX_PROMPT)
            record.claim(match_generator(version) or "Stable Diffusion", source)
            return
    elif low in ("prompt", "workflow"):
        parse_comfyui(text, record, source)
        return
    elif low in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "dream"):
        record.keep(low, text, MAX_VALUE)
        record.claim("InvokeAI", source)
        return
    if low in ("software", "source", "comment", "description", "title", "author", "parameters"):
        generator = match_generator(text)
        if generator:
            record.keep(low, text, MAX_PROMPT if low == "description" else MAX_VALUE)
            record.claim(generator, source)


def _user_comment(raw: Any) -> str:
    """EXIF UserComment: an 8-byte character code, then the text (A1111 writes UNICODE as
    UTF-16 big-endian)."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes | bytearray):
        return ""
    code, body = bytes(raw[:8]), bytes(raw[8 : 8 + MAX_TEXT_BYTES])
    if code.startswith(b"UNICODE"):
        # Mostly-Latin text has its zero bytes first in big-endian, second in little-endian.
        big = body[0::2].count(0) >= body[1::2].count(0)
        return body.decode("utf-16-be" if big else "utf-16-le", errors="replace")
    if code.startswith((b"ASCII", b"\0\0\0\0\0\0\0\0", b"JIS")):
        return body.decode("utf-8", errors="replace").rstrip("\0")
    return bytes(raw[:MAX_TEXT_BYTES]).decode("utf-8", errors="replace").rstrip("\0")


def _exif(data: bytes, record: _Record, image_module: Any, png_exif: bytes | None) -> None:
    """EXIF from the PNG eXIf chunk, or from the file through Pillow for other formats (PNG
    files are never handed to Pillow here: its text-chunk reader is not bounded like ours)."""
    try:
        if png_exif is not None:
            exif = image_module.Exif()
            exif.load(png_exif)
        elif data.startswith(PNG_SIGNATURE):
            return
        else:
            with image_module.open(io.BytesIO(data)) as im:
                exif = im.getexif()
        comment = exif.get_ifd(0x8769).get(0x9286)
        values = {"Software": exif.get(0x0131), "ImageDescription": exif.get(0x010E)}
    except Exception:  # any parser failure only means there is no readable EXIF
        return
    for key, value in values.items():
        if isinstance(value, str) and (generator := match_generator(value)):
            record.keep(key, value, MAX_PROMPT if key == "ImageDescription" else MAX_VALUE)
            record.claim(generator, f"exif:{key}")
    text = _user_comment(comment).strip("\0 ")
    if text and not parse_a1111(text, record, "exif:UserComment"):
        generator = match_generator(text)
        if generator:
            record.keep("UserComment", text, MAX_PROMPT)
            record.claim(generator, "exif:UserComment")


def _xmp(data: bytes, record: _Record) -> None:
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        return
    match = _XMP_CREATOR.search(data, start, start + MAX_XMP)
    if match:
        tool = _decode(match.group(1) or match.group(2) or b"")
        generator = match_generator(tool)
        if generator:
            record.keep("CreatorTool", tool)
            record.claim(generator, "xmp:CreatorTool")


class GeneratorMetadataExtractor:
    """Finds generator names and parameters in PNG text, EXIF and XMP."""

    name = NAME
    version = VERSION
    media: tuple[str, ...] = ("image", "animation")
    cost = "cheap"

    def __init__(self, image_module: Any) -> None:
        self._image = image_module

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        return [self._one(item) for item in items]

    def models(self) -> list[ModelInfo]:
        return []

    def _one(self, item: MediaInput) -> Finding:
        start = time.perf_counter()
        try:
            finding = self._read(item)
        except (ValueError, MemoryError, RecursionError, OSError) as exc:
            finding = Finding.failed(NAME, VERSION, f"metadata could not be read: {exc}")
        finding.duration_ms = (time.perf_counter() - start) * 1000
        return finding

    def _read(self, item: MediaInput) -> Finding:
        data = item.data
        if not data and item.path.is_file():
            data = item.path.read_bytes()
        if not data:
            return Finding.not_applicable(NAME, VERSION, "no file bytes to read metadata from")
        record = _Record()
        png_exif: bytes | None = None
        for kind, body in png_chunks(data):
            if kind == b"eXIf" and png_exif is None:
                png_exif = bytes(body[:MAX_TEXT_BYTES])
            for keyword, text, cut in png_text(kind, body):
                record.truncated |= cut
                _png_chunk(keyword, text, record)
        _exif(data, record, self._image, png_exif)
        _xmp(data, record)
        value: dict[str, Any] = {
            "generator": record.found[0][0] if record.found else None,
            "source": record.found[0][1] if record.found else None,
            "fields": record.fields,
        }
        if len(record.found) > 1:
            value["also"] = [{"generator": g, "source": s} for g, s in record.found[1:5]]
        if record.truncated:
            value["truncated"] = True
        if not record.found:
            value["note"] = ABSENT_NOTE
        return Finding(NAME, "ok", VERSION, value, present=bool(record.found))


def load(settings: Settings) -> GeneratorMetadataExtractor:
    """Entry point ``generator_metadata``."""
    del settings
    try:
        from PIL import Image
    except ImportError as exc:
        raise ExtractorUnavailable("generator_metadata: install Pillow") from exc
    return GeneratorMetadataExtractor(Image)
