"""Poller ticks in a fresh process: `python -m bench.poller_child MODE WATCHES TICKS_OR_CALLS`.

MODE `poller`: TICKS timer-trigger invocations of `functions.timer.handler` over the store the parent seeded
(the poller is built before the first, untimed: this measures ticks, not cold starts). MODE `naive`: the
baseline, one DescribeTasks per watched task (at most CALLS of them, spread over the regions), on the same
client and the same bounded pool of region workers. Both report wall times and this process's peak RSS.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from bench.env import emit_result, peak_rss_bytes

MODE_POLLER = "poller"
MODE_NAIVE = "naive"


class _Context:
    """What the timer handler reads of Function Compute's context (no function: the default timeout)."""

    request_id = "bench-poller"
    function = None


def poller_ticks(ticks: int) -> dict[str, Any]:
    from functions import timer

    timer.get_poller()
    built_rss = peak_rss_bytes()  # the process with the poller built, before its first tick
    results = []
    for _ in range(ticks):
        started = time.perf_counter()
        report = timer.handler(b"{}", _Context())
        results.append({**report, "seconds": time.perf_counter() - started})
    return {"ticks": results, "budget_s": timer.tick_budget(None), "built_rss_bytes": built_rss}


def naive_calls(watches: int, max_calls: int) -> dict[str, Any]:
    from bench import scaling_seed
    from bot.wiring.build import POLLER_REGION_WORKERS, build_ecs_client
    from shared.config import Settings
    from shared.log import configure_logging

    configure_logging()
    client = build_ecs_client(Settings(), max_region_workers=POLLER_REGION_WORKERS)  # as bot.wiring.build.build_poller
    ids = scaling_seed.watched_ids(watches)
    per_region = math.ceil(max_calls / len(ids))

    def one_region(region_id: str) -> int:
        asked = ids[region_id][:per_region]
        found = sum(len(client.describe_tasks(region_id, task_ids=[task_id]).tasks) for task_id in asked)
        if found != len(asked):
            raise RuntimeError(f"{region_id}: {len(asked) - found} watched tasks were not found")
        return len(asked)

    started = time.perf_counter()
    calls = sum(client.map_regions(one_region, list(ids)))
    return {"calls": calls, "seconds": time.perf_counter() - started}


def main(argv: list[str]) -> None:
    mode, watches, amount = argv[0], int(argv[1]), int(argv[2])
    result = poller_ticks(amount) if mode == MODE_POLLER else naive_calls(watches, amount)
    result["peak_rss_bytes"] = peak_rss_bytes()
    emit_result(result)


if __name__ == "__main__":
    main(sys.argv[1:])
