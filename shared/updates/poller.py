"""One poller tick: ask ECS about every watched task and every subscribed region, record what changed,
and post it (through the outbox, see `shared.updates.outbox`).

A tick: load the subscriptions (bounded per channel) and the (account, region) groups with active watches
→ per group, concurrently on `EcsClient.map_regions`' bounded pool, each group with its account's own
client (`ecs_for_account`, built by bot.wiring.build under the poller's session): stream its active
watches from the store
in task-id order, ≤100 distinct ids at a time (keyset pagination, so memory does not grow with the number
of watches), resuming where a throttled or out-of-time pass stopped; apply today's access policy to each
(what it refuses is suspended: logged once, never asked about, never posted); expire those past their TTL;
DescribeTasks for the rest and accept each change (compare-and-set + outbox row); look up by
DescribeTaskAttribute the watched tasks DescribeTasks did not list; then the subscription scan (StartTime
window, one follow per channel and task) → take over outbox rows whose lease ran out → deliver. While
watched tasks are running, the tick polls them again every `repoll_interval_s` (the last pass brought
forward, if need be, to still leave room for its posts), delivering after each pass, and stops early once
none is. A group that is throttled (after the client's own backoff) or fails —
ECS, or STS refusing its account's credentials — stops there: the rest of its batches, and its scan window,
are carried to the next tick, and the other groups go on. No new ECS call or Slack post starts once the
tick's budget is nearly spent.
"""

from __future__ import annotations

import heapq
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shared.config import ACCOUNT_NAME_RE
from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.ecs.client import EcsClient
from shared.ecs.models import Task
from shared.ecs.query import MAX_PAGE_SIZE, MAX_TASK_IDS, TaskStatus
from shared.ecs.regions import is_region_id
from shared.ecs.retry import Deadline
from shared.errors import EcsApiError, StsApiError
from shared.log import log_context, log_event
from shared.updates.model import (
    KIND_FINAL,
    KIND_GONE,
    KIND_UNLISTED,
    SCOPE_SUBSCRIPTIONS,
    SCOPE_WATCHES,
    TASK_NOT_FOUND,
    Accepted,
    Lease,
    PollCursor,
    PollTarget,
    Subscription,
)
from shared.updates.notifier import Notifier
from shared.updates.outbox import Faults, OutboxConfig, OutboxSender, no_faults
from shared.updates.plan import Group, Scan, TickBudget, decide, discoveries, plan_account_scans
from shared.updates.policy import AccessPolicy, stored_refusal
from shared.updates.storage import UpdatesStorage

STEP_AFTER_ACCEPT = "after_accept"
STEP_AFTER_SCAN = "after_scan"
DEFAULT_LEASE = timedelta(minutes=5)
# Regions listed by DescribeRegions (for `subscribe all`) are asked again after this long.
REGIONS_CACHE_S = 3600.0
OWNER_CHARS = 64
DEFAULT_BUDGET = TickBudget()
# Watched tasks that change without anyone acting: what the tick polls again while they last.
RUNNING_STATUSES = (TaskStatus.WAITING.value, TaskStatus.PROCESSING.value)
# A last repoll brought forward to fit the budget comes at least this much of an interval after the one before.
EARLY_REPOLL_FRACTION = 1 / 3


INVALID = "(invalid)"
# What stops one group's work (and only that group's): an ECS error, or STS refusing the account's role.
GROUP_FAILURES = (EcsApiError, StsApiError)
# An account's ECS client (bot.wiring.build builds them under the poller's session).
EcsForAccount = Callable[[str], EcsClient]

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
    # Today's team, channel and region allow-lists, applied to every stored watch and subscription.
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    # Poll running watched tasks again this often within a tick (ECS_TASKS_REPOLL_INTERVAL); 0: once a tick.
    repoll_interval_s: float = 0.0


