"""Channel-update commands through the FC HTTP handler (signed slash commands, both emulators, a real
store): the per-channel and per-person bounds, and one card per task per channel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import http, timer
from tests.e2e.test_channel_updates import CHANNEL, REGION, command, running, shown, tick, wait_for_store


@pytest.fixture(autouse=True)
def one_pass_ticks(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ECS_TASKS_REPOLL_INTERVAL", "0")
    timer.reset_poller()
    yield
    timer.reset_poller()


def limit(monkeypatch: pytest.MonkeyPatch, name: str, value: int) -> None:
    monkeypatch.setenv(name, str(value))
    http.reset_app()  # the next request builds the app with this setting


def answers(slack: SlackEmulator, n: int) -> list[str]:
    return [shown(c.args) for c in slack.wait_for_calls(n, method="response_url")]


def store_counts(app_env: dict[str, str]) -> tuple[int, int]:
    from shared.store import open_store

    store = open_store(app_env["ECS_TASKS_DATABASE_URL"])
    try:
        return len(store.watches.poll_targets()), len(store.subscriptions.all())
    finally:
        store.engine.dispose()


def test_a_subscription_past_the_channels_limit_is_refused_naming_the_limit_and_the_way_out(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit(monkeypatch, "ECS_TASKS_MAX_SUBSCRIPTIONS_PER_CHANNEL", 2)
    command(sender, slack, "subscribe cn-hangzhou")
    command(sender, slack, "subscribe cn-shanghai")
    wait_for_store(app_env, subscriptions=2)
    # When a third is asked for
    command(sender, slack, "subscribe cn-beijing")
    refusal = answers(slack, 1)[-1]
    # Then it is refused, saying which limit (value and setting) and how to remove entries
    assert "ECS_TASKS_MAX_SUBSCRIPTIONS_PER_CHANNEL=2" in refusal
    assert "/ecs-tasks unsubscribe" in refusal and "/ecs-tasks list" in refusal
    assert store_counts(app_env) == (0, 2)
    assert len(slack.calls_to("chat.postMessage")) == 2  # no third "subscribed" post


def test_a_watch_past_the_channels_limit_is_refused_before_ecs_is_asked(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit(monkeypatch, "ECS_TASKS_MAX_WATCHES_PER_CHANNEL", 2)
    first, second, third = running(ecs), running(ecs), running(ecs)
    command(sender, slack, f"watch {REGION} {first} {second}")
    wait_for_store(app_env, watches=2)
    answers(slack, 1)
    ecs.reset_calls()
    command(sender, slack, f"watch {REGION} {third}")
    refusal = answers(slack, 2)[-1]
    assert "ECS_TASKS_MAX_WATCHES_PER_CHANNEL=2" in refusal and "0 more tasks" in refusal
    assert "/ecs-tasks unwatch" in refusal and "/ecs-tasks list" in refusal
    assert ecs.calls == [] and store_counts(app_env) == (2, 0)


def test_a_person_past_the_command_rate_is_refused_for_the_rest_of_the_minute(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit(monkeypatch, "ECS_TASKS_MAX_UPDATE_COMMANDS_PER_MINUTE", 3)
    for n, region in enumerate(("cn-hangzhou", "cn-shanghai", "cn-beijing"), start=1):
        command(sender, slack, f"subscribe {region}")
        slack.wait_for_calls(n, method="chat.postMessage")
    wait_for_store(app_env, subscriptions=3)
    # When the same person sends a fourth channel-update command within the minute
    command(sender, slack, "unsubscribe cn-hangzhou")
    refusal = answers(slack, 1)[-1]
    # Then it is refused, naming the limit, and nothing changed
    assert "ECS_TASKS_MAX_UPDATE_COMMANDS_PER_MINUTE=3" in refusal and "Try again in a minute" in refusal
    assert store_counts(app_env) == (0, 3)


def test_watching_a_task_a_subscription_already_posted_answers_with_that_card(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, app_env: dict[str, str]
) -> None:
    import time

    command(sender, slack, f"subscribe {REGION}")
    wait_for_store(app_env, subscriptions=1)
    task_id = running(ecs, waiting_s=0)  # Processing: listed under either reading
    time.sleep(1.1)  # the scan's EndTime is "now" to the second
    assert tick()["posted"] == 1
    cards = [m for m in slack.messages(CHANNEL) if task_id in shown(m.blocks)]
    assert len(cards) == 1
    # When someone watches the same task in the channel
    command(sender, slack, f"watch {REGION} {task_id}")
    answer = answers(slack, 1)[-1]
    # Then they get that card (privately), and the channel gets no second one
    assert "Already followed here" in answer and task_id in answer
    assert [m for m in slack.messages(CHANNEL) if task_id in shown(m.blocks) and m.ephemeral_to is None] == cards
    assert store_counts(app_env) == (1, 1)
