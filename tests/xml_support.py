"""XML response bodies (Format=XML) as the dicts the JSON format gives: for tests of the models and the
emulator's XML answers (the client itself always asks for JSON).

Repeated elements become lists; a list-valued child that appears once stays a dict, which the models unwrap.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree


def xml_to_dict(body: bytes | str) -> dict[str, Any]:
    root = ElementTree.fromstring(body)
    value = _element_value(root)
    return value if isinstance(value, dict) else {}


def _element_value(element: ElementTree.Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    result: dict[str, Any] = {}
    for child in children:
        value = _element_value(child)
        if child.tag in result:
            existing = result[child.tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                result[child.tag] = [existing, value]
        else:
            result[child.tag] = value
    return result
