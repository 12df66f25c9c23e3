"""Times in the `/ecs-tasks` grammar: `since 2h`, `from 2026-11-01T10:00 to 2026-11-02`, all UTC.

Pure functions over single lowercase words; the grammar joins two-word forms (`2 hours`,
`2026-11-01 10:00`) before calling them.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta, timezone

DURATION_UNITS: dict[str, int] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 604800),
}
# Keeps `now - since` a valid datetime; nobody asks about tasks older than ten years.
MAX_SINCE = timedelta(days=3660)
# The times a query may name. ECS refuses times it cannot store (`0001-01-01`), and no task predates ECS's
# task API; a day past now leaves room for clocks and time zones, nothing later can match a task.
EARLIEST_TIME = datetime(2010, 1, 1, tzinfo=timezone.utc)
LATEST_AHEAD = timedelta(days=1)
DURATION_EXAMPLES = "a duration such as 90s, 30m, 2h, 7d or 1w"
TIME_EXAMPLES = "a UTC time such as 2026-11-01, 2026-11-01T10:00 or 2026-11-01T10:00:00Z"

_DURATION_RE = re.compile(r"(?:[0-9]{1,6}[a-z]+)+")
_DURATION_PART_RE = re.compile(r"([0-9]{1,6})([a-z]+)")
_ZONE = r"(z|[+-][0-9]{2}:?[0-9]{2})?"
_CLOCK = r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLOCK_RE = re.compile(_CLOCK + _ZONE)
_MOMENT_RE = re.compile(rf"([0-9]{{4}})-([0-9]{{2}})-([0-9]{{2}})(?:t{_CLOCK})?{_ZONE}")


class TimeWordError(ValueError):
    """`reason` completes "`WORD` ..." in a message; `suggestion` is a corrected word, when there is one."""

    def __init__(self, reason: str, suggestion: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.suggestion = suggestion


def latest_time(now: datetime) -> datetime:
    return now + LATEST_AHEAD


def time_range_text(now: datetime) -> str:
    """`from 2010-01-01 to 2026-11-06 (a day after now)`: how a refusal states the valid range."""
    latest = latest_time(_utc(now))
    return f"from {EARLIEST_TIME:%Y-%m-%d} to {latest:%Y-%m-%d %H:%M} UTC (a day after now)"


def check_in_range(moment: datetime, now: datetime) -> datetime:
    """`moment` when a query may name it; TimeWordError stating the range otherwise."""
    if not EARLIEST_TIME <= moment <= latest_time(now):
        raise TimeWordError(f"is outside the times ECS can search, {time_range_text(now)}")
    return moment


def looks_like_duration(word: str) -> bool:
    return _DURATION_RE.fullmatch(word) is not None


def looks_like_moment(word: str) -> bool:
    return _MOMENT_RE.fullmatch(word) is not None


def is_date(word: str) -> bool:
    return _DATE_RE.fullmatch(word) is not None


def is_clock(word: str) -> bool:
    return _CLOCK_RE.fullmatch(word) is not None


def parse_duration(word: str) -> timedelta:
    """`90s`, `30m`, `2h`, `7d`, `1w`, `1h30m`, `2hours`: positive and at most MAX_SINCE."""
    if not looks_like_duration(word):
        raise TimeWordError("is not a duration")
    seconds = 0
    for digits, unit in _DURATION_PART_RE.findall(word):
        if unit not in DURATION_UNITS:
            close = difflib.get_close_matches(unit, sorted(DURATION_UNITS), n=1)
            raise TimeWordError(f"has an unknown time unit `{unit}`", close[0] if close else None)
        seconds += int(digits) * DURATION_UNITS[unit]
    if not 0 < seconds <= MAX_SINCE.total_seconds():
        raise TimeWordError(f"is out of range (more than 0 and at most {MAX_SINCE.days}d)")
    return timedelta(seconds=seconds)


def since(now: datetime, word: str) -> datetime:
    """The start of `since WORD`, to the second (the API's precision)."""
    delta = parse_duration(word)
    try:
        return (now - delta).replace(microsecond=0)
    except OverflowError:
        raise TimeWordError("reaches back before year 1") from None


def parse_moment(word: str, *, end_of_day: bool) -> datetime:
    """An ISO-like UTC time (`2026-11-01`, `2026-11-01t10:00`, `…:00z`, `…+08:00`), as an aware UTC datetime.

    A bare date is the start of that day, or its last second when it ends a range (`end_of_day`), so that
    `from 2026-11-01 to 2026-11-01` is the whole day.
    """
    match = _MOMENT_RE.fullmatch(word)
    if match is None:
        raise TimeWordError("is not a time")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    clock = (23, 59, 59) if hour is None and end_of_day else (int(hour or 0), int(minute or 0), int(second or 0))
    micro = int(fraction.ljust(6, "0")) if fraction else 0
    try:
        tz = _zone(zone)
        return datetime(int(year), int(month), int(day), *clock, micro, tzinfo=tz).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise TimeWordError("is not a valid date or time") from None


def _zone(zone: str | None) -> timezone:
    if not zone or zone == "z":
        return timezone.utc
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _utc(moment: datetime) -> datetime:
    # A naive datetime is taken to be UTC already, as everywhere in this project.
    return moment if moment.tzinfo is None else moment.astimezone(timezone.utc)


def format_moment(moment: datetime) -> str:
    """The canonical form `parse_moment` reads back to an equal datetime: `2026-11-01T10:00:00Z`."""
    m = _utc(moment)
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    return text + (f".{m.microsecond:06d}" if m.microsecond else "") + "Z"


def describe_moment(moment: datetime) -> str:
    """A short human form: `2026-11-01 10:00` (seconds only when not zero)."""
    m = _utc(moment)
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d} {m.hour:02d}:{m.minute:02d}"
    return text + (f":{m.second:02d}" if m.second else "")
