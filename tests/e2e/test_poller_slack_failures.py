"""Slack's failure edges in channel updates, one test per class of answer (shared/updates/slack_answers.py):
whatever Slack answers, no accepted change is lost and someone is told. Real HTTP on loopback to the ECS and
Slack emulators (answering as Slack documents), a real SQLite store, the emulators' clocks moved on instead
of sleeping."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.ecs import EcsEmulator
from emulators.slack import SLACK_RATE_LIMITS, Channel, SlackEmulator
from shared.log import LOGGER_NAME
from shared.store import SqlStore
from shared.updates.model import WATCH_ACTIVE, WATCH_UNDELIVERABLE
from shared.updates.poller import Poller
from tests.conftest import BOT_TOKEN
from tests.poller_support import (
    CHANNEL,
    REGION,
    TTL,
    USER,
    FakeTime,
    database_url,
    fresh_store,
    make_poller,
    replies,
    watch_task,
)

pytestmark = pytest.mark.ecs_listing("lenient")

BUDGET_S = 20.0
# Longer than the longest wait the outbox sets after a transient answer (slack_answers.MAX_RETRY_AFTER_S).
PAST_ANY_RETRY_S = 16 * 60


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    yield from fresh_store(database_url("sqlite", tmp_path))


def outbox_paused_reason(store: SqlStore) -> str | None:
    """The stored hold's reason, as the bot's replies read it (bot.usecases.channel_status.paused_notice)."""
    held = store.hold.current()
    return held[0] if held is not None else None


def running_task(
    ecs: EcsEmulator, *, waiting_s: float = 10, processing_s: float = 30 * 3600, outcome: str = "Finished"
) -> str:
    return ecs.add_task(
        RegionId=REGION, TaskAction="ImportImage", waiting_s=waiting_s, processing_s=processing_s, outcome=outcome
    )


def poller_for(store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator) -> Poller:
    """A poller whose waits (the outbox's pacing among them) move the emulators' clock instead of sleeping."""
    return make_poller(store, ecs, slack, time_source=FakeTime(ecs))


def ticks(poller: Poller, ecs: EcsEmulator, n: int, *, every_s: float = PAST_ANY_RETRY_S) -> int:
    """`n` ticks, the clock moved on between them; how many rows they posted."""
    posted = 0
    for _ in range(n):
        ecs.advance(every_s)
        posted += poller.tick(BUDGET_S).posted
    return posted


def test_slacks_internal_errors_are_retried_past_any_count_and_the_change_is_posted_once(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watched task that changed, and Slack answering HTTP-200 internal_error to every post for two hours
    _, card_ts = watch_task(store, ecs, slack, running_task(ecs))
    poller = poller_for(store, ecs, slack)
    slack.fail_method("chat.postMessage", "internal_error", times=None)
    # When the poller ticks through it (more tries than any give-up count), then Slack recovers
    assert ticks(poller, ecs, 8) == 0
    slack.clear_faults()
    ecs.advance(PAST_ANY_RETRY_S)
    # Then the change is posted, once, and nothing was given up
    assert poller.tick(BUDGET_S).posted == 1
    (reply,) = replies(slack, CHANNEL, card_ts)
    assert "Waiting → " in reply.text
    assert store.outbox.count_by_state() == {"posted": 1}


@pytest.mark.parametrize("retry_after", [10**12, math.inf], ids=["1e12", "inf"])
def test_an_absurd_retry_after_is_clamped_and_the_tick_goes_on(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, retry_after: float
) -> None:
    # Given a watched task that changed, and Slack rate limiting the card update with an absurd Retry-After
    _, card_ts = watch_task(store, ecs, slack, running_task(ecs))
    poller = poller_for(store, ecs, slack)
    slack.fail_method("chat.update", "ratelimited", retry_after_s=retry_after)  # type: ignore[arg-type]
    ecs.advance(11)
    # When the poller ticks, the tick does not crash; the change waits
    report = poller.tick(BUDGET_S)
    assert (report.posted, report.deferred) == (0, 1)
    # Then it is posted once the clamped wait has passed
    assert ticks(poller, ecs, 1) == 1
    assert len(replies(slack, CHANNEL, card_ts)) == 1


def test_a_refused_token_holds_the_whole_outbox_then_each_watch_posts_its_state_once_with_what_happened(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    # Given two watched tasks, and the bot's token revoked before either changes
    first = running_task(ecs, waiting_s=10, processing_s=1800, outcome="Failed")
    second = running_task(ecs, waiting_s=10)
    (_, first_card), (_, second_card) = watch_task(store, ecs, slack, first), watch_task(store, ecs, slack, second)
    poller = poller_for(store, ecs, slack)
    slack.revoke_token("token_revoked")
    calls_before = len(slack.calls)
    # When an hour and a half of ticks pass (the first task runs and fails meanwhile)
    ours = logging.getLogger(LOGGER_NAME)  # it stops propagating once shared.log attaches its JSON handler
    ours.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.ERROR, logger=LOGGER_NAME):
            assert ticks(poller, ecs, 6) == 0
    finally:
        ours.removeHandler(caplog.handler)
    # Then Slack was tried once a tick, one error line each, and nothing was dropped
    assert len(slack.calls) - calls_before == 6
    records = {id(r): r for r in caplog.records}.values()  # the handler may be reached twice per record
    assert [r.getMessage() for r in records].count("outbox.held") == 6
    assert set(store.outbox.count_by_state()) == {"pending"}
    assert outbox_paused_reason(store) == "token_revoked"  # for the bot's replies
    # And once the token works, each watch posts its current state once, saying what happened meanwhile
    slack.clear_faults()
    ecs.advance(60)
    poller.tick(BUDGET_S)
    (summary,) = replies(slack, CHANNEL, first_card)
    assert "Failed" in summary.text and "Waiting → Failed while updates were paused" in summary.text
    (change,) = replies(slack, CHANNEL, second_card)
    assert "Waiting → Processing" in change.text
    assert store.outbox.count_by_state() == {"posted": 3}
    assert outbox_paused_reason(store) is None


def test_a_change_accepted_before_its_watch_expired_during_a_hold_is_still_posted(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watched task that changed while Slack refused the token, for longer than the watch's lifetime
    _, card_ts = watch_task(store, ecs, slack, running_task(ecs, processing_s=30 * 24 * 3600))
    poller = poller_for(store, ecs, slack)
    slack.revoke_token("account_inactive")
    assert ticks(poller, ecs, 6) == 0
    assert ticks(poller, ecs, 1, every_s=TTL.total_seconds()) == 0
    # When the token works again
    slack.clear_faults()
    assert ticks(poller, ecs, 1) == 2
    # Then the change is posted, then the note that the watch expired
    change, note = replies(slack, CHANNEL, card_ts)
    assert "Waiting → Processing" in change.text and "Stopped watching" in note.text
    assert store.outbox.count_by_state() == {"posted": 2}


def test_an_archived_channel_ends_its_watches_and_its_subscriptions(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watch and a subscription in a channel that is then archived
    watch_id, _ = watch_task(store, ecs, slack, running_task(ecs))
    store.subscriptions.add(
        team_id=None, channel_id=CHANNEL, user_id=USER, region_id=REGION, status=None, action=None, now=ecs.clock.now()
    )
    slack.set_channel(CHANNEL, Channel(archived=True))
    ecs.advance(11)
    # When the poller ticks (chat.update answers is_inactive there)
    report = poller_for(store, ecs, slack).tick(BUDGET_S)
    # Then the watch ended on record, the subscription too, and the creator was told once
    assert report.undeliverable == 1
    watch = store.watches.get(watch_id)
    assert watch is not None and (watch.state, watch.problem) == (WATCH_UNDELIVERABLE, "is_inactive")
    assert store.subscriptions.for_channel(CHANNEL) == []
    (dm,) = slack.messages(USER)
    assert "archived" in dm.text or "archived" in str(dm.blocks)


def test_a_private_channel_the_bot_is_not_in_pauses_the_watch_until_the_bot_is_invited(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watch in a private channel the bot is not in (Slack answers channel_not_found there)
    watch_id, card_ts = watch_task(store, ecs, slack, running_task(ecs))
    slack.set_channel(CHANNEL, Channel(private=True, bot_is_member=False))
    poller = poller_for(store, ecs, slack)
    # When the task changes: the watch is paused, not ended, and its creator is told once how to fix it
    assert ticks(poller, ecs, 3) == 0
    watch = store.watches.get(watch_id)
    assert watch is not None and (watch.state, watch.problem) == (WATCH_ACTIVE, "channel_not_found")
    (dm,) = slack.messages(USER)
    assert "private channel" in str(dm.blocks) and "/invite @ecs-tasks" in str(dm.blocks)
    # Then once the bot is invited, the change is posted and the watch resumes
    slack.set_channel(CHANNEL, Channel(private=True, bot_is_member=True))
    assert ticks(poller, ecs, 1) == 1
    assert len(replies(slack, CHANNEL, card_ts)) == 1
    watch = store.watches.get(watch_id)
    assert watch is not None and (watch.state, watch.problem) == (WATCH_ACTIVE, None)


def test_a_read_only_channel_pauses_the_watch_then_after_a_day_ends_it_and_says_so(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watch in a channel that allows the bot no posts
    watch_id, _ = watch_task(store, ecs, slack, running_task(ecs))
    slack.set_channel(CHANNEL, Channel(restriction="restricted_action_read_only_channel"))
    poller = poller_for(store, ecs, slack)
    # When the task changes: paused, and its creator told once that the channel allows no posts
    assert ticks(poller, ecs, 2) == 0
    watch = store.watches.get(watch_id)
    assert watch is not None and (watch.state, watch.problem) == (WATCH_ACTIVE, "restricted_action_read_only_channel")
    (dm,) = slack.messages(USER)
    assert "does not allow my posts" in str(dm.blocks)
    # Then when posting has failed for a day, the watch ends and a second DM says so
    assert ticks(poller, ecs, 1, every_s=24 * 3600) == 0
    watch = store.watches.get(watch_id)
    assert watch is not None and watch.state == WATCH_UNDELIVERABLE
    paused, ended = slack.messages(USER)
    assert "does not allow my posts" in str(paused.blocks) and "stopped watching" in str(ended.blocks)
    assert store.outbox.count_by_state() == {"undeliverable": 1}


def test_a_message_slack_refuses_goes_out_as_plain_text(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watched task that changed, and Slack refusing the reply's blocks (msg_blocks_too_long)
    _, card_ts = watch_task(store, ecs, slack, running_task(ecs))
    slack.fail_next("chat.postMessage", "msg_blocks_too_long")
    ecs.advance(11)
    # When the poller ticks
    report = poller_for(store, ecs, slack).tick(BUDGET_S)
    # Then the change is posted at once, as plain text
    assert report.posted == 1
    (reply,) = replies(slack, CHANNEL, card_ts)
    assert reply.blocks == [] and "Waiting → " in reply.text


def test_a_deleted_card_is_replaced_by_a_new_card_and_replies_go_to_its_thread(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a watched task whose card someone deleted (Slack then answers ok to replies, and shows none)
    task_id = running_task(ecs, waiting_s=10, processing_s=60)
    _, card_ts = watch_task(store, ecs, slack, task_id)
    assert slack.delete_message(CHANNEL, card_ts)
    poller = poller_for(store, ecs, slack)
    # When the task changes twice
    assert ticks(poller, ecs, 1, every_s=11) == 1
    assert ticks(poller, ecs, 1, every_s=61) == 1
    # Then a new card carries the watch, both replies are in its thread, and none went into the dead one
    (card, *thread) = slack.messages(CHANNEL)
    assert task_id in str(card.blocks) and card.thread_ts is None
    assert [m.thread_ts for m in thread] == [card.ts, card.ts]
    assert "Waiting → " in thread[0].text and "Finished" in thread[1].text
    assert slack.hidden_messages(CHANNEL) == []


def test_posts_to_one_channel_are_paced_under_slacks_rate_limit(tmp_path: Path, ecs: EcsEmulator) -> None:
    # Given Slack's rate limits on, on the same clock as the poller's, and eight watches in one channel
    slack = SlackEmulator(bot_token=BOT_TOKEN, clock=lambda: ecs.clock.now().timestamp())
    slack.start()
    try:
        for store in fresh_store(database_url("sqlite", tmp_path)):
            cards = [watch_task(store, ecs, slack, running_task(ecs))[1] for _ in range(8)]
            slack.set_rate_limits(SLACK_RATE_LIMITS)
            time = FakeTime(ecs)
            ecs.advance(11)
            # When they all change at once and one tick posts them
            report = make_poller(store, ecs, slack, time_source=time).tick(BUDGET_S)
            # Then every reply went out in that tick, none was refused, the tick waiting between them
            assert report.posted == 8
            assert [len(replies(slack, CHANNEL, ts)) for ts in cards] == [1] * 8
            assert [c for c in slack.calls if c.error == "ratelimited"] == []
            assert sum(time.sleeps) >= 4
    finally:
        slack.stop()


def test_a_hold_with_nothing_left_to_post_is_lifted_at_the_next_tick(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given a hold recorded while Slack refused the token, and no change waiting to be posted any more
    store.hold.hold("token_revoked", now=ecs.clock.now())
    assert outbox_paused_reason(store) == "token_revoked"
    # When the next tick finds the outbox empty
    poller_for(store, ecs, slack).tick(BUDGET_S)
    # Then the hold is lifted, so the bot's replies tell of no pause
    assert outbox_paused_reason(store) is None
