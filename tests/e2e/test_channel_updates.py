"""Channel updates end to end: signed slash commands and button clicks → the FC HTTP handler → the store;
the FC timer handler → the ECS emulator → the Slack emulator. Both emulators, real HTTP on loopback."""

from __future__ import annotations

import argparse
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer, FunctionMeta
from emulators.slack import Channel, SlackEmulator, SlackSender
from functions import timer
from shared.cards.parts import ACTION_UNSUBSCRIBE, ACTION_UNWATCH
from shared.cards.task_cards import ACTION_WATCH
from tests.conftest import BOT_TOKEN
from tests.paths import REPO

# These follow tasks from Waiting on, which only the emulator's lenient listing shows to DescribeTasks. The
# same flows under the API page's strict reading (Waiting tasks found by DescribeTaskAttribute, subscriptions
# announcing a task once it is listed) are proven in tests/e2e/test_poller_hardening.py and
# tests/e2e/test_channel_updates_strict.py.
pytestmark = pytest.mark.ecs_listing("lenient")

CHANNEL = "C0OPS"
USER = "U0ALICE"
REGION = "cn-hangzhou"
TIMER_EVENT = json.dumps({"triggerTime": "2026-03-01T12:00:00Z", "triggerName": "poll", "payload": ""}).encode()


@dataclass(frozen=True)
class Context:
    request_id: str
    function: FunctionMeta


