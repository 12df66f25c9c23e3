"""Crashes and overlaps: a poller dies between any two steps, two pollers run at once, a timer event is
delivered twice. Each change must be posted once and never lost; the one documented exception (a crash
after Slack accepted a reply and before it was recorded) is shown here exactly as it behaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from emulators.ecs import EcsEmulator
from emulators.slack import SlackEmulator
from shared.store import SqlStore
from shared.updates.outbox import STEP_AFTER_CARD, STEP_AFTER_POST, STEP_AFTER_RECORD
from shared.updates.region_pass import STEP_AFTER_ACCEPT, STEP_AFTER_SCAN
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, BOT_TOKEN
from tests.paths import REPO
from tests.poller_support import (
    CHANNEL,
    ENGINES,
    REGION,
    USER,
    database_url,
    fresh_store,
    make_poller,
    replies,
    watch_task,
)

BUDGET_S = 20.0
PAST_LEASE = 6 * 60  # seconds: longer than the poller's 5-minute lease


class InjectedCrash(BaseException):
    """Stands for the process dying: nothing in the poller catches it."""


def crash_at(step: str) -> object:
    def faults(current: str) -> None:
        if current == step:
            raise InjectedCrash(step)

    return faults


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    yield from fresh_store(database_url("sqlite", tmp_path))


def failing_task(ecs: EcsEmulator) -> str:
    return ecs.add_task(
        RegionId=REGION,
        TaskAction="ImportImage",
        waiting_s=0,
        processing_s=60,
        outcome="Failed",
        errors=[{"ErrorCode": "InvalidImage.Format", "ErrorMsg": "bad disk", "Name": "ImageId", "Value": "m-1"}],
    )


@pytest.mark.parametrize(
    ("step", "replies_expected"),
    [
        (STEP_AFTER_ACCEPT, 1),  # accepted, nothing posted: the next owner posts it
        (STEP_AFTER_CARD, 1),  # card updated (idempotent), reply not posted: posted once on recovery
        (STEP_AFTER_POST, 2),  # Slack took the reply, the record was not written: posted again (documented)
        (STEP_AFTER_RECORD, 1),  # all done: recovery has nothing to do
    ],
)
def test_a_crash_between_steps_never_loses_the_final_failed_notice(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, step: str, replies_expected: int
) -> None:
    # Given a watched task that fails, and a poller that dies at `step` while handling it
    task_id = failing_task(ecs)
    _, card_ts = watch_task(store, ecs, slack, task_id)
    ecs.advance(61)
    with pytest.raises(InjectedCrash):
        make_poller(store, ecs, slack, faults=crash_at(step), owner="poller-a").tick(BUDGET_S)  # type: ignore[arg-type]
    # When another poller runs at once, it must not touch what the dead one holds (its lease runs)
    survivor = make_poller(store, ecs, slack, owner="poller-b")
    survivor.tick(BUDGET_S)
    assert len(replies(slack, CHANNEL, card_ts)) == (0 if step in (STEP_AFTER_ACCEPT, STEP_AFTER_CARD) else 1)
    # And once the lease ran out, a later tick finishes the job
    ecs.advance(PAST_LEASE)
    survivor.tick(BUDGET_S)
    survivor.tick(BUDGET_S)
    thread = replies(slack, CHANNEL, card_ts)
    assert len(thread) == replies_expected
    assert all("InvalidImage.Format" in json.dumps(m.blocks) for m in thread)
    assert store.outbox.count_by_state() == {"posted": 1}


def test_a_crash_after_a_scan_before_its_window_is_saved_announces_each_task_once(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    store.subscriptions.add(
        team_id=None,
        channel_id=CHANNEL,
        user_id=USER,
        region_id=REGION,
        status="Failed",
        action=None,
        now=ecs.clock.now(),
    )
    ecs.advance(60)
    failing_task(ecs)
    ecs.advance(61)
    with pytest.raises(InjectedCrash):
        make_poller(store, ecs, slack, faults=crash_at(STEP_AFTER_SCAN), owner="poller-a").tick(BUDGET_S)  # type: ignore[arg-type]
    ecs.advance(PAST_LEASE)
    survivor = make_poller(store, ecs, slack, owner="poller-b")
    survivor.tick(BUDGET_S)
    survivor.tick(BUDGET_S)
    cards = [m for m in slack.messages(CHANNEL) if m.thread_ts is None]
    assert len(cards) == 1 and "InvalidImage.Format" in json.dumps(cards[0].blocks)


def test_a_timer_event_delivered_twice_at_once_posts_each_change_once(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    import threading

    # Each in its own channel, so the outbox's pacing (a post a second per channel) does not slow the test
    channels = [f"{CHANNEL}{n:02d}" for n in range(10)]
    cards = [watch_task(store, ecs, slack, failing_task(ecs), channel=c)[1] for c in channels]
    ecs.advance(61)
    ecs.faults.update({"latency_s": 0.05})  # so the two runs overlap
    pollers = [make_poller(store, ecs, slack, owner=f"poller-{n}") for n in range(2)]
    threads = [threading.Thread(target=p.tick, args=(BUDGET_S,)) for p in pollers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [len(replies(slack, c, ts)) for c, ts in zip(channels, cards, strict=True)] == [1] * 10


# --- real processes -----------------------------------------------------------------------------

CHILD = """
import json, os, sys, time
from shared.config import Settings
from bot.wiring.build import build_poller

