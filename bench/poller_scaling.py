"""Poller scaling: 10k and 100k watches over 20 regions, with 50 ms of emulator latency per call.

`python -m bench.poller_scaling`: for each size, the store is seeded with that many active watches and a fresh
process runs timer-trigger ticks (`functions.timer.handler`); the naive baseline, one DescribeTasks per watched
task on the same client and worker pool, runs in a fresh process of its own. The emulators' process holds
every watched task and answers TaskIds queries from an index (see `bench.task_index`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench import scaling_seed
from bench.cli import script_main
from bench.poller_child import MODE_NAIVE, MODE_POLLER
from bench.procs import BenchError, EmulatorProcess, EmulatorUrls, run_child, set_ecs_faults
from bench.report import Figure, Goal, Section
from bench.stats import median
from bench.watch_seed import seed_watches
from bot.wiring.build import POLLER_REGION_WORKERS

SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 5_000)
TICKS = {10_000: 3, 100_000: 2}
QUICK_TICKS = 2
# The naive baseline is run in full up to this many calls (10k calls take about a minute); beyond, its tick
# time is extrapolated from the rate it achieved at the largest size run in full.
NAIVE_MAX_CALLS = 10_000
QUICK_NAIVE_MAX_CALLS = 1_000
LATENCY_S = 0.05
CHILD_MODULE = "bench.poller_child"
MB = 1_000_000
SMALLEST_INSTANCE_MB = 128
PEAK_RSS_GOAL_MB = 100.0
TICK_TIME_GOAL_S = 10.0
# One pass a tick: the tick time is the polling of every watch. Repolls within a tick (every 15 s while tasks
# run) wait for their interval, so they would only add sleep; bench.post_latency measures what they cost.
ONE_PASS = {"ECS_TASKS_REPOLL_INTERVAL": "0"}


def label(size: int) -> str:
    return f"{size // 1000}k watches"


def measure_ticks(urls: EmulatorUrls, scratch: Path, size: int, ticks: int) -> dict[str, Any]:
    database_url = f"sqlite:///{scratch / f'watches-{size}.sqlite3'}"
    seed_watches(database_url, size)
    result: dict[str, Any] = run_child(
        CHILD_MODULE, [MODE_POLLER, str(size), str(ticks)], env={**urls.handler_env(database_url), **ONE_PASS}
    )
    for tick in result["ticks"]:
        if tick["watches"] != size or tick["carried_regions"] or tick["throttled_regions"]:
            raise BenchError(f"{label(size)}: a tick did not poll every watch: {tick}")
    return result


def measure_naive(urls: EmulatorUrls, scratch: Path, size: int, max_calls: int) -> dict[str, Any]:
    env = urls.handler_env(f"sqlite:///{scratch / 'naive.sqlite3'}")
    result: dict[str, Any] = run_child(CHILD_MODULE, [MODE_NAIVE, str(size), str(max_calls)], env=env, timeout=900)
    return result


def size_figures(size: int, ours: dict[str, Any], naive_seconds: float, naive_note: str) -> list[Figure]:
    ticks = ours["ticks"]
    calls = median([t["describe_calls"] for t in ticks])
    return [
        Figure(f"{label(size)}: DescribeTasks calls per tick", "calls", calls, float(size)),
        Figure(
            f"{label(size)}: tick time, median of {len(ticks)}",
            "s",
            median([t["seconds"] for t in ticks]),
            naive_seconds,
            Goal(f"≤ {TICK_TIME_GOAL_S:.0f} s", max_value=TICK_TIME_GOAL_S),
            note=naive_note,
            headline=True,
        ),
        Figure(
            f"{label(size)}: poller process peak RSS",
            "MB",
            ours["peak_rss_bytes"] / MB,
            goal=Goal(f"≤ {PEAK_RSS_GOAL_MB:.0f} MB", max_value=PEAK_RSS_GOAL_MB),
            headline=True,
        ),
    ]


def run(quick: bool) -> Section:
    sizes = QUICK_SIZES if quick else SIZES
    max_naive = QUICK_NAIVE_MAX_CALLS if quick else NAIVE_MAX_CALLS
    figures: list[Figure] = []
    notes: list[str] = []
    rate: float | None = None  # naive calls per second at the largest size run in full
    with EmulatorProcess(watched=max(sizes)) as urls, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        set_ecs_faults(urls.ecs_url, latency_s=LATENCY_S)
        for size in sizes:
            ours = measure_ticks(urls, scratch, size, QUICK_TICKS if quick else TICKS[size])
            if size <= max_naive:
                naive = measure_naive(urls, scratch, size, size)
                rate = naive["calls"] / naive["seconds"]
                naive_seconds, note = float(naive["seconds"]), ""
            else:
                if rate is None:
                    raise BenchError("the naive baseline has no measured rate to extrapolate from")
                naive_seconds, note = size / rate, "baseline extrapolated"
                notes.append(
                    f"{label(size)}: the naive baseline's tick time is extrapolated ({size:,} calls at the "
                    f"{rate:,.0f} calls/s it achieved at {max_naive:,} watches, measured in full)."
                )
            figures += size_figures(size, ours, naive_seconds, note)
            peak_mb = ours["peak_rss_bytes"] / MB
            if peak_mb > SMALLEST_INSTANCE_MB:
                notes.append(
                    f"{label(size)}: the poller process peaked at {peak_mb:.0f} MB, more than the smallest "
                    f"{SMALLEST_INSTANCE_MB} MB Function Compute instance holds."
                )
    return Section(
        key="poller_scaling",
        title="Poller scaling",
        method=(
            f"Watches in {scaling_seed.REGION_COUNT} regions, spread evenly, written straight into a SQLite store; "
            f"every task Processing in the emulator and in the store (no change to post), {LATENCY_S * 1000:.0f} ms "
            "of emulator latency on every ECS call. Ours: a fresh process calls `functions.timer.handler` as the "
            "timer trigger does (poller built first, untimed), ticks timed end to end; every tick was checked to "
            "have polled every watch with nothing carried over. One pass a tick (ECS_TASKS_REPOLL_INTERVAL=0): "
            "repolls only wait for their interval, and `bench.post_latency` measures their cost. Watches are "
            "streamed from the store per region batch (one query a batch of 100 task ids), every region at once "
            f"(`bot.wiring.build.POLLER_REGION_WORKERS`, {POLLER_REGION_WORKERS} workers, and as many pooled "
            "connections). Peak RSS is that process's VmHWM (not `ru_maxrss`, which Linux carries over from the "
            "parent that seeded the store; MB = 10^6 bytes)."
        ),
        baseline=(
            "one DescribeTasks per watched task (TaskIds of one), on the same ECS client and the same pool of "
            f"{POLLER_REGION_WORKERS} region workers, in a fresh process"
        ),
        figures=figures,
        notes=notes,
    )


if __name__ == "__main__":
    script_main(run, __doc__)
