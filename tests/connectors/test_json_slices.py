"""The streaming JSON slicer: exact bytes of the watched values, whatever the chunk size,
and damage (truncation, hostile nesting, oversized values) as errors or skips, never a crash."""

from __future__ import annotations

import io
import json
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jikimi.connectors import json_slices
from jikimi.connectors.json_slices import (
    ANY,
    JsonSliceError,
    Opened,
    Scalar,
    Skipped,
    Slice,
    scan,
)

MESSAGES = {("messages", ANY)}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def events(data: bytes, chunk: int, **watch: Any) -> list[Any]:
    watch.setdefault("slices", MESSAGES)
    return list(scan(io.BytesIO(data), chunk_bytes=chunk, **watch))


def slices_of(found: list[Any]) -> list[Slice]:
    return [e for e in found if isinstance(e, Slice)]


@settings(max_examples=150, deadline=None)
@given(
    elements=st.lists(json_values, max_size=6),
    before=st.dictionaries(st.text(max_size=6).filter(lambda k: k != "messages"), json_values),
    indent=st.sampled_from([None, 0, 1, 3]),
    ascii_only=st.booleans(),
    chunk=st.integers(min_value=1, max_value=40),
)
def test_slices_are_the_exact_bytes_of_each_element_for_any_chunk_size(
    elements: list[Any], before: dict[str, Any], indent: int | None, ascii_only: bool, chunk: int
) -> None:
    doc = {**before, "messages": elements, "after": {"messages": [1]}}
    data = json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode("utf-8")
    found = slices_of(events(data, chunk))
    assert [json.loads(s.data) for s in found] == elements
    for s in found:
        assert data[s.offset : s.offset + len(s.data)] == s.data
    assert found == slices_of(events(data, len(data) + 1))
    assert found == slices_of(list(scan(data, slices=MESSAGES)))


TELEGRAM_LIKE = json.dumps(
    {
        "name": 'Club "Garden" \\ 정원',
        "id": 4242,
        "chats": {"list": [{"id": 1, "messages": [{"text": '안녕 😀 \\"x\\"'}]}]},
        "messages": [
            {"id": 1, "text": ['a "quoted" \\ path ', {"type": "bold", "text": "굵게 🌱"}]},
            {"id": 2, "text": '\\\\server\\share "end"', "nested": [[{"deep": [[]]}]]},
        ],
    },
    indent=1,
    ensure_ascii=False,
).encode("utf-8")


@pytest.mark.parametrize("chunk", [1, 2, 7, 4096])
def test_tiny_chunks_split_strings_escapes_and_characters(chunk: int) -> None:
    found = events(
        TELEGRAM_LIKE,
        chunk,
        slices={("messages", ANY), ("chats", "list", ANY, "messages", ANY)},
        scalars={("name",), ("id",), ("chats", "list", ANY, "id")},
        opened={(), ("chats", "list", ANY), ("messages",)},
    )
    assert [type(e).__name__ for e in found] == [
        "Opened", "Scalar", "Scalar", "Opened", "Scalar", "Slice", "Opened", "Slice", "Slice",
    ]  # fmt: skip
    assert found[1] == Scalar(("name",), 'Club "Garden" \\ 정원')
    assert found[4] == Scalar(("chats", "list", ANY, "id"), 1)
    assert found[3] == Opened(("chats", "list", ANY), "object")
    assert json.loads(found[5].data) == {"text": '안녕 😀 \\"x\\"'}
    assert [json.loads(s.data)["id"] for s in found[7:]] == [1, 2]
    assert found == events(TELEGRAM_LIKE, 1 << 20, **_watch_of(found))


