"""The ECS task API: DescribeTasks, DescribeTaskAttribute, CancelTask, DescribeRegions.

Retries follow the one rule of every Alibaba Cloud call (shared.ecs.retry), on the error `Code`, within a
deadline the caller passes; the transport makes single attempts. Sleep, randomness and the monotonic clock
are injected so faults are testable.
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from shared.ecs.finder import find_tasks
from shared.ecs.models import CancelResult, RegionList, Task, TaskAttribute, TaskPage
from shared.ecs.query import MAX_PAGE_SIZE, MAX_TASK_IDS, TaskAction, TaskFilters, TaskQuery, TaskStatus
from shared.ecs.results import MultiRegionResult, RegionResult
from shared.ecs.retry import Deadline, Retrying, RetryPolicy, Timeout
from shared.ecs.signer import format_timestamp
from shared.ecs.transport import ApiResponse, ApiTransport
from shared.errors import CODE_MALFORMED, ApiError, EcsApiError

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+; the runtime may be 3.10


DEFAULT_DEADLINE_S = 20.0
# connect, read: short connects fail fast on a dead endpoint; reads allow for a slow API.
DEFAULT_TIMEOUT_S = (3.05, 10.0)
MAX_REGION_WORKERS = 8
# Where DescribeRegions is asked when the caller names no region.
DEFAULT_REGIONS_SOURCE = "cn-hangzhou"

ModelT = TypeVar("ModelT", bound=BaseModel)
# Sorts tasks without a CreationTime last.
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class EcsClient:
    def __init__(
        self,
        transport: ApiTransport,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        max_region_workers: int = MAX_REGION_WORKERS,
        regions_source: str = DEFAULT_REGIONS_SOURCE,
        on_call: Callable[[str, str, str | None, ApiError | None, float], None] | None = None,
    ) -> None:
        self._transport = transport
        self._retrying = Retrying(retry or RetryPolicy(), timeout, sleep, rand, monotonic)
        self._monotonic = monotonic
        self._max_region_workers = max_region_workers
        self._regions_source = regions_source
        # Called once per attempt: (action, region, request id, error, seconds) — for structured logs.
        self._on_call = on_call
        # Queries started ahead of their caller (`prefetch`), each taken once by the `query` that asks it.
        self._prefetched: dict[TaskQuery, tuple[Future[MultiRegionResult], Deadline]] = {}
        self._prefetch_lock = threading.Lock()

    def deadline(self, seconds: float = DEFAULT_DEADLINE_S) -> Deadline:
        return Deadline.after(seconds, self._monotonic)

    # --- single calls -----------------------------------------------------------------------

    def describe_tasks(
        self,
        region_id: str,
        *,
        page_number: int = 1,
        page_size: int = 10,
        deadline: Deadline | None = None,
        **filters: Unpack[TaskFilters],
    ) -> TaskPage:
        if len(filters.get("task_ids", ())) > MAX_TASK_IDS:
            raise ValueError(f"at most {MAX_TASK_IDS} task ids per call; use iter_tasks() to batch")
        params = describe_tasks_params(region_id, page_number=page_number, page_size=page_size, **filters)
        page = self._call("DescribeTasks", region_id, params, TaskPage, deadline, idempotent=True)
        return page if page.region_id else page.model_copy(update={"region_id": region_id})

    def iter_tasks(
        self, region_id: str, *, deadline: Deadline | None = None, **filters: Unpack[TaskFilters]
    ) -> Iterator[Task]:
        """Every matching task across all pages; more than 100 task ids are asked in batches of 100."""
        task_ids = tuple(filters.get("task_ids", ()))
        batches = [task_ids[i : i + MAX_TASK_IDS] for i in range(0, len(task_ids), MAX_TASK_IDS)] or [()]
        deadline = deadline or self.deadline()
        for batch in batches:
            batch_filters: TaskFilters = {**filters, "task_ids": batch}
            page_number = 1
            while True:
                page = self.describe_tasks(
                    region_id, page_number=page_number, page_size=MAX_PAGE_SIZE, deadline=deadline, **batch_filters
                )
                yield from (t.with_region(region_id) for t in page.tasks)
                # The answer's PageSize and TotalCount say where the end is (ECS may use fewer than asked).
                seen = (page.page_number - 1) * page.page_size + len(page.tasks)
                if not page.tasks or page.page_size <= 0 or seen >= page.total_count:
                    break
                page_number = page.page_number + 1

    def describe_task_attribute(
        self, region_id: str, task_id: str, *, deadline: Deadline | None = None
    ) -> TaskAttribute:
        params = {"RegionId": region_id, "TaskId": task_id}
        attribute = self._call("DescribeTaskAttribute", region_id, params, TaskAttribute, deadline, idempotent=True)
        return attribute.with_region(region_id)  # type: ignore[return-value]

    def cancel_task(self, region_id: str, task_id: str, *, deadline: Deadline | None = None) -> CancelResult:
        params = {"RegionId": region_id, "TaskId": task_id}
        # Not idempotent: a timed-out cancel may have happened, so only clear refusals are retried.
        return self._call("CancelTask", region_id, params, CancelResult, deadline, idempotent=False)

    def describe_regions(
        self, region_id: str = DEFAULT_REGIONS_SOURCE, *, deadline: Deadline | None = None
    ) -> RegionList:
        return self._call("DescribeRegions", region_id, {"RegionId": region_id}, RegionList, deadline, idempotent=True)

    # --- several regions ----------------------------------------------------------------------

    def resolve_regions(self, query: TaskQuery, *, deadline: Deadline | None = None) -> tuple[str, ...]:
        """The query's regions, with `all` expanded through DescribeRegions."""
        if not query.all_regions:
            return query.regions
        listed = self.describe_regions(self._regions_source, deadline=deadline)
        return tuple(r.region_id for r in listed.regions)

    def prefetch(self, query: TaskQuery, *, deadline: Deadline) -> None:
        """Start `query` now, on a thread of its own, for a caller that will ask it in a moment (a cold
        instance's first request, while its app loads: `bot.slack.answering.head_start`). The next `query` of an equal
        TaskQuery before `deadline` takes this answer instead of asking ECS again; after it, nobody does."""
        future: Future[MultiRegionResult] = Future()
        context = contextvars.copy_context()  # its log lines carry the request's ids

        def run() -> None:
            try:
                future.set_result(context.run(self._ask, query, deadline))
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread, which re-raises it
                future.set_exception(error)

        with self._prefetch_lock:
            self._prefetched = {query: (future, deadline)}  # one at a time: an untaken answer is dropped
        threading.Thread(target=run, name="ecs-tasks-prefetch", daemon=True).start()

    def query(self, query: TaskQuery, *, deadline: Deadline | None = None) -> MultiRegionResult:
        """One page of a TaskQuery in each region it names, concurrently; a region's failure stays its own.

        DescribeTasks lists only Finished, Processing and Failed tasks (the API page). A query naming task ids
        with no status, or a status DescribeTasks cannot filter on, also finds the named tasks it did not list
        (Waiting, Paused, Deleted) by id, through DescribeTaskAttribute."""
        deadline = deadline or self.deadline()
        with self._prefetch_lock:
            started = self._prefetched.pop(query, None)
        if started is not None and not started[1].expired:
            future, _ = started
            try:
                # Within the caller's deadline; a prefetch still out then is left to finish unread.
                return future.result(timeout=deadline.remaining())
            except FutureTimeout:
                pass  # asked again below: the caller's own deadline decides, as without a prefetch
        return self._ask(query, deadline)

    def _ask(self, query: TaskQuery, deadline: Deadline) -> MultiRegionResult:
        def one(region_id: str) -> RegionResult:
            try:
                if _finds_by_id(query):
                    return _page_of(region_id, self._tasks_by_id(region_id, query, deadline), query)
                page = self.describe_tasks(
                    region_id,
                    **_filters(query),
                    page_number=query.page,
                    page_size=query.page_size,
                    deadline=deadline,
                )
            except EcsApiError as error:
                return RegionResult(region_id, error=error)
            return RegionResult(region_id, page=page.model_copy(update={"tasks": _keep_status(page.tasks, query)}))

        return MultiRegionResult(query, tuple(self.map_regions(one, self.resolve_regions(query, deadline=deadline))))

    def query_all_pages(self, query: TaskQuery, *, deadline: Deadline | None = None) -> MultiRegionResult:
        """Like `query`, but every page of every region merged into one page per region."""
        deadline = deadline or self.deadline()

        def one(region_id: str) -> RegionResult:
            try:
                if _finds_by_id(query):
                    tasks = self._tasks_by_id(region_id, query, deadline)
                else:
                    tasks = _keep_status(tuple(self.iter_tasks(region_id, **_filters(query), deadline=deadline)), query)
            except EcsApiError as error:
                return RegionResult(region_id, error=error)
            page = TaskPage.model_validate(
                {"RegionId": region_id, "TotalCount": len(tasks), "PageSize": max(len(tasks), 1)}
            ).model_copy(update={"tasks": tasks})
            return RegionResult(region_id, page=page)

        return MultiRegionResult(query, tuple(self.map_regions(one, self.resolve_regions(query, deadline=deadline))))

    def _tasks_by_id(self, region_id: str, query: TaskQuery, deadline: Deadline) -> tuple[Task, ...]:
        """Every task the query names that matches it, newest first: what DescribeTasks lists, and the rest
        looked up one by one with DescribeTaskAttribute (ids the region does not have are left out)."""
        found = find_tasks(self, region_id, query.task_ids, deadline=deadline, filters=_filters(query))
        matching = [t for t in found.tasks if _matches(t, query)]
        matching.sort(key=lambda t: (t.creation_time or _EPOCH, t.task_id), reverse=True)
        return tuple(matching)

    def map_regions(
        self, work: Callable[[RegionKeyT], RegionResultT], region_ids: Sequence[RegionKeyT]
    ) -> list[RegionResultT]:
        """Run `work` per region (or per (account, region) group, for the poller) on a bounded pool, results
        in the order of `region_ids`."""
        if len(region_ids) <= 1:
            return [work(r) for r in region_ids]
        with ThreadPoolExecutor(max_workers=min(self._max_region_workers, len(region_ids))) as pool:
            # Each region's work runs in a copy of the caller's context, so its log lines keep the request ids.
            futures = [pool.submit(contextvars.copy_context().run, work, r) for r in region_ids]
            return [f.result() for f in futures]

    # --- retries ----------------------------------------------------------------------------

    def _call(
        self,
        action: str,
        region_id: str,
        params: Mapping[str, str],
        model: type[ModelT],
        deadline: Deadline | None,
        *,
        idempotent: bool,
    ) -> ModelT:
        def attempt(timeout: Timeout) -> ApiResponse:
            return self._transport.call(action, region_id, params, timeout=timeout)

        def report(response: ApiResponse | None, error: ApiError | None, seconds: float) -> None:
            if self._on_call is not None:
                request_id = response.request_id if response is not None else error.request_id if error else None
                self._on_call(action, region_id, request_id, error, seconds)

        response = self._retrying.call(
            attempt,
            deadline=deadline or self.deadline(),
            # Not idempotent (CancelTask): a timed-out call may have acted.
            changes_something=not idempotent,
            errors=EcsApiError,
            what="the call",
            observe=report,
        )
        try:
            return model.model_validate(response.body)
        except ValidationError as error:
            # A JSON object of an unexpected shape: as unusable as a garbled body, and said the same way.
            raise EcsApiError(
                CODE_MALFORMED,
                f"the {action} answer had an unexpected shape ({error.error_count()} problems)",
                request_id=response.request_id or None,
                http_status=response.http_status,
                region_id=region_id,
            ) from None


