from __future__ import annotations

import io
import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from jikimi.banks.formats import (
    MAX_LINE_CHARS,
    ParsedLine,
    format_csv,
    format_txt,
    iter_lines,
    parse_csv,
    parse_txt,
)
from jikimi.errors import ImportFormatError

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
PDQ = "ab" * 32


def _split(items: list[ParsedLine | ImportFormatError]) -> tuple[list[ParsedLine], list[int]]:
    good = [i for i in items if isinstance(i, ParsedLine)]
    bad = [i.line for i in items if isinstance(i, ImportFormatError)]
    return good, bad


def test_txt_skips_blanks_and_comments_and_numbers_bad_lines() -> None:
    text = f"# a list\n\nmd5 {MD5}\npdq {PDQ.upper()}\nphash {MD5}\nmd5 xyz\nmd5\n  \n"
    good, bad = _split(list(parse_txt(text.splitlines())))
    assert [(g.line, g.signal_type, g.value) for g in good] == [(3, "md5", MD5), (4, "pdq", PDQ)]
    assert bad == [5, 6, 7]


def test_txt_reasons_say_what_is_wrong() -> None:
    items = list(parse_txt([f"phash {MD5}", "md5 xyz"]))
    assert all(isinstance(i, ImportFormatError) for i in items)
    assert "unknown signal type" in str(items[0])
    assert "line 2" in str(items[1]) and "32 hex" in str(items[1])


def test_csv_with_note_and_labels() -> None:
    lines = [
        "signal_type,value,note,labels",
        f'md5,{MD5},"reported, twice",ai;nudity',
        "pdq,nothex,,",
        f"md5,{MD5}",
    ]
    good, bad = _split(list(parse_csv(lines)))
    assert good == [ParsedLine(2, "md5", MD5, "reported, twice", ("ai", "nudity"))]
    assert bad == [3, 4]


def test_csv_needs_its_header() -> None:
    items = list(parse_csv([f"md5,{MD5}", f"md5,{MD5}"]))
    assert len(items) == 1
    assert isinstance(items[0], ImportFormatError)
    assert items[0].line == 1 and "header" in str(items[0])


def test_overlong_lines_are_rejected_in_bounded_memory() -> None:
    hostile = b"md5 " + b"a" * (10 * 1024 * 1024) + b"\n" + f"md5 {MD5}\n".encode()
    tracemalloc.start()
    try:
        items = list(parse_txt(iter_lines(io.BytesIO(hostile))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    good, bad = _split(items)
    assert bad == [1]
    assert "longer than" in str(items[0])
    assert [g.value for g in good] == [MD5]
    assert peak < 3 * MAX_LINE_CHARS + (1 << 20)


def test_iter_lines_handles_crlf_and_missing_final_newline() -> None:
    stream = io.BytesIO(b"a\r\nb\n\nc")
    assert list(iter_lines(stream, max_chars=10)) == ["a", "b", "", "c"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["md5", "pdq"]),
            st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
            st.text(max_size=20),
            st.lists(st.text(alphabet="abcxyz-_", min_size=1, max_size=5), max_size=3),
        ),
        max_size=20,
    )
)
def test_export_formats_round_trip(
    rows: list[tuple[str, str, str, list[str]]],
) -> None:
    rows = [(t, v[:32] if t == "md5" else v, n, labels) for t, v, n, labels in rows]
    txt = list(parse_txt(format_txt((t, v) for t, v, _, _ in rows)))
    assert [(p.signal_type, p.value) for p in txt] == [(t, v) for t, v, _, _ in rows]
    parsed = list(parse_csv(format_csv(rows)))
    assert all(isinstance(p, ParsedLine) for p in parsed)
    assert [(p.signal_type, p.value, p.labels) for p in parsed] == [
        (t, v, tuple(labels)) for t, v, _, labels in rows
    ]
