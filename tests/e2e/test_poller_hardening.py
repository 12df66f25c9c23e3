"""The poller against the emulators and a real store: one post per task per channel, today's policy on
stored rows, stored regions checked, watches streamed per region, running tasks polled again within a
tick, and watched tasks that DescribeTasks stops listing (the API page's strict reading) ended with a
final notice."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.slack import SlackEmulator
from shared.log import LOGGER_NAME
from shared.policy import AccessPolicy
from shared.store import SqlStore
from shared.updates.model import WATCH_ACTIVE, WATCH_ENDED
from shared.updates.plan import TickBudget
from shared.updates.poller import PollerConfig
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, fixed_task
from tests.poller_support import (
    CHANNEL,
    REGION,
    TTL,
    USER,
    FakeTime,
    bulk_watches,
    calls,
    database_url,
    ecs_client,
    fresh_store,
    make_poller,
    replies,
    watch_task,
)

BUDGET_S = 20.0
OTHER_CHANNEL = "C0OTHER"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.db)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    yield from fresh_store(database_url(request.param, tmp_path))


def text_of(message: Any) -> str:
    return f"{getattr(message, 'text', '')} {getattr(message, 'blocks', '')}"


def top_level(slack: SlackEmulator, channel: str = CHANNEL) -> list[Any]:
    return [m for m in slack.messages(channel) if m.thread_ts is None]


def subscribe(store: SqlStore, ecs: EcsEmulator, *, status: str | None = None, action: str | None = None) -> int:
    subscription, _ = store.subscriptions.add(
        team_id=None,
        channel_id=CHANNEL,
        user_id=USER,
        region_id=REGION,
        status=status,
        action=action,
        now=ecs.clock.now(),
    )
    return subscription.id


@pytest.fixture(autouse=True)
def _capture_our_log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Our logger stops propagating once a JSON handler is attached (shared.log): hand caplog its records."""
    ours = logging.getLogger(LOGGER_NAME)
    ours.addHandler(caplog.handler)
    yield
    ours.removeHandler(caplog.handler)


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    unique = {id(record): record for record in caplog.records}.values()  # caught directly and by propagation
    return [getattr(r, "fields", {}) for r in unique if r.name == LOGGER_NAME and r.getMessage() == name]


def asked_task_ids(ecs: EcsEmulator) -> str:
    return " ".join(c.params.get("TaskIds", "") for c in ecs.calls if c.action == "DescribeTasks")


# --- one post per task per channel ---------------------------------------------------------------------


def test_four_overlapping_subscriptions_post_a_new_task_once_and_follow_it_in_one_thread(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given `cn-hangzhou`, `cn-hangzhou failed`, `cn-hangzhou import`, `cn-hangzhou failed import` in one channel
    for status, action in ((None, None), ("Failed", None), (None, "ImportImage"), ("Failed", "ImportImage")):
        subscribe(store, ecs, status=status, action=action)
    poller = make_poller(store, ecs, slack)
    ecs.advance(60)
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=60, outcome="Failed")
    ecs.advance(1)
    # When the scan finds the new task, and later it fails
    found = poller.tick(BUDGET_S)
    ecs.advance(61)
    poller.tick(BUDGET_S)
    poller.tick(BUDGET_S)
    # Then the channel got one card for it, updated in place, and one reply in its thread
    cards = [m for m in top_level(slack) if task_id in text_of(m)]
    assert found.discovered == 1 and len(cards) == 1
    thread = replies(slack, CHANNEL, cards[0].ts)
    assert len(thread) == 1 and "Failed" in text_of(thread[0])
    assert [c.args["ts"] for c in calls(slack, "chat.update", CHANNEL)] == [cards[0].ts]
    assert len(calls(slack, "chat.postMessage", CHANNEL)) == 2


def test_a_watched_task_that_a_subscription_also_finds_keeps_its_one_card(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    subscribe(store, ecs)
    ecs.advance(60)
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=60)
    _, card_ts = watch_task(store, ecs, slack, task_id)
    ecs.advance(1)
    poller = make_poller(store, ecs, slack)
    # When the subscription's scan finds the watched task, then it finishes
    assert poller.tick(BUDGET_S).discovered == 0
    ecs.advance(61)
    poller.tick(BUDGET_S)
    # Then the watch's card is the only one, and its thread has the one final reply
    assert [m.ts for m in top_level(slack)] == [card_ts]
    assert len(replies(slack, CHANNEL, card_ts)) == 1


