"""The poller's tick and its schedule: what it does this tick and when — passes, repolls, the budget.

A tick: load the subscriptions (today's policy suspends what it refuses) and the (account, region) groups
with active watches; plan each group's subscription scan (`shared.updates.plan`); run a first pass over
every group (`shared.updates.region_pass`), the groups concurrently on the poller's own bounded thread pool,
each with its account's own client (`clients`, the home account's included) → take over outbox rows whose
lease ran out → deliver (`shared.updates.outbox`). While watched tasks are running, the tick passes over
them again, delivering after each pass, and stops early once none is. The passes are spaced evenly across the
timer's period (`pass_spacing`: at most `repoll_interval_s` apart, a whole number of them a period), so the
last pass of one tick and the first of the next are as far apart as any two: a change waits at most one
spacing (plus a pass) whenever it comes. A pass due at (or just before) the next tick is left to that tick; a
pass the budget cannot fit with room for its posts comes early instead. Each group's budget of DescribeTasks
calls and look-ups covers all of its passes in the tick; no new ECS call or Slack post starts once the
tick's time is nearly spent. The tick's report (`shared.updates.tick_report`) is assembled from the passes'
results at the end.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.ecs.retry import Deadline
from shared.errors import EcsApiError
from shared.log import log_context, log_event
from shared.policy import AccessPolicy, stored_refusal
from shared.region_ids import is_region_id
from shared.updates.model import SCOPE_SUBSCRIPTIONS, SCOPE_WATCHES, Lease, Subscription
from shared.updates.notifier import Notifier
from shared.updates.outbox import EcsClients, Faults, OutboxConfig, OutboxSender, no_faults
from shared.updates.plan import Group, TickBudget, plan_account_scans
from shared.updates.region_pass import PassResult, RegionPasses
from shared.updates.storage import UpdatesStorage
from shared.updates.suspension import settle_suspension
from shared.updates.tick_report import DeliveryCounts, TickReport, log_tick, shown_account

__all__ = ["Poller", "PollerConfig", "TickReport", "log_tick"]

DEFAULT_LEASE = timedelta(minutes=5)
# Regions listed by DescribeRegions (for `subscribe all`) are asked again after this long.
REGIONS_CACHE_S = 3600.0
OWNER_CHARS = 64
DEFAULT_BUDGET = TickBudget()
# A last repoll brought forward to fit the budget comes at least this much of an interval after the one before.
EARLY_REPOLL_FRACTION = 1 / 3
# Groups passed over at once: every group of a tick, in practice (a first pass is up to 50 calls in a row, so a
# queued group would wait a whole pass); the poller's clients pool as many connections
# (bot.wiring.build.POLLER_REGION_WORKERS).
PARALLEL_GROUPS = 32

# The template's timer fires once a minute.
TIMER_PERIOD_S = 60.0

# The bot's deferred work is redelivered within minutes (and re-verified against a 5-minute signature).
CLAIM_RETENTION = timedelta(days=1)

ResultT = TypeVar("ResultT")


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
    # Asked at the start of every tick, when given: today's policy with the channel bindings made in Slack.
    policy_source: Callable[[], AccessPolicy] | None = None
    # Poll running watched tasks again this often within a tick (ECS_TASKS_REPOLL_INTERVAL); 0: once a tick.
    repoll_interval_s: float = 0.0
    # At most this many groups are passed over at once (the poller's thread pool).
    parallel_groups: int = PARALLEL_GROUPS
    # How often the timer starts a tick (the template's cron: every minute).
    timer_period_s: float = TIMER_PERIOD_S


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[-OWNER_CHARS:]


def pass_spacing(period_s: float, interval_s: float) -> float:
    """The time between passes: `interval_s` at most, and a whole number of passes per timer period, so the
    passes run evenly across the period's boundary too (12 s: 0, 12, 24, 36, 48, then the next tick at 60)."""
    if interval_s <= 0 or period_s <= 0:
        return interval_s
    return period_s / math.ceil(period_s / interval_s - 1e-9)


