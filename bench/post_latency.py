"""Change → post: how long after a watched task changes its post reaches Slack, one pass a tick against repolls.

`python -m bench.post_latency`: the real poller (`shared.updates.poller.Poller`, built as `bot.wiring.build` builds
it, against a SQLite store, the ECS emulator and the Slack emulator in their own process) runs in simulated
time: its clock, monotonic clock and sleep are injected, and every simulated sleep moves the ECS emulator's task
clock on by as much, so a timer tick every 60 s and the repolls between them cost no real waiting. Watched tasks
finish at uniformly random moments; the notifier records the simulated time of each post. Before: one pass a
tick (ECS_TASKS_REPOLL_INTERVAL=0); after: the deployed defaults, passes at most ECS_TASKS_REPOLL_INTERVAL (12 s)
apart, evenly across the timer's minute, within the budget of the template's 75 s timeout.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench import scaling_seed
from bench.cli import script_main
from bench.env import BOT_TOKEN, CHANNEL_ID, CLEARED_VARIABLES, TEAM_ID, USER_ID, handler_env
from bench.procs import BenchError, EmulatorProcess, EmulatorUrls, http_json
from bench.report import Figure, Goal, Section
from bench.stats import median, percentile
from functions.timer import tick_budget
from shared.cards.task_cards import Message
from shared.config import Settings
from shared.ecs.models import Task
from shared.updates.model import NewWatch
from shared.updates.notifier import Notifier, Posted
from shared.updates.poller import pass_spacing

TIMER_PERIOD_S = 60.0
REPOLL_BEFORE_S = 0.0
# The poller's timeout in template.yml: its tick budget is functions.timer.tick_budget of it.
POLLER_TIMEOUT_S = 75.0
DEFAULT_REPOLL_S = float(Settings.model_fields["repoll_interval_s"].default)
WATCHES = 60
QUICK_WATCHES = 12
REGIONS = 3
# Changes fall uniformly in this window after the watches start; ticks run until every change was posted.
CHANGE_WINDOW_S = 600.0
FIRST_CHANGE_S = 5.0
MAX_TICKS = 40
ROUNDS = 3  # before and after alternate, so both see the same machine
QUICK_ROUNDS = 1
SEED = 12
TTL = timedelta(days=7)
SECONDS_PER_HOUR = 3600.0
POST_P95_GOAL_S = 15.0  # "every change within 15 s"
POST_MEDIAN_GOAL_S = 8.0


class SimTime:
    """Real time plus simulated sleeps; each sleep moves the ECS emulator's task clock on by as much."""

    def __init__(self, ecs_url: str) -> None:
        self._ecs_url = ecs_url
        self.offset_s = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset_s

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset_s)

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.offset_s += seconds
        http_json(f"{self._ecs_url}/_emulator/advance", {"seconds": seconds})


class TimedNotifier(Notifier):
    """The real notifier, noting the simulated time of every post and update by the card it belongs to."""

    def __init__(self, client: object, sim: SimTime) -> None:
        super().__init__(client)  # type: ignore[arg-type]
        self._sim = sim
        self.posts: dict[str, list[float]] = {}

    def _note(self, ts: str | None) -> None:
        if ts is not None:
            self.posts.setdefault(ts, []).append(self._sim.monotonic())

    def post(self, channel_id: str, message: Message, *, thread_ts: str | None = None) -> Posted:
        posted = super().post(channel_id, message, thread_ts=thread_ts)
        self._note(thread_ts)
        return posted

    def update(self, channel_id: str, ts: str, message: Message) -> bool:
        updated = super().update(channel_id, ts, message)
        self._note(ts)
        return updated


@dataclass
class Run:
    interval_s: float
    latencies_s: list[float] = field(default_factory=list)
    tick_cpu_s: float = 0.0
    running_watch_s: float = 0.0  # the sum over watches of the time their task ran
    passes: int = 0
    ticks: int = 0
    describe_calls: int = 0


def use_emulators(urls: EmulatorUrls, scratch: Path) -> None:
    """This process's settings: the emulators' endpoints and credentials, as a deployed poller has them."""
    for name in CLEARED_VARIABLES:
        os.environ.pop(name, None)
    database_url = f"sqlite:///{scratch / 'unused.sqlite3'}"  # each run opens a store of its own
    os.environ.update(handler_env(ecs_url=urls.ecs_url, slack_api_url=urls.slack_api_url, database_url=database_url))


