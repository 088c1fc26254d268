"""NCMEC CyberTipline report documents: built from a case's facts, checked before sending.

Pure: values in, XML bytes out, no database and no network. Element names, order and required
fields follow NCMEC's XSD and its CyberTipline Reporting API documentation
(https://report.cybertip.org/ispws/documentation; copies in ``usips/xf2-ncmec``,
``_material/NCMEC Report Validcation.xsd`` and ``_material/CyberTipline Reporting API
Technical Documentation.html``); ``docs/ncmec.md`` names the source of every rule.
:data:`SCHEMA` is that reading, written down as data: every element we send, its children in
order, how often each may appear. :func:`check_report` and :func:`check_file_details` hold a
document to it and to the documented value rules and list every problem; the client refuses
to send a document with any.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

__all__ = [
    "INCIDENT_TYPES",
    "SCHEMA",
    "ChatRoom",
    "FileFacts",
    "ReportFacts",
    "ReportedPerson",
    "Reporter",
    "build_file_details_xml",
    "build_report_xml",
    "check_file_details",
    "check_report",
]

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = "https://report.cybertip.org/ispws/xsd"
CSAM = "Child Pornography (possession, manufacture, and distribution)"
INCIDENT_TYPES = frozenset(
    {
        CSAM,
        "Child Sex Trafficking",
        "Child Sex Tourism",
        "Child Sexual Molestation",
        "Misleading Domain Name",
        "Misleading Words or Digital Images on the Internet",
        "Online Enticement of Children for Sexual Acts",
        "Unsolicited Obscene Material Sent to a Child",
    }
)
UNBOUNDED = 1_000_000


@dataclass(frozen=True, slots=True)
class Child:
    """One child element of a sequence: ``low`` to ``high`` occurrences."""

    name: str
    low: int = 0
    high: int = 1


def _many(name: str) -> Child:
    return Child(name, 0, UNBOUNDED)


def _person(email_low: int) -> tuple[Child, ...]:
    return (
        Child("firstName"),
        Child("lastName"),
        _many("phone"),
        Child("email", email_low, UNBOUNDED),
        _many("address"),
        Child("age"),
        Child("dateOfBirth"),
    )


_FILE_FLAGS = (
    "animeDrawingVirtualHentai",
    "potentialMeme",
    "viral",
    "possibleSelfProduction",
    "physicalHarm",
    "violenceGore",
    "bestiality",
    "liveStreaming",
    "infant",
    "generativeAi",
)
_REPORT_FLAGS = (
    "sextortion",
    "csamSolicitation",
    "minorToMinorInteraction",
    "spam",
    "sadisticOnlineExploitation",
)
INCIDENT_KINDS = (
    "webPageIncident",
    "emailIncident",
    "newsgroupIncident",
    "chatImIncident",
    "onlineGamingIncident",
    "cellPhoneIncident",
    "nonInternetIncident",
    "peer2peerIncident",
)

#: Each complex element we send: its children in document order. ``internetDetails`` is a
#: choice (exactly one child); the two annotation lists are ``xs:all`` (any order). Elements
#: not named here are leaves.
SCHEMA: Mapping[str, tuple[Child, ...]] = {
    "report": (
        Child("batchedReport"),
        Child("incidentSummary", 1),
        _many("internetDetails"),
        Child("lawEnforcement"),
        Child("reporter", 1),
        Child("personOrUserReported"),
        _many("intendedRecipient"),
        _many("victim"),
        Child("additionalInfo"),
    ),
    "incidentSummary": (
        Child("incidentType", 1),
        Child("platform"),
        Child("escalateToHighPriority"),
        Child("reportAnnotations"),
        Child("incidentDateTime", 1),
        Child("incidentDateTimeDescription"),
    ),
    "reportAnnotations": tuple(Child(flag) for flag in _REPORT_FLAGS),
    "internetDetails": tuple(Child(kind) for kind in INCIDENT_KINDS),
    "webPageIncident": (_many("url"), Child("additionalInfo")),
    "nonInternetIncident": (
        Child("locationName"),
        _many("incidentAddress"),
        Child("additionalInfo"),
    ),
    "lawEnforcement": (
        Child("agencyName", 1),
        Child("caseNumber"),
        Child("officerContact"),
        Child("reportedToLe"),
        Child("servedLegalProcessDomestic"),
        Child("servedLegalProcessInternational"),
    ),
    "chatImIncident": (
        Child("chatClient"),
        Child("chatRoomName"),
        Child("content"),
        Child("additionalInfo"),
    ),
    "reporter": (
        Child("reportingPerson", 1),
        Child("contactPerson"),
        Child("companyTemplate"),
        Child("termsOfService"),
        Child("legalURL"),
    ),
    "reportingPerson": _person(email_low=1),
    "personOrUserReportedPerson": _person(email_low=0),
    "personOrUserReported": (
        Child("personOrUserReportedPerson"),
        Child("vehicleDescription"),
        Child("espIdentifier"),
        Child("espService"),
        Child("compromisedAccount"),
        Child("screenName"),
        _many("displayName"),
        _many("profileUrl"),
        Child("profileBio"),
        _many("ipCaptureEvent"),
        _many("deviceId"),
        Child("thirdPartyUserReported"),
        _many("priorCTReports"),
        Child("groupIdentifier"),
        Child("accountTemporarilyDisabled"),
        Child("accountPermanentlyDisabled"),
        Child("estimatedLocation"),
        Child("allEmailsReported"),
        _many("associatedAccount"),
        Child("additionalInfo"),
    ),
    "fileDetails": (
        Child("reportId", 1),
        Child("fileId", 1),
        Child("fileName"),
        Child("originalFileName"),
        Child("uploadedToEspTimestamp"),
        Child("locationOfFile"),
        Child("fileViewedByEsp"),
        Child("exifViewedByEsp"),
        Child("publiclyAvailable"),
        Child("fileRelevance"),
        Child("fileAnnotations"),
        Child("industryClassification"),
        _many("originalFileHash"),
        Child("ipCaptureEvent"),
        _many("deviceId"),
        _many("details"),
        _many("additionalInfo"),
    ),
    "fileAnnotations": tuple(Child(flag) for flag in _FILE_FLAGS),
}
_CHOICES = frozenset({"internetDetails"})
_UNORDERED = frozenset({"reportAnnotations", "fileAnnotations"})
_FLAGS = frozenset(_FILE_FLAGS + _REPORT_FLAGS)
_BOOLEANS = frozenset(
    {
        "fileViewedByEsp",
        "exifViewedByEsp",
        "publiclyAvailable",
        "compromisedAccount",
        "thirdPartyUserReported",
        "accountTemporarilyDisabled",
        "accountPermanentlyDisabled",
        "allEmailsReported",
        "reportedToLe",
        "servedLegalProcessDomestic",
        "servedLegalProcessInternational",
    }
)
# Every one of these "must be in the past" [D].
_DATETIMES = frozenset({"incidentDateTime", "uploadedToEspTimestamp", "dateTime"})
_ENUMS: Mapping[str, frozenset[str]] = {
    "incidentType": INCIDENT_TYPES,
    "fileRelevance": frozenset({"Reported", "Supplemental Reported"}),
    "industryClassification": frozenset({"A1", "A2", "B1", "B2"}),
}
_MAX_LENGTH: Mapping[str, int] = {
    "platform": 256,
    "escalateToHighPriority": 3000,
    "incidentDateTimeDescription": 3000,
    "url": 2083,
    "locationName": 255,
    "agencyName": 255,
    "caseNumber": 100,
    "vehicleDescription": 300,
    "displayName": 255,
    "chatClient": 255,
    "chatRoomName": 255,
    "espIdentifier": 255,
    "espService": 100,
    "screenName": 256,
    "firstName": 100,
    "lastName": 100,
    "email": 255,  # and at most 64 before the @
    "legalURL": 2083,
    "originalFileName": 2056,
    "locationOfFile": 2083,
    "profileUrl": 2083,
}
_HASH_HEX = {"MD5": 32, "SHA1": 40}
_HASH_TYPE_MAX = 64
_EXIF_RULE = "fileViewedByEsp must be true when exifViewedByEsp is true"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# -- the facts a report is made of --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reporter:
    """The reporting person (``reporter/reportingPerson``); NCMEC requires the email, so a
    report without one (None) does not pass :func:`check_report`."""

    email: str | None


@dataclass(frozen=True, slots=True)
class ChatRoom:
    """A chat/IM incident: the room, and what was posted in it."""

    client: str
    name: str
    content: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class ReportedPerson:
    """The reported user, by the platform's own ids."""

    esp_identifier: str
    esp_service: str
    screen_name: str | None = None
    display_names: tuple[str, ...] = ()
    profile_urls: tuple[str, ...] = ()
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class FileFacts:
    """One file of the case. ``publicly_available`` None: not known, so not said."""

    sha256: str
    md5: str | None
    sha1: str | None
    original_name: str | None = None
    location: str | None = None
    uploaded_at: datetime | None = None
    viewed_by_esp: bool = False
    exif_viewed_by_esp: bool = False
    publicly_available: bool | None = None
    generative_ai: tuple[str, ...] = ()  # why we think it is AI-made; empty: no sign of it
    held: bool = False  # the vault holds the bytes, so the file itself is uploaded

    def __post_init__(self) -> None:
        # Refused here, before any report is opened, rather than when the file details are
        # built after NCMEC already holds the report.
        if self.exif_viewed_by_esp and not self.viewed_by_esp:
            raise ValueError(f"file {self.sha256}: {_EXIF_RULE}")


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """Everything one CyberTipline report says about a case."""

    case_id: int
    incident_at: datetime
    incident_at_description: str
    reporter: Reporter
    rooms: tuple[ChatRoom, ...] = ()
    person: ReportedPerson | None = None
    files: tuple[FileFacts, ...] = ()
    platform: str | None = None
    incident_type: str = CSAM
    additional_info: str | None = None


