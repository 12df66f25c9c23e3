"""Tasks named by id: what DescribeTasks lists, and the rest asked of DescribeTaskAttribute one by one.

DescribeTasks lists only Finished, Processing and Failed tasks (the API page), so a Waiting, Paused or
Deleted task named by id is missing from its answer while DescribeTaskAttribute still knows it. Only that
call's InvalidTaskId.NotFound means ECS does not know the id in the region; every other error is raised.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shared.ecs.models import Task, TaskAttribute
from shared.ecs.query import TaskFilters
from shared.ecs.retry import Deadline
from shared.errors import CODE_TASK_NOT_FOUND, EcsApiError

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+; the runtime may be 3.10


class TaskReader(Protocol):
    """The two reads the finder makes (EcsClient has them), so the finder needs no client module."""

    def iter_tasks(
        self, region_id: str, *, deadline: Deadline | None = None, **filters: Unpack[TaskFilters]
    ) -> Iterator[Task]: ...

    def describe_task_attribute(
        self, region_id: str, task_id: str, *, deadline: Deadline | None = None
    ) -> TaskAttribute: ...


@dataclass(frozen=True)
class FoundTasks:
    """One region's answer about some task ids; each task carries the region."""

    listed: tuple[Task, ...]  # as DescribeTasks listed them, in its order
    looked_up: tuple[Task, ...]  # those it did not list, as DescribeTaskAttribute told, in the order asked
    unknown: tuple[str, ...]  # ids ECS does not know in the region

    @property
    def tasks(self) -> tuple[Task, ...]:
        return self.listed + self.looked_up


def find_tasks(
    client: TaskReader,
    region_id: str,
    task_ids: Sequence[str],
    *,
    deadline: Deadline,
    filters: TaskFilters | None = None,
) -> FoundTasks:
    """The tasks with these ids in the region: DescribeTasks for all of them (with `filters`' other
    conditions, if any), then DescribeTaskAttribute for each id it did not list. A task looked up is not
    checked against `filters`: that is the caller's to do."""
    asked: TaskFilters = {**(filters or {}), "task_ids": tuple(task_ids)}
    listed = {task.task_id: task for task in client.iter_tasks(region_id, deadline=deadline, **asked)}
    looked_up: list[Task] = []
    unknown: list[str] = []
    for task_id in dict.fromkeys(task_ids):
        if task_id in listed:
            continue
        task = look_up_task(client, region_id, task_id, deadline=deadline)
        if task is None:
            unknown.append(task_id)
        else:
            looked_up.append(task)
    return FoundTasks(tuple(listed.values()), tuple(looked_up), tuple(unknown))


def look_up_task(client: TaskReader, region_id: str, task_id: str, *, deadline: Deadline) -> Task | None:
    """DescribeTaskAttribute for one task, in the listing's shape; None when ECS does not know the id."""
    try:
        attribute = client.describe_task_attribute(region_id, task_id, deadline=deadline)
    except EcsApiError as error:
        if error.code == CODE_TASK_NOT_FOUND:
            return None
        raise
    return _as_listed(attribute)


def _as_listed(attribute: TaskAttribute) -> Task:
    """The listing's fields of a DescribeTaskAttribute answer, so a task found by id prints, renders and is
    stored as a listed one is (the answer's own fields are already validated)."""
    return Task.model_construct(**{name: getattr(attribute, name) for name in Task.model_fields})