def one_run(urls: EmulatorUrls, scratch: Path, interval_s: float, watches: int, seed: int) -> Run:
    from slack_sdk import WebClient

    from bot.wiring.build import SLACK_CLIENT_POLICY, build_ecs_client
    from shared.config import Settings
    from shared.policy import AccessPolicy
    from shared.store import open_store
    from shared.updates.poller import Poller, PollerConfig

    sim = SimTime(urls.ecs_url)
    started = sim.monotonic()
    store = open_store(f"sqlite:///{scratch / f'latency-{interval_s:g}-{seed}.sqlite3'}")
    slack = WebClient(token=BOT_TOKEN, base_url=urls.slack_api_url, timeout=SLACK_CLIENT_POLICY.timeout_s)
    rng = random.Random(seed)
    changes: dict[str, float] = {}  # card ts -> simulated moment its task finishes
    regions = scaling_seed.SCALING_REGIONS[:REGIONS]
    for number in range(watches):
        region_id = regions[number % REGIONS]
        runs_for = FIRST_CHANGE_S + rng.uniform(0, CHANGE_WINDOW_S)
        task_id = http_json(
            f"{urls.ecs_url}/_emulator/tasks",
            {"RegionId": region_id, "TaskAction": "ImportImage", "waiting_s": 0, "processing_s": runs_for},
        )["TaskId"]
        card_ts = str(slack.chat_postMessage(channel=CHANNEL_ID, text=f"watching {task_id}")["ts"])
        task = Task(task_id=task_id, task_status="Processing", region_id=region_id)
        new = NewWatch(TEAM_ID, CHANNEL_ID, USER_ID, region_id, task, card_ts, card_ts)
        store.watches.add(new, now=sim.now(), ttl=TTL)
        changes[card_ts] = sim.monotonic() + runs_for
    settings = Settings()
    notifier = TimedNotifier(slack, sim)
    config = PollerConfig(
        ttl=TTL,
        policy=AccessPolicy.from_settings(settings),
        repoll_interval_s=interval_s,
        min_post_s=2.0 * SLACK_CLIENT_POLICY.timeout_s,
    )
    client = build_ecs_client(settings, on_call=None)
    poller = Poller(
        store,
        lambda account: client,
        notifier,
        config,
        clock=sim.now,
        monotonic=sim.monotonic,
        sleep=sim.sleep,
    )
    run = Run(interval_s)
    next_tick = sim.monotonic()
    for _ in range(MAX_TICKS):
        sim.sleep(next_tick - sim.monotonic())
        cpu = time.process_time()
        report = poller.tick(tick_budget(POLLER_TIMEOUT_S))
        run.tick_cpu_s += time.process_time() - cpu
        run.passes += report.passes
        run.describe_calls += report.describe_calls
        run.ticks += 1
        next_tick += TIMER_PERIOD_S
        if all(_posted_after(notifier.posts.get(ts, []), at) is not None for ts, at in changes.items()):
            break
    for ts, at in changes.items():
        posted = _posted_after(notifier.posts.get(ts, []), at)
        if posted is None:
            raise BenchError(f"interval {interval_s:g} s: a change was never posted in {run.ticks} ticks")
        run.latencies_s.append(posted - at)
        run.running_watch_s += at - started
    store.engine.dispose()
    return run


def _posted_after(times: list[float], at: float) -> float | None:
    later = [t for t in times if t >= at]
    return min(later) if later else None


def merge(runs: list[Run]) -> Run:
    merged = Run(runs[0].interval_s)
    for run in runs:
        merged.latencies_s += run.latencies_s
        merged.tick_cpu_s += run.tick_cpu_s
        merged.running_watch_s += run.running_watch_s
        merged.passes += run.passes
        merged.ticks += run.ticks
        merged.describe_calls += run.describe_calls
    return merged


