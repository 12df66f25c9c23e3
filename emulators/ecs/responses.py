"""Rendering answers as the service does: JSON by default, XML when `Format=XML`; error bodies."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulators.ecs.errors import ServiceError
from emulators.ecs.request import V1, IncomingRequest
from emulators.ecs.tasks import enum_form

FORMAT_JSON = "JSON"
FORMAT_XML = "XML"
CONTENT_TYPE_JSON = "application/json;charset=utf-8"
CONTENT_TYPE_XML = "text/xml;charset=utf-8"
REQUEST_ID_HEADER = "x-acs-request-id"
HOST_ID = "ecs.aliyuncs.com"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
ERROR_ROOT = "Error"
# XML answers name task actions in enum form (IMPORT_IMAGE), JSON in request form (ImportImage).
_XML_VALUE_RULES = {"TaskAction": enum_form}


@dataclass(frozen=True)
class Rendered:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def response_format(request: IncomingRequest) -> str:
    """`Format` when given; otherwise XML for V1 (RPC) requests, as the common-parameters page says
    ("Format: JSON or XML, default XML"), and JSON for V3 ones, as the V3 gateway answers."""
    asked = request.params.get("Format", "").upper()
    if asked in (FORMAT_JSON, FORMAT_XML):
        return asked
    return FORMAT_XML if request.signature_version == V1 else FORMAT_JSON


def render_success(action: str, body: Mapping[str, Any], request_id: str, fmt: str) -> Rendered:
    document = {"RequestId": request_id, **body}
    return _render(200, f"{action}Response", document, fmt, {})


def render_error(error: ServiceError, request_id: str, fmt: str) -> Rendered:
    document = {
        "RequestId": request_id,
        "HostId": HOST_ID,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=Ecs&requestId={request_id}",
    }
    return _render(error.status, ERROR_ROOT, document, fmt, error.headers)


def _render(status: int, root: str, document: Mapping[str, Any], fmt: str, headers: dict[str, str]) -> Rendered:
    if fmt == FORMAT_XML:
        return Rendered(status, CONTENT_TYPE_XML, to_xml(root, document).encode(), dict(headers))
    return Rendered(status, CONTENT_TYPE_JSON, json.dumps(document, ensure_ascii=False).encode(), dict(headers))


def to_xml(root: str, document: Mapping[str, Any]) -> str:
    """A dict as the service's XML: a list under key K becomes repeated <K> elements."""
    element = ET.Element(root)
    _fill(element, document)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode")


def _fill(parent: ET.Element, document: Mapping[str, Any]) -> None:
    for key, value in document.items():
        for item in value if isinstance(value, list) else [value]:
            child = ET.SubElement(parent, key)
            if isinstance(item, Mapping):
                _fill(child, item)
            else:
                child.text = _xml_text(key, item)


def _xml_text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    rule = _XML_VALUE_RULES.get(key)
    return rule(text) if rule and text else text


# --- faults ---------------------------------------------------------------------------------

_GATEWAY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"


def malformed(rendered: Rendered, truncate: bool) -> Rendered:
    """The answer a broken proxy passes on: status 200 with half the body, or a cut-off HTML page."""
    body = rendered.body[: max(1, len(rendered.body) // 2)] if truncate else _GATEWAY_PAGE
    return Rendered(200, rendered.content_type, body, dict(rendered.headers))