def repoll_wait(
    *, since_last: float, interval: float, remaining: float, room: float, next_tick_in: float | None = None
) -> float | None:
    """How long to wait before the next repoll, or None for none: it is due `interval` after the last pass
    began (`since_last` ago), and must leave `room` (a pass and its posts) of the tick's `remaining` time.
    One due when the next timer tick starts (`next_tick_in`), or within a third of an interval before it,
    is the next tick's first pass: this tick leaves it.

    The last pass comes early rather than not at all: when the next one is due too late to still post what
    it finds, it starts as late as leaves that room; but not within a third of an interval of the one
    before, which would find next to nothing new (a 50 s budget, a 15 s interval, 3 s and 10 s kept: passes
    at 0, 15, 30 and 37 s instead of 0, 15 and 30 s). At the defaults (a 65 s budget, 12 s apart) every pass
    fits: 0, 12, 24, 36 and 48 s, and the next tick's at 60 s."""
    due = max(0.0, interval - since_last)
    if next_tick_in is not None and due >= next_tick_in - interval * EARLY_REPOLL_FRACTION:
        return None
    wait = min(due, remaining - room)
    if wait < 0 or (wait < due and since_last + wait < interval * EARLY_REPOLL_FRACTION):
        return None
    return wait


class Poller:
    def __init__(
        self,
        store: UpdatesStorage,
        clients: EcsClients,
        notifier: Notifier,
        config: PollerConfig,
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        faults: Faults = no_faults,
        owner: str | None = None,
    ) -> None:
        self._store = store
        # Every account's client by name, the home account's (which also lists the regions) included.
        self._clients = clients
        self._config = config
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._owner = owner or new_owner_id()
        self._passes = RegionPasses(
            store,
            clients,
            policy=config.policy,
            ttl=config.ttl,
            min_call_s=config.min_call_s,
            clock=clock,
            faults=faults,
        )
        self._deliverer = OutboxSender(
            store,
            clients,
            notifier,
            OutboxConfig(ttl=config.ttl, min_post_s=config.min_post_s, policy=config.policy),
            clock=clock,
            faults=faults,
            monotonic=monotonic,
            sleep=sleep,
        )
        self._regions_cache: tuple[float, tuple[str, ...]] | None = None

    def tick(self, budget_s: float) -> TickReport:
        started = self._monotonic()
        deadline = Deadline.after(budget_s, self._monotonic)
        now = self._clock()
        lease = Lease(self._owner, now + self._config.lease)
        with log_context(poller=self._owner):
            if self._config.policy_source is not None:
                policy = self._config.policy_source()
                self._config = dataclasses.replace(self._config, policy=policy)
                self._passes.policy = policy
                self._deliverer.policy = policy
            stored = self._store.subscriptions.all()
            subscriptions = self._allowed_subscriptions(stored)
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
            budget = self._config.budget
            with ThreadPoolExecutor(self._config.parallel_groups, thread_name_prefix="ecs-tasks-poller") as pool:

                def first_pass(group: Group) -> PassResult:
                    account, region_id = group
                    return self._passes.first(
                        group,
                        resume.get(account, {}).get(region_id),
                        scans.get(group),
                        calls_allowed=budget.describe_calls_per_region,
                        lookups_allowed=budget.lookups_per_region,
                        deadline=deadline,
                        lease=lease,
                    )

                pass_started = self._monotonic()
                first = _each_group(pool, first_pass, groups)
                first_pass_s = self._monotonic() - pass_started
                taken_over = self._store.outbox.take_over_expired(lease, now=self._clock())
                delivered = self._deliver(lease, deadline)
                repolls, delivered_later = self._repoll(pool, first, deadline, lease, first_pass_s)
            self._store.outbox.release_all(lease, now=self._clock())
            # Housekeeping for the bot's once-only claims of deferred work, which nothing else deletes.
            self._store.purge_deferred_work_claims(older_than=now - CLAIM_RETENTION)
        return TickReport.assemble(
            self._owner,
            subscriptions=len(subscriptions),
            suspended_subscriptions=len(stored) - len(subscriptions),
            first=first,
            repolls=repolls,
            taken_over=taken_over,
            delivered=delivered + delivered_later,
            duration_ms=round((self._monotonic() - started) * 1000, 1),
        )

    def _repoll(
        self,
        pool: ThreadPoolExecutor,
        first: Sequence[PassResult],
        deadline: Deadline,
        lease: Lease,
        first_pass_s: float,
    ) -> tuple[list[list[PassResult]], DeliveryCounts]:
        """Pass over the running watched tasks again every interval while the budget leaves room for a pass
        and its posts (`repoll_wait`); stop as soon as nothing is running. Returns each repoll's results and
        what was delivered after them."""
        repolls: list[list[PassResult]] = []
        delivered = DeliveryCounts()
        interval = pass_spacing(self._config.timer_period_s, self._config.repoll_interval_s)
        if interval <= 0:
            return repolls, delivered
        # The tick's budget per group (DescribeTasks calls, look-ups) covers its repolls too: a group whose
        # first pass used it all (many watches) is not polled again, so ECS sees at most that much a tick.
        calls_left = {r.group: self._config.budget.describe_calls_per_region - r.counts.describe_calls for r in first}
        lookups_left = {r.group: r.lookups_left for r in first}
        pass_s = first_pass_s  # a repoll asks about fewer tasks than the first pass: this bounds its time
        pass_started = self._monotonic()
        tick_started = pass_started - first_pass_s  # when the first pass began
        running = [r.group for r in first if r.running and r.error is None and calls_left[r.group] > 0]
        while running:
            wait = repoll_wait(
                since_last=self._monotonic() - pass_started,
                interval=interval,
                remaining=deadline.remaining(),
                room=max(self._config.min_call_s, pass_s) + self._config.min_post_s,
                next_tick_in=self._config.timer_period_s - (self._monotonic() - tick_started),
            )
            if wait is None:
                break
            self._sleep(wait)
            pass_started = self._monotonic()

            def again(group: Group) -> PassResult:
                return self._passes.repoll(
                    group,
                    calls_allowed=calls_left[group],
                    lookups_allowed=lookups_left[group],
                    deadline=deadline,
                    lease=lease,
                )

            found = _each_group(pool, again, running)
            pass_s = self._monotonic() - pass_started
            repolls.append(found)
            delivered += self._deliver(lease, deadline)
            for result in found:
                calls_left[result.group] -= result.counts.describe_calls
                lookups_left[result.group] = result.lookups_left
            running = [r.group for r in found if r.running and r.error is None and calls_left[r.group] > 0]
        return repolls, delivered

    def _deliver(self, lease: Lease, deadline: Deadline) -> DeliveryCounts:
        sent = self._deliverer.deliver(lease, deadline)
        return DeliveryCounts(sent.posted, sent.deferred, sent.undeliverable, sent.abandoned)

    def _allowed_subscriptions(self, subscriptions: Sequence[Subscription]) -> list[Subscription]:
        """The subscriptions today's policy allows; the others are suspended (see `settle_suspension`)."""
        allowed = []
        for subscription in subscriptions:
            refusal = stored_refusal(
                self._config.policy,
                team_id=subscription.team_id,
                channel_id=subscription.channel_id,
                region_id=subscription.region_id,
                account=subscription.account,
            )
            if settle_suspension(
                refusal,
                subscription.suspended,
                partial(self._store.subscriptions.set_suspended, subscription.id),
                names={"subscription_id": subscription.id, "channel_id": subscription.channel_id},
            ):
                allowed.append(subscription)
        return allowed

    # --- the regions `subscribe all` covers ------------------------------------------------------------

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
            regions = self._clients(HOME_ACCOUNT_NAME).describe_regions(deadline=deadline).regions
        except EcsApiError as error:
            log_event("poller.regions_unavailable", level=logging.WARNING, outcome=error.code)
            return cached[1] if cached else ()
        # An answer from outside like any other: only region ids may become endpoints.
        listed = tuple(r.region_id for r in regions if is_region_id(r.region_id))
        self._regions_cache = (self._monotonic(), listed)
        return listed


def _each_group(pool: ThreadPoolExecutor, work: Callable[[Group], ResultT], groups: Sequence[Group]) -> list[ResultT]:
    """`work` per group, on the pool (one group runs in the calling thread), results in the groups' order.
    Each runs in a copy of the caller's context, with the group in its log lines."""

    def in_context(group: Group) -> ResultT:
        account, region_id = group
        with log_context(region_id=region_id if is_region_id(region_id) else None, account=shown_account(account)):
            return work(group)

    if len(groups) <= 1:
        return [in_context(g) for g in groups]
    futures = [pool.submit(contextvars.copy_context().run, in_context, g) for g in groups]
    return [f.result() for f in futures]
