"""Start → announced: from ActionTrail's event reaching the events function to the announcement in Slack.

`python -m bench.event_latency`: the ECS and Slack emulators run in their own process; this process is the events
function (`functions.events.handler`, built by `bot.wiring.build` from the environment) over a SQLite store. A
channel subscribes to the region's new tasks; each round a task starts in the ECS emulator and the EventBridge
stand-in delivers ActionTrail's event of it as bytes — sometimes twice (a duplicate must post nothing more). The
time measured is the handler's, from the delivery to its return, after which the card is in the Slack emulator
(the handler posts before it returns).
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.cli import script_main
from bench.env import CHANNEL_ID, CLEARED_VARIABLES, FC_ACCOUNT_ID, REGION, TEAM_ID, USER_ID, handler_env
from bench.procs import BenchError, EmulatorProcess, http_json
from bench.report import Figure, Goal, Section
from bench.stats import median, percentile
from emulators.eventbridge import EventBridgeStandIn, api_call_event

EVENTS = 60
QUICK_EVENTS = 8
DUPLICATE_RATE = 0.2  # EventBridge delivers at least once
SEED = 23
ANNOUNCE_GOAL_S = 10.0
TIMER_PERIOD_S = 60.0


def run(quick: bool) -> Section:
    from functions import events
    from shared.store import open_store

    count = QUICK_EVENTS if quick else EVENTS
    rng = random.Random(SEED)
    latencies: list[float] = []
    duplicates = 0
    with EmulatorProcess() as urls, tempfile.TemporaryDirectory() as tmp:
        for name in CLEARED_VARIABLES:
            os.environ.pop(name, None)
        database_url = f"sqlite:///{Path(tmp) / 'events.sqlite3'}"
        os.environ.update(
            handler_env(ecs_url=urls.ecs_url, slack_api_url=urls.slack_api_url, database_url=database_url)
        )
        os.environ["FC_ACCOUNT_ID"] = FC_ACCOUNT_ID
        os.environ["ECS_TASKS_LOG_LEVEL"] = "WARNING"  # the handler's JSON lines would bury the table
        events.reset_announcer()
        store = open_store(database_url)
        store.subscriptions.add(
            team_id=TEAM_ID,
            channel_id=CHANNEL_ID,
            user_id=USER_ID,
            region_id=REGION,
            status=None,
            action=None,
            now=datetime.now(timezone.utc) - timedelta(minutes=5),
        )
        answers: list[dict[str, object]] = []

        def deliver(body: bytes) -> dict[str, object]:
            started = time.perf_counter()
            answer = events.handler(body, None)
            if answer.get("announced"):
                latencies.append(time.perf_counter() - started)
            answers.append(answer)
            return answer

        bridge = EventBridgeStandIn(deliver=deliver, rand=rng.random, duplicate_rate=DUPLICATE_RATE)
        for number in range(count):
            task_id = http_json(
                f"{urls.ecs_url}/_emulator/tasks",
                {"RegionId": REGION, "TaskAction": "ImportImage", "waiting_s": 0, "processing_s": 3600},
            )["TaskId"]
            bridge.publish(
                api_call_event(
                    action="ImportImage",
                    region_id=REGION,
                    account_id=FC_ACCOUNT_ID,
                    at=datetime.now(timezone.utc),
                    user=f"user{number % 5}",
                    request={"ImageName": f"bench-{number}"},
                    response={"TaskId": task_id},
                )
            )
        duplicates = bridge.duplicated
        store.engine.dispose()
        events.reset_announcer()
    announced = sum(1 for a in answers if a.get("announced"))
    repeated = sum(1 for a in answers if a.get("duplicate"))
    if announced != count or repeated != duplicates:
        raise BenchError(f"{announced} of {count} announced, {repeated} of {duplicates} duplicates recognised")
    goal = Goal(f"≤ {ANNOUNCE_GOAL_S:.0f} s", max_value=ANNOUNCE_GOAL_S)
    return Section(
        key="event_latency",
        title="Start → announced (EventBridge event to post)",
        method=(
            f"{count} ImportImage tasks started one after another in the ECS emulator (its own process, no added "
            "latency); for each, the EventBridge stand-in delivers ActionTrail's API-call "
            f"event (the documented shape) as bytes to `functions.events.handler` in this process, "
            f"{DUPLICATE_RATE:.0%} of them twice. Time: from the delivery to the handler's return, by which the "
            "card is posted to the Slack emulator (DescribeTasks by the TaskId, the follow-up and its outbox row "
            "in SQLite, chat.postMessage). Duplicates are not timed: each must post nothing. The tasks share one "
            "subscribed channel, and the outbox posts to a channel at most once a second after a burst of three "
            "(Slack's limit): most of each event's time is that pacing, not the event's path."
        ),
        baseline=(
            "without events, the poller's subscription scan finds a new task at its next tick: 0 to 60 s later "
            "(30 s on average), once DescribeTasks lists it: the timer's period, computed (half of it for the "
            "median, 0.95 of it for the p95), not measured"
        ),
        figures=[
            Figure("start → announced, median", "s", median(latencies), TIMER_PERIOD_S / 2, goal, headline=True),
            Figure(
                "start → announced, p95",
                "s",
                percentile(latencies, 95),
                TIMER_PERIOD_S * 0.95,
                goal,
                headline=True,
            ),
            Figure("duplicate deliveries posting nothing more", "events", float(repeated), note="of as many"),
        ],
    )


if __name__ == "__main__":
    script_main(run, __doc__)
