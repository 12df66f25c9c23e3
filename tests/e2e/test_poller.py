"""The poller end to end: the ECS emulator changes a task, a tick runs, the Slack emulator receives the
card update and the thread reply — once. Real HTTP on loopback, a real SQLite store."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.ecs import EcsEmulator
from emulators.slack import SlackEmulator
from shared.store import SqlStore
from shared.updates.model import WATCH_ACTIVE, WATCH_ENDED, WATCH_EXPIRED, WATCH_UNDELIVERABLE
from shared.updates.plan import TickBudget
from shared.updates.poller import PollerConfig
from tests.conftest import fixed_task
from tests.poller_support import (
    CHANNEL,
    REGION,
    TTL,
    USER,
    bulk_watches,
    calls,
    database_url,
    describe_calls_by_region,
    fresh_store,
    make_poller,
    replies,
    watch_task,
)

# These follow tasks from Waiting on, which only the emulator's lenient listing shows to DescribeTasks. The
# same flows under the API page's strict reading (Waiting tasks found by DescribeTaskAttribute, subscriptions
# announcing a task once it is listed) are proven in tests/e2e/test_poller_hardening.py and
# tests/e2e/test_channel_updates_strict.py.
pytestmark = pytest.mark.ecs_listing("lenient")

BUDGET_S = 20.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    yield from fresh_store(database_url("sqlite", tmp_path))


def running_task(
    ecs: EcsEmulator,
    *,
    waiting_s: float = 0,
    processing_s: float = 60,
    outcome: str = "Finished",
    region: str = REGION,
    **extra: object,
) -> str:
    return ecs.add_task(
        RegionId=region,
        TaskAction="ImportImage",
        waiting_s=waiting_s,
        processing_s=processing_s,
        outcome=outcome,
        **extra,
    )


def text_of(message: object) -> str:
    return json.dumps([getattr(message, "text", ""), getattr(message, "blocks", [])], ensure_ascii=False)


def test_a_status_change_updates_the_card_once_and_replies_in_its_thread_once(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watched task that is Waiting
    task_id = running_task(ecs, waiting_s=30, processing_s=600)
    watch_id, card_ts = watch_task(store, ecs, slack, task_id)
    poller = make_poller(store, ecs, slack)
    assert poller.tick(BUDGET_S).posted == 0
    # When it starts processing and a tick runs — then the timer event is delivered again
    ecs.advance(31)
    first = poller.tick(BUDGET_S)
    second = poller.tick(BUDGET_S)
    # Then the card was updated in place once and the thread got one reply
    assert (first.accepted, first.posted, second.accepted, second.posted) == (1, 1, 0, 0)
    updates = calls(slack, "chat.update", CHANNEL)
    assert len(updates) == 1 and updates[0].args["ts"] == card_ts
    thread = replies(slack, CHANNEL, card_ts)
    assert len(thread) == 1 and "Waiting → Processing" in thread[0].text
    card = next(m for m in slack.messages(CHANNEL) if m.ts == card_ts)
    assert task_id in text_of(card) and "Processing" in text_of(card)
    watch = store.watches.get(watch_id)
    assert watch is not None and (watch.state, watch.last_status) == (WATCH_ACTIVE, "Processing")


def test_a_failure_is_the_final_notice_with_duration_and_error_codes_then_the_watch_ends(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    task_id = running_task(
        ecs,
        outcome="Failed",
        total_count=2,
        errors=[
            {
                "ErrorCode": "InvalidImage.Format",
                "ErrorMsg": "the VHD is corrupt",
                "Name": "ImageId",
                "Value": "m-bp1bad",
            }
        ],
    )
    watch_id, card_ts = watch_task(store, ecs, slack, task_id)
    poller = make_poller(store, ecs, slack)
    ecs.advance(61)
    report = poller.tick(BUDGET_S)
    assert report.posted == 1
    (final,) = replies(slack, CHANNEL, card_ts)
    shown = text_of(final)
    assert "Failed" in shown and "took 1m 00s" in shown
    assert "InvalidImage.Format" in shown and "the VHD is corrupt" in shown and "m-bp1bad" in shown
    watch = store.watches.get(watch_id)
    assert watch is not None and watch.state == WATCH_ENDED
    # An ended watch is not asked about again
    ecs.reset_calls()
    assert poller.tick(BUDGET_S).describe_calls == 0 and ecs.calls == []


def test_a_subscription_posts_each_new_task_once_then_follows_it_in_its_thread(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    store.subscriptions.add(
        team_id=None, channel_id=CHANNEL, user_id=USER, region_id=REGION, status=None, action=None, now=ecs.clock.now()
    )
    poller = make_poller(store, ecs, slack)
    ecs.advance(60)
    first, second = running_task(ecs, waiting_s=30), running_task(ecs, waiting_s=30)
    ecs.advance(1)  # the scan's EndTime is "now" to the second
    report = poller.tick(BUDGET_S)
    assert (report.discovered, report.posted) == (2, 2)
    # The overlapping window sees both tasks again: nothing new is posted
    ecs.advance(10)
    again = poller.tick(BUDGET_S)
    assert (again.discovered, again.posted) == (0, 0)
    cards = [m for m in slack.messages(CHANNEL) if m.thread_ts is None]
    assert sorted(t for t in (first, second) if any(t in text_of(c) for c in cards)) == sorted([first, second])
    assert len(cards) == 2
    # When one starts processing, its card is updated and its thread gets a reply
    ecs.advance(30)
    follow = poller.tick(BUDGET_S)
    assert follow.posted == 2
    for card in cards:
        assert len(replies(slack, CHANNEL, card.ts)) == 1


def test_a_subscription_with_a_status_posts_a_task_when_it_reaches_that_status(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    store.subscriptions.add(
        team_id=None,
        channel_id=CHANNEL,
        user_id=USER,
        region_id="all",
        status="Failed",
        action=None,
        now=ecs.clock.now(),
    )
    poller = make_poller(store, ecs, slack, config=PollerConfig(ttl=TTL, allowed_regions=frozenset({REGION})))
    ecs.advance(60)
    failing = running_task(ecs, processing_s=120, outcome="Failed")
    running_task(ecs, processing_s=120, outcome="Finished")
    ecs.advance(1)
    assert poller.tick(BUDGET_S).posted == 0  # both are still processing: followed silently
    ecs.advance(121)
    poller.tick(BUDGET_S)
    poller.tick(BUDGET_S)
    cards = [m for m in slack.messages(CHANNEL) if m.thread_ts is None]
    assert len(cards) == 1 and failing in text_of(cards[0]) and "Failed" in text_of(cards[0])


def test_throttling_carries_the_work_to_the_next_tick_and_nothing_is_lost(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    task_id = running_task(ecs, waiting_s=10)
    _, card_ts = watch_task(store, ecs, slack, task_id)
    poller = make_poller(store, ecs, slack)
    ecs.advance(11)
    ecs.faults.update({"throttle_rate": 1.0})
    throttled = poller.tick(BUDGET_S)
    assert throttled.throttled_regions == (REGION,) and throttled.carried_regions == (REGION,)
    assert throttled.posted == 0
    ecs.faults.update({"throttle_rate": 0.0})
    assert poller.tick(BUDGET_S).posted == 1
    assert len(replies(slack, CHANNEL, card_ts)) == 1


def test_a_tick_stops_starting_calls_when_its_budget_is_spent(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    now = ecs.clock.now()
    for n in range(500):
        ecs.add_task(**fixed_task(f"t-budget{n:04d}", status="Waiting", created=now))
    bulk_watches(store, [(CHANNEL, REGION, f"t-budget{n:04d}") for n in range(500)], now=now)
    ecs.faults.update({"latency_s": 0.3})
    poller = make_poller(store, ecs, slack, config=PollerConfig(ttl=TTL, min_call_s=0.25))
    short = poller.tick(0.8)
    assert 1 <= short.describe_calls < 5 and short.carried_regions == (REGION,)
    ecs.faults.update({"latency_s": 0.0})
    # The next tick resumes where the short one stopped, and wraps around to finish the pass
    rest = poller.tick(BUDGET_S)
    assert short.describe_calls + rest.describe_calls >= 5 and rest.carried_regions == ()


def test_ten_thousand_watches_in_twenty_regions_take_at_most_one_call_per_100_ids_per_region(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    from emulators.ecs.regions import KNOWN_REGIONS

    regions = [r.region_id for r in KNOWN_REGIONS[:20]]
    now = ecs.clock.now()
    rows = []
    for n in range(10_000):
        region, task_id = regions[n % 20], f"t-many{n:05d}"
        ecs.add_task(**fixed_task(task_id, region=region, status="Waiting", created=now))
        rows.append((f"C{n % 7}", region, task_id))
    bulk_watches(store, rows, now=now)
    poller = make_poller(store, ecs, slack, config=PollerConfig(ttl=TTL, budget=TickBudget(50)))
    report = poller.tick(60.0)
    per_region = describe_calls_by_region(ecs)
    assert set(per_region) == set(regions)
    assert all(count <= math.ceil(500 / 100) for count in per_region.values()), per_region
    assert report.describe_calls == 100 and report.carried_regions == ()
    assert report.duration_ms < 30_000


def test_groups_are_passed_over_at_once_on_the_pollers_own_bounded_pool(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from emulators.ecs.regions import KNOWN_REGIONS
    from shared.ecs.client import EcsClient

    # Given watches in six regions, and the ECS client's own region pool out of bounds for the poller
    regions = [r.region_id for r in KNOWN_REGIONS[:6]]
    now = ecs.clock.now()
    for region in regions:
        ecs.add_task(**fixed_task(f"t-{region}", region=region, status="Waiting", created=now))
    bulk_watches(store, [(CHANNEL, region, f"t-{region}") for region in regions], now=now)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the poller schedules its groups on its own pool")

    asked_on: list[str] = []
    describe_tasks = EcsClient.describe_tasks

    def recorded(client: EcsClient, *args: object, **kwargs: object) -> object:
        asked_on.append(threading.current_thread().name)
        return describe_tasks(client, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(EcsClient, "map_regions", refuse)
    monkeypatch.setattr(EcsClient, "describe_tasks", recorded)
    # When a tick runs with room for two groups at a time
    report = make_poller(store, ecs, slack, config=PollerConfig(ttl=TTL, parallel_groups=2)).tick(BUDGET_S)
    # Then every group was asked about, on the poller's threads, at most two of them
    assert report.regions == 6 and report.describe_calls == 6 and report.carried_regions == ()
    assert set(describe_calls_by_region(ecs)) == set(regions)
    assert len(asked_on) == 6 and all(name.startswith("ecs-tasks-poller") for name in asked_on)
    assert len(set(asked_on)) <= 2


def test_a_watch_past_its_ttl_ends_with_a_note_in_its_thread(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    task_id = ecs.add_task(**fixed_task("t-slow0001", status="Processing", created=ecs.clock.now()))
    watch_id, card_ts = watch_task(store, ecs, slack, task_id)
    poller = make_poller(store, ecs, slack)
    ecs.advance(TTL.total_seconds() + 1)
    report = poller.tick(BUDGET_S)
    assert (report.expired, report.posted) == (1, 1)
    (note,) = replies(slack, CHANNEL, card_ts)
    assert "Stopped watching" in note.text and "7d" in note.text
    watch = store.watches.get(watch_id)
    assert watch is not None and watch.state == WATCH_EXPIRED


def test_a_channel_the_bot_is_not_in_keeps_the_watch_tells_its_creator_once_and_posts_after_the_invite(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    first, second = (
        running_task(ecs, waiting_s=10, processing_s=3600),
        running_task(ecs, waiting_s=10, processing_s=3600),
    )
    (first_id, card_ts), _ = watch_task(store, ecs, slack, first), watch_task(store, ecs, slack, second)
    poller = make_poller(store, ecs, slack)
    slack.set_channel(CHANNEL, "not_in_channel")
    ecs.advance(11)
    stuck = poller.tick(BUDGET_S)
    assert (stuck.posted, stuck.deferred) == (0, 2)
    dms = slack.messages(USER)
    assert len(dms) == 1 and "/invite @ecs-tasks" in text_of(dms[0])
    watch = store.watches.get(first_id)
    assert watch is not None and (watch.state, watch.problem) == (WATCH_ACTIVE, "not_in_channel")
    # When someone invites the bot, the waiting changes are posted (once the retry time comes)
    slack.set_channel(CHANNEL, "ok")
    assert poller.tick(BUDGET_S).posted == 0
    ecs.advance(11 * 60)
    assert poller.tick(BUDGET_S).posted == 2
    assert len(replies(slack, CHANNEL, card_ts)) == 1 and len(slack.messages(USER)) == 1
    watch = store.watches.get(first_id)
    assert watch is not None and watch.problem is None


def test_an_archived_channel_ends_its_watches_deliberately_and_tells_the_creator_once(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    first, second = running_task(ecs, waiting_s=10), running_task(ecs, waiting_s=10)
    (first_id, _), (second_id, _) = watch_task(store, ecs, slack, first), watch_task(store, ecs, slack, second)
    slack.set_channel(CHANNEL, "is_archived")
    ecs.advance(11)
    report = make_poller(store, ecs, slack).tick(BUDGET_S)
    assert report.undeliverable == 2
    for watch_id in (first_id, second_id):
        watch = store.watches.get(watch_id)
        assert watch is not None and (watch.state, watch.problem) == (WATCH_UNDELIVERABLE, "is_inactive")
    dms = slack.messages(USER)
    assert len(dms) == 1 and "archived" in text_of(dms[0])
    assert store.outbox.count_by_state() == {"undeliverable": 2}
