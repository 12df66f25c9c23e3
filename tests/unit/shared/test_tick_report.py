"""The tick's report, assembled from its passes' results, and the tick's schedule of repolls: pure code."""

from __future__ import annotations

import json

import pytest

from shared.updates.poller import pass_spacing, repoll_wait
from shared.updates.region_pass import PassCounts, PassResult
from shared.updates.tick_report import DeliveryCounts, TickReport

# The `poller.tick` line's and `ecs-tasks poll`'s fields, in their order (what operators' queries read).
REPORT_FIELDS = [
    "watches",
    "subscriptions",
    "regions",
    "describe_calls",
    "looked_up",
    "accepted",
    "discovered",
    "expired",
    "suspended",
    "passes",
    "taken_over",
    "posted",
    "deferred",
    "undeliverable",
    "abandoned",
    "carried_regions",
    "throttled_regions",
    "duration_ms",
]


def result(account: str, region: str, *, throttled: bool = False, carried: bool = False, **done: int) -> PassResult:
    return PassResult(account, region, PassCounts(**done), running=0, lookups_left=0, throttled=throttled,
                      error="Throttling" if throttled else None, carried=carried)  # fmt: skip


def test_counts_add_up_field_by_field() -> None:
    assert PassCounts(watches=2, accepted=1) + PassCounts(accepted=2, expired=3) == PassCounts(
        watches=2, accepted=3, expired=3
    )
    assert DeliveryCounts(1, 2, 3, 4) + DeliveryCounts(10, 20, 30, 40) == DeliveryCounts(11, 22, 33, 44)


def test_the_report_counts_every_pass_but_sees_watches_suspensions_and_carried_groups_once() -> None:
    first = [
        result("home", "cn-hangzhou", watches=5, suspended=1, describe_calls=1, accepted=1, carried=True),
        result("prod", "cn-beijing", watches=3, describe_calls=1, throttled=True, carried=True),
        result("home", "bad region!", watches=1, looked_up=1, discovered=2, expired=1),
    ]
    repolls = [
        [result("home", "cn-hangzhou", watches=4, suspended=1, describe_calls=1, accepted=2)],
        [result("home", "cn-hangzhou", watches=4, describe_calls=1, throttled=True, carried=True)],
    ]
    report = TickReport.assemble(
        "poller-a",
        subscriptions=2,
        suspended_subscriptions=1,
        first=first,
        repolls=repolls,
        taken_over=1,
        delivered=DeliveryCounts(posted=3) + DeliveryCounts(posted=1, deferred=1),
        duration_ms=12.5,
    )
    assert report.as_fields() == {
        "watches": 9,
        "subscriptions": 2,
        "regions": 3,
        "describe_calls": 4,
        "looked_up": 1,
        "accepted": 3,
        "discovered": 2,
        "expired": 1,
        "suspended": 2,
        "passes": 3,
        "taken_over": 1,
        "posted": 4,
        "deferred": 1,
        "undeliverable": 0,
        "abandoned": 0,
        "carried_regions": ["cn-hangzhou", "prod/cn-beijing"],
        "throttled_regions": ["prod/cn-beijing", "cn-hangzhou"],
        "duration_ms": 12.5,
    }
    assert list(report.as_fields()) == REPORT_FIELDS
    with pytest.raises(AttributeError):
        report.posted = 0  # type: ignore[misc]


def test_an_idle_tick_reports_one_pass_and_nothing_else() -> None:
    report = TickReport.assemble(
        "poller-a", subscriptions=0, suspended_subscriptions=0, first=[], repolls=[], taken_over=0,
        delivered=DeliveryCounts(), duration_ms=0.3,
    )  # fmt: skip
    fields = report.as_fields()
    assert fields["passes"] == 1 and fields["regions"] == 0 and fields["carried_regions"] == []
    assert json.loads(json.dumps(fields)) == fields


