"""The package's machine-readable manifest in CASE/UCO JSON-LD.

Follows the Cyber-investigation Analysis Standard Expression (https://caseontology.org) over the
Unified Cyber Ontology, 1.x namespaces: every file in ``data/`` is a ``uco-observable:File``
with a ``uco-observable:FileFacet`` (name, size) and a ``uco-observable:ContentDataFacet``
whose ``uco-observable:hash`` holds ``uco-types:Hash`` values (``uco-types:hashMethod`` from
``uco-vocabulary:HashNameVocab``, ``uco-types:hashValue`` as ``xsd:hexBinary``); the files are
the objects of a ``case-investigation:ProvenanceRecord``; what happened (receipt of items,
decisions, the export itself) are ``case-investigation:InvestigativeAction`` nodes (a
``uco-action:Action``) with ``uco-action:performer``, ``uco-action:startTime`` /
``uco-action:endTime`` and ``uco-action:object`` / ``uco-action:result``; performers are
``uco-identity:Identity`` and the operator a ``uco-identity:Organization``.

Jikimi's own facts that have no CASE term (what was withheld and why, the report's role) sit
under the ``jikimi:`` prefix, never under a UCO one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CONTEXT = {
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "uco-vocabulary": "https://ontology.unifiedcyberontology.org/uco/vocabulary/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "jikimi": "urn:jikimi:evidence:",
    "kb": "urn:jikimi:kb:",
}
_NAMESPACE = uuid.UUID("6c1f6d2a-3b55-4e8e-9a57-6b9a1f0f2f3e")


@dataclass(frozen=True, slots=True)
class PackageFile:
    """One file in ``data/``: its path in the bag, size and hashes (SHA-256 always)."""

    path: str
    size: int
    sha256: str
    role: str  # media, item-raw, item, case, custody, anchors, report-html, report-pdf
    md5: str | None = None
    sha1: str | None = None


@dataclass(frozen=True, slots=True)
class Performed:
    """One action for the manifest: what, by whom, when, on which files."""

    name: str
    performer: str
    start: datetime
    end: datetime | None = None
    objects: tuple[str, ...] = ()  # package paths
    description: str | None = None


def node_id(kind: str, key: str) -> str:
    """A stable ``kb:`` identifier: the same package contents give the same ids."""
    return f"kb:{kind}-{uuid.uuid5(_NAMESPACE, f'{kind}:{key}')}"


def _time(at: datetime) -> dict[str, str]:
    return {"@type": "xsd:dateTime", "@value": at.isoformat()}


def _hash(method: str, value: str) -> dict[str, Any]:
    return {
        "@type": "uco-types:Hash",
        "uco-types:hashMethod": {"@type": "uco-vocabulary:HashNameVocab", "@value": method},
        "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": value},
    }


def file_node(f: PackageFile) -> dict[str, Any]:
    hashes = [_hash("SHA256", f.sha256)]
    if f.md5:
        hashes.append(_hash("MD5", f.md5))
    if f.sha1:
        hashes.append(_hash("SHA1", f.sha1))
    return {
        "@id": node_id("File", f.path),
        "@type": "uco-observable:File",
        "uco-core:name": f.path,
        "jikimi:role": f.role,
        "uco-core:hasFacet": [
            {
                "@id": node_id("FileFacet", f.path),
                "@type": "uco-observable:FileFacet",
                "uco-observable:fileName": f.path.rsplit("/", 1)[-1],
                "uco-observable:filePath": f.path,
                "uco-observable:sizeInBytes": {"@type": "xsd:integer", "@value": str(f.size)},
            },
            {
                "@id": node_id("ContentDataFacet", f.path),
                "@type": "uco-observable:ContentDataFacet",
                "uco-observable:sizeInBytes": {"@type": "xsd:integer", "@value": str(f.size)},
                "uco-observable:hash": hashes,
            },
        ],
    }


def _identity(name: str) -> dict[str, Any]:
    return {
        "@id": node_id("Identity", name),
        "@type": "uco-identity:Identity",
        "uco-core:name": name,
    }


def _action(a: Performed, index: int) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": node_id("InvestigativeAction", f"{index}:{a.name}:{a.start.isoformat()}"),
        "@type": "case-investigation:InvestigativeAction",
        "uco-core:name": a.name,
        "uco-action:performer": {"@id": node_id("Identity", a.performer)},
        "uco-action:startTime": _time(a.start),
    }
    if a.end is not None:
        node["uco-action:endTime"] = _time(a.end)
    if a.objects:
        node["uco-action:object"] = [{"@id": node_id("File", p)} for p in a.objects]
    if a.description:
        node["uco-core:description"] = a.description
    return node


def build_manifest(
    *,
    case_id: int,
    operator: str,
    tool: str,
    files: list[PackageFile],
    actions: list[Performed],
    exported_by: str,
    exported_at: datetime,
    withheld: list[dict[str, str]],
    notes: list[str],
) -> dict[str, Any]:
    """The manifest: every file with its hashes, the provenance record over them, the
    actions with performers and times, the export itself, and what was withheld and why."""
    report = next(f for f in files if f.role == "report-html")
    organization = {
        "@id": node_id("Organization", operator),
        "@type": "uco-identity:Organization",
        "uco-core:name": operator,
    }
    tool_node = {"@id": node_id("Tool", tool), "@type": "uco-tool:Tool", "uco-core:name": tool}
    performers = sorted({a.performer for a in actions} | {exported_by})
    provenance = {
        "@id": node_id("ProvenanceRecord", f"case:{case_id}"),
        "@type": "case-investigation:ProvenanceRecord",
        "case-investigation:exhibitNumber": f"case-{case_id}",
        "uco-core:description": f"Evidence package of case {case_id}, exported by {tool}",
        "uco-core:object": [{"@id": node_id("File", f.path)} for f in files],
    }
    export = Performed(
        name="evidence.exported",
        performer=exported_by,
        start=exported_at,
        end=exported_at,
        objects=tuple(f.path for f in files),
        description=f"Case {case_id} exported as a BagIt package by {tool}",
    )
    graph: list[dict[str, Any]] = [
        {
            "@id": node_id("Investigation", f"case:{case_id}"),
            "@type": "case-investigation:Investigation",
            "uco-core:name": f"case {case_id}",
            "uco-core:object": [{"@id": provenance["@id"]}],
        },
        organization,
        tool_node,
        *(_identity(p) for p in performers),
        provenance,
        *(file_node(f) for f in files),
        *(_action(a, i) for i, a in enumerate([*actions, export])),
    ]
    return {
        "@context": CONTEXT,
        "@graph": graph,
        "jikimi:case": case_id,
        "jikimi:report": {"path": report.path, "sha256": report.sha256},
        "jikimi:files": {f.path: f.sha256 for f in files},
        "jikimi:withheld": withheld,
        "jikimi:notes": notes,
    }
