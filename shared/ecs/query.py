"""What a user asked for: the parsed form of `/ecs-tasks ...` and of `ecs-tasks query ...`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class TaskStatus(str, Enum):
    FINISHED = "Finished"
    PROCESSING = "Processing"
    WAITING = "Waiting"
    DELETED = "Deleted"
    PAUSED = "Paused"
    FAILED = "Failed"


# The API filters on these only; it silently ignores the others (DescribeTasks API page).
FILTERABLE_STATUSES = frozenset({TaskStatus.FINISHED, TaskStatus.PROCESSING, TaskStatus.FAILED})
TERMINAL_STATUSES = frozenset({TaskStatus.FINISHED, TaskStatus.FAILED, TaskStatus.DELETED})


class TaskAction(str, Enum):
    IMPORT_IMAGE = "ImportImage"
    EXPORT_IMAGE = "ExportImage"
    REDEPLOY_INSTANCE = "RedeployInstance"
    MODIFY_DISK_SPEC = "ModifyDiskSpec"
    ARCHIVE_SNAPSHOT = "ArchiveSnapshot"


# Only these can be cancelled, and only while running (CancelTask API).
CANCELLABLE_ACTIONS = frozenset({TaskAction.IMPORT_IMAGE, TaskAction.EXPORT_IMAGE})

ALL_REGIONS = "all"
MAX_TASK_IDS = 100
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class TaskQuery:
    """A DescribeTasks question, across one or more regions.

    `regions` is a tuple of region ids, or `("all",)` for every region DescribeRegions lists.
    `accounts` names the configured accounts (ECS_TASKS_ACCOUNTS) it runs in; empty: the function's own
    account, as before accounts existed.
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