@dataclass
class RegionOutcome:
    """One group's pass: an account's region."""

    region_id: str
    account: str = HOME_ACCOUNT_NAME
    calls_allowed: int = 0  # DescribeTasks calls this pass may make (what the tick's budget has left)
    describe_calls: int = 0
    batches_done: int = 0
    accepted: int = 0
    discovered: int = 0
    watches: int = 0
    expired: int = 0
    suspended: int = 0
    looked_up: int = 0
    running: int = 0  # watched tasks still Waiting or Processing after this pass
    lookups_left: int = 0
    # Watched tasks DescribeTasks did not list, to look up after the pass: a heap of at most `lookups_left`,
    # the least recently checked kept (entries: -age key, -stream position, target).
    unlisted: list[tuple[float, int, PollTarget]] = field(default_factory=list)
    streamed: int = 0
    throttled: bool = False
    error: str | None = None
    scan_planned: bool = False
    scanned: bool = False
    carried: bool = False


@dataclass
class TickReport:
    owner: str
    watches: int = 0
    subscriptions: int = 0
    regions: int = 0
    describe_calls: int = 0
    looked_up: int = 0
    accepted: int = 0
    discovered: int = 0
    expired: int = 0
    suspended: int = 0
    passes: int = 0
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


def group_label(account: str, region_id: str) -> str:
    """How a group is named in reports: the region alone for the home account (as before accounts), else
    `account/region`; a stored value not in region-id (or account-name) form is never repeated."""
    region = region_id if is_region_id(region_id) else INVALID
    return region if account == HOME_ACCOUNT_NAME else f"{shown_account(account)}/{region}"


