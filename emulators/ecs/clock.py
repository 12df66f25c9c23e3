"""The emulator's sense of time for task lifecycles, separate from the clock that checks signatures.

Tests and demos move task time forward (`advance`) or pin it (`freeze`) without touching the
request timestamps that clients sign with the real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class TaskClock:
    """Real time plus an offset, or a frozen instant plus an offset. Thread-safe."""

    def __init__(self, *, frozen_at: datetime | None = None, wall: Callable[[], datetime] = utc_now) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._offset = timedelta()
        self._frozen_at: datetime | None = None
        if frozen_at is not None:
            self.freeze(frozen_at)

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else self._wall()
            return base.astimezone(timezone.utc) + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a task clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)

    def freeze(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("freeze() needs a timezone-aware datetime")
        with self._lock:
            self._frozen_at = at.astimezone(timezone.utc)
            self._offset = timedelta()
