"""Time formats on the wire: API filters, response fields and seed files."""

from __future__ import annotations

import re
from datetime import datetime, timezone

# Response times have no seconds, as on the API page (`2015-11-24T12:50Z`).
RESPONSE_FORMAT = "%Y-%m-%dT%H:%MZ"
# Request filters: `yyyy-MM-ddTHH:mm:ssZ`, UTC; the minute form the service answers with is accepted too.
_API_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?Z$")


def parse_api_time(text: str) -> datetime | None:
    """A StartTime/EndTime value, or None when it is not in the documented UTC format."""
    match = _API_TIME.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) if part else 0 for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None


def parse_iso(text: str) -> datetime:
    """A seed-file time: ISO 8601 with an offset or `Z`; naive times are refused."""
    parsed = parse_api_time(text)
    if parsed is not None:
        return parsed
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no timezone")
    return moment.astimezone(timezone.utc)


def format_response_time(moment: datetime | None) -> str:
    """A response time field; an empty string when there is no time yet (a running task's FinishedTime)."""
    return "" if moment is None else moment.astimezone(timezone.utc).strftime(RESPONSE_FORMAT)


def format_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
