"""The package's human-readable report, as HTML and as PDF, from one list of sections.

Both renderings say the same thing: the case, a timeline in UTC (with the platform's own local
time beside it where the item recorded one), the items with their locators, matches, decisions
with their reasons, a custody summary (how many events custody anchors prove), and what the
package holds and what it withholds, and why. The PDF embeds NanumGothic (Debian's
``fonts-nanum``) so Korean text prints.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment

from jikimi.errors import FontNotFound

if TYPE_CHECKING:
    from fpdf import FPDF

# Where Debian's fonts-nanum puts its fonts, and where fonts are put by hand.
FONT_FILES = (
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf"),
    Path("/usr/local/share/fonts/NanumGothic.ttf"),
    Path.home() / ".local/share/fonts/NanumGothic.ttf",
)


@dataclass(slots=True)
class Section:
    title: str
    rows: list[tuple[str, ...]] = field(default_factory=list)
    header: tuple[str, ...] = ()
    note: str | None = None


@dataclass(slots=True)
class ReportDoc:
    title: str
    subtitle: str
    sections: list[Section]


_HTML = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ doc.title }}</title>
<style>
body{font-family:"NanumGothic",sans-serif;margin:2em;font-size:14px}
table{border-collapse:collapse;margin-bottom:1em}
td,th{border:1px solid #999;padding:.2em .4em;vertical-align:top;text-align:left}
td{word-break:break-all}
</style></head><body>
<h1>{{ doc.title }}</h1>
<p>{{ doc.subtitle }}</p>
{% for s in doc.sections %}<h2>{{ s.title }}</h2>
{% if s.note %}<p>{{ s.note }}</p>{% endif %}
{% if s.rows %}<table>
{% if s.header %}<tr>{% for h in s.header %}<th>{{ h }}</th>{% endfor %}</tr>{% endif %}
{% for row in s.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>{% endif %}
{% endfor %}</body></html>
"""
)


def render_html(doc: ReportDoc) -> bytes:
    return _HTML.render(doc=doc).encode("utf-8")


def find_font(configured: Path | None = None) -> Path:
    """The TrueType font with Hangul the PDFs embed (the evidence report, the KCSC package):
    ``configured`` (the korean_font setting), else NanumGothic from the usual folders or
    fontconfig; :class:`FontNotFound` naming what to install or set."""
    if configured is not None:
        if configured.is_file():
            return configured
        raise FontNotFound(f"korean_font {configured} is not a file; point it at a .ttf font")
    for path in FONT_FILES:
        if path.is_file():
            return path
    fc_match = shutil.which("fc-match")
    if fc_match:
        found = subprocess.run(
            [fc_match, "--format=%{file}", "NanumGothic"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
        if found.endswith("NanumGothic.ttf") and Path(found).is_file():
            return Path(found)
    raise FontNotFound(
        "no TrueType font with Hangul found for the PDF: install Debian's fonts-nanum "
        "(apt-get install fonts-nanum, as scripts/setup.sh does) or set korean_font to a .ttf "
        "file"
    )


def new_pdf() -> FPDF:
    """An empty A4 document (also the KCSC package's). Subsetting a Korean font, fontTools
    warns on stderr that it drops the font's hinting tables (TSI0..TSI5), on every PDF:
    harmless, and noise in the CLI's output, so it is told to keep quiet."""
    from fpdf import FPDF

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    return FPDF(format="A4")


def render_pdf(doc: ReportDoc, *, font: Path | None = None) -> bytes:
    pdf = new_pdf()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("Nanum", "", str(font or find_font()))
    pdf.add_page()
    pdf.set_font("Nanum", size=15)
    pdf.multi_cell(0, 8, doc.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Nanum", size=9)
    pdf.multi_cell(0, 5, doc.subtitle, new_x="LMARGIN", new_y="NEXT")
    for section in doc.sections:
        pdf.ln(3)
        pdf.set_font("Nanum", size=12)
        pdf.multi_cell(0, 7, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Nanum", size=8)
        if section.note:
            pdf.multi_cell(0, 4.5, section.note, new_x="LMARGIN", new_y="NEXT")
        for row in section.rows:
            cells = zip(section.header, row, strict=True) if section.header else None
            text = " | ".join(f"{h}: {c}" for h, c in cells) if cells else " | ".join(row)
            pdf.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
    return bytes(pdf.output())
