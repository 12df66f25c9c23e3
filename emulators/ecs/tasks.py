"""The task model: what a seed describes, and what the service reports about it at a given instant.

A task's status is a pure function of time: Waiting for `waiting_s` after its CreationTime, then
Processing for `processing_s` (progress growing linearly), then its `outcome`. A seed can instead pin
a fixed status with explicit times. A cancelled task is Deleted from the moment of cancellation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from emulators.ecs import errors
from emulators.ecs.timefmt import parse_iso

# TaskAction values in request form; responses in XML use the enum form (IMPORT_IMAGE).
IMPORT_IMAGE = "ImportImage"
EXPORT_IMAGE = "ExportImage"
TASK_ACTIONS = (IMPORT_IMAGE, EXPORT_IMAGE, "RedeployInstance", "ModifyDiskSpec", "ArchiveSnapshot")
CANCELLABLE_ACTIONS = frozenset({IMPORT_IMAGE, EXPORT_IMAGE})

WAITING = "Waiting"
PROCESSING = "Processing"
FINISHED = "Finished"
FAILED = "Failed"
PAUSED = "Paused"
DELETED = "Deleted"
TASK_STATUSES = (FINISHED, PROCESSING, WAITING, DELETED, PAUSED, FAILED)
OUTCOMES = frozenset({FINISHED, FAILED})
RUNNING_STATUSES = frozenset({WAITING, PROCESSING})

DEFAULT_PROCESSING_S = 60.0

# Seed keys: API field names for what the service shows, snake_case for how the emulator drives it.
_LIFECYCLE_KEYS = frozenset({"waiting_s", "processing_s", "outcome"})
_FIXED_KEYS = frozenset({"TaskStatus", "FinishedTime", "TaskProcess"})
_COMMON_KEYS = frozenset(
    {"TaskId", "RegionId", "TaskAction", "ResourceId", "CreationTime", "created_ago_s", "errors", "total_count"}
)
_SEED_KEYS = _LIFECYCLE_KEYS | _FIXED_KEYS | _COMMON_KEYS


class SeedError(ValueError):
    """A seed entry the emulator cannot model; the message names the task and the field."""


def enum_form(action: str) -> str:
    """`ImportImage` -> `IMPORT_IMAGE`."""
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(action)).upper()


def request_form(action: str) -> str | None:
    """The request form of an action given in either form, or None when it is not a task action."""
    for known in TASK_ACTIONS:
        if action in (known, enum_form(known)):
            return known
    return None


@dataclass(frozen=True)
class TaskError:
    code: str
    message: str
    name: str
    value: str


@dataclass(frozen=True)
class Lifecycle:
    waiting_s: float
    processing_s: float
    outcome: str


@dataclass(frozen=True)
class FixedStatus:
    status: str
    finished_time: datetime | None
    progress_pct: int


@dataclass(frozen=True)
class SeedTask:
    task_id: str
    region_id: str
    action: str
    resource_id: str | None
    creation_time: datetime
    plan: Lifecycle | FixedStatus
    errors: tuple[TaskError, ...]
    total_count: int


@dataclass(frozen=True)
class TaskState:
    """What the service reports about a task at one instant."""

    status: str
    progress_pct: int
    finished_time: datetime | None
    support_cancel: bool
    success_count: int
    failed_count: int


# --- lifecycle ------------------------------------------------------------------------------


def is_visible(task: SeedTask, now: datetime) -> bool:
    """A task exists from its CreationTime on (a seed can schedule one to appear later)."""
    return task.creation_time <= now


def task_state(task: SeedTask, now: datetime, cancelled_at: datetime | None = None) -> TaskState:
    if cancelled_at is not None and cancelled_at <= now:
        before = _planned_state(task, cancelled_at)
        return TaskState(DELETED, before.progress_pct, cancelled_at, False, before.success_count, 0)
    return _planned_state(task, now)


def _planned_state(task: SeedTask, now: datetime) -> TaskState:
    if isinstance(task.plan, FixedStatus):
        return _fixed_state(task, task.plan)
    plan = task.plan
    started = task.creation_time + timedelta(seconds=plan.waiting_s)
    finished = started + timedelta(seconds=plan.processing_s)
    cancellable = task.action in CANCELLABLE_ACTIONS
    if now < started:
        return TaskState(WAITING, 0, None, cancellable, 0, 0)
    if now < finished:
        fraction = (now - started).total_seconds() / plan.processing_s
        done = math.floor(task.total_count * fraction)
        # 100% only once the outcome is known.
        return TaskState(PROCESSING, min(99, math.floor(100 * fraction)), None, cancellable, done, 0)
    failed = _failed_count(task) if plan.outcome == FAILED else 0
    return TaskState(plan.outcome, 100, finished, False, task.total_count - failed, failed)


def _fixed_state(task: SeedTask, plan: FixedStatus) -> TaskState:
    cancellable = task.action in CANCELLABLE_ACTIONS and plan.status in RUNNING_STATUSES
    failed = _failed_count(task) if plan.status == FAILED else 0
    if plan.status in OUTCOMES:
        success = task.total_count - failed
    else:
        success = math.floor(task.total_count * plan.progress_pct / 100)
    return TaskState(plan.status, plan.progress_pct, plan.finished_time, cancellable, success, failed)


def _failed_count(task: SeedTask) -> int:
    return min(task.total_count, len(task.errors)) if task.errors else task.total_count


def check_cancellable(task: SeedTask, state: TaskState) -> None:
    """CancelTask's rules: only ImportImage/ExportImage, and only while Waiting or Processing."""
    if task.action not in CANCELLABLE_ACTIONS:
        raise errors.task_action_not_supported()
    if state.status not in RUNNING_STATUSES:
        raise errors.task_incorrect_status()


