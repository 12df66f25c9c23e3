"""Channel updates while Slack fails: 200 poller ticks in real processes, some killed, while Slack answers
429s, 5xx outages, HTTP-200 internal errors and refused tokens at random, in stretches of up to an hour of
simulated time (each tick moves the poller's, ECS's and Slack's clocks on a minute; nothing sleeps).

Guarantee checked (shared/updates/outbox.py, shared/updates/slack_answers.py): no change is lost — every
task's final state reaches its thread, no row is abandoned or closed — no tick crashes, and a status is posted
twice only when a kill fell between Slack accepting a reply and the store recording it (duplicates never
exceed kills). `make soak` runs it and prints one summary line.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from emulators.ecs import EcsEmulator
from emulators.slack import SlackEmulator
from tests.conftest import BOT_TOKEN
from tests.e2e.test_poller_crash import PAST_LEASE, child_env
from tests.paths import REPO
from tests.poller_support import CHANNEL, database_url, fresh_store, watch_task
from tests.soak.test_poller_soak import TERMINAL, reply_status

pytestmark = pytest.mark.ecs_listing("lenient")

REGION = "cn-hangzhou"
TICK_S = 60
# One stretch of Slack weather lasts up to an hour of simulated time.
MAX_STRETCH_TICKS = 60
FAILURES = ("ratelimited", "http_503", "internal_error", "token_revoked")
# Watches spread over channels, so the outbox's pacing (a post a second per channel) costs the soak little.
CHANNELS = [f"{CHANNEL}{n}" for n in range(8)]

TICK = """
import json, sys
from datetime import datetime, timedelta, timezone
from shared.config import Settings
from bot.wiring.build import build_poller

offset = timedelta(seconds=float(sys.argv[1]))  # simulated time: every tick a minute later
poller = build_poller(Settings(), clock=lambda: datetime.now(timezone.utc) + offset)
print(json.dumps(poller.tick(30.0).as_fields()), flush=True)
"""


class SimulatedOffset:
    """Seconds the simulated clocks run ahead of the wall clock (the Slack emulator reads it)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def slack_clock(self) -> float:
        return time.time() + self.seconds


def weather_for_tick(slack: SlackEmulator, weather: str, rng: random.Random, *, now: float) -> str | None:
    """This tick's faults for `weather`; returns the kind injected (None: Slack is fine this tick)."""
    method = rng.choice(["chat.update", "chat.postMessage"])
    if weather == "ratelimited":
        slack.fail_method(method, "ratelimited", times=rng.randint(1, 4), retry_after_s=rng.choice([1, 30, 600]))
    elif weather == "http_503":
        slack.fail_http(method, 503, times=rng.randint(1, 4))
    elif weather == "internal_error":
        slack.fail_method(method, rng.choice(["internal_error", "fatal_error", "service_unavailable"]), times=None)
    elif weather == "token_revoked":
        slack.revoke_token(rng.choice(["token_revoked", "invalid_auth", "account_inactive"]), until=now + TICK_S)
    else:
        return None
    return weather


def run_slack_soak(ticks: int, kill_rate: float, ecs: EcsEmulator, tmp_path: Path) -> dict[str, int]:
    rng = random.Random(20261206)
    offset = SimulatedOffset()
    slack = SlackEmulator(bot_token=BOT_TOKEN, clock=offset.slack_clock)
    slack.start()
    try:
        url = database_url("sqlite", tmp_path)
        for store in fresh_store(url):
            tasks = {
                ecs.add_task(
                    RegionId=REGION,
                    TaskAction=rng.choice(["ImportImage", "ExportImage", "ModifyDiskSpec"]),
                    waiting_s=rng.randrange(30, 600),
                    processing_s=rng.randrange(60, max(TICK_S * ticks - 900, 120)),
                    outcome=rng.choice(["Finished", "Failed"]),
                ): CHANNELS[n % len(CHANNELS)]
                for n in range(24)
            }
            cards = {task_id: watch_task(store, ecs, slack, task_id, channel=c)[1] for task_id, c in tasks.items()}
            env = child_env(ecs, slack, url)
            kills, crashes = 0, []
            injected: Counter[str] = Counter()
            weather, stretch_left = "fine", 0
            forecast: list[str] = []
            for _ in range(ticks):
                ecs.advance(TICK_S)
                offset.seconds += TICK_S
                if stretch_left == 0:
                    # Every kind of failure in turn (in a random order), each followed by a spell of fine weather
                    forecast = forecast or [w for f in rng.sample(FAILURES, len(FAILURES)) for w in (f, "fine")]
                    weather = forecast.pop(0)
                    stretch_left = rng.randint(10, MAX_STRETCH_TICKS) if weather != "fine" else rng.randint(1, 10)
                stretch_left -= 1
                slack.clear_faults()
                kind = weather_for_tick(slack, weather, rng, now=offset.slack_clock())
                if kind is not None:
                    injected[kind] += 1
                child = subprocess.Popen(
                    [sys.executable, "-c", TICK, str(offset.seconds)],
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                if rng.random() < kill_rate:
                    time.sleep(rng.uniform(0.3, 1.2))  # somewhere in start-up or in the tick
                    child.kill()
                    kills += 1
                    offset.seconds += PAST_LEASE
                _, errors = child.communicate(timeout=120)
                if child.returncode not in (0, -9):
                    crashes.append(errors[-2000:])
            # Recovery: Slack fine again, leases of killed ticks and every Retry-After long past
            slack.clear_faults()
            ecs.advance(TICK_S * ticks)
            for _ in range(3):
                offset.seconds += 16 * 60
                subprocess.run(
                    [sys.executable, "-c", TICK, str(offset.seconds)],
                    cwd=REPO,
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=120,
                )

            assert crashes == [], f"{len(crashes)} ticks crashed; the first's last words: {crashes[0]}"
            refused = Counter(c.error for c in slack.calls if c.error)
            if ticks >= 4 * MAX_STRETCH_TICKS:
                assert set(injected) == set(FAILURES), f"not every kind of failure came up: {injected}"
            assert refused, "Slack refused nothing, so the soak proved nothing"
            duplicates, replies = 0, 0
            for task_id, card_ts in cards.items():
                thread = [m for m in slack.messages(tasks[task_id]) if m.thread_ts == card_ts]
                statuses = [reply_status(m.text) for m in thread]
                # Never lost: the final state reached the thread
                assert statuses and statuses[-1] in TERMINAL, f"{task_id}: {statuses}"
                duplicates += len(statuses) - len(set(statuses))
                replies += len(thread)
            assert duplicates <= kills, f"{duplicates} duplicate replies with only {kills} kills"
            states = store.outbox.count_by_state()
            assert states.keys() == {"posted"}, states
            summary = {
                "ticks": ticks,
                "kills": kills,
                "rows_posted": states["posted"],
                "replies": replies,
                "duplicates": duplicates,
                **{f"refused_{error}": n for error, n in sorted(refused.items())},
                **{f"stretch_ticks_{kind}": n for kind, n in sorted(injected.items())},
            }
    finally:
        slack.stop()
    print("slack soak:", " ".join(f"{k}={v}" for k, v in summary.items()))
    return summary


@pytest.mark.soak
def test_channel_updates_soak_200_ticks_while_slack_fails(ecs: EcsEmulator, tmp_path: Path) -> None:
    run_slack_soak(int(os.environ.get("ECS_TASKS_SOAK_TICKS", "200")), 0.1, ecs, tmp_path)
