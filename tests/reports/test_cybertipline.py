"""CyberTipline documents: element names, order and required fields, and every problem listed."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

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


@pytest.mark.parametrize(("value", "valid"), [("true", True), ("false", False), ("yes", False)])
def test_a_flag_is_empty_or_true(value: str, valid: bool) -> None:
    """Annotation flags are ``xs:boolean fixed="true"``: ``<x/>`` and ``<x>true</x>`` only."""
    document = build_file_details_xml("1", "abc", FILE).decode()
    edited = document.replace("<generativeAi />", f"<generativeAi>{value}</generativeAi>")
    problems = check_file_details(edited.encode())
    assert problems == ([] if valid else [f"{FLAG}: is a flag; leave it empty or write true"])


FLAG = "fileDetails/fileAnnotations/generativeAi"


def test_annotations_may_come_in_any_order() -> None:
    """``reportAnnotations`` and ``fileAnnotations`` are ``xs:all`` in NCMEC's XSD."""
    root = ET.fromstring(build_report_xml(facts()))
    summary = root.find("incidentSummary")
    assert summary is not None
    notes = ET.Element("reportAnnotations")
    ET.SubElement(notes, "spam")
    ET.SubElement(notes, "sextortion").text = "true"
    summary.insert(2, notes)
    assert check_report(ET.tostring(root)) == []
    files = ET.fromstring(build_file_details_xml("1", "abc", FILE))
    annotations = files.find("fileAnnotations")
    assert annotations is not None
    ET.SubElement(annotations, "animeDrawingVirtualHentai")  # comes first in the XSD
    assert check_file_details(ET.tostring(files)) == []


@pytest.mark.parametrize(
    ("parent", "name"),
    [
        ("incidentSummary/reportAnnotations", "informational"),
        ("reporter/reportingPerson", "ageAssertionDiscrepancy"),
    ],
)
def test_elements_not_in_the_xsd_are_unknown(parent: str, name: str) -> None:
    root = ET.fromstring(build_report_xml(facts()))
    root.find("incidentSummary").insert(2, ET.Element("reportAnnotations"))  # type: ignore[union-attr]
    ET.SubElement(root.find(parent), name).text = "true"  # type: ignore[arg-type]
    problems = check_report(ET.tostring(root))
    assert any(f"{parent}: unknown element <{name}>" in p for p in problems), problems


def _report_with(name: str, text: str) -> bytes:
    """The test report with one more ``name`` (in its place) or its ``name`` set to ``text``."""
    root = ET.fromstring(build_report_xml(facts()))
    reporter = list(root).index(root.find("reporter"))  # type: ignore[arg-type]
    if name == "escalateToHighPriority":
        root.find("incidentSummary").insert(2, ET.Element(name))  # type: ignore[union-attr]
    elif name in ("url", "locationName"):
        details = ET.Element("internetDetails")
        kind = "webPageIncident" if name == "url" else "nonInternetIncident"
        ET.SubElement(ET.SubElement(details, kind), name)
        root.insert(1, details)
    elif name in ("agencyName", "caseNumber"):
        law = ET.Element("lawEnforcement")
        ET.SubElement(law, "agencyName").text = "Police"
        if name == "caseNumber":
            ET.SubElement(law, name)
        root.insert(reporter, law)
    elif name == "vehicleDescription":
        root.find("personOrUserReported").insert(0, ET.Element(name))  # type: ignore[union-attr]
    elif name in ("age", "dateOfBirth"):
        ET.SubElement(root.find("reporter/reportingPerson"), name)  # type: ignore[arg-type]
    for element in root.iter(name):
        element.text = text
    return ET.tostring(root)


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("incidentDateTimeDescription", 3000),
        ("escalateToHighPriority", 3000),
        ("url", 2083),
        ("vehicleDescription", 300),
        ("locationName", 255),
        ("agencyName", 255),
        ("caseNumber", 100),
        ("displayName", 255),
    ],
)
def test_documented_length_limits(name: str, limit: int) -> None:
    assert check_report(_report_with(name, "x" * limit)) == []
    problems = check_report(_report_with(name, "x" * (limit + 1)))
    assert any(p.endswith(f"{name}: longer than {limit} characters") for p in problems), problems


