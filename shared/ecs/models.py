"""ECS API responses as pydantic models that accept what the service really sends.

Observed variations: `TaskSet.Task` nested as an object or as a list of objects (JSON) and as repeated
elements (XML); `TaskAction` in request form (`ImportImage`) or enum form (`IMPORT_IMAGE`); times with or
without seconds; an empty `FinishedTime` while running; `SupportCancel` as a boolean or a string.
Unknown fields and unknown enum values are kept, never crashed on.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.ecs.query import TaskAction, TaskStatus

_ENUM_FORM = re.compile(r"^[A-Z0-9]+(?:_[A-Z0-9]+)+$")
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%S.%fZ")
# The shapes of _TIME_FORMATS as the service sends them (zero-padded), parsed without strptime: two strptime
# calls per time (the first format fails on minute precision) were most of a DescribeTasks call's CPU.
_API_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?Z")


def normalise_action(value: str) -> str:
    """`IMPORT_IMAGE` -> `ImportImage`; request-form and unknown values pass through unchanged."""
    # The enum form has an underscore, and the request form, nearly every value, has none: no pattern to try.
    if "_" in value and _ENUM_FORM.match(value):
        return "".join(part.capitalize() for part in value.split("_"))
    return value


# Every DescribeTasks answer carries two times per task, mostly the same ones again (a Refresh, a poller
# tick): recent answers are kept, as datetimes are immutable (a few hundred kB at most).
@lru_cache(maxsize=2048)
def parse_api_time(value: str) -> datetime | None:
    """Parse an API time (UTC, with or without seconds); empty means "not yet"."""
    text = value.strip()
    if not text:
        return None
    fast = _API_TIME.fullmatch(text)
    if fast is not None:
        year, month, day, hour, minute, second, fraction = fast.groups()
        micro = int(fraction.ljust(6, "0")) if fraction else 0
        moment = (int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
        try:
            return datetime(*moment, tzinfo=timezone.utc)
        except ValueError:
            pass  # out of range: the formats below decide, as they always did
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    # Last resort for offsets such as +08:00, which some endpoints have been seen to send.
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _unwrap_list(container: Any, key: str) -> list[Any]:
    """`{"Task": [..]}`, `{"Task": {..}}`, `[{"Task": [..]}]` or missing -> a flat list of items."""
    if container is None or container == "":
        return []
    if isinstance(container, list):
        items: list[Any] = []
        for element in container:
            items.extend(_unwrap_list(element, key) if isinstance(element, dict) and key in element else [element])
        return items
    if isinstance(container, dict):
        inner = container.get(key)
        if inner is None:
            return []
        return list(inner) if isinstance(inner, list) else [inner]
    return []


class _ApiModel(BaseModel):
    # Keep fields the service adds later, instead of failing on them. Each model's schema is built when it is
    # first used: a cold start parses DescribeTasks, and the other calls' answers (and errors) only when asked.
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True, defer_build=True)


class Task(_ApiModel):
    task_id: str = Field(alias="TaskId")
    task_action: str = Field(default="", alias="TaskAction")
    task_status: str = Field(default="", alias="TaskStatus")
    support_cancel: bool = Field(default=False, alias="SupportCancel")
    creation_time: datetime | None = Field(default=None, alias="CreationTime")
    finished_time: datetime | None = Field(default=None, alias="FinishedTime")
    resource_id: str | None = Field(default=None, alias="ResourceId")
    region_id: str | None = Field(default=None, alias="RegionId")

    @field_validator("task_action", mode="before")
    @classmethod
    def _action(cls, value: Any) -> str:
        return normalise_action(str(value or ""))

    @field_validator("support_cancel", mode="before")
    @classmethod
    def _support_cancel(cls, value: Any) -> bool:
        return _parse_bool(value)

    @field_validator("creation_time", "finished_time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        if type(value) is str:  # what the API sends: looked at first, as every task has two
            return parse_api_time(value)
        if value is None or isinstance(value, datetime):
            return value
        return parse_api_time(str(value))

    @field_validator("resource_id", mode="before")
    @classmethod
    def _resource(cls, value: Any) -> str | None:
        return str(value) if value else None

    @property
    def status(self) -> TaskStatus | None:
        """The known status, or None for a value this version does not know (kept in task_status)."""
        try:
            return TaskStatus(self.task_status)
        except ValueError:
            return None

    @property
    def action(self) -> TaskAction | None:
        try:
            return TaskAction(self.task_action)
        except ValueError:
            return None

    def with_region(self, region_id: str) -> Task:
        return self if self.region_id else self.model_copy(update={"region_id": region_id})

    def to_api_dict(self) -> dict[str, Any]:
        """The API's field names, times in the API's format, for `--json` output and storage."""
        return {
            "TaskId": self.task_id,
            "TaskAction": self.task_action,
            "TaskStatus": self.task_status,
            "CreationTime": _format_api_time(self.creation_time),
            "FinishedTime": _format_api_time(self.finished_time),
            "SupportCancel": self.support_cancel,
            "ResourceId": self.resource_id,
            "RegionId": self.region_id,
        }


def _format_api_time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


class TaskPage(_ApiModel):
    """One page of DescribeTasks."""

    request_id: str = Field(default="", alias="RequestId")
    region_id: str = Field(default="", alias="RegionId")
    total_count: int = Field(default=0, alias="TotalCount")
    page_number: int = Field(default=1, alias="PageNumber")
    page_size: int = Field(default=10, alias="PageSize")
    tasks: tuple[Task, ...] = Field(default=(), alias="TaskSet")

    @model_validator(mode="before")
    @classmethod
    def _tasks_with_region(cls, data: Any) -> Any:
        # Tasks carry their region so that multi-region results stay self-describing; set before
        # validation, so that no validated task is copied afterwards.
        if not isinstance(data, dict):
            return data
        tasks_key = "TaskSet" if "TaskSet" in data or "tasks" not in data else "tasks"
        tasks = _unwrap_list(data.get(tasks_key), "Task")
        region = data.get("RegionId") or data.get("region_id")
        if region:
            tasks = [_with_region(t, region) for t in tasks]
        return {**data, tasks_key: tasks}


def _with_region(task: Any, region: str) -> Any:
    if isinstance(task, dict):
        return task if task.get("RegionId") or task.get("region_id") else {**task, "RegionId": region}
    if isinstance(task, Task):
        return task.with_region(region)
    return task


class RelatedItem(_ApiModel):
    name: str = Field(default="", alias="Name")
    value: str = Field(default="", alias="Value")


class OperationProgress(_ApiModel):
    operation_status: str = Field(default="", alias="OperationStatus")
    error_code: str = Field(default="", alias="ErrorCode")
    error_msg: str = Field(default="", alias="ErrorMsg")
    related_items: tuple[RelatedItem, ...] = Field(default=(), alias="RelatedItemSet")

    @field_validator("related_items", mode="before")
    @classmethod
    def _items(cls, value: Any) -> list[Any]:
        return _unwrap_list(value, "RelatedItem")


class TaskAttribute(Task):
    """DescribeTaskAttribute: a task with its progress and per-item outcomes."""

    request_id: str = Field(default="", alias="RequestId")
    task_process: str = Field(default="", alias="TaskProcess")
    total_count: int = Field(default=0, alias="TotalCount")
    success_count: int = Field(default=0, alias="SuccessCount")
    failed_count: int = Field(default=0, alias="FailedCount")
    operations: tuple[OperationProgress, ...] = Field(default=(), alias="OperationProgressSet")

    @field_validator("operations", mode="before")
    @classmethod
    def _operations(cls, value: Any) -> list[Any]:
        return _unwrap_list(value, "OperationProgress")

    @field_validator("total_count", "success_count", "failed_count", mode="before")
    @classmethod
    def _count(cls, value: Any) -> int:
        return int(value) if value not in (None, "") else 0

    @property
    def progress_percent(self) -> int | None:
        match = re.match(r"\s*(\d{1,3})", self.task_process)
        return min(int(match.group(1)), 100) if match else None


class Region(_ApiModel):
    region_id: str = Field(alias="RegionId")


class RegionList(_ApiModel):
    request_id: str = Field(default="", alias="RequestId")
    regions: tuple[Region, ...] = Field(default=(), alias="Regions")

    @field_validator("regions", mode="before")
    @classmethod
    def _regions(cls, value: Any) -> list[Any]:
        return _unwrap_list(value, "Region")


class CancelResult(_ApiModel):
    request_id: str = Field(default="", alias="RequestId")


class ApiErrorBody(_ApiModel):
    request_id: str | None = Field(default=None, alias="RequestId")
    code: str = Field(default="", alias="Code")
    message: str = Field(default="", alias="Message")
    recommend: str | None = Field(default=None, alias="Recommend")