# --- seeds ----------------------------------------------------------------------------------


def task_from_seed(raw: Mapping[str, Any], now: datetime, new_id: Callable[[str], str]) -> SeedTask:
    """Build a task from one seed entry; relative times count back from `now`."""
    label = str(raw.get("TaskId", "<new task>"))
    unknown = set(raw) - _SEED_KEYS
    if unknown:
        raise SeedError(f"{label}: unknown seed fields {sorted(unknown)}")
    region_id = _required_str(raw, "RegionId", label)
    action = request_form(_required_str(raw, "TaskAction", label))
    if action is None:
        raise SeedError(f"{label}: TaskAction must be one of {TASK_ACTIONS}")
    task_errors = tuple(_task_error(item, label) for item in raw.get("errors", ()))
    total = int(raw.get("total_count", max(1, len(task_errors))))
    if total < 1:
        raise SeedError(f"{label}: total_count must be at least 1")
    resource_id = raw.get("ResourceId")
    return SeedTask(
        task_id=str(raw.get("TaskId") or new_id(region_id)),
        region_id=region_id,
        action=action,
        resource_id=str(resource_id) if resource_id else None,
        creation_time=_creation_time(raw, now, label),
        plan=_plan(raw, label),
        errors=task_errors,
        total_count=total,
    )


def _required_str(raw: Mapping[str, Any], key: str, label: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise SeedError(f"{label}: {key} is required")
    return value


def _creation_time(raw: Mapping[str, Any], now: datetime, label: str) -> datetime:
    if "CreationTime" in raw and "created_ago_s" in raw:
        raise SeedError(f"{label}: give CreationTime or created_ago_s, not both")
    if "CreationTime" in raw:
        return _parse_time(raw["CreationTime"], label)
    return now - timedelta(seconds=float(raw.get("created_ago_s", 0)))


def _parse_time(value: Any, label: str) -> datetime:
    try:
        return parse_iso(str(value))
    except ValueError as exc:
        raise SeedError(f"{label}: bad time {value!r}: {exc}") from exc


def _plan(raw: Mapping[str, Any], label: str) -> Lifecycle | FixedStatus:
    if "TaskStatus" in raw:
        if _LIFECYCLE_KEYS & set(raw):
            raise SeedError(f"{label}: a fixed TaskStatus excludes waiting_s/processing_s/outcome")
        return _fixed_plan(raw, label)
    if _FIXED_KEYS & set(raw):
        raise SeedError(f"{label}: FinishedTime/TaskProcess need a fixed TaskStatus")
    outcome = str(raw.get("outcome", FINISHED))
    if outcome not in OUTCOMES:
        raise SeedError(f"{label}: outcome must be Finished or Failed")
    waiting = float(raw.get("waiting_s", 0))
    processing = float(raw.get("processing_s", DEFAULT_PROCESSING_S))
    if waiting < 0 or processing <= 0:
        raise SeedError(f"{label}: waiting_s must be >= 0 and processing_s > 0")
    return Lifecycle(waiting, processing, outcome)


def _fixed_plan(raw: Mapping[str, Any], label: str) -> FixedStatus:
    status = str(raw["TaskStatus"])
    if status not in TASK_STATUSES:
        raise SeedError(f"{label}: TaskStatus must be one of {TASK_STATUSES}")
    finished = _parse_time(raw["FinishedTime"], label) if raw.get("FinishedTime") else None
    default_pct = 100 if status in OUTCOMES else 0
    progress = int(str(raw.get("TaskProcess", default_pct)).rstrip("%"))
    if not 0 <= progress <= 100:
        raise SeedError(f"{label}: TaskProcess must be 0..100%")
    return FixedStatus(status, finished, progress)


def _task_error(item: Mapping[str, Any], label: str) -> TaskError:
    if "ErrorCode" not in item:
        raise SeedError(f"{label}: each error needs an ErrorCode")
    return TaskError(
        code=str(item["ErrorCode"]),
        message=str(item.get("ErrorMsg", "")),
        name=str(item.get("Name", "")),
        value=str(item.get("Value", "")),
    )
