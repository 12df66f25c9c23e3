"""The poller under faults: many ticks in real processes while ECS throttles, fails, garbles and drops, tasks
change status as the emulator's clock moves, and poller processes are killed at random points.

Guarantee checked (see `shared/updates/outbox.py`): no change is lost — every task's final state reaches its
thread — and a status is posted twice only when a kill fell between Slack accepting a reply and the store
recording it, so duplicates never exceed kills. `make test` runs a short version (6 ticks, some killed),
`make soak` 200 ticks.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulators.ecs import EcsEmulator
from emulators.slack import SlackEmulator
from shared.ecs.query import TaskStatus
from tests.e2e.test_poller_crash import PAST_LEASE, child_env
from tests.paths import REPO
from tests.poller_support import CHANNEL, REGION, database_url, fresh_store, watch_task

# These follow tasks from Waiting on, which only the emulator's lenient listing shows to DescribeTasks. The
# same flows under the API page's strict reading (Waiting tasks found by DescribeTaskAttribute, subscriptions
# announcing a task once it is listed) are proven in tests/e2e/test_poller_hardening.py and
# tests/e2e/test_channel_updates_strict.py.
pytestmark = pytest.mark.ecs_listing("lenient")

FAULTS = {"throttle_rate": 0.03, "error_5xx_rate": 0.03, "malformed_rate": 0.02, "drop_rate": 0.02, "seed": 5}
TERMINAL = {TaskStatus.FINISHED.value, TaskStatus.FAILED.value}

TICK = """
import json, sys
from datetime import datetime, timedelta, timezone
from shared.config import Settings
from bot.wiring.build import build_poller

offset = timedelta(seconds=float(sys.argv[1]))  # lets a later tick outlive a killed tick's lease
poller = build_poller(Settings(), clock=lambda: datetime.now(timezone.utc) + offset)
print(json.dumps(poller.tick(30.0).as_fields()), flush=True)
"""


def reply_status(text: str) -> str | None:
    """The status a thread reply announces: after the arrow of a change, else the final state's word."""
    tail = text.split("→", 1)[1] if "→" in text else text
    found = [(tail.find(s.value), s.value) for s in TaskStatus if s.value in tail]
    return min(found)[1] if found else None


def run_soak(ticks: int, kill_rate: float, ecs: EcsEmulator, slack: SlackEmulator, tmp_path: Path) -> int:
    """Run the soak and check its guarantee; returns how many poller processes were killed."""
    rng = random.Random(20261128)
    url = database_url("sqlite", tmp_path)
    for store in fresh_store(url):
        tasks = [
            ecs.add_task(
                RegionId=REGION,
                TaskAction=rng.choice(["ImportImage", "ExportImage", "ModifyDiskSpec"]),
                waiting_s=rng.randrange(30, 300),
                processing_s=rng.randrange(60, 60 * ticks // 2 + 120),
                outcome=rng.choice(["Finished", "Failed"]),
                errors=[{"ErrorCode": "InvalidImage.Format", "ErrorMsg": "bad disk", "Name": "ImageId", "Value": "m"}],
            )
            for _ in range(24)
        ]
        # Three tasks a channel: the outbox paces each channel to Slack's one post a second, and a soak of one
        # crowded channel would spend its time waiting on that instead of on kills and faults.
        channels = {task_id: f"{CHANNEL}{index % 8}" for index, task_id in enumerate(tasks)}
        cards = {task_id: watch_task(store, ecs, slack, task_id, channel=channels[task_id])[1] for task_id in tasks}
        ecs.faults.update(FAULTS)
        env = child_env(ecs, slack, url)
        offset, kills = 0.0, 0
        for _ in range(ticks):
            ecs.advance(60)
            child = subprocess.Popen(
                [sys.executable, "-c", TICK, str(offset)],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if rng.random() < kill_rate:
                time.sleep(rng.uniform(0.3, 1.2))  # somewhere in start-up or in the tick
                child.kill()
                kills += 1
                offset += PAST_LEASE
            assert child.wait(timeout=120) in (0, -9)
        # Recovery: no more faults or kills, leases of killed ticks long expired, every task ended by now
        ecs.faults.update({k: 0.0 for k in FAULTS if k != "seed"})
        ecs.advance(60 * ticks)
        for _ in range(3):
            offset += PAST_LEASE
            subprocess.run(
                [sys.executable, "-c", TICK, str(offset)],
                cwd=REPO,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=120,
            )

        assert any(c.fault for c in ecs.calls), "faults were injected"
        duplicates = 0
        for task_id, card_ts in cards.items():
            thread = [m for m in slack.messages(channels[task_id]) if m.thread_ts == card_ts]
            statuses = [reply_status(m.text) for m in thread]
            # Never lost: the final state reached the thread
            assert statuses and statuses[-1] in TERMINAL, f"{task_id}: {statuses}"
            duplicates += len(statuses) - len(set(statuses))
        assert duplicates <= kills, f"{duplicates} duplicate replies with only {kills} kills"
        assert store.outbox.count_by_state().keys() <= {"posted", "closed"}
    return kills


def test_short_poller_soak(ecs: EcsEmulator, slack: SlackEmulator, tmp_path: Path) -> None:
    # Few ticks (each is a new process), with a kill rate high enough that some are killed mid-tick
    kills = run_soak(6, 0.4, ecs, slack, tmp_path)
    assert kills >= 1, "the short soak killed no poller, so it proved nothing about kills"


@pytest.mark.soak
def test_poller_soak_200_ticks(ecs: EcsEmulator, slack: SlackEmulator, tmp_path: Path) -> None:
    run_soak(200, 0.1, ecs, slack, tmp_path)