go_file, crash_step = sys.argv[1], sys.argv[2]

def faults(step):
    if step == crash_step:
        os._exit(137)  # the process dies on the spot: no cleanup, no release

poller = build_poller(Settings(), faults=faults)
print("ready", flush=True)
while not os.path.exists(go_file):
    time.sleep(0.002)
print(json.dumps(poller.tick(30.0).as_fields()), flush=True)
"""


def child_env(ecs: EcsEmulator, slack: SlackEmulator, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECS_TASKS_", "ALIBABA_CLOUD_", "SLACK_"))}
    env.update(
        ECS_ENDPOINT=ecs.base_url,
        ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.api_url,
        ECS_TASKS_DATABASE_URL=url,
        # One pass a tick: these tests count what one pass does (tests/e2e/test_poller_hardening.py covers repolls).
        ECS_TASKS_REPOLL_INTERVAL="0",
        PYTHONPATH=str(REPO),
    )
    return env


def start_children(env: dict[str, str], go_file: Path, count: int, crash_step: str = "") -> list[subprocess.Popen[str]]:
    """Processes that build their poller, say "ready", and tick together once `go_file` exists."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(go_file), crash_step],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(count)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    go_file.touch()
    return children


@pytest.mark.parametrize("engine", ENGINES)
def test_two_poller_processes_at_once_post_each_change_exactly_once(
    engine: str, ecs: EcsEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    url = database_url(engine, tmp_path)
    for store in fresh_store(url):
        # Each in its own channel: a channel takes about one post a second, and the outbox paces its posts
        channels = [f"{CHANNEL}{n:02d}" for n in range(20)]
        cards = [watch_task(store, ecs, slack, failing_task(ecs), channel=c)[1] for c in channels]
        ecs.advance(61)
        ecs.faults.update({"latency_s": 0.05})
        children = start_children(child_env(ecs, slack, url), tmp_path / "go", 2)
        reports = [json.loads(child.communicate(timeout=60)[0]) for child in children]
        assert [child.returncode for child in children] == [0, 0]
        # Both asked ECS and saw the changes; between them, each was accepted and posted exactly once
        assert all(r["describe_calls"] == 1 for r in reports)
        assert sum(r["accepted"] for r in reports) == 20 and sum(r["posted"] for r in reports) == 20
        assert [len(replies(slack, c, ts)) for c, ts in zip(channels, cards, strict=True)] == [1] * 20
        assert store.outbox.count_by_state() == {"posted": 20}


def test_a_killed_poller_process_loses_nothing(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    url = database_url("sqlite", tmp_path)
    cards = [watch_task(store, ecs, slack, failing_task(ecs))[1] for _ in range(3)]
    ecs.advance(61)
    # The process dies right after accepting the first change: holding its lease, having posted nothing
    (child,) = start_children(child_env(ecs, slack, url), tmp_path / "go", 1, STEP_AFTER_ACCEPT)
    child.communicate(timeout=60)
    assert child.returncode == 137
    assert all(not replies(slack, CHANNEL, ts) for ts in cards)
    # A later tick, after the lease ran out, posts it; the changes never accepted are accepted then
    later = datetime.now(timezone.utc) + timedelta(seconds=PAST_LEASE)
    recovery = make_poller(store, ecs, slack, clock=lambda: later, owner="poller-b")
    recovery.tick(BUDGET_S)
    assert [len(replies(slack, CHANNEL, ts)) for ts in cards] == [1, 1, 1]
