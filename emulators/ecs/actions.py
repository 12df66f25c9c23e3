"""The four ECS actions: parameters in, response body (without RequestId) out."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emulators.ecs import errors, params
from emulators.ecs.regions import Region
from emulators.ecs.store import TaskStore
from emulators.ecs.tasks import FAILED, FINISHED, PROCESSING, SeedTask, TaskState, request_form
from emulators.ecs.views import region_entry, task_attribute, task_summary

API_VERSION = "2014-05-26"
DESCRIBE_TASKS = "DescribeTasks"
DESCRIBE_TASK_ATTRIBUTE = "DescribeTaskAttribute"
CANCEL_TASK = "CancelTask"
IMPORT_IMAGE = "ImportImage"
# The write calls whose answers the call log keeps (for the EventBridge stand-in's ActionTrail events).
WRITE_ACTIONS = frozenset({CANCEL_TASK, IMPORT_IMAGE})
# An imported image's task waits this long, then processes this long (the demo's import, start to end).
IMPORT_WAITING_S = 2.0
IMPORT_PROCESSING_S = 120.0
DESCRIBE_REGIONS = "DescribeRegions"

# DescribeTasks honours only these as a TaskStatus filter. With no TaskStatus, or any other value, it lists
# only tasks in these states (the API page: "The system only retrieves tasks in the Finished, Processing, and
# Failed states. The request ignores other values.").
FILTERABLE_STATUSES = frozenset({FINISHED, PROCESSING, FAILED})
# How DescribeTasks reads "no TaskStatus": as the API page says (the default), or the kinder reading this
# emulator offers as `lenient`, which lists Waiting, Paused and Deleted tasks too.
STRICT_LISTING = "strict"
LENIENT_LISTING = "lenient"
LISTINGS = (STRICT_LISTING, LENIENT_LISTING)
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class ActionContext:
    store: TaskStore
    regions: tuple[Region, ...]
    now: datetime
    listing: str = STRICT_LISTING
    # The most tasks an answer holds, whatever PageSize asked (the answer's PageSize says what was used).
    page_size_cap: int = MAX_PAGE_SIZE


Body = dict[str, Any]
Handler = Callable[[Mapping[str, str], ActionContext], Body]


def region_param(query: Mapping[str, str], ctx: ActionContext) -> str:
    region_id = params.required(query, "RegionId")
    if region_id not in {region.region_id for region in ctx.regions}:
        raise errors.invalid_region()
    return region_id


def describe_tasks(query: Mapping[str, str], ctx: ActionContext) -> Body:
    region_id = region_param(query, ctx)
    page_number = params.page_number(query)
    page_size = min(params.page_size(query), ctx.page_size_cap)
    status = _status_filter(query)
    if status is not None:
        statuses: frozenset[str] | None = frozenset({status})
    else:
        statuses = FILTERABLE_STATUSES if ctx.listing == STRICT_LISTING else None
    wanted = _TaskFilter(
        task_ids=params.task_ids(query),
        resource_ids=params.resource_ids(query),
        action=_action_filter(query),
        statuses=statuses,
        start=params.api_time(query, "StartTime"),
        end=params.api_time(query, "EndTime"),
    )
    matching = [pair for pair in ctx.store.visible(region_id, ctx.now) if wanted.matches(*pair)]
    # Newest first; the id breaks ties so paging is stable.
    matching.sort(key=lambda pair: (pair[0].creation_time, pair[0].task_id), reverse=True)
    first = (page_number - 1) * page_size
    page = matching[first : first + page_size]
    return {
        "RegionId": region_id,
        "TotalCount": len(matching),
        "PageNumber": page_number,
        "PageSize": page_size,
        "TaskSet": {"Task": [task_summary(task, state) for task, state in page]},
    }


def _action_filter(query: Mapping[str, str]) -> str | None:
    text = params.optional(query, "TaskAction")
    if text is None:
        return None
    action = request_form(text)
    if action is None:
        raise errors.invalid_parameter("TaskAction")
    return action


def _status_filter(query: Mapping[str, str]) -> str | None:
    text = params.optional(query, "TaskStatus")
    return text if text in FILTERABLE_STATUSES else None


@dataclass(frozen=True)
class _TaskFilter:
    task_ids: frozenset[str] | None
    resource_ids: frozenset[str] | None
    action: str | None
    statuses: frozenset[str] | None
    start: datetime | None
    end: datetime | None

    def matches(self, task: SeedTask, state: TaskState) -> bool:
        return (
            (self.task_ids is None or task.task_id in self.task_ids)
            and (self.resource_ids is None or task.resource_id in self.resource_ids)
            and (self.action is None or task.action == self.action)
            and (self.statuses is None or state.status in self.statuses)
            and (self.start is None or task.creation_time >= self.start)
            and (self.end is None or task.creation_time <= self.end)
        )


def describe_task_attribute(query: Mapping[str, str], ctx: ActionContext) -> Body:
    region_id = region_param(query, ctx)
    task_id = params.required(query, "TaskId")
    task, state = ctx.store.find(region_id, task_id, ctx.now)
    return task_attribute(task, state)


def cancel_task(query: Mapping[str, str], ctx: ActionContext) -> Body:
    region_id = region_param(query, ctx)
    task_id = params.required(query, "TaskId")
    ctx.store.cancel(region_id, task_id, ctx.now)
    return {}


def import_image(query: Mapping[str, str], ctx: ActionContext) -> Body:
    """ImportImage, as far as its task goes: a new ImportImage task (Waiting, then Processing), its TaskId and
    the new image's id in the answer, as the API page documents (no OSS object is read)."""
    region_id = region_param(query, ctx)
    params.required(query, "ImageName")
    image_id = f"m-{uuid.uuid4().hex[:20]}"
    task = ctx.store.add_seed(
        {
            "RegionId": region_id,
            "TaskAction": IMPORT_IMAGE,
            "ResourceId": image_id,
            "waiting_s": IMPORT_WAITING_S,
            "processing_s": IMPORT_PROCESSING_S,
        },
        ctx.now,
    )
    return {"TaskId": task.task_id, "ImageId": image_id, "RegionId": region_id}


def describe_regions(query: Mapping[str, str], ctx: ActionContext) -> Body:
    language = params.optional(query, "AcceptLanguage")
    return {"Regions": {"Region": [region_entry(region, language) for region in ctx.regions]}}


ACTIONS: dict[str, Handler] = {
    DESCRIBE_TASKS: describe_tasks,
    DESCRIBE_TASK_ATTRIBUTE: describe_task_attribute,
    CANCEL_TASK: cancel_task,
    DESCRIBE_REGIONS: describe_regions,
    IMPORT_IMAGE: import_image,
}
