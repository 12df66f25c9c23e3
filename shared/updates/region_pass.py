"""A region pass: one (account, region) group's work within a tick — read, compare, hand over.

Read: the group's active watches are streamed from the store in task-id order, ≤100 distinct ids at a time
(keyset pagination, so memory does not grow with the number of watches), from where the last unfinished
pass stopped (its cursor), wrapping around. Today's access policy is applied to each (what it refuses is
suspended: logged once, never asked about, never posted); those past their TTL expire. Compare: DescribeTasks
for the rest, and DescribeTaskAttribute for the watched tasks it did not list; each task's status against
the one last seen (`shared.updates.plan.decide`). Hand over: each change is accepted (a compare-and-set and
its outbox row, in one transaction), for the outbox to post (`shared.updates.outbox`). A first pass then runs
the group's subscription scan (a StartTime window, one follow per channel and task), and keeps both cursors.

A group that is throttled (after the client's own backoff) or fails — ECS, or STS refusing its account's
credentials — stops there: the rest of its batches, and its scan window, are carried to the next tick.
The pass's outcome is a frozen `PassResult`; the tick sums them (`shared.updates.tick_report`).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from functools import partial

from shared.ecs.client import EcsClient
from shared.ecs.finder import look_up_task
from shared.ecs.models import Task
from shared.ecs.query import MAX_PAGE_SIZE, MAX_TASK_IDS, TaskStatus
from shared.ecs.retry import Deadline
from shared.errors import ApiError, EcsApiError, StsApiError
from shared.log import log_event
from shared.policy import AccessPolicy, stored_refusal
from shared.updates.follows import follow_discoveries
from shared.updates.model import (
    KIND_FINAL,
    KIND_GONE,
    KIND_UNLISTED,
    SCOPE_SUBSCRIPTIONS,
    SCOPE_WATCHES,
    Accepted,
    Lease,
    PollCursor,
    PollTarget,
)
from shared.updates.outbox import EcsClients, Faults
from shared.updates.plan import Group, Scan, decide, discoveries
from shared.updates.storage import UpdatesStorage
from shared.updates.suspension import settle_suspension

STEP_AFTER_ACCEPT = "after_accept"
STEP_AFTER_SCAN = "after_scan"
# Watched tasks that change without anyone acting: what the tick polls again while they last (the stored
# strings, as the store filters on them).
RUNNING_STATUSES = tuple(status.value for status in TaskStatus if status in TaskStatus.RUNNING)


@dataclass(frozen=True)
class PassCounts:
    """What a pass did, summed over a tick's passes with `+`."""

    watches: int = 0  # active watches streamed
    describe_calls: int = 0
    looked_up: int = 0  # DescribeTaskAttribute answers for unlisted tasks
    accepted: int = 0
    discovered: int = 0  # follow-ups a scan started
    expired: int = 0
    suspended: int = 0

    def __add__(self, other: PassCounts) -> PassCounts:
        return PassCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class PassResult:
    """One region pass's outcome."""

    account: str
    region_id: str
    counts: PassCounts
    running: int  # watched tasks still Waiting or Processing after this pass
    lookups_left: int  # of the tick's look-up budget for this group
    throttled: bool = False
    error: str | None = None  # the code that stopped the group's work, if anything did
    carried: bool = False  # work left for the next tick: watches not reached, or a planned scan not done

    @property
    def group(self) -> Group:
        return (self.account, self.region_id)


class RegionPasses:
    """Runs a poller's region passes: what every pass of every group shares (the store, each account's
    client, today's policy, the clock, injected faults). Safe to use from several threads at once: each pass
    keeps its own state."""

    def __init__(
        self,
        store: UpdatesStorage,
        clients: EcsClients,
        *,
        policy: AccessPolicy,
        ttl: timedelta,
        min_call_s: float,
        clock: Callable[[], datetime],
        faults: Faults,
    ) -> None:
        self.store = store
        self.clients = clients
        self.policy = policy
        self.ttl = ttl
        self.min_call_s = min_call_s
        self.clock = clock
        self.faults = faults

    def first(
        self,
        group: Group,
        cursor: PollCursor | None,
        scan: Scan | None,
        *,
        calls_allowed: int,
        lookups_allowed: int,
        deadline: Deadline,
        lease: Lease,
    ) -> PassResult:
        """The tick's first pass over a group: every active watch (from its cursor, which it then moves),
        then the subscription scan if one is planned."""
        work = _Pass(self, group, calls_allowed, lookups_allowed, deadline, lease)
        finished = work.watches(cursor, statuses=None, save=True)
        scanned = False
        if scan is not None and work.error is None:
            scanned = work.scan(scan)
        return work.result(carried=not finished or (scan is not None and not scanned))

    def repoll(
        self, group: Group, *, calls_allowed: int, lookups_allowed: int, deadline: Deadline, lease: Lease
    ) -> PassResult:
        """Another pass within the tick, over the group's running watched tasks only; no cursor is kept."""
        work = _Pass(self, group, calls_allowed, lookups_allowed, deadline, lease)
        work.watches(None, statuses=RUNNING_STATUSES, save=False)
        return work.result(carried=False)


