"""Cold start: fresh interpreters, ours against the official SDK's, against the same emulators.

`python -m bench.cold_start` spawns, in turn, a fresh interpreter that imports the FC handler and serves its first
slash command (until the lazy answer has reached the Slack emulator's response_url), one that imports our ECS
client alone and makes the first DescribeTasks, and one that imports the official SDK and makes the same call.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cli import script_main
from bench.cold_child import KIND_CLIENT, KIND_HANDLER, KIND_SDK
from bench.env import COMMAND_TEXT
from bench.import_profile import describe, profile_imports
from bench.procs import BenchError, EmulatorProcess, EmulatorUrls, new_response_url, response_url_posts, run_child
from bench.report import Figure, Goal, Section
from bench.slack_events import new_sender, slash_command_event
from bench.stats import median, to_ms

RUNS = 7
QUICK_RUNS = 2
CHILD_MODULE = "bench.cold_child"
KINDS = (KIND_HANDLER, KIND_CLIENT, KIND_SDK)
SLACK_ACK_LIMIT_MS = 3000.0
CLIENT_SHARE_GOAL = 1 / 3
DATABASE_FILE = "store.sqlite3"
HTTP_OK = 200
TASK_ID_PREFIX = "t-"  # a card listing tasks shows their ids
EMPTY_PYCACHE = "no-pycache"

Samples = dict[str, list[dict[str, Any]]]


def write_event(urls: EmulatorUrls, scratch: Path) -> tuple[Path, str]:
    """A signed first command, as the FC event the child will serve; and its response_url."""
    response_url = new_response_url(urls.slack_url)
    event_path = scratch / "event.json"
    event_path.write_bytes(slash_command_event(new_sender(), COMMAND_TEXT, response_url=response_url))
    return event_path, response_url


def one_run(kind: str, urls: EmulatorUrls, env: dict[str, str], scratch: Path) -> dict[str, Any]:
    args: list[str] = []
    response_url = ""
    if kind == KIND_HANDLER:
        event_path, response_url = write_event(urls, scratch)
        args = [str(event_path)]
    spawned = time.monotonic()
    result: dict[str, Any] = run_child(CHILD_MODULE, [kind, repr(spawned), *args], env=env)
    check(kind, result, urls, response_url)
    return result


def check(kind: str, result: dict[str, Any], urls: EmulatorUrls, response_url: str) -> None:
    """Every run must really have done the work: an ack, a card at the response_url, tasks in the answer."""
    if kind == KIND_HANDLER:
        posts = response_url_posts(urls.slack_url, response_url)
        card = json.dumps(posts[0]["args"].get("blocks")) if posts else ""
        if result["status"] != HTTP_OK or TASK_ID_PREFIX not in card:
            raise BenchError(f"the first command was not answered with a task card: {result}, {posts}")
    elif not result["tasks"]:
        raise BenchError(f"{kind}: DescribeTasks listed no tasks")


def measure(
    urls: EmulatorUrls, env: dict[str, str], scratch: Path, runs: int, kinds: tuple[str, ...] = KINDS
) -> Samples:
    # The store exists before the instance starts, as in a deployment: the warm-up round creates it.
    samples: Samples = {kind: [] for kind in kinds}
    for round_number in range(runs + 1):
        for kind in kinds:  # interleaved, so a noisy moment touches every kind alike
            result = one_run(kind, urls, env, scratch)
            if round_number > 0:  # round 0 warms the disk cache for every kind
                samples[kind].append(result)
    return samples


def _ms(samples: Samples, kind: str, key: str, pick: Callable[[list[float]], float] = median) -> float:
    return to_ms(pick([run[key] for run in samples[kind]]))


def lazy_ms(samples: Samples) -> float:
    return to_ms(median([run["answered"] - run["acked"] for run in samples[KIND_HANDLER]]))


def figures(samples: Samples) -> list[Figure]:
    sdk = _ms(samples, KIND_SDK, "answered")
    sdk_min = _ms(samples, KIND_SDK, "answered", min)
    return [
        Figure(
            "first slash command answered: ours (lazy answer at response_url) vs SDK's DescribeTasks, median",
            "ms",
            _ms(samples, KIND_HANDLER, "answered"),
            sdk,
            Goal("faster than the SDK", max_ratio=1.0, strict=True),
            headline=True,
        ),
        Figure("same, fastest run", "ms", _ms(samples, KIND_HANDLER, "answered", min), sdk_min),
        Figure(
            "ack returned to Slack (cold), median",
            "ms",
            _ms(samples, KIND_HANDLER, "acked"),
            sdk,
            Goal(f"< {SLACK_ACK_LIMIT_MS:.0f} ms (Slack)", max_value=SLACK_ACK_LIMIT_MS, strict=True),
        ),
        Figure(
            "our ECS client alone (import, build, first DescribeTasks) vs SDK's, median",
            "ms",
            _ms(samples, KIND_CLIENT, "answered"),
            sdk,
            Goal("≤ 1/3 of the SDK", max_ratio=CLIENT_SHARE_GOAL),
            headline=True,
        ),
        Figure("same, fastest run", "ms", _ms(samples, KIND_CLIENT, "answered", min), sdk_min),
        Figure("first command: ack → lazy answer at the response_url, median", "ms", lazy_ms(samples)),
        Figure(
            "imports: our ECS client vs SDK client, median",
            "ms",
            _ms(samples, KIND_CLIENT, "imported"),
            _ms(samples, KIND_SDK, "imported"),
        ),
        Figure(
            "interpreter start-up (spawn → first line), median",
            "ms",
            _ms(samples, KIND_CLIENT, "started"),
            _ms(samples, KIND_SDK, "started"),
        ),
    ]


def import_notes(urls: EmulatorUrls, env: dict[str, str], scratch: Path) -> list[str]:
    """What the profile says: the largest contributors to each kind's import time (one extra run each)."""
    notes = []
    whats = {KIND_HANDLER: "the first slash command", KIND_CLIENT: "our ECS client alone", KIND_SDK: "the official SDK"}
    for kind, what in whats.items():
        args = [kind, repr(time.monotonic())]
        if kind == KIND_HANDLER:
            args.append(str(write_event(urls, scratch)[0]))
        totals = profile_imports(CHILD_MODULE, args, env)
        notes.append(f"Import profile, {what} (`-X importtime`, self time by top-level package): {describe(totals)}.")
    return notes


