"""Warm: ack latency through the FC handler, and DescribeTasks round trips, ours against the official SDK's.

`python -m bench.warm`: acks are timed in this process (the handler called as Function Compute calls it, each
request's deferred work finished before the next, untimed); DescribeTasks round trips run in two fresh processes,
ours and the SDK's, alternating, against the emulators' own process.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.cli import script_main
from bench.env import COMMAND_TEXT
from bench.handler_driver import HandlerDriver
from bench.procs import BenchError, EmulatorProcess, EmulatorUrls, run_child
from bench.report import Figure, Goal, Section
from bench.stats import mean, percentile, to_ms
from bench.warm_child import KIND_OURS, KIND_SDK, PART_LOG_LINE, PART_LOG_WRITE, PART_VALIDATION, PARTS_FLAG, SPLIT_FLAG

ACKS = 300
QUICK_ACKS = 30
WARMUP_ACKS = 20
CALLS_PER_ROUND = 300
QUICK_CALLS = 40
WARMUP_CALLS = 30
# Each fresh process lands on its own memory layout: a process's mean CPU per call was seen to vary by ±10%
# from one to the next, for ours and the SDK's alike, so the figure pools several processes of each.
ROUNDS = 8
ACK_P99_GOAL_MS = 50.0
DATABASE_FILE = "store.sqlite3"
CHILD_MODULE = "bench.warm_child"
NEVER_SLOWER = Goal("≤ the SDK", max_ratio=1.0)
# The warm client's CPU: at most the SDK's is required, 0.8× of it is the goal.
CPU_GOAL = Goal("≤ 0.8× the SDK", max_ratio=0.8)
# Where our own CPU per call goes: processes timing each part's calls with and without it.
PART_ROUNDS = 2
PART_CALLS = 2000
QUICK_PART_CALLS = 100
PART_LABELS = {
    PART_LOG_LINE: "the JSON log line",
    PART_LOG_WRITE: "the log line's write to stderr (formatted all the same)",
    PART_VALIDATION: "validating the answer into typed models",
}


def measure_acks(urls: EmulatorUrls, database_url: str, count: int) -> dict[str, list[float]]:
    driver = HandlerDriver(urls, database_url)
    refresh = driver.refresh_button()
    for _ in range(WARMUP_ACKS):
        driver.slash_command()
        driver.drain()
    samples: dict[str, list[float]] = {"slash": [], "click": []}
    response_urls: list[str] = []
    for _ in range(count):
        for kind in samples:  # alternating, so both see the same conditions
            seconds, response_url = driver.click(refresh) if kind == "click" else driver.slash_command()
            driver.drain()
            samples[kind].append(seconds)
            response_urls.append(response_url)
    missing = driver.unanswered(response_urls)
    if missing:
        raise BenchError(f"{len(missing)} of {len(response_urls)} requests got no answer at their response_url")
    return samples


def measure_calls(urls: EmulatorUrls, database_url: str, calls: int) -> dict[str, dict[str, list[float]]]:
    """Per kind: the wall and CPU samples of the headline rounds, and each round's split process's CPU per
    call (`split_cpu`) with the part of it in urllib3 and below (`split_http`)."""
    env = urls.handler_env(database_url)
    kinds = (KIND_OURS, KIND_SDK)
    pooled: dict[str, dict[str, list[float]]] = {
        kind: {"wall": [], "cpu": [], "split_cpu": [], "split_http": []} for kind in kinds
    }
    for _ in range(ROUNDS):
        for kind, samples in pooled.items():
            result: dict[str, Any] = run_child(CHILD_MODULE, [kind, str(calls), str(WARMUP_CALLS)], env=env)
            if not result["listed"]:
                raise BenchError(f"{kind}: DescribeTasks listed no tasks")
            samples["wall"] += result["wall"]
            samples["cpu"] += result["cpu"]
        for kind, samples in pooled.items():  # the split's processes, interleaved as the headline's are
            split = run_child(CHILD_MODULE, [kind, str(calls), str(WARMUP_CALLS), SPLIT_FLAG], env=env)
            samples["split_cpu"].append(mean(split["cpu"]))
            samples["split_http"].append(split["http_cpu"])
    return pooled


def measure_parts(urls: EmulatorUrls, database_url: str, calls: int) -> dict[str, dict[str, float]]:
    """Per part, our CPU seconds with it and without it, summed over PART_ROUNDS processes."""
    env = urls.handler_env(database_url)
    totals: dict[str, dict[str, float]] = {}
    for _ in range(PART_ROUNDS):
        result = run_child(CHILD_MODULE, [KIND_OURS, str(calls), str(WARMUP_CALLS), PARTS_FLAG], env=env)
        for part, seconds in result.items():
            summed = totals.setdefault(part, {"with": 0.0, "without": 0.0})
            summed["with"] += seconds["with"]
            summed["without"] += seconds["without"]
    return totals


def part_figures(parts: dict[str, dict[str, float]], calls: int) -> list[Figure]:
    per_call = calls * PART_ROUNDS
    return [
        Figure(
            f"parts: CPU per call without {PART_LABELS[part]}, against with it",
            "ms",
            to_ms(seconds["without"] / per_call),
            to_ms(seconds["with"] / per_call),
        )
        for part, seconds in parts.items()
    ]


PARTS_NOTE = (
    "The parts rows come from processes of their own that time our calls in alternating blocks of 50, with "
    "a part of our own work and without it, so both sides see the same moments of the machine; the ratio is "
    "what leaving that part out would save. Without validation, the answer still arrives, is parsed, and is "
    "read as a page made without validation."
)


def ack_figures(acks: dict[str, list[float]]) -> list[Figure]:
    goal = Goal(f"p99 < {ACK_P99_GOAL_MS:.0f} ms", max_value=ACK_P99_GOAL_MS, strict=True)
    figures = []
    for kind, label in (("slash", "slash command"), ("click", "button click (Refresh)")):
        ms = [to_ms(s) for s in acks[kind]]
        figures.append(Figure(f"ack, {label}, p50", "ms", percentile(ms, 50)))
        figures.append(Figure(f"ack, {label}, p99", "ms", percentile(ms, 99), goal=goal, headline=kind == "slash"))
    return figures


SPLIT_NOTE = (
    "The split comes from processes of their own (one a round for each client, interleaved with the headline's "
    "and not counted in it), which also time urllib3's urlopen and body read: urllib3 and below (http.client, "
    "the socket) is the same machinery under both clients; the rest is requests' layer and each client's own "
    "work (ours: signing, the request, parsing and validating the answer, the retry loop, the per-call log "
    "line; the SDK's: its models, signing, requests' Session.send). The timing itself costs a little, so these "
    "processes' CPU per call is shown too, and is the sum of the two parts."
)


def call_figures(calls: dict[str, dict[str, list[float]]]) -> list[Figure]:
    ours, sdk = calls[KIND_OURS], calls[KIND_SDK]

    def wall(samples: dict[str, list[float]], pct: float) -> float:
        return percentile([to_ms(s) for s in samples["wall"]], pct)

    def cpu(samples: dict[str, list[float]]) -> float:
        return to_ms(mean(samples["cpu"]))

    def cpu_of(samples: dict[str, list[float]], key: str) -> float:
        return to_ms(mean(samples[key]))

    return [
        Figure("DescribeTasks round trip, wall, p50", "ms", wall(ours, 50), wall(sdk, 50), NEVER_SLOWER, headline=True),
        Figure("DescribeTasks round trip, wall, p99", "ms", wall(ours, 99), wall(sdk, 99), NEVER_SLOWER),
        Figure("DescribeTasks, client CPU per call (mean)", "ms", cpu(ours), cpu(sdk), NEVER_SLOWER, headline=True),
        Figure("DescribeTasks, client CPU per call (mean), against the goal", "ms", cpu(ours), cpu(sdk), CPU_GOAL),
        Figure(
            "split processes: client CPU per call (mean)", "ms", cpu_of(ours, "split_cpu"), cpu_of(sdk, "split_cpu")
        ),
        Figure(
            "split processes: of which in urllib3 and below",
            "ms",
            cpu_of(ours, "split_http"),
            cpu_of(sdk, "split_http"),
        ),
        Figure(
            "split processes: of which requests and the client's own work",
            "ms",
            cpu_of(ours, "split_cpu") - cpu_of(ours, "split_http"),
            cpu_of(sdk, "split_cpu") - cpu_of(sdk, "split_http"),
        ),
    ]


def run(quick: bool) -> Section:
    acks_per_kind = QUICK_ACKS if quick else ACKS
    calls = QUICK_CALLS if quick else CALLS_PER_ROUND
    with EmulatorProcess() as urls, tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{Path(tmp) / DATABASE_FILE}"
        call_samples = measure_calls(urls, database_url, calls)
        part_calls = QUICK_PART_CALLS if quick else PART_CALLS
        parts = measure_parts(urls, database_url, part_calls)
        ack_samples = measure_acks(urls, database_url, acks_per_kind)
    return Section(
        key="warm",
        title="Warm: ack latency and DescribeTasks round trips",
        method=(
            f"Acks: {acks_per_kind} slash commands (`/ecs-tasks {COMMAND_TEXT}`) and {acks_per_kind} Refresh "
            "clicks on a real card, alternating, each a signed FC 3.0 HTTP event handed to `functions.http.handler` "
            f"in one warm process (after {WARMUP_ACKS} unmeasured requests); only the handler call is timed. Each is "
            "answered inline, so the ack includes its DescribeTasks (emulator latency 0): a command's card is in "
            "its ack, a click's card reached the response_url before its ack returned; every answer was checked. "
            f"DescribeTasks: {ROUNDS} rounds of {calls} calls (after {WARMUP_CALLS} unmeasured) in a "
            "fresh process each for ours and the SDK's, alternating; wall time with `perf_counter`, the client's "
            "own CPU with `process_time` (the emulator runs in another process); emulator latency 0. Ours is the "
            "production wiring (`build_ecs_client(Settings())`) with JSON logs configured as the FC handler does, "
            "so its per-call log line is included."
        ),
        baseline=(
            "the official SDK's client making the same DescribeTasks (RegionId, TaskStatus=Finished, PageNumber=1, "
            "PageSize=10) against the same emulator; acks have no SDK counterpart (the goal is absolute)"
        ),
        figures=ack_figures(ack_samples) + call_figures(call_samples) + part_figures(parts, part_calls),
        notes=[SPLIT_NOTE, PARTS_NOTE],
    )


if __name__ == "__main__":
    script_main(run, __doc__)
