"""Planning a tick, as pure functions: batches, carried work, scan windows, what a change means."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from shared.ecs.models import Task
from shared.updates.model import KIND_ANNOUNCE, KIND_CHANGE, KIND_FINAL, PollState, PollTarget, Subscription
from shared.updates.plan import (
    MAX_SCAN_WINDOW,
    SCAN_OVERLAP,
    Scan,
    TickBudget,
    decide,
    discoveries,
    plan_batches,
    plan_scan,
    plan_tick,
    resume_point,
)

NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
LATER = NOW + timedelta(days=7)


def target(n: int, region: str = "cn-hangzhou", *, task_id: str | None = None, **fields: object) -> PollTarget:
    values: dict[str, object] = {
        "watch_id": n,
        "region_id": region,
        "task_id": task_id or f"t-{n:05d}",
        "version": 1,
        "last_status": "Processing",
        "announced": True,
        "wanted_status": None,
        "expires_at": LATER,
        **fields,
    }
    return PollTarget(**values)  # type: ignore[arg-type]


def subscription(n: int = 1, region: str = "cn-hangzhou", **fields: object) -> Subscription:
    values: dict[str, object] = {
        "id": n,
        "team_id": None,
        "channel_id": "C1",
        "user_id": "U1",
        "region_id": region,
        "status": None,
        "action": None,
        "created_at": NOW - timedelta(hours=1),
        **fields,
    }
    return Subscription(**values)  # type: ignore[arg-type]


def task(task_id: str, status: str, created: datetime = NOW, action: str = "ImportImage") -> Task:
    return Task.model_validate({"TaskId": task_id, "TaskStatus": status, "TaskAction": action, "CreationTime": created})


@given(st.integers(min_value=0, max_value=1200), st.integers(min_value=1, max_value=20))
def test_batches_hold_at_most_100_distinct_ids_and_cover_every_watch(n: int, channels: int) -> None:
    # Given n tasks, each watched from several channels
    targets = [target(i * channels + c, task_id=f"t-{i:05d}") for i in range(n) for c in range(channels)]
    batches, carried = plan_batches(targets, None, max_batches=1000)
    assert carried == 0
    assert len(batches) == math.ceil(n / 100)
    assert all(len(b.task_ids) <= 100 and len(set(b.task_ids)) == len(b.task_ids) for b in batches)
    assert sorted(t.watch_id for b in batches for t in b.targets) == sorted(t.watch_id for t in targets)


def test_the_budget_carries_the_rest_and_the_next_tick_resumes_after_it() -> None:
    targets = [target(i) for i in range(450)]
    batches, carried = plan_batches(targets, None, max_batches=2)
    assert [len(b.task_ids) for b in batches] == [100, 100] and carried == 250
    plan = plan_tick(targets, [], now=NOW, budget=TickBudget(describe_calls_per_region=2)).regions[0]
    assert resume_point(plan, done_batches=2, previous=None) == "t-00199"
    # Next tick: it starts after t-00199 and wraps around to the beginning
    again, _ = plan_batches(targets, "t-00199", max_batches=10)
    assert again[0].task_ids[0] == "t-00200" and again[-1].task_ids[-1] == "t-00199"
    # A throttled region that did nothing keeps its old resume point; a finished pass starts over
    assert resume_point(plan, done_batches=0, previous="t-00050") == "t-00050"
    full = plan_tick(targets, [], now=NOW, budget=TickBudget(describe_calls_per_region=5)).regions[0]
    assert resume_point(full, done_batches=5, previous="t-00050") is None


def test_expired_watches_are_not_polled_but_listed_for_expiry() -> None:
    old = target(1, expires_at=NOW - timedelta(seconds=1))
    plan = plan_tick([old, target(2)], [], now=NOW, budget=TickBudget())
    assert plan.expired == (old,)
    assert [t.watch_id for r in plan.regions for b in r.batches for t in b.targets] == [2]


def test_scans_start_at_the_last_success_minus_the_overlap_and_all_covers_every_region() -> None:
    subs = [subscription(1, "all"), subscription(2, "cn-beijing")]
    last = NOW - timedelta(minutes=1)
    plan = plan_tick(
        [],
        subs,
        now=NOW,
        budget=TickBudget(),
        scans={"cn-beijing": PollState("cn-beijing", None, last)},
        all_regions=("cn-beijing", "cn-shanghai"),
    )
    scans = {r.region_id: r.scan for r in plan.regions}
    assert set(scans) == {"cn-beijing", "cn-shanghai"}
    beijing = scans["cn-beijing"]
    assert beijing is not None and beijing.start == last - SCAN_OVERLAP and beijing.end == NOW
    assert [s.id for s in beijing.subscriptions] == [1, 2]
    # Never scanned: from the oldest subscription; a long gap is caught up one window at a time
    shanghai = scans["cn-shanghai"]
    assert shanghai is not None and shanghai.start == subs[0].created_at - SCAN_OVERLAP
    gap = plan_scan(subs, PollState("x", None, NOW - timedelta(days=1)), NOW)
    assert gap.end - gap.start == MAX_SCAN_WINDOW


def test_a_change_is_a_reply_until_the_task_ends_then_a_final_notice() -> None:
    watched = target(1)
    assert decide(watched, task("t-00001", "Processing")) is None
    change = decide(watched, task("t-00001", "Paused"))
    assert change is not None and (change.kind, change.ends) == (KIND_CHANGE, False)
    final = decide(watched, task("t-00001", "Failed"))
    assert final is not None and (final.kind, final.ends) == (KIND_FINAL, True)


def test_a_followup_is_announced_when_it_reaches_the_subscribed_status() -> None:
    silent = target(1, announced=False, wanted_status="Failed", last_status="Waiting")
    quiet = decide(silent, task("t-00001", "Processing"))
    assert quiet is not None and quiet.kind is None and not quiet.announces
    loud = decide(silent, task("t-00001", "Failed"))
    assert loud is not None and (loud.kind, loud.announces, loud.ends) == (KIND_ANNOUNCE, True, True)


def test_discoveries_match_the_filters_and_keep_running_tasks_that_may_still_match() -> None:
    sub = subscription(status="Failed", action="ImportImage", created_at=NOW)
    scan = Scan(NOW - SCAN_OVERLAP, NOW, (sub,))
    found = discoveries(
        scan,
        [
            task("t-old", "Failed", created=NOW - timedelta(minutes=5)),  # before the subscription
            task("t-minute", "Failed", created=NOW.replace(second=0)),  # its own minute counts
            task("t-run", "Processing"),  # may still fail
            task("t-done", "Finished"),  # ended without failing
            task("t-export", "Failed", action="ExportImage"),  # another action
        ],
    )
    assert [(d.task.task_id, d.announce) for d in found] == [("t-minute", True), ("t-run", False)]
