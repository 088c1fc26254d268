"""CyberTipline documents: element names, order and required fields, and every problem listed."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from jikimi.reports.cybertipline import (
    SCHEMA,
    ChatRoom,
    FileFacts,
    ReportedPerson,
    Reporter,
    ReportFacts,
    build_file_details_xml,
    build_report_xml,
    check_file_details,
    check_report,
)

MD5 = "0" * 31 + "1"
SHA1 = "a" * 40
FILE = FileFacts(
    sha256="f" * 64,
    md5=MD5,
    sha1=SHA1,
    original_name="photo.jpg",
    location="https://t.me/somechannel/10",
    uploaded_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    viewed_by_esp=True,
    publicly_available=True,
    generative_ai=("C2PA digital source type trainedAlgorithmicMedia",),
    held=True,
)


def facts(email: str | None = "reports@example.org") -> ReportFacts:
    return ReportFacts(
        case_id=7,
        incident_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        incident_at_description="earliest message",
        reporter=Reporter(email),
        rooms=(ChatRoom("Telegram", "Some channel", "message 10: caption", "chat id -100"),),
        person=ReportedPerson("user123", "Telegram", "uploader_one", ("Uploader",)),
        files=(FILE,),
        platform="Telegram",
        additional_info="Jikimi case 7",
    )


def children(document: bytes, path: str = ".") -> list[str]:
    node = ET.fromstring(document).find(path)
    assert node is not None
    return [c.tag for c in node]


def test_a_report_is_valid_and_in_the_documented_order() -> None:
    document = build_report_xml(facts())
    assert check_report(document) == []
    assert children(document) == [
        "incidentSummary",
        "internetDetails",
        "reporter",
        "personOrUserReported",
        "additionalInfo",
    ]
    assert children(document, "incidentSummary") == [
        "incidentType",
        "platform",
        "incidentDateTime",
        "incidentDateTimeDescription",
    ]
    assert children(document, "internetDetails/chatImIncident") == [
        "chatClient",
        "chatRoomName",
        "content",
        "additionalInfo",
    ]
    assert children(document, "personOrUserReported")[:3] == [
        "espIdentifier",
        "espService",
        "screenName",
    ]
    root = ET.fromstring(document)
    assert root.findtext("incidentSummary/incidentType") == (
        "Child Pornography (possession, manufacture, and distribution)"
    )
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-03-01T12:00:00+00:00"


def test_a_missing_required_field_is_listed() -> None:
    problems = check_report(build_report_xml(facts(email=None)))
    assert problems == ["report/reporter/reportingPerson: required <email> is missing"]


def _mutated(change: str) -> bytes:
    root = ET.fromstring(build_report_xml(facts()))
    summary = root.find("incidentSummary")
    assert summary is not None
    if change == "swap":
        kind = summary.find("incidentType")
        assert kind is not None
        summary.remove(kind)
        summary.append(kind)
    elif change == "unknown":
        ET.SubElement(root, "favouriteColour").text = "blue"
    elif change == "no-summary":
        root.remove(summary)
    elif change == "bad-type":
        summary.find("incidentType").text = "Something else"  # type: ignore[union-attr]
    elif change == "naive-time":
        summary.find("incidentDateTime").text = "2026-03-01T12:00:00"  # type: ignore[union-attr]
    elif change == "two-incidents":
        details = root.find("internetDetails")
        assert details is not None
        ET.SubElement(details, "webPageIncident")
    elif change == "two-people":
        root.append(ET.fromstring(ET.tostring(root.find("personOrUserReported"))))  # type: ignore[arg-type]
    return ET.tostring(root)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("swap", "report/incidentSummary: <incidentType> is out of order"),
        ("unknown", "report: unknown element <favouriteColour>"),
        ("no-summary", "report: required <incidentSummary> is missing"),
        ("bad-type", "report/incidentSummary/incidentType: 'Something else' is not one of"),
        ("naive-time", "incidentDateTime: '2026-03-01T12:00:00' is not an ISO 8601"),
        ("two-incidents", "report/internetDetails: must hold exactly one of"),
        ("two-people", "report: <personOrUserReported> appears 2 times, at most 1"),
    ],
)
def test_each_departure_from_the_schema_is_named(change: str, expected: str) -> None:
    problems = check_report(_mutated(change))
    assert any(expected in p for p in problems), problems


def test_every_problem_is_listed_not_just_the_first() -> None:
    root = ET.fromstring(build_report_xml(facts(email=None)))
    ET.SubElement(root, "favouriteColour")
    summary = root.find("incidentSummary")
    assert summary is not None
    summary.remove(summary.find("incidentDateTime"))  # type: ignore[arg-type]
    problems = check_report(ET.tostring(root))
    assert len(problems) == 3, problems


def test_not_a_report_at_all() -> None:
    assert check_report(b"<fileDetails/>") == [
        "the root element is <fileDetails>, expected <report>"
    ]
    assert check_report(b"<report>")[0].startswith("not well-formed XML")
    doctype = b'<!DOCTYPE report [<!ENTITY x "y">]><report/>'
    assert check_report(doctype) == ["a document type declaration is not allowed"]


def test_file_details_are_valid_and_ordered() -> None:
    document = build_file_details_xml("4564654", "b0754af766b426f2928a02c651ed4b99", FILE)
    assert check_file_details(document) == []
    assert children(document) == [
        "reportId",
        "fileId",
        "originalFileName",
        "uploadedToEspTimestamp",
        "locationOfFile",
        "fileViewedByEsp",
        "exifViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "fileAnnotations",
        "originalFileHash",
        "originalFileHash",
        "additionalInfo",
        "additionalInfo",
    ]
    root = ET.fromstring(document)
    assert children(document, "fileAnnotations") == ["generativeAi"]
    assert root.findtext("fileViewedByEsp") == "true"
    assert root.findtext("exifViewedByEsp") == "false"
    hashes = {h.get("hashType"): h.text for h in root.iter("originalFileHash")}
    assert hashes == {"MD5": MD5, "SHA1": SHA1}


def test_no_annotation_and_no_public_claim_without_the_facts() -> None:
    plain = FileFacts(sha256="e" * 64, md5=MD5, sha1=None)
    document = build_file_details_xml("1", "abc", plain)
    assert check_file_details(document) == []
    tags = children(document)
    assert "fileAnnotations" not in tags
    assert "publiclyAvailable" not in tags
    assert ET.fromstring(document).findtext("fileViewedByEsp") == "false"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("<reportId>1</reportId>", ""), "fileDetails: required <reportId> is missing"),
        (("<fileViewedByEsp>false", "<fileViewedByEsp>yes"), "'yes' is not true or false"),
        (('hashType="MD5"', ""), "the hashType attribute is required"),
        ((MD5, "xyz"), "'xyz' is not a MD5 hash"),
    ],
)
def test_file_detail_problems(edit: tuple[str, str], expected: str) -> None:
    document = build_file_details_xml("1", "abc", FileFacts(sha256="e" * 64, md5=MD5, sha1=None))
    broken = document.decode().replace(*edit).encode()
    assert any(expected in p for p in check_file_details(broken)), check_file_details(broken)


def test_a_flag_must_be_empty() -> None:
    document = build_file_details_xml("1", "abc", FILE).decode()
    broken = document.replace("<generativeAi />", "<generativeAi>yes</generativeAi>").encode()
    assert "fileDetails/fileAnnotations/generativeAi: is a flag and must be empty" in (
        check_file_details(broken)
    )


def test_the_schema_table_names_each_sequence_once() -> None:
    for name, sequence in SCHEMA.items():
        names = [c.name for c in sequence]
        assert len(names) == len(set(names)), name


def test_characters_xml_forbids_become_replacement_characters() -> None:
    """A chat title or message text with control characters still makes a valid report."""
    dirty = dataclasses.replace(
        facts(),
        rooms=(ChatRoom("Telegram", "Some\x1b[1m channel", "caption\x0b\x00 \ufffe ok 🙂", None),),
    )
    document = build_report_xml(dirty)
    assert check_report(document) == []
    room = ET.fromstring(document).find("internetDetails/chatImIncident")
    assert room is not None
    assert room.findtext("chatRoomName") == "Some\ufffd[1m channel"
    assert "caption\ufffd\ufffd \ufffd ok 🙂" in ET.tostring(room, encoding="unicode")
