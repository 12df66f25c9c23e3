"""Helpers for the store, poller and channel-update tests: database URLs, clean tables, a poller wired to
the emulators, and a few ways of looking at what Slack received."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import delete, insert

from emulators.ecs import EcsEmulator
from emulators.slack import SlackEmulator
from shared.ecs.client import EcsClient
from shared.ecs.credentials import Credentials, StaticCredentialsProvider
from shared.ecs.models import Task
from shared.ecs.retry import RetryPolicy
from shared.ecs.transport import ApiTransport
from shared.store import SqlStore, open_store
from shared.store.claims import ClaimKind
from shared.store.schema import (
    channel_bindings,
    channel_locks,
    claims,
    outbox_hold,
    poll_cursors,
    rate_limits,
    subscriptions,
    transitions,
    watches,
)
from shared.updates.model import NewWatch, task_to_json
from shared.updates.notifier import Notifier
from shared.updates.outbox import no_faults
from shared.updates.poller import Poller, PollerConfig
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, BOT_TOKEN

POSTGRES_URL = os.environ.get("ECS_TASKS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("ECS_TASKS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
REGION = "cn-hangzhou"
CHANNEL = "C0WATCH"
USER = "U0ALICE"
TTL = timedelta(days=7)

# The three engines, for fixtures parametrized with `indirect`: SQLite always, the servers as `db` tests.
ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.db),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.db),
]


def database_url(engine: str, tmp_path: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return POSTGRES_URL if engine == "postgresql" else MARIADB_URL


def clean(store: SqlStore) -> None:
    """Empty this feature's tables (servers are shared by tests run one after another)."""
    with store.engine.begin() as connection:
        tables = (
            transitions,
            watches,
            subscriptions,
            poll_cursors,
            rate_limits,
            channel_locks,
            outbox_hold,
            channel_bindings,
        )
        for table in tables:
            connection.execute(delete(table))
        for kind in ClaimKind:
            connection.execute(delete(claims).where(claims.c.claim_key.like(f"{kind.value}:%")))


def fresh_store(url: str) -> Iterator[SqlStore]:
    store = open_store(url)
    clean(store)
    yield store
    clean(store)
    store.engine.dispose()


def ecs_client(ecs: EcsEmulator, *, attempts: int = 2) -> EcsClient:
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    return EcsClient(
        ApiTransport(credentials, endpoint=ecs.base_url),
        retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.01, max_delay_s=0.02),
        timeout=(1.0, 5.0),
        rand=lambda: 0.5,
    )


def make_poller(
    store: SqlStore,
    ecs: EcsEmulator,
    slack: SlackEmulator,
    *,
    clock: Callable[[], datetime] | None = None,
    faults: Callable[[str], None] = no_faults,
    config: PollerConfig | None = None,
    owner: str | None = None,
    time_source: FakeTime | None = None,
) -> Poller:
    notifier = Notifier(WebClient(token=BOT_TOKEN, base_url=slack.api_url, retry_handlers=[]))
    timing: dict[str, Any] = {}
    if time_source is not None:
        timing = {"monotonic": time_source.monotonic, "sleep": time_source.sleep}
    client = ecs_client(ecs)
    return Poller(
        store,
        lambda account: client,
        notifier,
        config or PollerConfig(ttl=TTL),
        clock=clock or ecs.clock.now,
        faults=faults,
        owner=owner,
        **timing,
    )


class FakeTime:
    """The poller's monotonic clock and sleep: a sleep moves both it and the ECS emulator's task clock on,
    so a tick that waits 15 s between polls takes no time in a test."""

    def __init__(self, ecs: EcsEmulator) -> None:
        self._ecs = ecs
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self._ecs.advance(seconds)


def watch_task(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, task_id: str, *, channel: str = CHANNEL
) -> tuple[int, str]:
    """What `/ecs-tasks watch` leaves behind: a card in the channel and a watch row. Returns (id, card ts)."""
    client_ = ecs_client(ecs)
    listed = client_.describe_tasks(REGION, task_ids=[task_id]).tasks
    # The API page's strict listing leaves a Waiting task out: a watch then looks it up by id.
    task = listed[0] if listed else client_.describe_task_attribute(REGION, task_id)
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    card_ts = str(client.chat_postMessage(channel=channel, text=f"watching {task_id}")["ts"])
    watch_id, _ = store.watches.add(
        NewWatch(None, channel, USER, REGION, task, card_ts, card_ts), now=ecs.clock.now(), ttl=TTL
    )
    return watch_id, card_ts


def bulk_watches(store: SqlStore, rows: list[tuple[str, str, str]], *, now: datetime, status: str = "Waiting") -> None:
    """Many watches at once, (channel, region, task id) each, last seen Waiting: test setup only."""
    values = [
        {
            "team_id": None,
            "channel_id": channel,
            "user_id": USER,
            "region_id": region,
            "task_id": task_id,
            "origin": "watch",
            "announced": True,
            "last_status": status,
            "version": 1,
            "task_json": task_to_json(
                Task.model_validate({"TaskId": task_id, "TaskStatus": status, "RegionId": region})
            ),
            "card_ts": "1.0",
            "thread_ts": "1.0",
            "state": "active",
            "live": 1,
            "created_at": now,
            "expires_at": now + TTL,
            "updated_at": now,
        }
        for channel, region, task_id in rows
    ]
    with store.engine.begin() as connection:
        for start in range(0, len(values), 1000):
            connection.execute(insert(watches), values[start : start + 1000])


def replies(slack: SlackEmulator, channel: str, thread_ts: str) -> list[Any]:
    return [m for m in slack.messages(channel) if m.thread_ts == thread_ts]


def calls(slack: SlackEmulator, method: str, channel: str | None = None) -> list[Any]:
    return [c for c in slack.calls_to(method) if channel is None or c.args.get("channel") == channel]


def describe_calls_by_region(ecs: EcsEmulator) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in ecs.calls:
        if call.action == "DescribeTasks" and call.region_id:
            counts[call.region_id] = counts.get(call.region_id, 0) + 1
    return counts
