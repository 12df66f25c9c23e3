"""The emulator's task table: seed tasks plus the cancellations clients made. Thread-safe."""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from emulators.ecs import errors
from emulators.ecs.regions import Region
from emulators.ecs.tasks import SeedTask, TaskState, check_cancellable, is_visible, task_from_seed, task_state

_ID_CHARS = string.ascii_lowercase + string.digits
# `t-` + region prefix + random characters: 20 characters after the dash, like real ids.
_ID_BODY_LENGTH = 20
_GENERIC_PREFIX = "xx"


class TaskStore:
    def __init__(self, regions: Iterable[Region], *, id_seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, SeedTask] = {}
        self._cancelled: dict[str, datetime] = {}
        self._prefixes = {region.region_id: region.id_prefix for region in regions}
        self._id_rng = random.Random(id_seed)

    def new_task_id(self, region_id: str) -> str:
        prefix = self._prefixes.get(region_id, _GENERIC_PREFIX)
        while True:
            body = "".join(self._id_rng.choice(_ID_CHARS) for _ in range(_ID_BODY_LENGTH - len(prefix)))
            task_id = f"t-{prefix}{body}"
            if task_id not in self._tasks:
                return task_id

    def add_seed(self, raw: Mapping[str, Any], now: datetime) -> SeedTask:
        with self._lock:
            task = task_from_seed(raw, now, self.new_task_id)
            if task.task_id in self._tasks:
                raise ValueError(f"duplicate TaskId {task.task_id}")
            self._tasks[task.task_id] = task
            return task

    def visible(self, region_id: str, now: datetime) -> list[tuple[SeedTask, TaskState]]:
        """Every task of a region that exists at `now`, with its state then."""
        with self._lock:
            return [
                (task, task_state(task, now, self._cancelled.get(task.task_id)))
                for task in self._tasks.values()
                if task.region_id == region_id and is_visible(task, now)
            ]

    def find(self, region_id: str, task_id: str, now: datetime) -> tuple[SeedTask, TaskState]:
        with self._lock:
            return self._find_locked(region_id, task_id, now)

    def cancel(self, region_id: str, task_id: str, now: datetime) -> None:
        # Check and record under one lock so two concurrent cancels cannot both succeed.
        with self._lock:
            task, state = self._find_locked(region_id, task_id, now)
            check_cancellable(task, state)
            self._cancelled[task_id] = now

    def _find_locked(self, region_id: str, task_id: str, now: datetime) -> tuple[SeedTask, TaskState]:
        task = self._tasks.get(task_id)
        if task is None or task.region_id != region_id or not is_visible(task, now):
            raise errors.task_not_found()
        return task, task_state(task, now, self._cancelled.get(task_id))
