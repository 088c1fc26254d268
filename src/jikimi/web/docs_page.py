"""``/docs``: the OpenAPI document rendered as one self-contained HTML page.

FastAPI's own pages load Swagger UI or ReDoc from a CDN; Jikimi runs offline, so the page is
rendered here from ``/openapi.json`` with no script and no outside resource.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:1rem 0;padding:.5rem 1rem;border-left:4px solid #888;background:#f7f7f7}
.m{font-weight:bold;display:inline-block;min-width:4rem}
code,pre{font:13px ui-monospace,monospace}pre{white-space:pre-wrap;background:#fff;padding:.5rem}
.public{color:#a60}
"""


def _schema_text(schema: Any) -> str:
    return escape(json.dumps(schema, indent=1, ensure_ascii=False)[:4000])


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    parts = [f'<div class="op"><span class="m">{method.upper()}</span> <code>{escape(path)}</code>']
    if op.get("summary"):
        parts.append(f" — {escape(op['summary'])}")
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    params = op.get("parameters") or []
    if params:
        rows = "".join(
            f"<li><code>{escape(p['name'])}</code> ({escape(p.get('in', ''))}"
            f"{', required' if p.get('required') else ''})</li>"
            for p in params
        )
        parts.append(f"<p>Parameters:</p><ul>{rows}</ul>")
    body = (op.get("requestBody") or {}).get("content") or {}
    for content_type, spec in body.items():
        parts.append(
            f"<details><summary>Body: <code>{escape(content_type)}</code></summary>"
            f"<pre>{_schema_text(spec.get('schema', {}))}</pre></details>"
        )
    parts.append("</div>")
    return "".join(parts)


def render(openapi: dict[str, Any]) -> str:
    info = openapi.get("info", {})
    sections: dict[str, list[str]] = {}
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            tag = (op.get("tags") or ["other"])[0]
            sections.setdefault(tag, []).append(_operation(path, method, op))
    body = "".join(f"<h2>{escape(tag)}</h2>{''.join(ops)}" for tag, ops in sorted(sections.items()))
    schemas = openapi.get("components", {}).get("schemas", {})
    models = "".join(
        f"<details><summary><code>{escape(name)}</code></summary>"
        f"<pre>{_schema_text(schema)}</pre></details>"
        for name, schema in sorted(schemas.items())
    )
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{escape(info.get('title', 'API'))} API</title><style>{STYLE}</style>"
        f"<h1>{escape(info.get('title', 'API'))} {escape(info.get('version', ''))}</h1>"
        f"<p>{escape(info.get('description', ''))}</p>"
        f'<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a>.</p>'
        f"{body}<h2>Schemas</h2>{models}</html>"
    )


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(render(request.app.openapi()))