def figures(before: Run, after: Run) -> list[Figure]:
    p95_goal = Goal(f"≤ {POST_P95_GOAL_S:.0f} s", max_value=POST_P95_GOAL_S)
    median_goal = Goal(f"≤ {POST_MEDIAN_GOAL_S:.0f} s", max_value=POST_MEDIAN_GOAL_S)
    added_cpu_s = after.tick_cpu_s - before.tick_cpu_s
    added_calls = after.describe_calls - before.describe_calls
    spacing = pass_spacing(TIMER_PERIOD_S, after.interval_s)
    running_watch_hours = after.running_watch_s / SECONDS_PER_HOUR
    extra_passes = after.passes - before.passes
    return [
        Figure(
            f"change → post, median: passes {spacing:g} s apart vs one pass a tick",
            "s",
            median(after.latencies_s),
            median(before.latencies_s),
            median_goal,
            headline=True,
        ),
        Figure(
            f"change → post, p95: passes {spacing:g} s apart vs one pass a tick",
            "s",
            percentile(after.latencies_s, 95),
            percentile(before.latencies_s, 95),
            p95_goal,
            headline=True,
        ),
        Figure(
            "added DescribeTasks calls per hour per running watch (measured, watches sharing calls)",
            "calls",
            added_calls / running_watch_hours if running_watch_hours else 0.0,
            note=(
                f"{added_calls} calls over {running_watch_hours:.1f} running watch-hours; a watch alone in its "
                f"region costs at most {SECONDS_PER_HOUR / spacing:.0f} calls an hour, one a pass (a call asks "
                "about up to 100 watched tasks)"
            ),
            headline=True,
        ),
        Figure(
            "added poller CPU per hour per running watch (repolls)",
            "vCPU-s",
            added_cpu_s / running_watch_hours if running_watch_hours else 0.0,
            note=f"{added_cpu_s:.2f} CPU-s over {running_watch_hours:.1f} running watch-hours",
            headline=True,
        ),
        Figure(
            "poller CPU per repoll pass",
            "ms",
            1000 * added_cpu_s / extra_passes if extra_passes else 0.0,
            note=f"{extra_passes} passes more than one a tick",
        ),
        Figure(
            "passes per tick, repolls vs one a tick", "calls", after.passes / after.ticks, before.passes / before.ticks
        ),
    ]


def run(quick: bool) -> Section:
    watches = QUICK_WATCHES if quick else WATCHES
    rounds = QUICK_ROUNDS if quick else ROUNDS
    results: dict[float, list[Run]] = {REPOLL_BEFORE_S: [], DEFAULT_REPOLL_S: []}
    with EmulatorProcess() as urls, tempfile.TemporaryDirectory() as tmp:
        use_emulators(urls, Path(tmp))
        for round_number in range(rounds):
            for interval_s in results:  # interleaved: before, after, before, after ...
                results[interval_s].append(one_run(urls, Path(tmp), interval_s, watches, SEED + round_number))
    before, after = merge(results[REPOLL_BEFORE_S]), merge(results[DEFAULT_REPOLL_S])
    return Section(
        key="post_latency",
        title="Change → post (simulated time)",
        method=(
            f"{rounds} rounds, each with {watches} watches over {REGIONS} regions, set up through the store's own "
            "API (`WatchStore.add`, each card posted to the Slack emulator first); each watched task is Processing "
            f"in the ECS emulator and finishes {FIRST_CHANGE_S:.0f} s + U(0, {CHANGE_WINDOW_S:.0f}) s after the "
            "start (the same seeded moments for both settings). The real `Poller` ticks every "
            f"{TIMER_PERIOD_S:.0f} s of simulated time with a {tick_budget(POLLER_TIMEOUT_S):.0f} s budget (the "
            f"template's {POLLER_TIMEOUT_S:.0f} s timeout): its clock, monotonic clock and sleep are injected, real "
            "time still passes inside a tick, and each simulated sleep advances the emulator's task clock alike. A "
            "post is the first card update or thread reply for the task's card at or after its change (the "
            "notifier notes the simulated time). With repolls (ECS_TASKS_REPOLL_INTERVAL's default, "
            f"{DEFAULT_REPOLL_S:g} s) a tick's passes start at 0, 12, 24, 36 and 48 s, and the next tick's at "
            "60 s: a change waits at most one spacing for a pass, whenever it comes. "
            "CPU: `process_time` of this process around every tick (the emulators run in another process), the "
            "ticks of one pass a tick subtracted from those with repolls, divided by the watches' running time."
        ),
        baseline="the same poller with ECS_TASKS_REPOLL_INTERVAL=0: one pass a tick, without repolls",
        figures=figures(before, after),
    )


if __name__ == "__main__":
    script_main(run, __doc__)
