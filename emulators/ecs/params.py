"""Reading and checking API parameters; each function raises the service's error for a bad value."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime

from emulators.ecs import errors
from emulators.ecs.timefmt import parse_api_time

MAX_IDS = 100
MIN_PAGE_SIZE = 1
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
_RESOURCE_ID_KEY = re.compile(r"^ResourceIds\.(\d+)$")


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise errors.missing_parameter(name)
    return value


def optional(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name, "").strip()
    return value or None


def integer(params: Mapping[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    text = optional(params, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise errors.invalid_parameter(name) from None
    if value < low or (high is not None and value > high):
        raise errors.invalid_parameter(name)
    return value


def page_number(params: Mapping[str, str]) -> int:
    return integer(params, "PageNumber", 1, 1)


def page_size(params: Mapping[str, str]) -> int:
    return integer(params, "PageSize", DEFAULT_PAGE_SIZE, MIN_PAGE_SIZE, MAX_PAGE_SIZE)


def api_time(params: Mapping[str, str], name: str) -> datetime | None:
    text = optional(params, name)
    if text is None:
        return None
    moment = parse_api_time(text)
    if moment is None:
        raise errors.invalid_parameter(name, "Specify the time in the yyyy-MM-ddTHH:mm:ssZ format.")
    return moment


def task_ids(params: Mapping[str, str]) -> frozenset[str] | None:
    """`TaskIds`: comma-separated, or the JSON list form the API page shows; at most 100."""
    text = optional(params, "TaskIds")
    if text is None:
        return None
    ids = _json_list(text) if text.startswith("[") else [part.strip() for part in text.split(",")]
    ids = [task_id for task_id in ids if task_id]
    if not ids or len(ids) > MAX_IDS:
        raise errors.invalid_parameter("TaskIds", f"You can specify up to {MAX_IDS} task IDs.")
    return frozenset(ids)


def _json_list(text: str) -> list[str]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        raise errors.invalid_parameter("TaskIds") from None
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise errors.invalid_parameter("TaskIds")
    return [item.strip() for item in parsed]


def resource_ids(params: Mapping[str, str]) -> frozenset[str] | None:
    """`ResourceIds.N` with N from 1 to 100."""
    found: list[str] = []
    for key, value in params.items():
        match = _RESOURCE_ID_KEY.match(key)
        if match is None:
            continue
        if not 1 <= int(match.group(1)) <= MAX_IDS:
            raise errors.invalid_parameter(key)
        if value.strip():
            found.append(value.strip())
    return frozenset(found) if found else None
