"""Planning one poller tick: pure functions, no I/O.

`plan_scans` plans each region's subscription scan: a `StartTime` window from the last successful scan,
with overlap; `plan_account_scans` does it per account, so the work of a tick is grouped by (account,
region), each group asked with its account's own client. (The watched tasks are not planned up front: the
poller streams them from the store in batches of at most 100 distinct ids, see `shared.updates.region_pass`.)
`decide` says what a task's new status means for a watch; `discoveries` what a scan found for whom.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.ecs.models import Task
from shared.updates.model import (
    KIND_ANNOUNCE,
    KIND_CHANGE,
    KIND_FINAL,
    Accepted,
    PollCursor,
    PollTarget,
    Subscription,
    is_terminal,
)

# One unit of a tick's work: an account (its configured name) and a region; each has its own ECS client.
Group = tuple[str, str]

# Scans overlap the previous window: clocks differ, and the API shows CreationTime to the minute.
SCAN_OVERLAP = timedelta(minutes=2)
# One scan asks for at most this much time; a poller that was down catches up window by window.
MAX_SCAN_WINDOW = timedelta(hours=1)
# DescribeTasks does not list a Waiting task (the API page's reading): one created minutes ago may only now
# have started. A caught-up scan therefore looks this far back; the follow-ups' key de-duplicates.
LISTING_LOOKBACK = timedelta(minutes=30)


@dataclass(frozen=True)
class TickBudget:
    """How much one tick may ask of each region (the rest is carried to the next tick)."""

    describe_calls_per_region: int = 50
    # DescribeTaskAttribute look-ups of watched tasks DescribeTasks did not list (Waiting ones under the
    # API page's strict listing, cancelled or deleted ones).
    lookups_per_region: int = 50


@dataclass(frozen=True)
class Scan:
    """One region's subscription scan: tasks created in [start, end], for these subscriptions."""

    start: datetime
    end: datetime
    subscriptions: tuple[Subscription, ...]


def plan_scans(
    subscriptions: Sequence[Subscription],
    *,
    now: datetime,
    scans: Mapping[str, PollCursor] | None = None,
    all_regions: Sequence[str] = (),
) -> dict[str, Scan]:
    """Each region's subscription scan (regions with no subscription get none)."""
    scan_subs: dict[str, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions:
        for region_id in all_regions if subscription.all_regions else (subscription.region_id,):
            scan_subs[region_id].append(subscription)
    return {
        region_id: plan_scan(subs, (scans or {}).get(region_id), now) for region_id, subs in sorted(scan_subs.items())
    }


def plan_account_scans(
    subscriptions: Sequence[Subscription],
    *,
    now: datetime,
    scans: Mapping[str, Mapping[str, PollCursor]] | None = None,
    all_regions: Callable[[str], Sequence[str]] = lambda account: (),
) -> dict[Group, Scan]:
    """Each (account, region)'s subscription scan: subscriptions of one account never share a scan (or a
    window) with another's. `scans` is each account's poll state by region; `all_regions(account)` what
    `subscribe all` covers in that account (asked only for accounts with such a subscription)."""
    by_account: dict[str, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions:
        by_account[subscription.account].append(subscription)
    planned: dict[Group, Scan] = {}
    for account, subs in sorted(by_account.items()):
        regions = all_regions(account) if any(s.all_regions for s in subs) else ()
        states = (scans or {}).get(account)
        for region_id, scan in plan_scans(subs, now=now, scans=states, all_regions=regions).items():
            planned[(account, region_id)] = scan
    return planned


def plan_scan(subscriptions: Sequence[Subscription], state: PollCursor | None, now: datetime) -> Scan:
    """From the last successful scan (or the oldest subscription, if later) minus the overlap; once caught
    up, from LISTING_LOOKBACK ago (never before the oldest subscription), for tasks that waited unlisted."""
    oldest = min(s.created_at for s in subscriptions)
    base = oldest
    if state is not None and state.last_success_at is not None:
        base = max(base, state.last_success_at)
    start = min(base, max(now - LISTING_LOOKBACK, oldest)) - SCAN_OVERLAP
    return Scan(start=start, end=min(now, start + MAX_SCAN_WINDOW), subscriptions=tuple(subscriptions))


def decide(target: PollTarget, task: Task) -> Accepted | None:
    """What the task's status means for this watch: nothing, a silent update, or a change to post."""
    status = task.task_status
    if not status or status == target.last_status:
        return None
    ends = is_terminal(status)
    if target.announced:
        return Accepted(target, task, KIND_FINAL if ends else KIND_CHANGE, ends=ends, announces=False)
    if target.wanted_status is None or status == target.wanted_status:
        return Accepted(target, task, KIND_ANNOUNCE, ends=ends, announces=True)
    return Accepted(target, task, None, ends=ends, announces=False)


@dataclass(frozen=True)
class Discovery:
    subscription: Subscription
    task: Task
    announce: bool  # False: follow silently until it reaches the subscription's status


def discoveries(scan: Scan, tasks: Sequence[Task]) -> list[Discovery]:
    """The tasks each subscription should start following. A task that ended without reaching the
    subscription's status is of no interest; one still running may reach it later."""
    found = []
    for subscription in scan.subscriptions:
        # CreationTime comes to the minute: a task created in the subscription's own minute counts.
        since = subscription.created_at.replace(second=0, microsecond=0)
        for task in tasks:
            if task.creation_time is None or task.creation_time < since:
                continue
            if subscription.action and task.task_action != subscription.action:
                continue
            if subscription.status is None or task.task_status == subscription.status:
                found.append(Discovery(subscription, task, announce=True))
            elif not is_terminal(task.task_status):
                found.append(Discovery(subscription, task, announce=False))
    return found