def test_an_invalid_stored_region_or_account_is_never_repeated_in_the_report() -> None:
    report = TickReport.assemble(
        "poller-a", subscriptions=0, suspended_subscriptions=0, taken_over=0, delivered=DeliveryCounts(),
        duration_ms=0, repolls=[],
        first=[result("home", "cn-x'; drop", carried=True), result("no such account!", "cn-hangzhou", carried=True)],
    )  # fmt: skip
    assert report.carried_regions == ("(invalid)", "(invalid)/cn-hangzhou")


def test_repolls_come_every_interval_and_the_last_one_early_to_leave_room_for_its_posts() -> None:
    # At a 50 s budget, a 15 s interval and 3 s and 10 s kept, passes that take no time
    budget, interval, room = 50.0, 15.0, 13.0
    started, now, passes = 0.0, 0.0, [0.0]
    while (
        wait := repoll_wait(since_last=now - started, interval=interval, remaining=budget - now, room=room)
    ) is not None:
        now += wait
        started = now
        passes.append(now)
    # run at 0, 15, 30 and 37 s: the last brought forward (a full interval would leave no time to post)
    assert passes == [0.0, 15.0, 30.0, 37.0]


def test_no_repoll_comes_within_a_third_of_an_interval_of_the_one_before_nor_without_room() -> None:
    # Just after a pass, with 17 s left: only 4 s could be waited (13 s kept), under a third of the interval
    assert repoll_wait(since_last=0.0, interval=15.0, remaining=17.0, room=13.0) is None
    # 4 s after it, with 20 s left: 7 s more still leaves room, and comes 11 s after the pass: it is brought forward
    assert repoll_wait(since_last=4.0, interval=15.0, remaining=20.0, room=13.0) == 7.0
    # with plenty left it waits the whole interval; when due already, not at all; with no room, never
    assert repoll_wait(since_last=4.0, interval=15.0, remaining=40.0, room=13.0) == 11.0
    assert repoll_wait(since_last=16.0, interval=15.0, remaining=40.0, room=13.0) == 0.0
    assert repoll_wait(since_last=16.0, interval=15.0, remaining=12.0, room=13.0) is None


def test_at_the_defaults_passes_run_12_s_apart_evenly_across_the_minute_boundary() -> None:
    # At the defaults (65 s budget, at most 12 s apart, 3 s and 10 s kept, a tick every 60 s), passes that
    # take no time
    budget, room, period = 65.0, 13.0, 60.0
    interval = pass_spacing(period, 12.0)
    started, now, passes = 0.0, 0.0, [0.0]
    while (
        wait := repoll_wait(
            since_last=now - started, interval=interval, remaining=budget - now, room=room, next_tick_in=period - now
        )
    ) is not None:
        now += wait
        started = now
        passes.append(now)
    # run at 0, 12, 24, 36 and 48 s; the next tick's first pass at 60 s is 12 s after the last
    assert passes == [0.0, 12.0, 24.0, 36.0, 48.0]


def test_passes_are_at_most_the_interval_apart_and_a_whole_number_of_them_fill_the_period() -> None:
    assert [pass_spacing(60.0, i) for i in (15.0, 12.0, 14.0, 25.0, 60.0)] == [15.0, 12.0, 12.0, 20.0, 60.0]
    assert pass_spacing(60.0, 0.0) == 0.0


def test_a_pass_due_when_the_next_tick_starts_is_left_to_that_tick() -> None:
    assert repoll_wait(since_last=0.0, interval=12.0, remaining=100.0, room=13.0, next_tick_in=12.0) is None
    # nor one due within a third of an interval before it (the next tick's first pass would follow at once)
    assert repoll_wait(since_last=0.0, interval=12.0, remaining=100.0, room=13.0, next_tick_in=15.0) is None
    assert repoll_wait(since_last=0.0, interval=12.0, remaining=100.0, room=13.0, next_tick_in=24.0) == 12.0