RegionResultT = TypeVar("RegionResultT")
RegionKeyT = TypeVar("RegionKeyT")


def _filters(query: TaskQuery) -> TaskFilters:
    return {
        "task_ids": query.task_ids,
        "action": query.action,
        # ECS ignores other status values; those are filtered here instead (see _keep_status).
        "status": query.status if query.status in TaskStatus.FILTERABLE else None,
        "start_time": query.start_time,
        "end_time": query.end_time,
        "resource_ids": query.resource_ids,
    }


def _finds_by_id(query: TaskQuery) -> bool:
    """Named tasks DescribeTasks may not list: no status (it lists only Finished, Processing and Failed), or a
    status it cannot filter on."""
    return bool(query.task_ids) and (query.status is None or query.status not in TaskStatus.FILTERABLE)


def _matches(task: Task, query: TaskQuery) -> bool:
    """The query's filters applied here, for tasks found by id rather than filtered by DescribeTasks."""
    created = task.creation_time
    return (
        task.task_id in query.task_ids
        and (query.status is None or task.task_status == query.status.value)
        and (query.action is None or task.task_action == query.action.value)
        and (query.start_time is None or (created is not None and created >= query.start_time))
        and (query.end_time is None or (created is not None and created <= query.end_time))
        and (not query.resource_ids or task.resource_id in query.resource_ids)
    )


