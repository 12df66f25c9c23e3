"""`watch` through the FC HTTP handler under the API page's strict listing: DescribeTasks without a
TaskStatus lists only Finished, Processing and Failed tasks, so a Waiting task is found by
DescribeTaskAttribute, and "not found" is said only when ECS says so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import timer
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET
from tests.e2e.test_channel_updates import REGION, command, running, shown, tick, wait_for_store


@pytest.fixture(autouse=True)
def one_pass_ticks(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ECS_TASKS_REPOLL_INTERVAL", "0")
    timer.reset_poller()
    yield
    timer.reset_poller()


@pytest.fixture
def ecs() -> Iterator[EcsEmulator]:
    """The ECS emulator with the API page's strict listing: DescribeTasks leaves Waiting tasks out."""
    emulator = EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, listing="strict")
    emulator.start()
    yield emulator
    emulator.stop()


def test_under_the_strict_listing_a_waiting_task_can_be_watched_and_an_unknown_one_is_not_found(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, app_env: dict[str, str]
) -> None:
    waiting = running(ecs)  # Waiting for its first 30 s
    command(sender, slack, f"watch {REGION} {waiting} t-nosuchtask")
    (card,) = [c.args for c in slack.wait_for_calls(1, method="chat.postMessage")]
    assert waiting in shown(card)
    confirmation = shown(slack.wait_for_calls(1, method="response_url")[-1].args)
    assert "Watching" in confirmation and "`t-nosuchtask` was not found in cn-hangzhou" in confirmation
    wait_for_store(app_env, watches=1)
    ecs.advance(31)
    report: dict[str, Any] = tick()
    assert report["posted"] == 1
