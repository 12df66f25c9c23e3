"""Durations and times for people: `1h 05m`, `3d 4h`, `2026-11-28 13:05 UTC`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def utc_now() -> datetime:
    """The current time, aware, in UTC: the default clock wherever one is injected."""
    return datetime.now(timezone.utc)


def format_duration(delta: timedelta) -> str:
    """Two most significant units, never negative: `45s`, `12m 03s`, `1h 05m`, `3d 4h`."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def task_duration(created: datetime | None, finished: datetime | None, now: datetime) -> timedelta | None:
    """How long a task ran (or has been running, while unfinished)."""
    if created is None:
        return None
    return (finished or now) - created


def format_utc(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