def _page_of(region_id: str, tasks: tuple[Task, ...], query: TaskQuery) -> RegionResult:
    """The query's page of tasks found by id, with the paging fields DescribeTasks would give."""
    first = (query.page - 1) * query.page_size
    page = TaskPage.model_validate(
        {"RegionId": region_id, "TotalCount": len(tasks), "PageNumber": query.page, "PageSize": query.page_size}
    ).model_copy(update={"tasks": tasks[first : first + query.page_size]})
    return RegionResult(region_id, page=page)


def _keep_status(tasks: tuple[Task, ...], query: TaskQuery) -> tuple[Task, ...]:
    """Apply a status filter the API cannot apply (Waiting, Paused, Deleted) to what it returned."""
    if query.status is None or query.status in TaskStatus.FILTERABLE:
        return tasks
    return tuple(t for t in tasks if t.task_status == query.status.value)


def describe_tasks_params(
    region_id: str, *, page_number: int = 1, page_size: int = 10, **filters: Unpack[TaskFilters]
) -> dict[str, str]:
    """DescribeTasks query parameters, exactly as the API names them."""
    params = {"RegionId": region_id, "PageNumber": str(page_number), "PageSize": str(page_size)}
    action, status = filters.get("action"), filters.get("status")
    start_time, end_time = filters.get("start_time"), filters.get("end_time")
    if filters.get("task_ids"):
        params["TaskIds"] = ",".join(filters["task_ids"])
    if action:
        params["TaskAction"] = action.value if isinstance(action, TaskAction) else action
    if status:
        params["TaskStatus"] = status.value if isinstance(status, TaskStatus) else status
    if start_time:
        params["StartTime"] = format_timestamp(start_time)
    if end_time:
        params["EndTime"] = format_timestamp(end_time)
    for index, resource_id in enumerate(filters.get("resource_ids", ()), start=1):
        params[f"ResourceIds.{index}"] = resource_id
    return params
