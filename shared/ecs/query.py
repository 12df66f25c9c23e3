"""What a user asked for: the parsed form of `/ecs-tasks ...` and of `ecs-tasks query ...`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import ClassVar, TypedDict


class _StatusSets:
    """The sets of statuses TaskStatus carries, declared here and assigned below it: a name declared in an
    Enum's own body is taken for a member by type checkers."""

    FILTERABLE: ClassVar[frozenset[TaskStatus]]
    TERMINAL: ClassVar[frozenset[TaskStatus]]
    RUNNING: ClassVar[frozenset[TaskStatus]]
    UNFINISHED: ClassVar[frozenset[TaskStatus]]


class TaskStatus(_StatusSets, str, Enum):
    """A task's status as ECS names it. A member hashes and compares as its value, so each set holds a
    status string from the API as well as a member: `"Waiting" in TaskStatus.RUNNING`."""

    FINISHED = "Finished"
    PROCESSING = "Processing"
    WAITING = "Waiting"
    DELETED = "Deleted"
    PAUSED = "Paused"
    FAILED = "Failed"


# DescribeTasks filters on these only; it silently ignores the others (DescribeTasks API page).
TaskStatus.FILTERABLE = frozenset({TaskStatus.FINISHED, TaskStatus.PROCESSING, TaskStatus.FAILED})
# Over for good: nothing changes any more.
TaskStatus.TERMINAL = frozenset({TaskStatus.FINISHED, TaskStatus.FAILED, TaskStatus.DELETED})
# The API's "running": what CancelTask accepts, and what changes without anyone acting. Paused is neither
# running nor over.
TaskStatus.RUNNING = frozenset({TaskStatus.WAITING, TaskStatus.PROCESSING})
# Not over yet: running or Paused.
TaskStatus.UNFINISHED = frozenset(TaskStatus) - TaskStatus.TERMINAL


class _ActionSets:
    """The set of actions TaskAction carries, declared here and assigned below it (as for TaskStatus)."""

    CANCELLABLE: ClassVar[frozenset[TaskAction]]


class TaskAction(_ActionSets, str, Enum):
    IMPORT_IMAGE = "ImportImage"
    EXPORT_IMAGE = "ExportImage"
    REDEPLOY_INSTANCE = "RedeployInstance"
    MODIFY_DISK_SPEC = "ModifyDiskSpec"
    ARCHIVE_SNAPSHOT = "ArchiveSnapshot"


# Only these can be cancelled, and only while running (CancelTask API).
TaskAction.CANCELLABLE = frozenset({TaskAction.IMPORT_IMAGE, TaskAction.EXPORT_IMAGE})

ALL_REGIONS = "all"
MAX_TASK_IDS = 100
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class TaskQuery:
    """A DescribeTasks question, across one or more regions.

    `regions` is a tuple of region ids, or `("all",)` for every region DescribeRegions lists.
    `accounts` names the configured accounts (ECS_TASKS_ACCOUNTS) it runs in; empty: the function's own
    account.
    """

    regions: tuple[str, ...]
    status: TaskStatus | None = None
    action: TaskAction | None = None
    task_ids: tuple[str, ...] = ()
    start_time: datetime | None = None
    end_time: datetime | None = None
    page: int = 1
    page_size: int = 10
    public: bool = False
    resource_ids: tuple[str, ...] = field(default=())
    accounts: tuple[str, ...] = ()

    @property
    def all_regions(self) -> bool:
        return self.regions == (ALL_REGIONS,)


class TaskFilters(TypedDict, total=False):
    """What DescribeTasks can filter on, named once for describe_tasks, iter_tasks and the parameters."""

    task_ids: Sequence[str]
    action: TaskAction | str | None
    status: TaskStatus | str | None
    start_time: datetime | None
    end_time: datetime | None
    resource_ids: Sequence[str]
