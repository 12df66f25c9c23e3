"""A plain-text table of tasks for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.ecs.models import Task
from shared.timefmt import format_duration, format_utc, task_duration

COLUMNS = ("STATUS", "ACTION", "TASK ID", "REGION", "RESOURCE", "CREATED", "FINISHED", "DURATION")


def task_row(task: Task, now: datetime) -> tuple[str, ...]:
    duration = task_duration(task.creation_time, task.finished_time, now)
    return (
        task.task_status or "-",
        task.task_action or "-",
        task.task_id,
        task.region_id or "-",
        task.resource_id or "-",
        format_utc(task.creation_time),
        format_utc(task.finished_time),
        format_duration(duration) if duration is not None else "-",
    )


def newest_first(tasks: Sequence[Task]) -> list[Task]:
    return sorted(tasks, key=lambda t: (-(t.creation_time.timestamp() if t.creation_time else 0.0), t.task_id))


def format_task_table(tasks: Sequence[Task], *, now: datetime) -> str:
    if not tasks:
        return "No tasks match.\n"
    rows = [COLUMNS, *(task_row(t, now) for t in tasks)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.append(f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}")
    return "\n".join(lines) + "\n"
