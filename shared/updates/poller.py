"""One poller tick: ask ECS about every watched task and every subscribed region, record what changed,
and post it (through the outbox, see `outbox_delivery`).

A tick: load the active watches and subscriptions (one query each) → `plan_tick` → expire watches past
their TTL → per region, concurrently on `EcsClient.map_regions`' bounded pool: DescribeTasks for each
batch of ≤100 ids and accept each change (compare-and-set + outbox row), then the subscription scan
(StartTime window, de-duplicated by the follow-ups' unique key) → take over outbox rows whose lease ran
out → deliver → release what is left. A region that is throttled (after the client's own backoff) or
fails stops there: the rest of its batches, and its scan window, are carried to the next tick. No new
ECS call or Slack post starts once the tick's budget is nearly spent.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.ecs.client import EcsClient
from shared.ecs.query import MAX_PAGE_SIZE
from shared.ecs.retry import Deadline
from shared.errors import EcsApiError
from shared.log import log_context, log_event
from shared.updates.model import SCOPE_SUBSCRIPTIONS, SCOPE_WATCHES, Lease, PollState
from shared.updates.notifier import Notifier
from shared.updates.outbox import Faults, OutboxConfig, OutboxSender, no_faults
from shared.updates.plan import RegionPlan, Scan, TickBudget, decide, discoveries, plan_tick, resume_point
from shared.updates.storage import UpdatesStorage

STEP_AFTER_ACCEPT = "after_accept"
STEP_AFTER_SCAN = "after_scan"
DEFAULT_LEASE = timedelta(minutes=5)
# Regions listed by DescribeRegions (for `subscribe all`) are asked again after this long.
REGIONS_CACHE_S = 3600.0
OWNER_CHARS = 64
DEFAULT_BUDGET = TickBudget()


# The bot's deferred work is redelivered within minutes (and re-verified against a 5-minute signature).
CLAIM_RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class PollerConfig:
    ttl: timedelta
    lease: timedelta = DEFAULT_LEASE
    budget: TickBudget = DEFAULT_BUDGET
    # Do not start a DescribeTasks call with less time than this left in the tick.
    min_call_s: float = 3.0
    allowed_regions: frozenset[str] = frozenset()  # narrows `subscribe all`, like ECS_TASKS_REGIONS
    # Do not start a post with less than this left in the tick: a card update and a reply at full timeout.
    min_post_s: float = 10.0


@dataclass
class RegionOutcome:
    region_id: str
    describe_calls: int = 0
    batches_done: int = 0
    accepted: int = 0
    discovered: int = 0
    throttled: bool = False
    error: str | None = None
    scanned: bool = False


@dataclass
class TickReport:
    owner: str
    watches: int = 0
    subscriptions: int = 0
    regions: int = 0
    describe_calls: int = 0
    accepted: int = 0
    discovered: int = 0
    expired: int = 0
    taken_over: int = 0
    posted: int = 0
    deferred: int = 0
    undeliverable: int = 0
    abandoned: int = 0
    carried_regions: list[str] = field(default_factory=list)
    throttled_regions: list[str] = field(default_factory=list)
    duration_ms: float = 0.0

    def as_fields(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "owner"}


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[-OWNER_CHARS:]


class Poller:
    def __init__(
        self,
        store: UpdatesStorage,
        ecs: EcsClient,
        notifier: Notifier,
        config: PollerConfig,
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        faults: Faults = no_faults,
        owner: str | None = None,
    ) -> None:
        self._store = store
        self._ecs = ecs
        self._config = config
        self._clock = clock
        self._monotonic = monotonic
        self._faults = faults
        self._owner = owner or new_owner_id()
        self._deliverer = OutboxSender(
            store, ecs, notifier, OutboxConfig(ttl=config.ttl, min_post_s=config.min_post_s), clock=clock, faults=faults
        )
        self._regions_cache: tuple[float, tuple[str, ...]] | None = None

    def tick(self, budget_s: float) -> TickReport:
        started = self._monotonic()
        deadline = Deadline.after(budget_s, self._monotonic)
        now = self._clock()
        lease = Lease(self._owner, now + self._config.lease)
        report = TickReport(owner=self._owner)
        with log_context(poller=self._owner):
            targets = self._store.watches.poll_targets()
            subscriptions = self._store.subscriptions.all()
            report.watches, report.subscriptions = len(targets), len(subscriptions)
            resume = self._store.subscriptions.poll_states(SCOPE_WATCHES)
            plan = plan_tick(
                targets,
                subscriptions,
                now=now,
                budget=self._config.budget,
                resume=resume,
                scans=self._store.subscriptions.poll_states(SCOPE_SUBSCRIPTIONS),
                all_regions=self._all_regions(deadline) if any(s.all_regions for s in subscriptions) else (),
            )
            report.expired = sum(self._store.watches.expire(t, now=now, lease=lease) for t in plan.expired)

            def one_region(region: RegionPlan) -> RegionOutcome:
                with log_context(region_id=region.region_id):
                    return self._poll_region(region, resume.get(region.region_id), deadline, lease)

            by_id = {r.region_id: r for r in plan.regions}
            outcomes = self._ecs.map_regions(lambda rid: one_region(by_id[rid]), [r.region_id for r in plan.regions])
            self._summarise(report, plan.regions, outcomes)
            report.taken_over = self._store.outbox.take_over_expired(lease, now=self._clock())
            delivered = self._deliverer.deliver(lease, deadline)
            self._store.outbox.release_all(lease, now=self._clock())
            # Housekeeping for the bot's once-only claims of lazy work, which nothing else deletes.
            self._store.purge_deferred_work_claims(older_than=now - CLAIM_RETENTION)
        report.posted, report.deferred = delivered.posted, delivered.deferred
        report.undeliverable, report.abandoned = delivered.undeliverable, delivered.abandoned
        report.duration_ms = round((self._monotonic() - started) * 1000, 1)
        return report

    # --- one region -------------------------------------------------------------------------------

    def _poll_region(
        self, plan: RegionPlan, previous: PollState | None, deadline: Deadline, lease: Lease
    ) -> RegionOutcome:
        outcome = RegionOutcome(plan.region_id)
        for batch in plan.batches:
            if deadline.remaining() < self._config.min_call_s:
                break
            try:
                page = self._ecs.describe_tasks(
                    plan.region_id, task_ids=batch.task_ids, page_size=MAX_PAGE_SIZE, deadline=deadline
                )
            except EcsApiError as error:
                self._region_failed(outcome, error)
                break
            outcome.describe_calls += 1
            found = {task.task_id: task.with_region(plan.region_id) for task in page.tasks}
            for target in batch.targets:
                task = found.get(target.task_id)
                change = decide(target, task) if task is not None else None
                if change is not None and self._store.watches.accept(change, now=self._clock(), lease=lease):
                    outcome.accepted += 1
                    self._faults(STEP_AFTER_ACCEPT)
            outcome.batches_done += 1
        if plan.batches:
            self._store.subscriptions.save_poll_state(
                SCOPE_WATCHES,
                plan.region_id,
                now=self._clock(),
                resume_after=resume_point(plan, outcome.batches_done, previous.resume_after if previous else None),
            )
        if plan.scan is not None and not outcome.throttled and outcome.error is None:
            self._scan(plan.region_id, plan.scan, outcome, deadline, lease)
        return outcome

    def _scan(self, region_id: str, scan: Scan, outcome: RegionOutcome, deadline: Deadline, lease: Lease) -> None:
        if deadline.remaining() < self._config.min_call_s:
            return
        try:
            tasks = list(self._ecs.iter_tasks(region_id, start_time=scan.start, end_time=scan.end, deadline=deadline))
        except EcsApiError as error:
            self._region_failed(outcome, error)
            return
        found = discoveries(scan, tasks)
        known = self._store.watches.known_followups(
            sorted({d.subscription.id for d in found}), sorted({d.task.task_id for d in found})
        )
        now = self._clock()
        for discovery in found:
            if (discovery.subscription.id, discovery.task.task_id) in known:
                continue
            if self._store.watches.add_followup(
                discovery.subscription,
                discovery.task.with_region(region_id),
                announce=discovery.announce,
                now=now,
                ttl=self._config.ttl,
                lease=lease,
            ):
                outcome.discovered += 1
        self._faults(STEP_AFTER_SCAN)
        # Only now: a crash before this line means the same window is asked again, and de-duplicated.
        self._store.subscriptions.save_poll_state(SCOPE_SUBSCRIPTIONS, region_id, now=now, last_success_at=scan.end)
        outcome.scanned = True

    def _region_failed(self, outcome: RegionOutcome, error: EcsApiError) -> None:
        outcome.throttled = error.is_throttling
        outcome.error = error.code
        log_event(
            "poller.region_carried",
            level=logging.WARNING,
            outcome=error.code,
            ecs_request_id=error.request_id,
            throttled=error.is_throttling,
        )

    # --- helpers ------------------------------------------------------------------------------------

    def _all_regions(self, deadline: Deadline) -> Sequence[str]:
        """What `subscribe all` covers: ECS_TASKS_REGIONS if set, else DescribeRegions (cached)."""
        if self._config.allowed_regions:
            return sorted(self._config.allowed_regions)
        cached = self._regions_cache
        if cached is not None and self._monotonic() - cached[0] < REGIONS_CACHE_S:
            return cached[1]
        try:
            listed = tuple(r.region_id for r in self._ecs.describe_regions(deadline=deadline).regions)
        except EcsApiError as error:
            log_event("poller.regions_unavailable", level=logging.WARNING, outcome=error.code)
            return cached[1] if cached else ()
        self._regions_cache = (self._monotonic(), listed)
        return listed

    @staticmethod
    def _summarise(report: TickReport, plans: Sequence[RegionPlan], outcomes: Sequence[RegionOutcome]) -> None:
        report.regions = len(plans)
        for plan, outcome in zip(plans, outcomes, strict=True):
            report.describe_calls += outcome.describe_calls
            report.accepted += outcome.accepted
            report.discovered += outcome.discovered
            if outcome.throttled:
                report.throttled_regions.append(plan.region_id)
            if outcome.batches_done < len(plan.batches) or plan.carried or (plan.scan and not outcome.scanned):
                report.carried_regions.append(plan.region_id)


def log_tick(report: TickReport, **extra: object) -> None:
    fields: dict[str, Any] = {**report.as_fields(), **extra}
    log_event("poller.tick", **fields)
