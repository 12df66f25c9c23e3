"""Planning a tick, as pure functions: scan windows, what a change means. (How watched tasks are batched
and carried is the poller's streaming, proven in tests/e2e/test_poller.py and tests/e2e/test_poller_hardening.py.)"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.ecs.models import Task
from shared.updates.model import KIND_ANNOUNCE, KIND_CHANGE, KIND_FINAL, PollCursor, PollTarget, Subscription
from shared.updates.plan import (
    LISTING_LOOKBACK,
    MAX_SCAN_WINDOW,
    SCAN_OVERLAP,
    Scan,
    decide,
    discoveries,
    plan_account_scans,
    plan_scan,
    plan_scans,
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


def test_scans_start_at_the_last_success_minus_the_overlap_and_all_covers_every_region() -> None:
    subs = [subscription(1, "all"), subscription(2, "cn-beijing")]
    last = NOW - timedelta(minutes=1)
    scans = plan_scans(
        subs,
        now=NOW,
        scans={"cn-beijing": PollCursor("cn-beijing", None, last)},
        all_regions=("cn-beijing", "cn-shanghai"),
    )
    assert set(scans) == {"cn-beijing", "cn-shanghai"}
    beijing = scans["cn-beijing"]
    # (caught up: it looks LISTING_LOOKBACK back, but never before its oldest subscription)
    assert beijing is not None and beijing.end == NOW
    assert beijing.start == max(NOW - LISTING_LOOKBACK, subs[0].created_at) - SCAN_OVERLAP
    assert [s.id for s in beijing.subscriptions] == [1, 2]
    # Never scanned: from the oldest subscription; a long gap is caught up one window at a time
    shanghai = scans["cn-shanghai"]
    assert shanghai is not None and shanghai.start == subs[0].created_at - SCAN_OVERLAP
    gap = plan_scan(subs, PollCursor("x", None, NOW - timedelta(days=1)), NOW)
    assert gap.end - gap.start == MAX_SCAN_WINDOW


def test_a_caught_up_scan_looks_back_for_tasks_that_waited_unlisted() -> None:
    # Given subscriptions made long ago and a scan that succeeded a minute ago
    subs = [subscription(1, "cn-hangzhou")]
    state = PollCursor("cn-hangzhou", None, NOW - timedelta(minutes=1))
    # When the next scan is planned
    scan = plan_scan(subs, state, NOW)
    # Then it covers the last LISTING_LOOKBACK: DescribeTasks lists a task created 20 minutes ago only once it
    # left Waiting, which may be now (the API page's reading)
    assert scan.start == NOW - LISTING_LOOKBACK - SCAN_OVERLAP and scan.end == NOW
    assert scan.start < NOW - timedelta(minutes=20)


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


# --- accounts: a tick's work is grouped by (account, region) -----------------------------


def test_each_account_gets_its_own_scans_from_its_own_state() -> None:
    # Given the same filter subscribed in prod and in staging, and only prod scanned a minute ago
    prod = subscription(1, "cn-hangzhou", account="prod")
    staging = subscription(2, "cn-hangzhou", account="staging")
    last = NOW - timedelta(minutes=1)
    scans = plan_account_scans(
        [prod, staging],
        now=NOW,
        scans={"prod": {"cn-hangzhou": PollCursor("cn-hangzhou", None, last, account="prod")}},
    )
    # Then each (account, region) has its scan, with its own subscriptions only
    assert set(scans) == {("prod", "cn-hangzhou"), ("staging", "cn-hangzhou")}
    assert [s.id for s in scans[("prod", "cn-hangzhou")].subscriptions] == [1]
    assert [s.id for s in scans[("staging", "cn-hangzhou")].subscriptions] == [2]
    # and each window starts from that account's own last success (staging was never scanned)
    assert scans[("prod", "cn-hangzhou")].start == max(NOW - LISTING_LOOKBACK, prod.created_at) - SCAN_OVERLAP
    assert scans[("staging", "cn-hangzhou")].start == staging.created_at - SCAN_OVERLAP


def test_all_regions_are_asked_per_account_and_only_for_accounts_subscribed_to_all() -> None:
    asked: list[str] = []

    def regions_of(account: str) -> list[str]:
        asked.append(account)
        return {"prod": ["cn-hangzhou"], "staging": ["cn-shanghai", "cn-beijing"]}[account]

    subs = [subscription(1, "all", account="prod"), subscription(2, "all", account="staging")]
    subs.append(subscription(3, "cn-qingdao", account="home"))
    scans = plan_account_scans(subs, now=NOW, all_regions=regions_of)
    assert sorted(scans) == [
        ("home", "cn-qingdao"),
        ("prod", "cn-hangzhou"),
        ("staging", "cn-beijing"),
        ("staging", "cn-shanghai"),
    ]
    assert sorted(asked) == ["prod", "staging"]


def test_subscriptions_without_an_account_are_the_home_accounts() -> None:
    scans = plan_account_scans([subscription(1, "cn-hangzhou")], now=NOW)
    assert list(scans) == [(HOME_ACCOUNT_NAME, "cn-hangzhou")]