def shown_account(account: str) -> str:
    """A stored account name as it may appear in logs and reports."""
    return account if ACCOUNT_NAME_RE.fullmatch(account) else INVALID


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
        sleep: Callable[[float], None] = time.sleep,
        faults: Faults = no_faults,
        owner: str | None = None,
        ecs_for_account: EcsForAccount | None = None,
    ) -> None:
        self._store = store
        # `ecs` is the home account's client (DescribeRegions and the pool run on it); without
        # `ecs_for_account`, every group uses it (tests that build the poller by hand).
        self._ecs = ecs
        self._ecs_for_account = ecs_for_account
        self._config = config
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._faults = faults
        self._owner = owner or new_owner_id()
        self._deliverer = OutboxSender(
            store,
            ecs,
            notifier,
            OutboxConfig(ttl=config.ttl, min_post_s=config.min_post_s, policy=config.policy),
            clock=clock,
            faults=faults,
            ecs_for_account=ecs_for_account,
        )
        self._regions_cache: tuple[float, tuple[str, ...]] | None = None

    def tick(self, budget_s: float) -> TickReport:
        started = self._monotonic()
        deadline = Deadline.after(budget_s, self._monotonic)
        now = self._clock()
        lease = Lease(self._owner, now + self._config.lease)
        report = TickReport(owner=self._owner)
        with log_context(poller=self._owner):
            subscriptions = self._allowed_subscriptions(self._store.subscriptions.all(), report)
            report.subscriptions = len(subscriptions)
            active = self._store.watches.active_groups()
            accounts = sorted({account for account, _ in active} | {s.account for s in subscriptions})
            resume = {a: self._store.cursors.by_region(SCOPE_WATCHES, a) for a in accounts}
            scanned = {a: self._store.cursors.by_region(SCOPE_SUBSCRIPTIONS, a) for a in accounts}
            scans = plan_account_scans(
                subscriptions,
                now=now,
                scans=scanned,
                all_regions=lambda account: self._all_regions(account, deadline),
            )
            groups = sorted(set(active) | set(scans))

            def first_pass(group: Group) -> RegionOutcome:
                account, region_id = group
                with log_context(
                    region_id=region_id if is_region_id(region_id) else None, account=shown_account(account)
                ):
                    return self._poll_region(
                        group, resume.get(account, {}).get(region_id), scans.get(group), deadline, lease
                    )

            pass_started = self._monotonic()
            outcomes = self._ecs.map_regions(first_pass, groups)
            first_pass_s = self._monotonic() - pass_started
            self._summarise(report, outcomes, first=True)
            report.watches = sum(o.watches for o in outcomes)
            report.taken_over = self._store.outbox.take_over_expired(lease, now=self._clock())
            self._deliver(report, lease, deadline)
            self._repoll(report, outcomes, deadline, lease, first_pass_s)
            self._store.outbox.release_all(lease, now=self._clock())
            # Housekeeping for the bot's once-only claims of lazy work, which nothing else deletes.
            self._store.purge_deferred_work_claims(older_than=now - CLAIM_RETENTION)
        report.duration_ms = round((self._monotonic() - started) * 1000, 1)
        return report

    def _repoll(
        self,
        report: TickReport,
        outcomes: Sequence[RegionOutcome],
        deadline: Deadline,
        lease: Lease,
        first_pass_s: float,
    ) -> None:
        """Poll the running watched tasks again every interval while the budget leaves room for a pass and
        its posts; stop as soon as nothing is running.

        The last pass comes early rather than not at all: when the next one is due too late to still post what
        it finds, it starts as late as leaves room for the pass (a call's `min_call_s`, or as long as the last
        pass took if longer) and then for its posts (`min_post_s`); but not within a third of an interval of
        the one before, which would find next to nothing new. Without it, a change after the last pass that
        fits a whole interval would wait for the next timer tick: at the defaults (50 s budget, 15 s interval,
        3 s and 10 s kept) passes run at 0, 15, 30 and 37 s instead of 0, 15 and 30 s."""
        interval = self._config.repoll_interval_s
        if interval <= 0:
            return
        # The tick's budget per region (DescribeTasks calls, look-ups) covers its repolls too: a region whose
        # first pass used it all (many watches) is not polled again, so ECS sees at most that much a tick.
        calls_left = {_group(o): o.calls_allowed - o.describe_calls for o in outcomes}
        lookups_left = {_group(o): o.lookups_left for o in outcomes}
        pass_s = first_pass_s  # a repoll asks about fewer tasks than the first pass: this bounds its time
        pass_started = self._monotonic()
        running = [_group(o) for o in outcomes if o.running and o.error is None and calls_left[_group(o)] > 0]
        while running:
            due = max(0.0, pass_started + interval - self._monotonic())
            room = max(self._config.min_call_s, pass_s) + self._config.min_post_s
            wait = min(due, deadline.remaining() - room)
            if wait < 0 or (wait < due and self._monotonic() + wait - pass_started < interval * EARLY_REPOLL_FRACTION):
                break
            self._sleep(wait)
            pass_started = self._monotonic()

            def again(group: Group) -> RegionOutcome:
                account, region_id = group
                with log_context(region_id=region_id, account=shown_account(account)):
                    outcome = RegionOutcome(
                        region_id, account, calls_allowed=calls_left[group], lookups_left=lookups_left[group]
                    )
                    self._watch_pass(outcome, None, deadline, lease, statuses=RUNNING_STATUSES, save=False)
                    return outcome

            found = self._ecs.map_regions(again, running)
            pass_s = self._monotonic() - pass_started
            self._summarise(report, found, first=False)
            self._deliver(report, lease, deadline)
            for outcome in found:
                calls_left[_group(outcome)] -= outcome.describe_calls
                lookups_left[_group(outcome)] = outcome.lookups_left
            running = [_group(o) for o in found if o.running and o.error is None and calls_left[_group(o)] > 0]

    def _deliver(self, report: TickReport, lease: Lease, deadline: Deadline) -> None:
        delivered = self._deliverer.deliver(lease, deadline)
        report.posted += delivered.posted
        report.deferred += delivered.deferred
        report.undeliverable += delivered.undeliverable
        report.abandoned += delivered.abandoned

    # --- today's policy ------------------------------------------------------------------------------

    def _allowed_subscriptions(self, subscriptions: Sequence[Subscription], report: TickReport) -> list[Subscription]:
        allowed = []
        for subscription in subscriptions:
            reason = stored_refusal(
                self._config.policy,
                team_id=subscription.team_id,
                channel_id=subscription.channel_id,
                region_id=subscription.region_id,
                account=subscription.account,
            )
            if reason is not None:
                report.suspended += 1
                if subscription.suspended != reason and self._store.subscriptions.set_suspended(
                    subscription.id, reason
                ):
                    log_event(
                        "updates.suspended",
                        level=logging.WARNING,
                        subscription_id=subscription.id,
                        channel_id=subscription.channel_id,
                        reason=reason,
                    )
                continue
            if subscription.suspended is not None and self._store.subscriptions.set_suspended(subscription.id, None):
                log_event("updates.resumed", subscription_id=subscription.id, channel_id=subscription.channel_id)
            allowed.append(subscription)
        return allowed

    def _admit(
        self, target: PollTarget, outcome: RegionOutcome, refusals: dict[tuple[str | None, str, str, str], str | None]
    ) -> bool:
        """Whether today's policy lets this watch run; a refused one is marked (and logged) once. `refusals`
        holds the policy's answers of this batch (its watches mostly share a channel, a region and an account)."""
        key = (target.team_id, target.channel_id, target.region_id, target.account)
        if key in refusals:
            reason = refusals[key]
        else:
            reason = refusals[key] = stored_refusal(
                self._config.policy,
                team_id=target.team_id,
                channel_id=target.channel_id,
                region_id=target.region_id,
                account=target.account,
            )
        if reason is not None:
            outcome.suspended += 1
            if target.suspended != reason and self._store.watches.set_suspended(target.watch_id, reason):
                log_event(
                    "updates.suspended",
                    level=logging.WARNING,
                    watch_id=target.watch_id,
                    channel_id=target.channel_id,
                    task_id=target.task_id,
                    reason=reason,
                )
            return False
        if target.suspended is not None and self._store.watches.set_suspended(target.watch_id, None):
            log_event("updates.resumed", watch_id=target.watch_id, channel_id=target.channel_id)
        return True

    # --- one region -------------------------------------------------------------------------------

    def _client(self, account: str) -> EcsClient:
        """The ECS client of an account the policy has admitted (its rows were checked before this)."""
        return self._ecs if self._ecs_for_account is None else self._ecs_for_account(account)

    def _poll_region(
        self, group: Group, previous: PollCursor | None, scan: Scan | None, deadline: Deadline, lease: Lease
    ) -> RegionOutcome:
        account, region_id = group
        allowed = self._config.budget.describe_calls_per_region
        outcome = RegionOutcome(
            region_id,
            account,
            calls_allowed=allowed,
            lookups_left=self._config.budget.lookups_per_region,
            scan_planned=scan is not None,
        )
        self._watch_pass(outcome, previous, deadline, lease, statuses=None, save=True)
        if scan is not None and not outcome.throttled and outcome.error is None:
            self._scan(scan, outcome, deadline, lease)
        return outcome

    def _watch_pass(
        self,
        outcome: RegionOutcome,
        previous: PollCursor | None,
        deadline: Deadline,
        lease: Lease,
        *,
        statuses: Sequence[str] | None,
        save: bool,
    ) -> None:
        """Stream the group's active watches in task-id order, from after where the last unfinished pass
        stopped, wrapping around; at most the budget's DescribeTasks calls, one per ≤100 distinct ids."""
        region_id = outcome.region_id
        resume_after = previous.resume_after if previous else None
        segments = [(resume_after, None), (None, resume_after)] if resume_after is not None else [(None, None)]
        last_done: str | None = None
        finished = True
        for after, upto in segments:
            cursor = after
            while finished:
                targets = self._store.watches.poll_batch(
                    region_id, account=outcome.account, after=cursor, upto=upto, limit=MAX_TASK_IDS, statuses=statuses
                )
                if not targets:
                    break
                if outcome.describe_calls >= outcome.calls_allowed or not self._poll_batch(
                    outcome, targets, deadline, lease
                ):
                    finished = False
                    break
                cursor = last_done = targets[-1].task_id
            if not finished:
                break
        self._look_up(outcome, deadline, lease)
        outcome.carried = not finished
        if save and (last_done is not None or not finished or resume_after is not None):
            self._store.cursors.save(
                SCOPE_WATCHES,
                region_id,
                now=self._clock(),
                resume_after=None if finished else (last_done or resume_after),
                account=outcome.account,
            )

    def _poll_batch(
        self,
        outcome: RegionOutcome,
        targets: Sequence[PollTarget],
        deadline: Deadline,
        lease: Lease,
    ) -> bool:
        """One DescribeTasks call for a batch; False when the pass must stop here (time, throttling, error)."""
        now = self._clock()
        asked: list[PollTarget] = []
        refusals: dict[tuple[str | None, str, str, str], str | None] = {}
        for target in targets:
            outcome.watches += 1
            if not self._admit(target, outcome, refusals):
                if target.expires_at <= now:
                    # Its time ran out while suspended: it ends without a note in a channel it may not post in.
                    outcome.expired += self._store.watches.expire(
                        replace(target, announced=False), now=now, lease=lease
                    )
                continue
            if target.expires_at <= now:
                outcome.expired += self._store.watches.expire(target, now=now, lease=lease)
                continue
            asked.append(target)
        if not asked:
            outcome.batches_done += 1
            return True
        if deadline.remaining() < self._config.min_call_s:
            return False
        task_ids = tuple(dict.fromkeys(t.task_id for t in asked))
        try:
            page = self._client(outcome.account).describe_tasks(
                outcome.region_id, task_ids=task_ids, page_size=MAX_PAGE_SIZE, deadline=deadline
            )
        except GROUP_FAILURES as error:
            self._region_failed(outcome, error)
            return False
        outcome.describe_calls += 1
        found = {task.task_id: task.with_region(outcome.region_id) for task in page.tasks}
        for target in asked:
            task = found.get(target.task_id)
            if task is None:
                self._queue_look_up(outcome, target)
                continue
            change = decide(target, task)
            if change is None and task.task_status in RUNNING_STATUSES:
                outcome.running += 1
            self._accept(outcome, change, lease)
        outcome.batches_done += 1
        return True

    def _accept(self, outcome: RegionOutcome, change: Accepted | None, lease: Lease) -> None:
        if change is not None and self._store.watches.accept(change, now=self._clock(), lease=lease):
            outcome.accepted += 1
            self._faults(STEP_AFTER_ACCEPT)
            if not change.ends and change.task.task_status in RUNNING_STATUSES:
                outcome.running += 1

    def _queue_look_up(self, outcome: RegionOutcome, target: PollTarget) -> None:
        """Keep the `lookups_left` least recently checked unlisted tasks of the pass (bounded memory), so
        the budget reaches every such task in turn over the ticks, not always the same first ones."""
        age = target.checked_at.timestamp() if target.checked_at else float("-inf")
        outcome.streamed += 1
        entry = (-age, -outcome.streamed, target)
        if len(outcome.unlisted) < outcome.lookups_left:
            heapq.heappush(outcome.unlisted, entry)
            return
        dropped = heapq.heappushpop(outcome.unlisted, entry)[2] if outcome.lookups_left > 0 else target
        if dropped.last_status in RUNNING_STATUSES:
            outcome.running += 1  # not looked up this pass: as last seen

    def _look_up(self, outcome: RegionOutcome, deadline: Deadline, lease: Lease) -> None:
        queued = sorted(outcome.unlisted, reverse=True)  # the least recently checked first
        outcome.unlisted = []
        checked = []
        for _, _, target in queued:
            change, answered = self._unlisted(outcome, target, deadline)
            if answered:
                checked.append(target.watch_id)
            elif target.last_status in RUNNING_STATUSES:
                outcome.running += 1
            self._accept(outcome, change, lease)
        if checked:
            self._store.watches.mark_checked(checked, now=self._clock())

    def _unlisted(self, outcome: RegionOutcome, target: PollTarget, deadline: Deadline) -> tuple[Accepted | None, bool]:
        """A watched task DescribeTasks did not list: the API page's listing leaves out Waiting, Paused and
        Deleted tasks, and ECS forgets old ones. DescribeTaskAttribute says which; a task that is over, or
        unknown to ECS, ends its watch with a final notice (not a silent wait for its TTL).
        Returns the change (if any) and whether ECS answered."""
        if outcome.lookups_left <= 0 or deadline.remaining() < self._config.min_call_s:
            return None, False
        outcome.lookups_left -= 1
        try:
            attribute = self._client(outcome.account).describe_task_attribute(
                outcome.region_id, target.task_id, deadline=deadline
            )
        except GROUP_FAILURES as error:
            if isinstance(error, StsApiError) or error.code != TASK_NOT_FOUND:
                outcome.lookups_left = 0  # throttled or failing: no more look-ups in this region this tick
                log_event("poller.lookup_failed", level=logging.WARNING, outcome=error.code)
                return None, False
            outcome.looked_up += 1
            gone = Task.model_validate(
                {"TaskId": target.task_id, "TaskStatus": target.last_status, "RegionId": outcome.region_id}
            )
            return Accepted(target, gone, KIND_GONE if target.announced else None, ends=True, announces=False), True
        outcome.looked_up += 1
        task = Task.model_validate(attribute.to_api_dict()).with_region(outcome.region_id)
        change = decide(target, task)
        if change is None:
            if task.task_status in RUNNING_STATUSES:
                outcome.running += 1
            return None, True
        return (replace(change, kind=KIND_UNLISTED) if change.kind == KIND_FINAL else change), True

    def _scan(self, scan: Scan, outcome: RegionOutcome, deadline: Deadline, lease: Lease) -> None:
        region_id, account = outcome.region_id, outcome.account
        if deadline.remaining() < self._config.min_call_s:
            return
        client = self._client(account)
        try:
            tasks = list(client.iter_tasks(region_id, start_time=scan.start, end_time=scan.end, deadline=deadline))
        except GROUP_FAILURES as error:
            self._region_failed(outcome, error)
            return
        # One follow per channel and task: of several subscriptions that found it, one that announces goes
        # first, so a task is announced once and the channel's other matches leave it be.
        found = sorted(discoveries(scan, tasks), key=lambda d: not d.announce)
        settled = self._store.watches.settled_in_channels(
            sorted({d.subscription.channel_id for d in found}),
            region_id,
            sorted({d.task.task_id for d in found}),
            account=account,
        )
        now = self._clock()
        for discovery in found:
            key = (discovery.subscription.channel_id, discovery.task.task_id)
            if key in settled:
                continue
            settled.add(key)
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
        self._store.cursors.save(SCOPE_SUBSCRIPTIONS, region_id, now=now, last_success_at=scan.end, account=account)
        outcome.scanned = True

    def _region_failed(self, outcome: RegionOutcome, error: EcsApiError | StsApiError) -> None:
        outcome.throttled = error.is_throttling
        outcome.error = error.code
        # An STS error names the account and its role (no secret); the request id is STS's then.
        log_event(
            "poller.region_carried",
            level=logging.WARNING,
            outcome=error.code,
            ecs_request_id=error.request_id if isinstance(error, EcsApiError) else None,
            sts_request_id=error.request_id if isinstance(error, StsApiError) else None,
            throttled=error.is_throttling,
        )

    # --- helpers ------------------------------------------------------------------------------------

    def _all_regions(self, account: str, deadline: Deadline) -> Sequence[str]:
        """What `subscribe all` covers in an account: ECS_TASKS_REGIONS if set, else DescribeRegions (cached),
        narrowed to the account's own regions when it names some."""
        configured = self._config.policy.accounts.named(account)
        regions = self._listed_regions(deadline)
        return [r for r in regions if configured is None or configured.covers(r)]

    def _listed_regions(self, deadline: Deadline) -> Sequence[str]:
        if self._config.allowed_regions:
            return sorted(r for r in self._config.allowed_regions if is_region_id(r))
        cached = self._regions_cache
        if cached is not None and self._monotonic() - cached[0] < REGIONS_CACHE_S:
            return cached[1]
        try:
            regions = self._ecs.describe_regions(deadline=deadline).regions
        except EcsApiError as error:
            log_event("poller.regions_unavailable", level=logging.WARNING, outcome=error.code)
            return cached[1] if cached else ()
        # An answer from outside like any other: only region ids may become endpoints.
        listed = tuple(r.region_id for r in regions if is_region_id(r.region_id))
        self._regions_cache = (self._monotonic(), listed)
        return listed

    @staticmethod
    def _summarise(report: TickReport, outcomes: Sequence[RegionOutcome], *, first: bool) -> None:
        report.passes += 1
        if first:
            report.regions = len(outcomes)
        for outcome in outcomes:
            report.describe_calls += outcome.describe_calls
            report.looked_up += outcome.looked_up
            report.accepted += outcome.accepted
            report.discovered += outcome.discovered
            report.expired += outcome.expired
            if first:
                report.suspended += outcome.suspended
            label = group_label(outcome.account, outcome.region_id)
            if outcome.throttled and label not in report.throttled_regions:
                report.throttled_regions.append(label)
            if first and (outcome.carried or (outcome.scan_planned and not outcome.scanned)):
                report.carried_regions.append(label)


def _group(outcome: RegionOutcome) -> Group:
    return (outcome.account, outcome.region_id)


def log_tick(report: TickReport, **extra: object) -> None:
    fields: dict[str, Any] = {**report.as_fields(), **extra}
    log_event("poller.tick", **fields)