# --- today's policy on stored rows ---------------------------------------------------------------------


def test_a_channel_no_longer_allowed_posts_nothing_and_is_logged_suspended_once(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    # Given watches in two channels, then ECS_TASKS_ALLOWED_CHANNEL_IDS narrowed to the other one
    first = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", waiting_s=10, processing_s=600)
    second = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", waiting_s=10, processing_s=600)
    watch_id, card_ts = watch_task(store, ecs, slack, first)
    _, other_ts = watch_task(store, ecs, slack, second, channel=OTHER_CHANNEL)
    narrowed = PollerConfig(ttl=TTL, policy=AccessPolicy(channel_ids=frozenset({OTHER_CHANNEL})))
    poller = make_poller(store, ecs, slack, config=narrowed)
    ecs.advance(11)
    ecs.reset_calls()
    # When two ticks run
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        reports = [poller.tick(BUDGET_S), poller.tick(BUDGET_S)]
    # Then the refused channel got nothing and ECS was not asked about its task; the allowed one got its reply
    assert replies(slack, CHANNEL, card_ts) == [] and len(replies(slack, OTHER_CHANNEL, other_ts)) == 1
    assert first not in asked_task_ids(ecs) and second in asked_task_ids(ecs)
    assert [r.suspended for r in reports] == [1, 1]
    suspended = events(caplog, "updates.suspended")
    assert len(suspended) == 1
    assert suspended[0]["watch_id"] == watch_id and suspended[0]["reason"] == "channel_not_allowed"
    # When the allow-list is widened again, the watch resumes and its change is posted
    assert make_poller(store, ecs, slack).tick(BUDGET_S).posted == 1
    assert len(replies(slack, CHANNEL, card_ts)) == 1


def test_a_change_waiting_in_the_outbox_is_not_posted_while_its_channel_is_refused(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a change accepted but not yet posted (the bot was not in the channel)
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", waiting_s=10, processing_s=3600)
    _, card_ts = watch_task(store, ecs, slack, task_id)
    slack.set_channel(CHANNEL, "not_in_channel")
    ecs.advance(11)
    assert make_poller(store, ecs, slack).tick(BUDGET_S).deferred == 1
    slack.set_channel(CHANNEL, "ok")
    # When its retry time comes under an allow-list that no longer names the channel
    ecs.advance(11 * 60)
    narrowed = PollerConfig(ttl=TTL, policy=AccessPolicy(channel_ids=frozenset({OTHER_CHANNEL})))
    held = make_poller(store, ecs, slack, config=narrowed).tick(BUDGET_S)
    # Then nothing is posted; once the channel is allowed again, the change is
    assert (held.posted, held.deferred) == (0, 1) and replies(slack, CHANNEL, card_ts) == []
    ecs.advance(11 * 60)
    assert make_poller(store, ecs, slack).tick(BUDGET_S).posted == 1
    assert len(replies(slack, CHANNEL, card_ts)) == 1


def test_a_subscription_in_a_region_no_longer_allowed_is_not_scanned(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    subscription_id = subscribe(store, ecs)
    ecs.advance(60)
    ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=60)
    ecs.advance(1)
    narrowed = PollerConfig(
        ttl=TTL, policy=AccessPolicy(regions=frozenset({"cn-shanghai"})), allowed_regions=frozenset({"cn-shanghai"})
    )
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        poller = make_poller(store, ecs, slack, config=narrowed)
        reports = [poller.tick(BUDGET_S), poller.tick(BUDGET_S)]
    assert [r.discovered for r in reports] == [0, 0] and ecs.calls == [] and top_level(slack) == []
    suspended = events(caplog, "updates.suspended")
    assert [(e["subscription_id"], e["reason"]) for e in suspended] == [(subscription_id, "region_not_allowed")]


def test_a_stored_row_with_a_hostile_region_is_suspended_and_never_called(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a watch row whose region would make a host name of an attacker's choosing
    hostile = "x@127.0.0.1:9/#"
    bulk_watches(store, [(CHANNEL, hostile, "t-hostile1")], now=ecs.clock.now())
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        report = make_poller(store, ecs, slack).tick(BUDGET_S)
    # Then no ECS request was made, nothing was posted, and the row was logged as suspended
    assert ecs.calls == [] and report.describe_calls == 0 and report.suspended == 1
    assert [e["reason"] for e in events(caplog, "updates.suspended")] == ["region_invalid"]
    assert hostile not in caplog.text


def test_a_subscription_row_with_a_hostile_region_is_suspended_and_never_scanned(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    subscription, _ = store.subscriptions.add(
        team_id=None,
        channel_id=CHANNEL,
        user_id=USER,
        region_id="cn-hangzhou.evil.example#",
        status=None,
        action=None,
        now=ecs.clock.now(),
    )
    ecs.advance(60)
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        poller = make_poller(store, ecs, slack)
        reports = [poller.tick(BUDGET_S), poller.tick(BUDGET_S)]
    assert ecs.calls == [] and [r.suspended for r in reports] == [1, 1]
    suspended = events(caplog, "updates.suspended")
    assert [(e["subscription_id"], e["reason"]) for e in suspended] == [(subscription.id, "region_invalid")]


def test_a_hostile_region_in_a_stored_task_snapshot_is_never_called(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    from shared.ecs.models import Task
    from shared.updates.model import KIND_FINAL, Accepted, Lease

    # Given a watch whose pending final notice carries a task snapshot with a hostile region
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=3600)
    _, card_ts = watch_task(store, ecs, slack, task_id)
    (seen,) = store.watches.poll_targets()
    tampered = Task.model_validate({"TaskId": task_id, "TaskStatus": "Failed", "RegionId": "x@127.0.0.1:9/#"})
    lease = Lease("poller-test", ecs.clock.now())  # already run out: the next tick takes it over
    assert store.watches.accept(
        Accepted(seen, tampered, KIND_FINAL, ends=True, announces=False), now=lease.until, lease=lease
    )
    ecs.reset_calls()
    # When a tick delivers it
    make_poller(store, ecs, slack).tick(BUDGET_S)
    # Then the notice is posted without its error details, and DescribeTaskAttribute was never sent
    (final,) = replies(slack, CHANNEL, card_ts)
    assert "could not be read" in text_of(final)
    assert [c.action for c in ecs.calls if c.action == "DescribeTaskAttribute"] == []


# --- streaming --------------------------------------------------------------------------------------


def test_watches_are_streamed_per_region_batch_never_loaded_all_at_once(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 250 watched tasks, each watched in two channels
    now = ecs.clock.now()
    ids = [f"t-stream{n:04d}" for n in range(250)]
    for task_id in ids:
        ecs.add_task(**fixed_task(task_id, status="Waiting", created=now))
    bulk_watches(store, [(channel, REGION, t) for t in ids for channel in (CHANNEL, OTHER_CHANNEL)], now=now)
    batches: list[int] = []
    real_batch = store.watches.poll_batch

    def no_full_load() -> list[Any]:
        raise AssertionError("the poller loaded every active watch")

    def recorded(*args: Any, **kwargs: Any) -> Any:
        rows = real_batch(*args, **kwargs)
        batches.append(len({r.task_id for r in rows}))
        return rows

    monkeypatch.setattr(store.watches, "poll_targets", no_full_load)
    monkeypatch.setattr(store.watches, "poll_batch", recorded)
    # When a tick runs
    report = make_poller(store, ecs, slack).tick(BUDGET_S)
    # Then it held at most 100 distinct tasks at a time and made ceil(250/100) DescribeTasks calls
    assert max(batches) <= 100 and sum(batches) == 250
    assert report.describe_calls == math.ceil(250 / 100) and report.watches == 500


def test_a_budget_cut_pass_resumes_after_the_last_task_id_done(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    now = ecs.clock.now()
    ids = [f"t-resume{n:04d}" for n in range(300)]
    for task_id in ids:
        ecs.add_task(**fixed_task(task_id, status="Waiting", created=now))
    bulk_watches(store, [(CHANNEL, REGION, t) for t in ids], now=now)
    poller = make_poller(store, ecs, slack, config=PollerConfig(ttl=TTL, budget=TickBudget(2)))
    first = poller.tick(BUDGET_S)
    ecs.reset_calls()
    second = poller.tick(BUDGET_S)
    # The first pass did 200 ids and was carried; the second starts at the 201st and wraps around
    assert (first.describe_calls, first.carried_regions) == (2, (REGION,))
    first_asked = ecs.calls[0].params["TaskIds"]
    assert ids[200] in first_asked and ids[199] not in first_asked
    assert second.describe_calls == 2


def test_a_pass_that_ends_exactly_at_the_budget_is_finished_not_carried(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    now = ecs.clock.now()
    ids = [f"t-exact{n:04d}" for n in range(200)]
    for task_id in ids:
        ecs.add_task(**fixed_task(task_id, status="Waiting", created=now))
    bulk_watches(store, [(CHANNEL, REGION, t) for t in ids], now=now)
    poller = make_poller(store, ecs, slack, config=PollerConfig(ttl=TTL, budget=TickBudget(2)))
    report = poller.tick(BUDGET_S)
    assert (report.describe_calls, report.carried_regions) == (2, ())
    assert store.cursors.by_region("watches")[REGION].resume_after is None


# --- polling running tasks again within a tick --------------------------------------------------------


def test_a_running_task_is_polled_every_15_s_and_its_change_posted_in_the_same_tick(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watched task that finishes 40 s into a 50 s tick
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=40)
    _, card_ts = watch_task(store, ecs, slack, task_id)
    clock = FakeTime(ecs)
    config = PollerConfig(ttl=TTL, repoll_interval_s=15.0, min_call_s=1.0, min_post_s=1.0)
    poller = make_poller(store, ecs, slack, config=config, time_source=clock)
    # When one tick runs
    report = poller.tick(50.0)
    # Then it polled again at 15, 30 and 45 s, posted the final state at once, and stopped: nothing runs
    assert clock.sleeps == [15.0, 15.0, 15.0]
    assert (report.passes, report.posted) == (4, 1)
    (final,) = replies(slack, CHANNEL, card_ts)
    assert "Finished" in text_of(final)
    # And a tick with nothing running does not wait at all
    assert poller.tick(50.0).passes == 1 and clock.sleeps == [15.0, 15.0, 15.0]


def test_at_the_defaults_a_tick_polls_every_12_s_and_leaves_the_minutes_end_to_the_next_tick(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watched task that runs on, and the deployed defaults: a 65 s budget (75 s timeout), passes at
    # most 12 s apart, 3 s kept for a call and 10 s for posts, a tick every 60 s
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=3600)
    watch_task(store, ecs, slack, task_id)
    clock = FakeTime(ecs)
    config = PollerConfig(ttl=TTL, repoll_interval_s=12.0, min_call_s=3.0, min_post_s=10.0)
    started = clock.now
    report = make_poller(store, ecs, slack, config=config, time_source=clock).tick(65.0)
    # Then it passes at 0, 12, 24, 36 and 48 s, and ends there: the pass at 60 s is the next tick's first
    assert clock.sleeps == [12.0, 12.0, 12.0, 12.0] and report.passes == 5
    assert clock.now - started < 60.0


def test_a_later_tick_and_a_late_retry_of_an_earlier_one_post_a_change_once(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watched task that finishes between two pollers' ticks (a slow tick's retry comes after the next)
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=50)
    _, card_ts = watch_task(store, ecs, slack, task_id)
    config = PollerConfig(ttl=TTL, repoll_interval_s=12.0, min_call_s=3.0, min_post_s=10.0)
    first = make_poller(store, ecs, slack, config=config, time_source=FakeTime(ecs), owner="tick-a")
    second = make_poller(store, ecs, slack, config=config, time_source=FakeTime(ecs), owner="tick-b")
    first.tick(65.0)
    # When the next tick and a late retry of the first both pass over it after it finished
    reports = [second.tick(65.0), first.tick(65.0)]
    # Then its final state is posted once
    assert sum(r.posted for r in reports) == 1
    (final,) = replies(slack, CHANNEL, card_ts)
    assert "Finished" in text_of(final)


def test_repolls_share_the_ticks_describe_budget_per_region(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given 150 running watched tasks (two DescribeTasks calls a pass) and a budget of three calls a tick
    now = ecs.clock.now()
    ids = [f"t-share{n:04d}" for n in range(150)]
    for task_id in ids:
        ecs.add_task(**fixed_task(task_id, status="Processing", created=now))
    bulk_watches(store, [(CHANNEL, REGION, t) for t in ids], now=now, status="Processing")
    clock = FakeTime(ecs)
    config = PollerConfig(ttl=TTL, budget=TickBudget(3), repoll_interval_s=15.0, min_call_s=1.0, min_post_s=1.0)
    report = make_poller(store, ecs, slack, config=config, time_source=clock).tick(50.0)
    # Then the repoll stops at the budget: three calls in all, the second pass cut short
    assert report.describe_calls == 3 and clock.sleeps == [15.0]


def test_a_tick_never_waits_beyond_its_budget(store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator) -> None:
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=3600)
    watch_task(store, ecs, slack, task_id)
    clock = FakeTime(ecs)
    config = PollerConfig(ttl=TTL, repoll_interval_s=15.0, min_call_s=3.0, min_post_s=10.0)
    started = clock.now
    make_poller(store, ecs, slack, config=config, time_source=clock).tick(50.0)
    # Passes at 0, 15 and 30 s, then the last as late as leaves room for a call (3 s) and for posts (10 s):
    # at 37 s, not at 45; none after
    assert clock.sleeps == [15.0, 15.0, 7.0] and clock.now - started <= 50.0


def test_a_change_late_in_the_tick_is_found_by_a_last_pass_brought_forward_and_posted_in_time(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watched task that finishes 36 s into a 50 s tick, with 3 s kept for a call and 10 s for posts
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=36)
    _, card_ts = watch_task(store, ecs, slack, task_id)
    clock = FakeTime(ecs)
    config = PollerConfig(ttl=TTL, repoll_interval_s=15.0, min_call_s=3.0, min_post_s=10.0)
    report = make_poller(store, ecs, slack, config=config, time_source=clock).tick(50.0)
    # Then the pass due at 45 s comes at 37 s instead, finds it finished and posts it in this tick
    assert clock.sleeps == [15.0, 15.0, 7.0] and report.posted == 1
    (final,) = replies(slack, CHANNEL, card_ts)
    assert "Finished" in text_of(final)


def test_a_last_pass_is_not_brought_forward_to_just_after_the_one_before(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=3600)
    watch_task(store, ecs, slack, task_id)
    clock = FakeTime(ecs)
    config = PollerConfig(ttl=TTL, repoll_interval_s=15.0, min_call_s=3.0, min_post_s=10.0)
    # A 47 s budget: passes at 0, 15 and 30 s; the next could start by 34 s at the latest, only 4 s after the
    # last (less than a third of an interval): there is none
    make_poller(store, ecs, slack, config=config, time_source=clock).tick(47.0)
    assert clock.sleeps == [15.0, 15.0]


# --- tasks DescribeTasks does not list ---------------------------------------------------------------


@pytest.fixture(params=[True, False], ids=["strict", "lenient"])
def listing_ecs(request: pytest.FixtureRequest) -> Iterator[EcsEmulator]:
    strict: dict[str, Any] = {"listing": "strict" if request.param else "lenient"}
    emulator = EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, **strict)
    emulator.start()
    yield emulator
    emulator.stop()


def test_a_cancelled_watched_task_ends_its_watch_with_a_final_notice_within_two_ticks(
    store: SqlStore, listing_ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    ecs = listing_ecs
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=3600)
    watch_id, card_ts = watch_task(store, ecs, slack, task_id)
    poller = make_poller(store, ecs, slack)
    # When the task is cancelled (Deleted: under the strict listing, DescribeTasks no longer lists it)
    ecs_client(ecs).cancel_task(REGION, task_id)
    ecs.advance(1)
    poller.tick(BUDGET_S)
    poller.tick(BUDGET_S)
    # Then its thread has one final notice saying so, and the watch is over
    (final,) = replies(slack, CHANNEL, card_ts)
    assert "Deleted" in text_of(final)
    watch = store.watches.get(watch_id)
    assert watch is not None and watch.state == WATCH_ENDED


def test_under_the_strict_listing_a_cancelled_task_says_it_is_no_longer_listed(
    store: SqlStore, slack: SlackEmulator
) -> None:
    ecs = EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, listing="strict")
    ecs.start()
    try:
        task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", processing_s=3600)
        _, card_ts = watch_task(store, ecs, slack, task_id)
        ecs_client(ecs).cancel_task(REGION, task_id)
        report = make_poller(store, ecs, slack).tick(BUDGET_S)
        (final,) = replies(slack, CHANNEL, card_ts)
        assert report.looked_up == 1 and "No longer listed by ECS: Deleted (cancelled)" in text_of(final)
    finally:
        ecs.stop()


def test_a_watched_task_ecs_does_not_know_ends_with_a_note(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    bulk_watches(store, [(CHANNEL, REGION, "t-neverlisted")], now=ecs.clock.now())
    report = make_poller(store, ecs, slack).tick(BUDGET_S)
    # The test's card "1.0" was never posted: a new card replaces it, and the note goes to its thread
    card, note = slack.messages(CHANNEL)
    assert note.thread_ts == card.ts
    assert report.looked_up == 1 and "ECS no longer knows this task" in text_of(note)
    assert store.watches.poll_targets() == []


def test_under_the_strict_listing_a_waiting_watched_task_is_followed_until_it_runs(
    store: SqlStore, slack: SlackEmulator
) -> None:
    ecs = EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, listing="strict")
    ecs.start()
    try:
        task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", waiting_s=30, processing_s=600)
        bulk_watches(store, [(CHANNEL, REGION, task_id)], now=ecs.clock.now())
        poller = make_poller(store, ecs, slack)
        # While it waits, DescribeTasks does not list it: it is looked up, unchanged, and nothing is posted
        waiting = poller.tick(BUDGET_S)
        assert (waiting.looked_up, waiting.posted) == (1, 0)
        # When it starts, its change is posted
        ecs.advance(31)
        assert poller.tick(BUDGET_S).posted == 1
        card, change = slack.messages(CHANNEL)  # a new card for the test's made-up "1.0", the change in its thread
        assert "Waiting → Processing" in change.text and change.thread_ts == card.ts
        (target,) = store.watches.poll_targets()
        assert target.last_status == "Processing"
        watch = store.watches.get(target.watch_id)
        assert watch is not None and watch.state == WATCH_ACTIVE
    finally:
        ecs.stop()


def test_under_the_strict_listing_look_ups_reach_every_unlisted_task_in_turn(
    store: SqlStore, slack: SlackEmulator
) -> None:
    # Given more Waiting watched tasks (not listed) than a tick may look up, and the last of them cancelled
    ecs = EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, listing="strict")
    ecs.start()
    try:
        ids = sorted(
            ecs.add_task(RegionId=REGION, TaskAction="ImportImage", waiting_s=3600, processing_s=60) for _ in range(8)
        )
        bulk_watches(store, [(CHANNEL, REGION, t) for t in ids], now=ecs.clock.now())
        ecs_client(ecs).cancel_task(REGION, ids[-1])
        poller = make_poller(store, ecs, slack, config=PollerConfig(ttl=TTL, budget=TickBudget(lookups_per_region=5)))
        # When two ticks run
        first, second = poller.tick(BUDGET_S), poller.tick(BUDGET_S)
        # Then the budget was spent on different tasks, and the cancelled one ended with its notice
        assert (first.looked_up, second.looked_up) == (5, 5)
        looked = [c.params["TaskId"] for c in ecs.calls if c.action == "DescribeTaskAttribute"]
        assert set(looked) == set(ids)
        card, notice = slack.messages(CHANNEL)  # a new card for the test's made-up "1.0", the notice in its thread
        assert notice.thread_ts == card.ts
        assert ids[-1] in text_of(notice) and "No longer listed by ECS: Deleted (cancelled)" in text_of(notice)
    finally:
        ecs.stop()


def test_under_the_strict_listing_a_subscription_finds_a_task_that_waited_unlisted_for_minutes(
    store: SqlStore, slack: SlackEmulator
) -> None:
    # Given a subscription, and a new task that waits ten minutes in the queue: DescribeTasks lists it only
    # once it is Processing, as the API page says
    ecs = EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, listing="strict")
    ecs.start()
    try:
        store.subscriptions.add(
            team_id=None,
            channel_id=CHANNEL,
            user_id=USER,
            region_id=REGION,
            status=None,
            action=None,
            now=ecs.clock.now(),
        )
        poller = make_poller(store, ecs, slack)
        ecs.advance(60)
        task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", waiting_s=640, processing_s=600)
        # When ticks run every five minutes while it waits, and again once it has started
        waiting = []
        for _ in range(2):
            ecs.advance(300)
            waiting.append(poller.tick(BUDGET_S).discovered)
        ecs.advance(60)
        started = poller.tick(BUDGET_S)
    finally:
        ecs.stop()
    # Then it was not seen while it waited, and is announced once listed, minutes after it was created
    assert waiting == [0, 0]
    assert (started.discovered, started.posted) == (1, 1)
    assert any(task_id in str(m.blocks) for m in slack.messages(CHANNEL))