def without_bytecode(env: dict[str, str], scratch: Path) -> dict[str, str]:
    """Every module compiled from source, as by an instance that cannot write `__pycache__` next to a package
    shipped without bytecode: cached bytecode is looked for only under an empty folder, and never written."""
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(scratch / EMPTY_PYCACHE)}


def measure_all(runs: int) -> tuple[Samples, Samples, list[str]]:
    with EmulatorProcess() as urls, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        env = urls.handler_env(f"sqlite:///{scratch / DATABASE_FILE}")
        samples = measure(urls, env, scratch, runs)
        from_source = measure(urls, without_bytecode(env, scratch), scratch, runs, (KIND_HANDLER, KIND_SDK))
        return samples, from_source, import_notes(urls, env, scratch)


def source_figures(samples: Samples) -> list[Figure]:
    sdk = _ms(samples, KIND_SDK, "answered")
    return [
        Figure(
            "no bytecode: first slash command answered vs SDK's DescribeTasks, median",
            "ms",
            _ms(samples, KIND_HANDLER, "answered"),
            sdk,
        ),
        Figure(
            "no bytecode: ack returned to Slack, median",
            "ms",
            _ms(samples, KIND_HANDLER, "acked"),
            sdk,
            Goal(f"< {SLACK_ACK_LIMIT_MS:.0f} ms (Slack)", max_value=SLACK_ACK_LIMIT_MS, strict=True),
        ),
    ]


def run(quick: bool) -> Section:
    runs = QUICK_RUNS if quick else RUNS
    samples, from_source, notes = measure_all(runs)
    return Section(
        key="cold_start",
        title="Cold start",
        method=(
            f"{runs} runs of each kind after one warm-up round, interleaved; each run is a fresh `python` process "
            "and every time counts from just before its spawn (CLOCK_MONOTONIC is system-wide), interpreter "
            f"start-up included. Ours: import `functions.http`, serve a signed `/ecs-tasks {COMMAND_TEXT}` FC event, "
            "return the ack, then wait until the lazy answer (the task card) was accepted by the Slack emulator's "
            "response_url (SQLite store, created by the warm-up run). Our client alone: import `shared.wiring`, "
            '`build_ecs_client(Settings())`, one DescribeTasks. Emulators run in a separate process. The "no '
            "bytecode\" rows repeat the first command and the SDK's call with every module compiled from source "
            "(`PYTHONDONTWRITEBYTECODE=1` and an empty `PYTHONPYCACHEPREFIX`): the package ships no bytecode, so "
            "that is the cold start of an instance that cannot write `__pycache__` beside it."
        ),
        baseline=(
            "a fresh interpreter importing the official `alibabacloud-ecs20140526` client, building it and making "
            "the same DescribeTasks (RegionId, TaskStatus=Finished, PageNumber=1, PageSize=10) against the same "
            "emulator, which verifies its V3 signature"
        ),
        figures=figures(samples) + source_figures(from_source),
        notes=notes,
    )


if __name__ == "__main__":
    script_main(run, __doc__)