def _watch_of(found: list[Any]) -> dict[str, Any]:
    return {
        "slices": {e.path for e in found if isinstance(e, Slice)},
        "scalars": {e.path for e in found if isinstance(e, Scalar)},
        "opened": {e.path for e in found if isinstance(e, Opened)},
    }


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_every_cut_of_the_document_is_an_error_after_the_slices_before_it(chunk: int) -> None:
    whole = slices_of(events(TELEGRAM_LIKE, chunk))
    end = len(TELEGRAM_LIKE.rstrip())
    for cut in range(end):
        seen: list[Slice] = []
        with pytest.raises(JsonSliceError, match="at byte"):
            for event in scan(io.BytesIO(TELEGRAM_LIKE[:cut]), slices=MESSAGES, chunk_bytes=chunk):
                if isinstance(event, Slice):
                    seen.append(event)
        assert seen == whole[: len(seen)]
        assert all(s.offset + len(s.data) <= cut for s in seen)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"messages": [{"id": 1} {"id": 2}]}', "expected ',' or ']'"),
        (b'{"name" "x", "messages": []}', "expected ':'"),
        (b'{"name": "x",, "messages": []}', "expected a key"),
        (b'{"name": tru, "messages": []}', "not a JSON value"),
        (b'{"messages": []} []', "more data after the document"),
        (b'{"messages": [,]}', "expected a value"),
        (b"", "the document ends"),
    ],
)
def test_malformed_structure_is_an_error_naming_the_byte(data: bytes, message: str) -> None:
    with pytest.raises(JsonSliceError, match=message) as caught:
        events(data, 3)
    assert 0 <= caught.value.offset <= len(data)


def test_a_hostile_deep_element_is_skipped_without_recursion() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    data = b'{"messages": [{"id": 1}, ' + deep + b', {"id": 2}], "other": ' + deep + b"}"
    found = events(data, 4096)
    assert [type(e) for e in found] == [Slice, Skipped, Slice]
    skipped = found[1]
    assert skipped.reason == f"nested deeper than {json_slices.MAX_DEPTH} levels"
    assert (skipped.offset, skipped.size) == (data.index(b"[["), len(deep))
    assert [json.loads(found[0].data), json.loads(found[2].data)] == [{"id": 1}, {"id": 2}]


def test_depth_within_the_bound_is_kept_beyond_the_fast_path() -> None:
    nested: Any = "bottom"
    for _ in range(json_slices.MAX_DEPTH - 1):
        nested = {"n": [nested]} if isinstance(nested, str) else [nested]
    data = json.dumps({"messages": [nested]}).encode()
    (found,) = events(data, 5)
    assert isinstance(found, Slice) and json.loads(found.data) == nested


def test_an_element_over_the_bound_is_skipped_in_bounded_memory() -> None:
    limit, chunk = 64 * 1024, 16 * 1024
    big = b'{"text": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    data = b'{"messages": [' + big + b', {"id": 2}], "tail": "' + b"y" * 1000 + b'"}'
    stream = io.BytesIO(data)
    tracemalloc.start()
    try:
        found = list(scan(stream, slices=MESSAGES, chunk_bytes=chunk, max_slice_bytes=limit))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(e) for e in found] == [Skipped, Slice]
    assert found[0].size == len(big) and "longer than 65536 bytes" in found[0].reason
    assert json.loads(found[1].data) == {"id": 2}
    assert peak < 1024 * 1024, f"peak {peak} bytes"


def test_a_scalar_element_over_the_bound_is_skipped() -> None:
    data = b'{"messages": ["' + b"z" * 5000 + b'", 7]}'
    found = events(data, 64, max_slice_bytes=1000)
    assert [type(e) for e in found] == [Skipped, Slice] and found[1].data == b"7"


def test_a_long_key_off_the_watched_path_is_an_error_not_unbounded() -> None:
    data = b'{"' + b"k" * 5000 + b'": 1, "messages": []}'
    with pytest.raises(JsonSliceError, match="longer than 1000 bytes"):
        events(data, 64, max_slice_bytes=1000)


def test_values_off_the_watched_paths_are_skipped_whole() -> None:
    data = json.dumps(
        {"contacts": {"list": [{"messages": ["not these"]}]}, "messages": ["these"]}
    ).encode()
    assert [s.data for s in slices_of(events(data, 3))] == [b'"these"']


def test_public_api_matches_all() -> None:
    public = {name for name in vars(json_slices) if not name.startswith("_")}
    assert set(json_slices.__all__) <= public
    assert {"scan", "Slice", "Skipped", "Scalar", "Opened", "JsonSliceError"} <= set(
        json_slices.__all__
    )


def test_a_bound_below_the_fast_path_depth_is_still_enforced() -> None:
    data = b'{"messages": [[[[1]]], [[2]]]}'
    found = events(data, 64, max_depth=2)
    assert [type(e) for e in found] == [Skipped, Slice]
    assert found[0].reason == "nested deeper than 2 levels"
