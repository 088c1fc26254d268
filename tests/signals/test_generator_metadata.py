"""Generator metadata: A1111 parameters, ComfyUI graphs, EXIF and XMP names; hostile files stay
bounded."""

from __future__ import annotations

import io
import json
import struct
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from tests.conformance.extractor import MediaExtractorConformance

from jikimi.demo.synthetic import photo_like
from jikimi.model import MediaInfo
from jikimi.settings import Settings
from jikimi.signals.extractor import Finding, MediaInput
from jikimi.signals.generator_metadata import (
    ABSENT_NOTE,
    MAX_PROMPT,
    GeneratorMetadataExtractor,
    load,
    match_generator,
)

A1111 = (
    "a lighthouse on a cliff at dusk, oil painting\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, "
    'Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Lora hashes: "a: 1, b: 2", '
    "Version: v1.6.0"
)
COMFY_PROMPT = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_base.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["4", 1]}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 5, "model": ["4", 0]}},
}
COMFY_WORKFLOW = {
    "nodes": [
        {"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["sdxl_base.safetensors"]},
        {"id": 3, "type": "KSampler", "widgets_values": [5, "fixed", 20]},
    ],
    "links": [],
}


def _png(text: dict[str, str] | None = None, ztxt: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    for k, v in (ztxt or {}).items():
        info.add_text(k, v, zip=True)
    buf = io.BytesIO()
    photo_like(64, 48).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _jpeg(software: str | None = None, user_comment: bytes | None = None) -> bytes:
    exif = Image.Exif()
    if software:
        exif[0x0131] = software
    if user_comment is not None:
        exif.get_ifd(0x8769)[0x9286] = user_comment
    buf = io.BytesIO()
    photo_like(64, 48).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _input(data: bytes, mime: str = "image/png") -> MediaInput:
    info = MediaInfo(media_type="image", mime=mime, width=64, height=48)
    return MediaInput(path=Path("x"), data=data, info=info, rgb=np.zeros((48, 64, 3), np.uint8))


def _one(data: bytes, mime: str = "image/png") -> Finding:
    (f,) = load(Settings()).extract([_input(data, mime)])
    assert f.status == "ok", f.error
    json.dumps(f.as_dict())
    return f


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _with_chunk(png: bytes, kind: bytes, body: bytes) -> bytes:
    """``png`` with one more chunk inserted right after IHDR."""
    ihdr_end = 8 + 12 + 13
    return png[:ihdr_end] + _chunk(kind, body) + png[ihdr_end:]


def _absent(f: Finding) -> None:
    assert f.status == "ok" and f.present is False
    assert f.value["generator"] is None and f.value["note"] == ABSENT_NOTE


class TestGeneratorMetadataConformance(MediaExtractorConformance):
    def make(self) -> GeneratorMetadataExtractor:
        return load(Settings())

    def known(self) -> list[tuple[MediaInput, Any]]:
        def a1111(f: Finding) -> None:
            assert f.present is True and f.value["generator"] == "AUTOMATIC1111"

        return [
            (_input(_png({"parameters": A1111})), a1111),
            (_input(_png()), _absent),
            (_input(_jpeg(), "image/jpeg"), _absent),
        ]


def test_a1111_parameters_are_parsed() -> None:
    f = _one(_png({"parameters": A1111}))
    assert f.present is True
    assert f.value["generator"] == "AUTOMATIC1111"
    assert f.value["source"] == "png:parameters"
    fields = f.value["fields"]
    assert fields["prompt"] == "a lighthouse on a cliff at dusk, oil painting"
    assert fields["negative_prompt"] == "blurry, lowres"
    assert fields["Steps"] == "28"
    assert fields["Sampler"] == "DPM++ 2M Karras"
    assert fields["Model"] == "v1-5-pruned-emaonly"
    assert fields["Lora hashes"] == "a: 1, b: 2"
    assert "truncated" not in f.value


def test_a1111_in_compressed_chunk_and_forge_version() -> None:
    forge = A1111.replace("Version: v1.6.0", "Version: f0.0.17v1.8.0rc")
    f = _one(_png(ztxt={"parameters": forge}))
    assert f.value["generator"] == "Forge"


def test_comfyui_prompt_and_workflow() -> None:
    f = _one(_png({"prompt": json.dumps(COMFY_PROMPT), "workflow": json.dumps(COMFY_WORKFLOW)}))
    assert f.present is True
    assert f.value["generator"] == "ComfyUI"
    assert f.value["source"] == "png:prompt"
    assert "CheckpointLoaderSimple" in f.value["fields"]["comfyui_nodes"]
    assert f.value["fields"]["checkpoints"] == ["sdxl_base.safetensors"]
    assert {"generator": "ComfyUI", "source": "png:workflow"} in f.value["also"]


def test_comfyui_workflow_alone() -> None:
    f = _one(_png({"workflow": json.dumps(COMFY_WORKFLOW)}))
    assert f.value["generator"] == "ComfyUI" and f.value["source"] == "png:workflow"
    assert f.value["fields"]["checkpoints"] == ["sdxl_base.safetensors"]


@pytest.mark.parametrize(
    ("software", "generator"),
    [
        ("NovelAI", "NovelAI"),
        ("Adobe Firefly", "Adobe Firefly"),
        ("Midjourney v6", "Midjourney"),
        ("DALL-E 3", "DALL-E"),
        ("FaceFusion 2.6", "FaceFusion"),
        ("roop 1.3", "roop"),
        ("DeepFaceLab", "DeepFaceLab"),
        ("InvokeAI 4.2", "InvokeAI"),
    ],
)
def test_exif_software_names_a_generator(software: str, generator: str) -> None:
    f = _one(_jpeg(software=software), "image/jpeg")
    assert f.present is True
    assert f.value["generator"] == generator
    assert f.value["source"] == "exif:Software"


def test_ordinary_software_is_not_a_generator() -> None:
    for software in ("Adobe Photoshop 25.0", "GIMP 2.10", "Android", "Snapseed", "darktable"):
        assert _one(_jpeg(software=software), "image/jpeg").present is False
    assert match_generator("Canon EOS R5 Firmware 1.8") is None
    assert match_generator("troop photo, Fireflies") is None
    assert match_generator("DALL·E 3") == "DALL-E"  # EXIF ASCII cannot hold the dot; XMP can


def test_a1111_parameters_in_exif_user_comment() -> None:
    comment = b"UNICODE\0" + A1111.encode("utf-16-be")
    f = _one(_jpeg(user_comment=comment), "image/jpeg")
    assert f.value["generator"] == "AUTOMATIC1111"
    assert f.value["source"] == "exif:UserComment"
    assert f.value["fields"]["Steps"] == "28"


def test_png_novelai_software_chunk() -> None:
    f = _one(_png({"Software": "NovelAI", "Source": "Stable Diffusion XL C1E1DE52"}))
    assert f.value["generator"] == "NovelAI" and f.value["source"] == "png:Software"


def test_xmp_creator_tool() -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'xmp:CreatorTool="Adobe Firefly"/></rdf:RDF></x:xmpmeta>'
    )
    png = _with_chunk(_png(), b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp)
    f = _one(png)
    assert f.value["generator"] == "Adobe Firefly" and f.value["source"] == "xmp:CreatorTool"


def test_clean_files_are_absent() -> None:
    _absent(_one(_png()))
    _absent(_one(_jpeg(software="GIMP 2.10"), "image/jpeg"))
    _absent(_one(_png({"Title": "holiday", "Author": "me"})))


def test_long_prompt_is_truncated_and_says_so() -> None:
    long = "word " * 20_000 + "\nSteps: 20, Sampler: Euler"
    f = _one(_png({"parameters": long}))
    assert f.value["truncated"] is True
    assert len(f.value["fields"]["prompt"]) == MAX_PROMPT
    assert len(json.dumps(f.value)) < 8 * 1024


def test_hostile_50mb_text_chunk_is_bounded() -> None:
    huge = b"parameters\0" + b"A" * (50 * 1024 * 1024) + b"\nSteps: 1"
    png = _with_chunk(_png(), b"tEXt", huge)
    tracemalloc.start()
    start = time.perf_counter()
    f = _one(png)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 16 * 1024 * 1024  # the chunk is read to 2 MB, never copied whole
    assert f.value.get("truncated") is True
    assert len(json.dumps(f.value)) < 8 * 1024


def test_zip_bomb_text_chunk_is_bounded() -> None:
    bomb = zlib.compress(b"A" * (200 * 1024 * 1024), 9)
    png = _with_chunk(_png(), b"zTXt", b"prompt\0\0" + bomb)
    tracemalloc.start()
    f = _one(png)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 32 * 1024 * 1024
    assert f.value.get("truncated") is True and f.present is False


def test_deeply_nested_json_does_not_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    f = _one(_png({"prompt": deep, "workflow": '{"nodes": ' + deep + "}"}))
    assert f.present is False
    assert "nested too deeply" in f.value["fields"]["png:prompt_note"]


def test_invalid_utf8_and_broken_chunks_do_not_crash() -> None:
    png = _png()
    cases = [
        _with_chunk(png, b"iTXt", b"parameters\0\0\0\0\0\xff\xfe\xfd bad utf-8"),
        _with_chunk(png, b"tEXt", b"parameters\0\xff\xfe\nSteps: 3, Sampler: \xe9"),
        _with_chunk(png, b"zTXt", b"prompt\0\0not zlib at all"),
        _with_chunk(png, b"iTXt", b"x"),
        _with_chunk(png, b"tEXt", b"\0no keyword"),
        png[:40],
        b"\x89PNG\r\n\x1a\n" + b"\xff" * 64,
        b"\xff\xd8\xff\xe1\x00\x10Exif\0\0garbage",
    ]
    findings = load(Settings()).extract([_input(c) for c in cases])
    assert [f.status for f in findings] == ["ok"] * len(cases)
    assert findings[1].value["generator"] == "AUTOMATIC1111"
