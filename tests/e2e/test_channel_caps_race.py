"""The per-channel caps hold under concurrency: twelve watch (and subscribe) commands at once, on three
Function Compute stand-ins sharing one database, leave the channel at its limits, on SQLite, PostgreSQL and
MariaDB. Signed slash commands over real HTTP through `functions.http.handler`, both emulators."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import http
from shared.store import SqlStore, open_store
from tests.conftest import SIGNING_SECRET, SLACK_PATH
from tests.poller_support import ENGINES, clean, database_url

CHANNEL, REGION = "C0CAPS", "cn-hangzhou"
MAX_WATCHES, MAX_SUBSCRIPTIONS = 3, 2
COMMANDS = 12
FILTERS = [f"{status} {action}" for status in ("failed", "finished", "processing")
           for action in ("import", "export", "redeploy", "modifydiskspec")]  # fmt: skip


@pytest.fixture(params=ENGINES)
def store(
    request: pytest.FixtureRequest, app_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SqlStore]:
    url = database_url(request.param, tmp_path)
    opened = open_store(url)
    clean(opened)
    monkeypatch.setenv("ECS_TASKS_DATABASE_URL", url)
    monkeypatch.setenv("ECS_TASKS_MAX_WATCHES_PER_CHANNEL", str(MAX_WATCHES))
    monkeypatch.setenv("ECS_TASKS_MAX_SUBSCRIPTIONS_PER_CHANNEL", str(MAX_SUBSCRIPTIONS))
    monkeypatch.setenv("ECS_TASKS_MAX_UPDATE_COMMANDS_PER_MINUTE", "100")
    http.reset_app()
    yield opened
    http.reset_app()
    clean(opened)
    opened.engine.dispose()


@pytest.fixture
def instances(store: SqlStore) -> Iterator[list[FcServer]]:
    """Three stand-ins in front of the one handler: as many concurrent invocations as Slack sends."""
    from functions.http import handler, initialize

    servers = [FcServer(handler=handler, initializer=initialize) for _ in range(3)]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def at_once(instances: list[FcServer], slack: SlackEmulator, texts: list[str]) -> list[str]:
    """Send the commands at once; every answer given (in an acknowledgement or at a response_url)."""
    acks: list[str] = []

    def send(index: int, text: str) -> None:
        target = instances[index % len(instances)].base_url + SLACK_PATH
        response = SlackSender(signing_secret=SIGNING_SECRET, target_url=target).slash_command(
            text,
            user_id=f"U0USER{index:02d}",
            channel_id=CHANNEL,
            response_url=slack.new_response_url(channel_id=CHANNEL, user_id=f"U0USER{index:02d}"),
        )
        acks.append(response.text)

    threads = [threading.Thread(target=send, args=(i, t)) for i, t in enumerate(texts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    deferral = http.thread_deferral()
    if deferral is not None:
        deferral.shutdown()  # deferred work finishes too
    http.reset_app()
    return acks + [json.dumps(c.args) for c in slack.calls_to("response_url")]


def test_twelve_concurrent_watches_leave_the_channel_at_its_limit(
    instances: list[FcServer], store: SqlStore, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    # Given twelve running tasks, and a channel that may follow three
    task_ids = [ecs.add_task(RegionId=REGION, TaskAction="ImportImage", waiting_s=0, processing_s=3600)
                for _ in range(COMMANDS)]  # fmt: skip
    # When twelve people watch one each at once
    answers = at_once(instances, slack, [f"watch {REGION} {task_id}" for task_id in task_ids])
    # Then the channel follows three, and no more; each of the nine others is told which limit stopped it
    assert store.watches.count_active(CHANNEL) == MAX_WATCHES
    assert sum(f"ECS_TASKS_MAX_WATCHES_PER_CHANNEL={MAX_WATCHES}" in a for a in answers) == COMMANDS - MAX_WATCHES


def test_twelve_concurrent_subscriptions_leave_the_channel_at_its_limit(
    instances: list[FcServer], store: SqlStore, slack: SlackEmulator
) -> None:
    # When twelve people subscribe the channel to twelve different filters at once
    answers = at_once(instances, slack, [f"subscribe {REGION} {words}" for words in FILTERS])
    # Then it has two subscriptions, and no more; each of the ten others is told which limit stopped it
    assert store.subscriptions.count(CHANNEL) == MAX_SUBSCRIPTIONS
    limit = f"ECS_TASKS_MAX_SUBSCRIPTIONS_PER_CHANNEL={MAX_SUBSCRIPTIONS}"
    assert sum(limit in a for a in answers) == COMMANDS - MAX_SUBSCRIPTIONS
