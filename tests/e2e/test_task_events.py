"""Tasks announced as they start, end to end: ActionTrail API-call events from the EventBridge
stand-in, as bytes, through `functions.events.handler`, which finds the task in the ECS emulator over
loopback HTTP, follows it in a real store and posts to the Slack emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.eventbridge import EventBridgeStandIn, api_call_event, event_from_call
from emulators.eventbridge.standin import ECS_SOURCE
from emulators.slack import SlackEmulator
from functions import events
from shared.store import SqlStore, open_store
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET
from tests.poller_support import clean, make_poller, replies

HOME_ID = "1234567890123456"
REGION = "cn-hangzhou"
CHANNEL, QUIET = "C0IMAGES", "C0QUIET"
USER = "U0OWNER"


@pytest.fixture
def store(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    monkeypatch.setenv("FC_ACCOUNT_ID", HOME_ID)
    events.reset_announcer()
    opened = open_store(app_env["ECS_TASKS_DATABASE_URL"])
    yield opened
    clean(opened)
    events.reset_announcer()


@pytest.fixture
def bridge() -> EventBridgeStandIn:
    return EventBridgeStandIn(deliver=lambda body: events.handler(body, None))


def subscribe(store: SqlStore, ecs: EcsEmulator, channel: str, *, action: str | None = None) -> None:
    store.subscriptions.add(
        team_id=None,
        channel_id=channel,
        user_id=USER,
        region_id=REGION,
        status=None,
        action=action,
        now=ecs.clock.now() - timedelta(minutes=5),
    )


def started(ecs: EcsEmulator, action: str = "ImportImage") -> str:
    return ecs.add_task(RegionId=REGION, TaskAction=action, waiting_s=0, processing_s=600)


def import_event(ecs: EcsEmulator, task_id: str, **who: Any) -> dict[str, Any]:
    return api_call_event(
        action="ImportImage",
        region_id=REGION,
        account_id=HOME_ID,
        at=ecs.clock.now(),
        request={"ImageName": "web-1"},
        response={"TaskId": task_id},
        **who,
    )


def cancel_event(ecs: EcsEmulator, task_id: str, **who: Any) -> dict[str, Any]:
    return api_call_event(
        action="CancelTask",
        region_id=REGION,
        account_id=HOME_ID,
        at=ecs.clock.now(),
        request={"TaskId": task_id},
        **who,
    )


def text_of(message: object) -> str:
    return json.dumps([getattr(message, "text", ""), getattr(message, "blocks", [])], ensure_ascii=False)


def test_an_import_started_by_alice_is_announced_within_ten_seconds_naming_her(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn
) -> None:
    # Given a channel subscribed to the region's imports, and one subscribed to something else
    subscribe(store, ecs, CHANNEL, action="ImportImage")
    subscribe(store, ecs, QUIET, action="ExportImage")
    task_id = started(ecs)
    # When ActionTrail's event of alice's ImportImage arrives
    arrived = time.monotonic()
    (answer,) = bridge.publish(import_event(ecs, task_id, user="alice"))
    # Then the subscribed channel is told within 10 s, naming alice and the account, and nothing of her keys
    (card,) = slack.messages(CHANNEL)
    assert time.monotonic() - arrived < 10
    assert answer == {"ok": True, "announced": 1}
    shown = text_of(card)
    assert task_id in shown and "started by alice (home)" in shown
    for private in ("LTAI5t", "28815334868278", "192.0.2.10"):
        assert private not in shown
    # And the channel whose subscription does not match gets nothing
    assert slack.messages(QUIET) == []
    # And the task is followed like any subscription's, knowing who started it
    (watch,) = store.watches.live_for_task("home", REGION, task_id)
    assert watch.started_by == "alice (home)" and watch.card_ts == card.ts


def test_a_duplicate_delivery_posts_nothing_more(store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator) -> None:
    # Given EventBridge delivering every event twice (at least once)
    bridge = EventBridgeStandIn(deliver=lambda body: events.handler(body, None), rand=lambda: 0.0, duplicate_rate=1.0)
    subscribe(store, ecs, CHANNEL)
    task_id = started(ecs)
    # When the event arrives, twice
    first, second = bridge.publish(import_event(ecs, task_id, user="alice"))
    # Then one card, and the second delivery was recognised as the same event
    assert len(slack.messages(CHANNEL)) == 1
    assert (first, second) == ({"ok": True, "announced": 1}, {"ok": True, "duplicate": 1})


def test_a_hostile_region_makes_no_request_anywhere(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn
) -> None:
    subscribe(store, ecs, CHANNEL)
    task_id = started(ecs)
    event = import_event(ecs, task_id, user="alice")
    event["data"]["acsRegion"] = "x@127.0.0.1:1/#"
    ecs.reset_calls()
    (answer,) = bridge.publish(event)
    assert answer == {"ok": True, "unreadable": 1}
    assert ecs.calls == [] and slack.calls == []


def test_an_event_for_a_task_ecs_does_not_know_posts_nothing_and_may_be_looked_at_again(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn
) -> None:
    subscribe(store, ecs, CHANNEL)
    event = import_event(ecs, "t-bp1nosuchtask00", user="alice")
    first, again = bridge.publish(event)[0], bridge.publish(event)[0]
    assert slack.messages(CHANNEL) == []
    # Not claimed for good: a redelivery asks ECS once more
    assert first == again == {"ok": True, "unknown_task": 1}
    assert [c.action for c in ecs.calls].count("DescribeTaskAttribute") == 2


def test_a_cancel_by_bob_is_posted_in_the_tasks_thread_naming_him(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn
) -> None:
    subscribe(store, ecs, CHANNEL)
    task_id = started(ecs)
    bridge.publish(import_event(ecs, task_id, user="alice"))
    (card,) = slack.messages(CHANNEL)
    # When bob cancels it outside ecs-tasks
    (answer,) = bridge.publish(cancel_event(ecs, task_id, user="bob"))
    # Then the task's thread says bob did
    (note,) = replies(slack, CHANNEL, card.ts)
    assert answer == {"ok": True, "noted": 1}
    assert "cancelled by bob (home)" in note.text


def test_a_cancel_made_through_ecs_tasks_is_not_posted_twice(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn
) -> None:
    subscribe(store, ecs, CHANNEL)
    task_id = started(ecs)
    bridge.publish(import_event(ecs, task_id, user="alice"))
    (card,) = slack.messages(CHANNEL)
    # When the event of a Cancel clicked in Slack arrives (ecs-tasks' session for that Slack user)
    bridge.publish(cancel_event(ecs, task_id, session=("ecs-tasks-cancel", "slack-U0OWNER")))
    # Then ecs-tasks says nothing more than it said when the click was answered
    assert replies(slack, CHANNEL, card.ts) == []


def test_a_cancel_under_the_slack_functions_own_role_in_the_home_account_is_not_posted_twice(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the Slack function's role, whose home-account calls carry a session Function Compute names
    monkeypatch.setenv("ECS_TASKS_SLACK_ROLE_ARN", f"acs:ram::{HOME_ID}:role/ecs-tasks-fc")
    subscribe(store, ecs, CHANNEL)
    task_id = started(ecs)
    bridge.publish(import_event(ecs, task_id, user="alice"))
    (card,) = slack.messages(CHANNEL)
    # When the event of a Cancel clicked in a home channel arrives, and then one by another role's session
    bridge.publish(cancel_event(ecs, task_id, session=("ecs-tasks-fc", "fc-3f2a9c")))
    assert replies(slack, CHANNEL, card.ts) == []
    bridge.publish(cancel_event(ecs, task_id, session=("ops-admin", "carol")))
    # Then only the other role's cancel is told
    (note,) = replies(slack, CHANNEL, card.ts)
    assert "cancelled by carol (home)" in note.text


def test_ecs_own_event_source_and_a_batch_are_read_alike(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn
) -> None:
    subscribe(store, ecs, CHANNEL)
    first, second = started(ecs), started(ecs, "ExportImage")
    export = api_call_event(
        action="ExportImage",
        region_id=REGION,
        account_id=HOME_ID,
        at=ecs.clock.now(),
        session=("ci-role", "nightly-build"),
        request={"ImageId": "m-bp1abc"},
        response={"TaskId": second},
        form=ECS_SOURCE,
    )
    (answer,) = bridge.publish([import_event(ecs, first, user="alice"), export])
    assert answer == {"ok": True, "announced": 2}
    shown = " ".join(text_of(m) for m in slack.messages(CHANNEL))
    assert "started by alice (home)" in shown and "started by nightly-build (home)" in shown


def test_an_event_from_an_account_no_binding_covers_is_ignored(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn, tmp_path: Path
) -> None:
    subscribe(store, ecs, CHANNEL)
    task_id = started(ecs)
    event = import_event(ecs, task_id, user="alice")
    event["aliyunaccountid"] = "9999999999999999"
    ecs.reset_calls()
    (answer,) = bridge.publish(event)
    assert answer == {"ok": True, "ignored": 1}
    assert ecs.calls == [] and slack.messages(CHANNEL) == []


def test_attribution_off_names_nobody(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_TASKS_EVENT_ATTRIBUTION", "false")
    subscribe(store, ecs, CHANNEL)
    task_id = started(ecs)
    bridge.publish(import_event(ecs, task_id, user="alice"))
    (card,) = slack.messages(CHANNEL)
    assert task_id in text_of(card) and "alice" not in text_of(card)


def test_alices_import_through_the_official_sdk_is_announced_naming_her(
    store: SqlStore, slack: SlackEmulator, bridge: EventBridgeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib.parse import urlsplit

    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi import models as openapi_models

    from emulators.ecs.service import HOME_ACCOUNT_ID

    # Given an ECS emulator that knows alice's AccessKey, and the function's own account
    emulator = EcsEmulator(
        seed=[],
        credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET, "alice-key": "alice-secret"},
        users={"alice-key": "alice"},
    )
    monkeypatch.setenv("FC_ACCOUNT_ID", HOME_ACCOUNT_ID)
    with emulator:
        monkeypatch.setenv("ECS_ENDPOINT", emulator.base_url)
        events.reset_announcer()
        subscribe(store, emulator, CHANNEL)
        # When alice imports an image with the official SDK, and ActionTrail's event of that call is delivered
        config = openapi_models.Config(
            access_key_id="alice-key",
            access_key_secret="alice-secret",
            endpoint=urlsplit(emulator.base_url).netloc,
            protocol="http",
            region_id=REGION,
            read_timeout=5000,
            connect_timeout=2000,
        )
        answer = Client(config).import_image(
            ecs_models.ImportImageRequest(region_id=REGION, image_name="web-2", ostype="linux")
        )
        (call,) = [c for c in emulator.calls if c.action == "ImportImage"]
        assert call.caller is not None and (call.caller.type, call.caller.user_name) == ("ram-user", "alice")
        emulator.advance(5)  # ECS starts processing it
        bridge.publish(event_from_call(call))
    # Then the channel is told of that very task, naming alice
    (card,) = slack.messages(CHANNEL)
    assert answer.body.task_id in text_of(card) and "started by alice (home)" in text_of(card)


def test_the_pollers_later_announcement_names_the_starter_when_the_event_came_first(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn
) -> None:
    # Given a channel that wants only failed imports, and alice's import, still processing when its event arrives
    store.subscriptions.add(
        team_id=None,
        channel_id=CHANNEL,
        user_id=USER,
        region_id=REGION,
        status="Failed",
        action=None,
        now=ecs.clock.now() - timedelta(minutes=5),
    )
    task_id = ecs.add_task(RegionId=REGION, TaskAction="ImportImage", waiting_s=0, processing_s=30, outcome="Failed")
    bridge.publish(import_event(ecs, task_id, user="alice"))
    assert slack.messages(CHANNEL) == []
    # When it fails and the poller's tick sees it
    ecs.advance(40)
    make_poller(store, ecs, slack).tick(20.0)
    # Then the poller's announcement names alice, whom only the event knew
    (card,) = slack.messages(CHANNEL)
    assert task_id in text_of(card) and "started by alice (home)" in text_of(card)


def test_an_event_held_back_until_the_poller_announced_the_task_posts_nothing_more_and_records_the_starter(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given EventBridge holding an event back (best effort: sometimes late)
    bridge = EventBridgeStandIn(deliver=lambda body: events.handler(body, None), rand=lambda: 0.0, late_rate=1.0)
    subscribe(store, ecs, CHANNEL)
    task_id = started(ecs)
    assert bridge.publish(import_event(ecs, task_id, user="alice")) == []
    # When the poller's scan announces the task first (a tick a minute later), and the event arrives after
    ecs.advance(60)
    make_poller(store, ecs, slack).tick(20.0)
    (card,) = slack.messages(CHANNEL)
    (answer,) = bridge.flush()
    # Then the channel keeps its one card, and its follow knows who started the task from now on
    assert answer == {"ok": True, "announced": 1}
    assert slack.messages(CHANNEL) == [card]
    (watch,) = store.watches.live_for_task("home", REGION, task_id)
    assert watch.started_by == "alice (home)"


def test_details_name_who_started_the_task_when_an_event_told(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, bridge: EventBridgeStandIn, fc: Any, sender: Any
) -> None:
    from shared.cards.task_cards import ACTION_DETAILS
    from tests.e2e.test_slack_e2e import all_text, buttons, card_in_ack, click, send_command

    # Given alice's import, announced from its event
    subscribe(store, ecs, CHANNEL)
    task_id = started(ecs)
    bridge.publish(import_event(ecs, task_id, user="alice"))
    # When someone asks for its Details in Slack
    response, _, response_url = send_command(sender, slack, "cn-hangzhou processing")
    details = buttons(card_in_ack(response)["blocks"])[ACTION_DETAILS][0]
    click(sender, details, response_url)
    # Then the Details say who started it
    (detail,) = slack.calls_to("response_url")
    text = all_text(detail.args["blocks"])
    assert task_id in text and "Started by" in text and "alice (home)" in text