class _Pass:
    """One pass's work and what it found so far (private to the pass: one thread)."""

    def __init__(
        self,
        passes: RegionPasses,
        group: Group,
        calls_allowed: int,
        lookups_left: int,
        deadline: Deadline,
        lease: Lease,
    ) -> None:
        self._passes = passes
        self._store = passes.store
        self.account, self.region_id = group
        self._calls_allowed = calls_allowed
        self._lookups_left = lookups_left
        self._deadline = deadline
        self._lease = lease
        self._counts = PassCounts()
        self._running = 0
        # Watched tasks DescribeTasks did not list, to look up after the pass: a heap of at most
        # `_lookups_left`, the least recently checked kept (entries: -age key, -stream position, target).
        self._unlisted: list[tuple[float, int, PollTarget]] = []
        self._streamed = 0
        self._throttled = False
        self.error: str | None = None

    def result(self, *, carried: bool) -> PassResult:
        return PassResult(
            self.account,
            self.region_id,
            self._counts,
            running=self._running,
            lookups_left=self._lookups_left,
            throttled=self._throttled,
            error=self.error,
            carried=carried,
        )

    def _count(self, **done: int) -> None:
        self._counts = self._counts + PassCounts(**done)

    def _client(self) -> EcsClient:
        """The ECS client of the group's account (the policy admitted its rows before this is asked)."""
        return self._passes.clients(self.account)

    # --- the watched tasks --------------------------------------------------------------------------

    def watches(self, cursor: PollCursor | None, *, statuses: Sequence[str] | None, save: bool) -> bool:
        """Stream the group's active watches in task-id order, from after where the last unfinished pass
        stopped, wrapping around; at most the budget's DescribeTasks calls, one per ≤100 distinct ids.
        True when every batch was done."""
        resume_after = cursor.resume_after if cursor else None
        segments = [(resume_after, None), (None, resume_after)] if resume_after is not None else [(None, None)]
        last_done: str | None = None
        finished = True
        for after, upto in segments:
            position = after
            while finished:
                targets = self._store.watches.poll_batch(
                    self.region_id,
                    account=self.account,
                    after=position,
                    upto=upto,
                    limit=MAX_TASK_IDS,
                    statuses=statuses,
                )
                if not targets:
                    break
                if self._counts.describe_calls >= self._calls_allowed or not self._batch(targets):
                    finished = False
                    break
                position = last_done = targets[-1].task_id
            if not finished:
                break
        self._look_up()
        if save and (last_done is not None or not finished or resume_after is not None):
            self._store.cursors.save(
                SCOPE_WATCHES,
                self.region_id,
                now=self._passes.clock(),
                resume_after=None if finished else (last_done or resume_after),
                account=self.account,
            )
        return finished

    def _batch(self, targets: Sequence[PollTarget]) -> bool:
        """One DescribeTasks call for a batch; False when the pass must stop here (time, throttling, error)."""
        now = self._passes.clock()
        lease = self._lease
        asked: list[PollTarget] = []
        refusals: dict[tuple[str | None, str, str, str], str | None] = {}
        self._count(watches=len(targets))
        for target in targets:
            if not self._admit(target, refusals):
                if target.expires_at <= now:
                    # Its time ran out while suspended: it ends without a note in a channel it may not post in.
                    expired = self._store.watches.expire(replace(target, announced=False), now=now, lease=lease)
                    self._count(expired=int(expired))
                continue
            if target.expires_at <= now:
                self._count(expired=int(self._store.watches.expire(target, now=now, lease=lease)))
                continue
            asked.append(target)
        if not asked:
            return True
        if self._deadline.remaining() < self._passes.min_call_s:
            return False
        task_ids = tuple(dict.fromkeys(t.task_id for t in asked))
        try:
            page = self._client().describe_tasks(
                self.region_id, task_ids=task_ids, page_size=MAX_PAGE_SIZE, deadline=self._deadline
            )
        except ApiError as error:  # an ECS error, or STS refusing the role: stops this group's work only
            self._failed(error)
            return False
        self._count(describe_calls=1)
        found = {task.task_id: task.with_region(self.region_id) for task in page.tasks}
        for target in asked:
            task = found.get(target.task_id)
            if task is None:
                self._queue_look_up(target)
                continue
            change = decide(target, task)
            if change is None and task.task_status in RUNNING_STATUSES:
                self._running += 1
            self._accept(change)
        return True

    def _admit(self, target: PollTarget, refusals: dict[tuple[str | None, str, str, str], str | None]) -> bool:
        """Whether today's policy lets this watch run. `refusals` holds the policy's answers of this batch
        (its watches mostly share a channel, a region and an account)."""
        key = (target.team_id, target.channel_id, target.region_id, target.account)
        if key in refusals:
            refusal = refusals[key]
        else:
            refusal = refusals[key] = stored_refusal(
                self._passes.policy,
                team_id=target.team_id,
                channel_id=target.channel_id,
                region_id=target.region_id,
                account=target.account,
            )
        if refusal is not None:
            self._count(suspended=1)
        return settle_suspension(
            refusal,
            target.suspended,
            partial(self._store.watches.set_suspended, target.watch_id),
            names={"watch_id": target.watch_id, "channel_id": target.channel_id},
            suspended_names={"task_id": target.task_id},
        )

    def _accept(self, change: Accepted | None) -> None:
        if change is not None and self._store.watches.accept(change, now=self._passes.clock(), lease=self._lease):
            self._count(accepted=1)
            self._passes.faults(STEP_AFTER_ACCEPT)
            if not change.ends and change.task.task_status in RUNNING_STATUSES:
                self._running += 1

    # --- the watched tasks DescribeTasks did not list ------------------------------------------------

    def _queue_look_up(self, target: PollTarget) -> None:
        """Keep the `_lookups_left` least recently checked unlisted tasks of the pass (bounded memory), so
        the budget reaches every such task in turn over the ticks, not always the same first ones."""
        age = target.checked_at.timestamp() if target.checked_at else float("-inf")
        self._streamed += 1
        entry = (-age, -self._streamed, target)
        if len(self._unlisted) < self._lookups_left:
            heapq.heappush(self._unlisted, entry)
            return
        dropped = heapq.heappushpop(self._unlisted, entry)[2] if self._lookups_left > 0 else target
        if dropped.last_status in RUNNING_STATUSES:
            self._running += 1  # not looked up this pass: as last seen

    def _look_up(self) -> None:
        queued = sorted(self._unlisted, reverse=True)  # the least recently checked first
        self._unlisted = []
        checked = []
        for _, _, target in queued:
            change, answered = self._unlisted_change(target)
            if answered:
                checked.append(target.watch_id)
            elif target.last_status in RUNNING_STATUSES:
                self._running += 1
            self._accept(change)
        if checked:
            self._store.watches.mark_checked(checked, now=self._passes.clock())

    def _unlisted_change(self, target: PollTarget) -> tuple[Accepted | None, bool]:
        """What DescribeTaskAttribute says of a watched task DescribeTasks did not list (`look_up_task`): a
        task that is over, or unknown to ECS, ends its watch with a final notice (not a silent wait for its
        TTL). Returns the change (if any) and whether ECS answered."""
        if self._lookups_left <= 0 or self._deadline.remaining() < self._passes.min_call_s:
            return None, False
        self._lookups_left -= 1
        try:
            task = look_up_task(self._client(), self.region_id, target.task_id, deadline=self._deadline)
        except ApiError as error:  # an ECS error, or STS refusing the role: the group's other work goes on
            self._lookups_left = 0  # throttled or failing: no more look-ups in this region this tick
            log_event("poller.lookup_failed", level=logging.WARNING, outcome=error.code)
            return None, False
        self._count(looked_up=1)
        if task is None:
            gone = Task.model_validate(
                {"TaskId": target.task_id, "TaskStatus": target.last_status, "RegionId": self.region_id}
            )
            return Accepted(target, gone, KIND_GONE if target.announced else None, ends=True, announces=False), True
        change = decide(target, task)
        if change is None:
            if task.task_status in RUNNING_STATUSES:
                self._running += 1
            return None, True
        return (replace(change, kind=KIND_UNLISTED) if change.kind == KIND_FINAL else change), True

    # --- the subscription scan -------------------------------------------------------------------------

    def scan(self, scan: Scan) -> bool:
        """The group's new tasks in the scan's window, followed for each subscription that wants them; True
        when the window was done (its cursor moved on)."""
        region_id, account = self.region_id, self.account
        if self._deadline.remaining() < self._passes.min_call_s:
            return False
        try:
            tasks = list(
                self._client().iter_tasks(region_id, start_time=scan.start, end_time=scan.end, deadline=self._deadline)
            )
        except ApiError as error:  # an ECS error, or STS refusing the role: stops this group's work only
            self._failed(error)
            return False
        now = self._passes.clock()
        followed = follow_discoveries(
            self._store.watches,
            discoveries(scan, tasks),
            region_id=region_id,
            account=account,
            now=now,
            ttl=self._passes.ttl,
            lease=self._lease,
        )
        self._count(discovered=followed)
        self._passes.faults(STEP_AFTER_SCAN)
        # Only now: a crash before this line means the same window is asked again, and de-duplicated.
        self._store.cursors.save(SCOPE_SUBSCRIPTIONS, region_id, now=now, last_success_at=scan.end, account=account)
        return True

    def _failed(self, error: ApiError) -> None:
        self._throttled = error.is_throttling
        self.error = error.code
        # An STS error names the account and its role (no secret); the request id is STS's then.
        log_event(
            "poller.region_carried",
            level=logging.WARNING,
            outcome=error.code,
            ecs_request_id=error.request_id if isinstance(error, EcsApiError) else None,
            sts_request_id=error.request_id if isinstance(error, StsApiError) else None,
            throttled=error.is_throttling,
        )