def test_an_email_has_at_most_64_characters_before_the_at() -> None:
    assert check_report(build_report_xml(facts(email="a" * 64 + "@example.org"))) == []
    problems = check_report(build_report_xml(facts(email="a" * 65 + "@example.org")))
    assert problems == [
        "report/reporter/reportingPerson/email: more than 64 characters before the @"
    ]


def test_a_hash_type_has_at_most_64_characters() -> None:
    document = build_file_details_xml("1", "abc", FILE).decode()
    broken = document.replace('hashType="SHA1"', f'hashType="{"S" * 65}"').encode()
    assert check_file_details(broken) == [
        "fileDetails/originalFileHash: the hashType attribute is longer than 64 characters"
    ]


@pytest.mark.parametrize(
    ("age", "valid"), [("0", True), ("150", True), ("151", False), ("-1", False)]
)
def test_an_age_is_from_0_to_150(age: str, valid: bool) -> None:
    problems = check_report(_report_with("age", age))
    assert problems == (
        []
        if valid
        else [f"report/reporter/reportingPerson/age: {age!r} is not an age from 0 to 150"]
    )


INCIDENT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_times_must_be_in_the_past_of_the_check() -> None:
    report = build_report_xml(facts())
    assert check_report(report, now=INCIDENT + timedelta(seconds=1)) == []
    assert check_report(report, now=INCIDENT) == [
        "report/incidentSummary/incidentDateTime: '2026-03-01T12:00:00+00:00' is not in the past"
    ]
    files = build_file_details_xml("1", "abc", FILE)
    assert check_file_details(files, now=INCIDENT + timedelta(seconds=1)) == []
    assert check_file_details(files, now=INCIDENT - timedelta(days=1)) == [
        "fileDetails/uploadedToEspTimestamp: '2026-03-01T12:00:00+00:00' is not in the past"
    ]


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        ("2026-03-02", None),
        ("2026-03-03", "'2026-03-03' is not in the past"),
        ("2026-02-30", "'2026-02-30' is not an ISO 8601 date (YYYY-MM-DD)"),
    ],
)
def test_a_date_of_birth_must_be_a_past_date(born: str, expected: str | None) -> None:
    problems = check_report(_report_with("dateOfBirth", born), now=datetime(2026, 3, 2, tzinfo=UTC))
    assert problems == (
        [] if expected is None else [f"report/reporter/reportingPerson/dateOfBirth: {expected}"]
    )


def test_the_file_must_be_viewed_when_its_exif_was() -> None:
    with pytest.raises(ValueError, match="fileViewedByEsp must be true when exifViewedByEsp"):
        dataclasses.replace(FILE, viewed_by_esp=False, exif_viewed_by_esp=True)
    both = dataclasses.replace(FILE, exif_viewed_by_esp=True)
    assert check_file_details(build_file_details_xml("1", "abc", both)) == []
    document = build_file_details_xml("1", "abc", both).decode()
    broken = document.replace("<fileViewedByEsp>true", "<fileViewedByEsp>false").encode()
    assert check_file_details(broken) == [
        "fileDetails: fileViewedByEsp must be true when exifViewedByEsp is true"
    ]


@pytest.mark.parametrize(
    ("marker", "problem"),
    [
        (None, None),
        ("potentialMeme", "<fileAnnotations/potentialMeme>"),
        ("industryClassification", "<industryClassification>"),
    ],
)
def test_a_supplemental_file_is_no_meme_and_unclassified(
    marker: str | None, problem: str | None
) -> None:
    root = ET.fromstring(build_file_details_xml("1", "abc", FILE))
    root.find("fileRelevance").text = "Supplemental Reported"  # type: ignore[union-attr]
    if marker == "potentialMeme":
        ET.SubElement(root.find("fileAnnotations"), marker)  # type: ignore[arg-type]
    elif marker is not None:
        at = list(root).index(root.find("fileAnnotations")) + 1  # type: ignore[arg-type]
        classification = ET.Element(marker)
        classification.text = "A1"
        root.insert(at, classification)
    expected = f"fileDetails: fileRelevance may not be 'Supplemental Reported' with {problem}"
    assert check_file_details(ET.tostring(root)) == ([] if problem is None else [expected])


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