@pytest.fixture(autouse=True)
def fresh_poller(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A tick is one pass here: repolls wait in real time (tests/e2e/test_poller_hardening.py fakes the clock).
    monkeypatch.setenv("ECS_TASKS_REPOLL_INTERVAL", "0")
    timer.reset_poller()
    yield
    timer.reset_poller()


def tick() -> dict[str, Any]:
    """What Function Compute does every minute."""
    return timer.handler(TIMER_EVENT, Context("req-timer-1", FunctionMeta("ecs-tasks-poller", timeout=60)))


def command(sender: SlackSender, slack: SlackEmulator, text: str) -> str:
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    started = time.monotonic()
    response = sender.slash_command(text, user_id=USER, channel_id=CHANNEL, response_url=response_url)
    assert response.status_code == 200 and time.monotonic() - started < 3.0
    return response_url


def wait_for_store(app_env: dict[str, str], *, watches: int = 0, subscriptions: int = 0) -> None:
    """Lazy work stores its rows just after posting: wait until they are there."""
    from shared.store import open_store

    store = open_store(app_env["ECS_TASKS_DATABASE_URL"])
    deadline = time.monotonic() + 5.0
    try:
        while time.monotonic() < deadline:
            if len(store.watches.poll_targets()) >= watches and len(store.subscriptions.all()) >= subscriptions:
                return
            time.sleep(0.02)
        raise TimeoutError(f"expected {watches} watches and {subscriptions} subscriptions in the store")
    finally:
        store.engine.dispose()


def elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        found += list(block.get("elements", [])) + ([block["accessory"]] if "accessory" in block else [])
    return [e for e in found if "action_id" in e]


def button(blocks: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    return next(e for e in elements(blocks) if e["action_id"].split(":")[0] == prefix)


def shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def running(ecs: EcsEmulator, **lifecycle: Any) -> str:
    return ecs.add_task(
        RegionId=REGION, TaskAction="ImportImage", **{"waiting_s": 30, "processing_s": 600, **lifecycle}
    )


def test_watch_posts_a_card_and_each_tick_updates_it_once_and_replies_once(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    # Given a Waiting task, watched with the slash command
    task_id = running(ecs)
    command(sender, slack, f"watch {REGION} {task_id}")
    slack.wait_for_calls(1, method="chat.postMessage")
    (card,) = [m for m in slack.messages(CHANNEL) if m.ephemeral_to is None]  # and the ephemeral reply
    card_ts = card.ts
    assert task_id in shown(card.blocks)
    slack.wait_for_calls(1, method="response_url")
    # When the task starts processing and the timer fires (twice: a retried event)
    ecs.advance(31)
    first, second = tick(), tick()
    # Then exactly one chat.update of the card and one reply in its thread
    assert (first["posted"], second["posted"]) == (1, 0)
    updates = slack.calls_to("chat.update")
    assert len(updates) == 1 and updates[0].args["ts"] == card_ts
    thread = [m for m in slack.messages(CHANNEL) if m.thread_ts == card_ts]
    assert len(thread) == 1 and "Waiting → Processing" in thread[0].text


def test_the_watch_button_on_a_channel_card_follows_the_task_in_that_cards_thread(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    task_id = running(ecs)
    command(sender, slack, f"{REGION} public")
    slack.wait_for_calls(1, method="chat.postMessage")
    (listing,) = slack.messages(CHANNEL)
    watch = button(listing.blocks, ACTION_WATCH)
    # When someone clicks Watch on the channel card
    sender.block_action(
        action_id=watch["action_id"],
        value=watch["value"],
        channel_id=CHANNEL,
        user_id=USER,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
        message={"ts": listing.ts, "blocks": listing.blocks, "text": listing.text},
        message_ts=listing.ts,
    )
    slack.wait_for_calls(2, method="chat.postMessage")
    slack.wait_for_calls(1, method="response_url")  # the confirmation: the watch is stored
    (card,) = [m for m in slack.messages(CHANNEL) if m.thread_ts == listing.ts]
    assert task_id in shown(card.blocks)
    # Then a change updates that card and replies in the list card's thread
    ecs.advance(31)
    assert tick()["posted"] == 1
    assert [c.args["ts"] for c in slack.calls_to("chat.update")] == [card.ts]
    assert len([m for m in slack.messages(CHANNEL) if m.thread_ts == listing.ts]) == 2


def test_list_shows_unwatch_and_unsubscribe_buttons_that_work(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, app_env: dict[str, str]
) -> None:
    task_id = running(ecs)
    command(sender, slack, f"watch {REGION} {task_id}")
    command(sender, slack, "subscribe cn-hangzhou failed import")
    wait_for_store(app_env, watches=1, subscriptions=1)
    response_url = command(sender, slack, "list")
    listed = slack.wait_for_calls(2, method="response_url")[-1]
    assert task_id in shown(listed.args["blocks"]) and "Failed" in shown(listed.args["blocks"])
    # When the user clicks Unwatch, then Unsubscribe, on the (ephemeral) list
    for prefix, count in ((ACTION_UNWATCH, 4), (ACTION_UNSUBSCRIBE, 5)):
        current = slack.calls_to("response_url")[-1].args["blocks"]
        chosen = button(current, prefix)
        sender.block_action(
            action_id=chosen["action_id"],
            value=chosen["value"],
            channel_id=CHANNEL,
            user_id=USER,
            response_url=response_url,
            is_ephemeral=True,
        )
        slack.wait_for_calls(count, method="response_url")
        time.sleep(0.2)
    # Then the list was redrawn empty and nothing is followed any more
    final = slack.calls_to("response_url")[-1]
    assert final.args.get("replace_original") is True and "no subscription" in shown(final.args["blocks"])
    ecs.advance(31)
    assert tick()["watches"] == 0


def test_subscribe_posts_each_new_task_once(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, app_env: dict[str, str]
) -> None:
    command(sender, slack, f"subscribe {REGION}")
    (confirmation,) = slack.wait_for_calls(1, method="chat.postMessage")
    assert "subscribed this channel" in confirmation.args["text"]
    wait_for_store(app_env, subscriptions=1)
    new_task = running(ecs)
    time.sleep(1.1)  # the scan's EndTime is "now" to the second
    assert tick()["discovered"] == 1
    tick()
    cards = [m for m in slack.messages(CHANNEL) if new_task in shown(m.blocks)]
    assert len(cards) == 1 and cards[0].thread_ts is None


def test_a_channel_without_the_bot_gets_the_fix_and_no_watch(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    slack.set_channel(CHANNEL, "not_in_channel")
    task_id = running(ecs)
    command(sender, slack, f"watch {REGION} {task_id}")
    (answer,) = slack.wait_for_calls(1, method="response_url")
    assert "/invite @ecs-tasks" in shown(answer.args)
    assert tick()["watches"] == 0


@pytest.mark.parametrize(
    ("channel", "fix"),
    [
        (Channel(private=True, bot_is_member=False), "If it is private, invite me with `/invite @ecs-tasks`"),
        (Channel(restriction="restricted_action"), "This channel allows no posts by apps"),
        (Channel(restriction="restricted_action_read_only_channel"), "This channel is read-only"),
        (Channel(restriction="restricted_action_thread_only_channel"), "This channel takes replies in threads only"),
    ],
    ids=["private", "no-apps", "read-only", "thread-only"],
)
def test_a_channel_the_bot_may_not_post_in_gets_the_fix_for_its_reason_and_no_watch(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, channel: Channel, fix: str
) -> None:
    # Given a channel Slack refuses the bot's posts in, for one reason
    slack.set_channel(CHANNEL, channel)
    # When a user watches a task there
    command(sender, slack, f"watch {REGION} {running(ecs)}")
    # Then the answer says what fixes that reason (and only that), and nothing is watched
    (answer,) = slack.wait_for_calls(1, method="response_url")
    assert fix in answer.args["text"] and "I am not in this channel" not in answer.args["text"]
    assert tick()["watches"] == 0


def answers(sender: SlackSender, slack: SlackEmulator, text: str, *, expect: int, settle: bool = False) -> list[str]:
    """The texts of the response_url posts a command's work makes: the first `expect` (`settle`: all it makes)."""
    before = len(slack.calls_to("response_url"))
    command(sender, slack, text)
    slack.wait_for_calls(before + expect, method="response_url")
    if settle:
        time.sleep(0.3)  # the work sends its replies one after the other: any extra one would be here by now
    return [shown(call.args) for call in slack.calls_to("response_url")[before:]]


PAUSED_LINE = "Channel updates are paused: Slack refuses ecs-tasks' token (`token_revoked`)"


def test_watch_subscribe_and_list_say_channel_updates_are_paused_until_a_tick_posts_again(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, app_env: dict[str, str]
) -> None:
    # Given a watched task that changed while Slack refused the bot's token, and a tick that held the outbox
    task_id = running(ecs)
    command(sender, slack, f"watch {REGION} {task_id}")
    wait_for_store(app_env, watches=1)
    slack.wait_for_calls(1, method="response_url")
    slack.revoke_token("token_revoked")
    ecs.advance(31)
    assert tick()["posted"] == 0
    # When the user lists, and watches (the bot's own post is refused too)
    listed, paused = answers(sender, slack, "list", expect=2)
    refused, paused_too = answers(sender, slack, f"watch {REGION} {running(ecs)}", expect=2)
    # Then each answer ends with the line saying why, naming no token
    assert task_id in listed and "token_revoked" in refused
    for line in (paused, paused_too):
        assert PAUSED_LINE in line and "/ecs-tasks doctor" in line and BOT_TOKEN not in line
        assert re.search(r"since (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC", line)
    # And once the token works, the line stays until a tick has posted again (the hold is in the store)
    slack.clear_faults()
    watching, paused = answers(sender, slack, f"watch {REGION} {running(ecs)}", expect=2)
    assert "Watching" in watching and PAUSED_LINE in paused
    (paused,) = answers(sender, slack, "subscribe cn-hangzhou failed", expect=1)
    assert PAUSED_LINE in paused
    assert PAUSED_LINE in answers(sender, slack, "list", expect=2)[1]
    # When the next minute's timer posts the change (on a new instance: the one that held waits out its minute)
    timer.reset_poller()
    assert tick()["posted"] >= 1
    # Then, the hold lifted, watch, subscribe and list answer without it
    after = answers(sender, slack, f"watch {REGION} {running(ecs)}", expect=1, settle=True)
    after += answers(sender, slack, "subscribe cn-hangzhou", expect=0, settle=True)
    after += answers(sender, slack, "list", expect=1, settle=True)
    assert len(after) == 2 and "Watching" in after[0] and not any("paused" in text for text in after)


def test_the_timer_logs_one_json_line_per_tick_and_ecs_tasks_poll_runs_one(
    app_env: dict[str, str], ecs: EcsEmulator, slack: SlackEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.poll import run_poll

    tick()
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if '"poller.tick"' in line]
    assert len(lines) == 1
    assert {"watches", "describe_calls", "posted", "duration_ms", "budget_s"} <= set(lines[0])
    assert lines[0]["budget_s"] == 50.0 and lines[0]["trigger"] == "poll"
    out = io.StringIO()
    assert run_poll(argparse.Namespace(budget=5.0), out=out) == 0
    assert json.loads(out.getvalue())["watches"] == 0


def test_on_function_compute_slow_work_runs_in_an_async_invocation_once_though_delivered_twice(
    fc_async: FcServer, slack: SlackEmulator, ecs: EcsEmulator, app_env: dict[str, str]
) -> None:
    from tests.conftest import SIGNING_SECRET, SLACK_PATH

    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=fc_async.base_url + SLACK_PATH)
    task_id = running(ecs)
    # Given ECS slower than the inline budget
    ecs.faults.update({"latency_s": 2.0})
    command(sender, slack, f"watch {REGION} {task_id}")
    fc_async.wait_for_async(timeout=20)
    # Then the work ran in one async invocation (delivered twice) and posted one card, then stored one watch
    assert len(fc_async.invocations) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1
    wait_for_store(app_env, watches=1)
    ecs.faults.update({"latency_s": 0.0})
    ecs.advance(31)
    assert tick()["posted"] == 1


def _loaded_by_importing(imports: str, watched: tuple[str, ...]) -> list[str]:
    """Which of `watched` a fresh interpreter has loaded after `import <imports>`."""
    import json
    import subprocess
    import sys

    code = f"import sys, json, {imports}; print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    root = REPO
    done = subprocess.run([sys.executable, "-c", code], cwd=root, check=True, capture_output=True, text=True)
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_the_ack_path_does_not_import_sqlalchemy() -> None:
    imports = "bot.slack.app, bot.wiring.build, bot.slack.dispatch, bot.usecases.channels, functions.http"
    assert _loaded_by_importing(imports, ("sqlalchemy",)) == []


# The channel commands' work, which `bot.usecases.channels` imports where a job runs.
CHANNEL_UPDATE_WORK = (
    "bot.usecases.watching",
    "bot.usecases.subscribing",
    "bot.usecases.channel_status",
    "bot.usecases.channel_limits",
    "bot.usecases.task_lookup",
)


def test_loading_the_listeners_loads_no_http_client() -> None:
    # The ECS client (and `requests` with it) is loaded by whoever makes the first call: on a cold instance the
    # head start does, before the listeners load, so the listeners must not pull it in themselves.
    watched = ("requests", "shared.ecs.client", "shared.ecs.transport")
    assert (
        _loaded_by_importing(
            ", ".join(("bot.slack.dispatch", "bot.usecases.channels", *CHANNEL_UPDATE_WORK, "bot.usecases.tasks")),
            watched,
        )
        == []
    )


def test_registering_the_listeners_loads_no_channel_updates() -> None:
    # Given the listeners registered on an app, as a cold instance's first query has them,
    # then channel updates (their use cases, model and cards) are not loaded: they load when first used.
    watched = (*CHANNEL_UPDATE_WORK, "shared.updates.model", "shared.updates.cards")
    assert _loaded_by_importing("bot.slack.app, bot.slack.dispatch, bot.usecases.channels", watched) == []


# What a cold instance answering queries must never load: the store's library (a query needs no database, even
# where one is configured) and the official SDK (a test-only oracle, never deployed).
NOT_ON_THE_QUERY_PATH = (
    "sqlalchemy",
    "alibabacloud_ecs20140526",
    "alibabacloud_tea_openapi",
    "Tea",
)
_SERVE_FIRST_REQUESTS = """
import json, sys
from functions import http

class Context:
    request_id = "import-hygiene"

answers = [http.handler(event.encode(), Context()) for event in json.loads(sys.stdin.read())]
print(json.dumps({
    "answers": [{"status": a["statusCode"], "body": a.get("body") or ""} for a in answers],
    "loaded": sorted(name for name in sys.modules if name.split(".")[0] in %r),
}))
"""


def test_a_cold_instance_answers_a_query_and_a_click_without_sqlalchemy_or_the_sdk(
    app_env: dict[str, str], ecs: EcsEmulator, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys
    from datetime import datetime, timezone

    from bot.language.codecs import encode_query
    from bot.language.grammar import QueryCommand, parse
    from emulators.fc_server import http_event
    from shared.cards.task_cards import ACTION_REFRESH
    from tests.conftest import SIGNING_SECRET, SLACK_PATH

    # Given Function Compute's settings and a configured database (the poller's deployment has one)
    monkeypatch.setenv("FC_FUNCTION_NAME", "ecs-tasks")
    monkeypatch.setenv("FC_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: a deferral would fail loudly
    monkeypatch.setenv("FC_REGION", REGION)
    monkeypatch.setenv("FC_ACCOUNT_ID", "1234567890123456")
    assert app_env["ECS_TASKS_DATABASE_URL"]
    task_id = running(ecs)
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"http://127.0.0.1{SLACK_PATH}")
    command = parse(REGION, default_region=REGION, now=datetime.now(timezone.utc))
    assert isinstance(command, QueryCommand)

    def as_event(body: str) -> str:
        headers = {"Host": "127.0.0.1", **sender.signed_headers(body)}
        event = http_event(
            method="POST", path=SLACK_PATH, query={}, headers=headers, body=body.encode(), source_ip="127.0.0.1"
        )
        return json.dumps(event)

    slash = sender.slash_command_body(
        REGION, user_id=USER, channel_id=CHANNEL, response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    )
    click = sender.block_actions_body(
        sender.block_actions_payload(
            action_id=ACTION_REFRESH,
            value=encode_query(command.query),
            user_id=USER,
            channel_id=CHANNEL,
            response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
            is_ephemeral=True,
        )
    )
    # When a fresh interpreter (a cold instance) serves a slash command, then a Refresh click
    root = REPO
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_FIRST_REQUESTS % (NOT_ON_THE_QUERY_PATH,)],
        input=json.dumps([as_event(slash), as_event(click)]),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    served = json.loads(done.stdout.splitlines()[-1])
    # Then both were answered inline: the card in the command's ack, the click's at its response_url
    assert [a["status"] for a in served["answers"]] == [200, 200]
    assert task_id in served["answers"][0]["body"]
    (refreshed,) = slack.calls_to("response_url")
    assert task_id in json.dumps(refreshed.args.get("blocks"))
    # And neither SQLAlchemy nor the official SDK was imported on the way
    assert served["loaded"] == []


def test_importing_the_http_entry_point_loads_no_library_the_head_start_would_wait_behind() -> None:
    # A cold instance verifies the signature and starts its first ECS read before the libraries load (the head
    # start): importing the handler itself must not pull them in first.
    watched = ("pydantic", "slack_sdk", "slack_bolt", "requests", "shared.cards.task_cards", "shared.config")
    assert _loaded_by_importing("functions.http", watched) == []


def test_the_poller_loads_no_bolt() -> None:
    # The timer function is a process of its own: the Slack app's library is not among what it holds.
    assert _loaded_by_importing("functions.timer, bot.wiring.build, shared.updates.poller", ("slack_bolt",)) == []
