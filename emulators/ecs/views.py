"""Tasks and regions as the API shows them (JSON form: request-form actions, boolean flags)."""

from __future__ import annotations

from typing import Any

from emulators.ecs.regions import Region
from emulators.ecs.tasks import SeedTask, TaskState
from emulators.ecs.timefmt import format_response_time

OPERATION_SUCCESS = "Success"
OPERATION_FAILED = "Failed"

# Which kind of resource an id names, from its prefix (for RelatedItem names).
_RESOURCE_KINDS = {"m-": "ImageId", "i-": "InstanceId", "d-": "DiskId", "s-": "SnapshotId"}
_DEFAULT_RESOURCE_KIND = "ResourceId"


def task_summary(task: SeedTask, state: TaskState) -> dict[str, Any]:
    """One `TaskSet.Task[]` entry of DescribeTasks."""
    summary: dict[str, Any] = {
        "TaskId": task.task_id,
        "TaskAction": task.action,
        "TaskStatus": state.status,
        "SupportCancel": state.support_cancel,
        "CreationTime": format_response_time(task.creation_time),
        "FinishedTime": format_response_time(state.finished_time),
    }
    if task.resource_id:
        summary["ResourceId"] = task.resource_id
    return summary


def task_attribute(task: SeedTask, state: TaskState) -> dict[str, Any]:
    """The body of DescribeTaskAttribute (without RequestId)."""
    return {
        "TaskId": task.task_id,
        "RegionId": task.region_id,
        "TaskAction": task.action,
        "TaskStatus": state.status,
        "TaskProcess": f"{state.progress_pct}%",
        "SupportCancel": state.support_cancel,
        "TotalCount": task.total_count,
        "SuccessCount": state.success_count,
        "FailedCount": state.failed_count,
        "CreationTime": format_response_time(task.creation_time),
        "FinishedTime": format_response_time(state.finished_time),
        "OperationProgressSet": {"OperationProgress": operation_progress(task, state)},
    }


def operation_progress(task: SeedTask, state: TaskState) -> list[dict[str, Any]]:
    """One entry per item done so far: successes name the task's resource, failures its errors."""
    successes = [
        _progress(OPERATION_SUCCESS, "", "", _resource_items(task.resource_id)) for _ in range(state.success_count)
    ]
    failures = [
        _progress(OPERATION_FAILED, error.code, error.message, [{"Name": error.name, "Value": error.value}])
        for error in task.errors[: state.failed_count]
    ]
    return successes + failures


def _progress(status: str, code: str, message: str, items: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "OperationStatus": status,
        "ErrorCode": code,
        "ErrorMsg": message,
        "RelatedItemSet": {"RelatedItem": items},
    }


def _resource_items(resource_id: str | None) -> list[dict[str, str]]:
    if not resource_id:
        return []
    kind = _RESOURCE_KINDS.get(resource_id[:2], _DEFAULT_RESOURCE_KIND)
    return [{"Name": kind, "Value": resource_id}]


def region_entry(region: Region, accept_language: str | None) -> dict[str, Any]:
    return {
        "RegionId": region.region_id,
        "LocalName": region.local_name(accept_language),
        "RegionEndpoint": region.endpoint,
        "Status": "available",
    }