# -- building -----------------------------------------------------------------------------------


# What XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile(r"[^\x09\x0a\x0d\x20-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _add(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
    """A child element; characters XML 1.0 forbids in ``text`` become U+FFFD."""
    element = ET.SubElement(parent, name)
    if text is not None:
        element.text = _NOT_XML.sub("\ufffd", text)
    return element


def _maybe(parent: ET.Element, name: str, text: str | None) -> None:
    if text:
        _add(parent, name, text)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _time(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("CyberTipline times must be timezone-aware")
    return at.isoformat(timespec="seconds")


def _root(name: str) -> ET.Element:
    return ET.Element(name, {"xmlns:xsi": XSI, "xsi:noNamespaceSchemaLocation": SCHEMA_LOCATION})


def _document(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def build_report_xml(facts: ReportFacts) -> bytes:
    """The ``<report>`` document opening a CyberTipline report (``POST /submit``)."""
    root = _root("report")
    summary = _add(root, "incidentSummary")
    _add(summary, "incidentType", facts.incident_type)
    _maybe(summary, "platform", facts.platform)
    _add(summary, "incidentDateTime", _time(facts.incident_at))
    _maybe(summary, "incidentDateTimeDescription", facts.incident_at_description)
    for room in facts.rooms:
        chat = _add(_add(root, "internetDetails"), "chatImIncident")
        _add(chat, "chatClient", room.client)
        _add(chat, "chatRoomName", room.name)
        _maybe(chat, "content", room.content)
        _maybe(chat, "additionalInfo", room.additional_info)
    reporter = _add(root, "reporter")
    _maybe(_add(reporter, "reportingPerson"), "email", facts.reporter.email)
    if facts.person is not None:
        _add_person(root, facts.person)
    _maybe(root, "additionalInfo", facts.additional_info)
    return _document(root)


def _add_person(root: ET.Element, person: ReportedPerson) -> None:
    reported = _add(root, "personOrUserReported")
    _add(reported, "espIdentifier", person.esp_identifier)
    _add(reported, "espService", person.esp_service)
    _maybe(reported, "screenName", person.screen_name)
    for name in person.display_names:
        _add(reported, "displayName", name)
    for url in person.profile_urls:
        _add(reported, "profileUrl", url)
    _maybe(reported, "additionalInfo", person.additional_info)


def build_file_details_xml(report_id: str, file_id: str, file: FileFacts) -> bytes:
    """The ``<fileDetails>`` document for one uploaded file (``POST /fileinfo``)."""
    root = _root("fileDetails")
    _add(root, "reportId", report_id)
    _add(root, "fileId", file_id)
    _maybe(root, "originalFileName", file.original_name)
    if file.uploaded_at is not None:
        _add(root, "uploadedToEspTimestamp", _time(file.uploaded_at))
    _maybe(root, "locationOfFile", file.location)
    _add(root, "fileViewedByEsp", _bool(file.viewed_by_esp))
    _add(root, "exifViewedByEsp", _bool(file.exif_viewed_by_esp))
    if file.publicly_available is not None:
        _add(root, "publiclyAvailable", _bool(file.publicly_available))
    _add(root, "fileRelevance", "Reported")
    if file.generative_ai:
        _add(_add(root, "fileAnnotations"), "generativeAi")
    for hash_type, value in (("MD5", file.md5), ("SHA1", file.sha1)):
        if value:
            _add(root, "originalFileHash", value).set("hashType", hash_type)
    _add(root, "additionalInfo", f"SHA-256 {file.sha256}")
    if file.generative_ai:
        _add(root, "additionalInfo", "Signs of AI generation: " + "; ".join(file.generative_ai))
    return _document(root)


# -- checking -----------------------------------------------------------------------------------


def check_report(document: bytes, now: datetime | None = None) -> list[str]:
    """Every way ``document`` departs from :data:`SCHEMA` as a ``<report>``; empty if none.
    Times must be before ``now`` (default: the current UTC time)."""
    return _check(document, "report", now or datetime.now(UTC))


def check_file_details(document: bytes, now: datetime | None = None) -> list[str]:
    """Every way ``document`` departs from :data:`SCHEMA` and the file rules of [D]."""
    return _check(document, "fileDetails", now or datetime.now(UTC))


def _check(document: bytes, root_name: str, now: datetime) -> list[str]:
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        return ["a document type declaration is not allowed"]
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag != root_name:
        return [f"the root element is <{root.tag}>, expected <{root_name}>"]
    problems: list[str] = []
    _check_element(root, root_name, problems, now)
    if root_name == "fileDetails":
        problems += _file_rules(root)
    return problems


def _file_rules(root: ET.Element) -> list[str]:
    """The rules [D] states between fields of ``<fileDetails>``."""
    text = {child.tag: (child.text or "").strip() for child in root}
    problems = []
    if text.get("exifViewedByEsp") == "true" and text.get("fileViewedByEsp") != "true":
        problems.append(f"fileDetails: {_EXIF_RULE}")
    if text.get("fileRelevance") == "Supplemental Reported":
        for marker in ("fileAnnotations/potentialMeme", "industryClassification"):
            if root.find(marker) is not None:
                problems.append(
                    f"fileDetails: fileRelevance may not be 'Supplemental Reported' with <{marker}>"
                )
    return problems


def _check_element(element: ET.Element, path: str, problems: list[str], now: datetime) -> None:
    name = element.tag
    children = list(element)
    if name not in SCHEMA:
        _check_leaf(element, path, problems, now)
        return
    if (element.text or "").strip():
        problems.append(f"{path}: holds text where only elements belong")
    if name in _CHOICES and len(children) != 1:
        allowed = ", ".join(c.name for c in SCHEMA[name])
        problems.append(f"{path}: must hold exactly one of {allowed}")
    _check_sequence(SCHEMA[name], children, path, problems, ordered=name not in _UNORDERED)
    for child in children:
        if any(c.name == child.tag for c in SCHEMA[name]):
            _check_element(child, f"{path}/{child.tag}", problems, now)


def _check_sequence(
    sequence: Sequence[Child],
    children: list[ET.Element],
    path: str,
    problems: list[str],
    *,
    ordered: bool = True,
) -> None:
    index = {c.name: i for i, c in enumerate(sequence)}
    counts: Counter[str] = Counter()
    furthest, furthest_name = -1, ""
    for child in children:
        position = index.get(child.tag)
        if position is None:
            expected = ", ".join(c.name for c in sequence)
            problems.append(f"{path}: unknown element <{child.tag}> (allowed: {expected})")
            continue
        if position < furthest and ordered:
            problems.append(
                f"{path}: <{child.tag}> is out of order; it must come before <{furthest_name}>"
            )
        else:
            furthest, furthest_name = position, child.tag
        counts[child.tag] += 1
    for spec in sequence:
        if counts[spec.name] < spec.low:
            problems.append(f"{path}: required <{spec.name}> is missing")
        if counts[spec.name] > spec.high:
            problems.append(
                f"{path}: <{spec.name}> appears {counts[spec.name]} times, at most {spec.high}"
            )


def _check_leaf(element: ET.Element, path: str, problems: list[str], now: datetime) -> None:
    name, text = element.tag, (element.text or "").strip()
    if len(element):
        problems.append(f"{path}: must not hold elements")
        return
    if name in _FLAGS:
        # xs:boolean fixed="true": empty takes the fixed value. We accept only the spelling
        # "true" besides; "1" is valid XSD but nothing we send.
        if text not in ("", "true"):
            problems.append(f"{path}: is a flag; leave it empty or write true")
        return
    if not text:
        problems.append(f"{path}: is empty; give a value or leave the element out")
        return
    problem = _leaf_problem(name, text, element.attrib, now)
    if problem:
        problems.append(f"{path}: {problem}")


def _leaf_problem(name: str, text: str, attributes: Mapping[str, str], now: datetime) -> str | None:
    if name in _BOOLEANS and text not in ("true", "false"):
        return f"{text!r} is not true or false"
    if name in _DATETIMES:
        return _time_problem(text, now)
    if name == "dateOfBirth":
        return _date_problem(text, now)
    if name == "age" and not (text.isdigit() and int(text) <= 150):
        return f"{text!r} is not an age from 0 to 150"
    if name in _ENUMS and text not in _ENUMS[name]:
        return f"{text!r} is not one of: {', '.join(sorted(_ENUMS[name]))}"
    if name in _MAX_LENGTH and len(text) > _MAX_LENGTH[name]:
        return f"longer than {_MAX_LENGTH[name]} characters"
    if name == "reportId" and not text.isdigit():
        return f"{text!r} is not a report id (digits)"
    if name == "email" and not _EMAIL.fullmatch(text):
        return f"{text!r} is not an email address"
    if name == "email" and len(text.rpartition("@")[0]) > 64:
        return "more than 64 characters before the @"
    if name == "originalFileHash":
        return _hash_problem(text, attributes.get("hashType"))
    return None


def _hash_problem(value: str, hash_type: str | None) -> str | None:
    if not hash_type:
        return "the hashType attribute is required (MD5, SHA1)"
    if len(hash_type) > _HASH_TYPE_MAX:
        return f"the hashType attribute is longer than {_HASH_TYPE_MAX} characters"
    width = _HASH_HEX.get(hash_type)
    if width is not None and not re.fullmatch(f"[0-9a-f]{{{width}}}", value):
        return f"{value!r} is not a {hash_type} hash ({width} lowercase hex digits)"
    return None


def _time_problem(text: str, now: datetime) -> str | None:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        return f"{text!r} is not an ISO 8601 date and time with a zone offset"
    if at >= now:
        return f"{text!r} is not in the past"
    return None


def _date_problem(text: str, now: datetime) -> str | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return f"{text!r} is not an ISO 8601 date (YYYY-MM-DD)"
    # A date has no zone: only a day after today (UTC) is surely not in the past.
    if day > now.date():
        return f"{text!r} is not in the past"
    return None
