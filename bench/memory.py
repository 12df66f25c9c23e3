"""Memory: peak RSS of a process serving commands and a poller tick, against the official SDK's doing the same
ECS calls. `python -m bench.memory` (each side in a fresh process; the emulators in a process of their own)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bench import scaling_seed
from bench.cli import script_main
from bench.env import COMMAND_TEXT
from bench.memory_child import KIND_OURS, KIND_SDK
from bench.procs import BenchError, EmulatorProcess, EmulatorUrls, new_response_url, response_url_posts, run_child
from bench.report import Figure, Goal, Section
from bench.slack_events import button_click_event, new_sender, refresh_button_for, slash_command_event
from bench.stats import median
from bench.watch_seed import seed_watches
from shared.ecs.query import MAX_TASK_IDS

COMMANDS = 20
WATCHES = 1_000
RUNS = 3
QUICK_RUNS = 1
GOAL_MB = 64.0
MB = 1_000_000
CHILD_MODULE = "bench.memory_child"


def build_events(urls: EmulatorUrls, commands: int) -> tuple[list[str], list[str]]:
    """Signed FC events, a slash command and a Refresh click each time, and their response_urls."""
    sender = new_sender()
    refresh = refresh_button_for(COMMAND_TEXT)
    events: list[str] = []
    response_urls: list[str] = []
    for _ in range(commands):
        command_url, click_url = new_response_url(urls.slack_url), new_response_url(urls.slack_url)
        events.append(slash_command_event(sender, COMMAND_TEXT, response_url=command_url).decode())
        events.append(button_click_event(sender, refresh, response_url=click_url).decode())
        response_urls += [command_url, click_url]
    return events, response_urls


def tick_batches(watches: int) -> list[tuple[str, str]]:
    """The DescribeTasks a tick makes over the seeded watches: up to 100 task ids per call, per region."""
    return [
        (region_id, ",".join(ids[start : start + MAX_TASK_IDS]))
        for region_id, ids in scaling_seed.watched_ids(watches).items()
        for start in range(0, len(ids), MAX_TASK_IDS)
    ]


def measure(urls: EmulatorUrls, scratch: Path, runs: int) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {KIND_OURS: [], KIND_SDK: []}
    for run_number in range(runs):
        database_url = f"sqlite:///{scratch / f'memory-{run_number}.sqlite3'}"
        seed_watches(database_url, WATCHES)
        events, response_urls = build_events(urls, COMMANDS)
        events_path, batches_path = scratch / "events.json", scratch / "batches.json"
        events_path.write_text(json.dumps(events))
        batches_path.write_text(json.dumps(tick_batches(WATCHES)))
        env = urls.handler_env(database_url)
        served = run_child(CHILD_MODULE, [KIND_OURS, str(events_path)], env=env)
        results[KIND_OURS].append(served)
        results[KIND_SDK].append(run_child(CHILD_MODULE, [KIND_SDK, str(batches_path), str(len(events))], env=env))
        in_ack = set(served["in_ack"])  # answered inline, in the acknowledgement
        unanswered = [
            url
            for number, url in enumerate(response_urls)
            if number not in in_ack and not response_url_posts(urls.slack_url, url)
        ]
        if unanswered:
            raise BenchError(f"{len(unanswered)} of {len(events)} requests got no answer at their response_url")
    return results


def run(quick: bool) -> Section:
    runs = QUICK_RUNS if quick else RUNS
    with EmulatorProcess(watched=WATCHES) as urls, tempfile.TemporaryDirectory() as tmp:
        results = measure(urls, Path(tmp), runs)
    ours = median([r["peak_rss_bytes"] for r in results[KIND_OURS]]) / MB
    sdk = median([r["peak_rss_bytes"] for r in results[KIND_SDK]]) / MB
    calls = results[KIND_OURS][0]["describe_calls"]
    return Section(
        key="memory",
        title="Memory",
        method=(
            f"A fresh process serves {COMMANDS} slash commands and {COMMANDS} Refresh clicks through "
            "`functions.http.handler` (each answer checked: a command's card in its ack, a click's at the Slack "
            "emulator's response_url), then runs "
            f"one timer-trigger tick over {WATCHES:,} watches in 20 regions (SQLite store): {calls} DescribeTasks "
            f"calls in all. Peak RSS is the process's VmHWM at the end; median of {runs} runs. MB = 10^6 bytes."
        ),
        baseline=(
            f"a fresh process with the official SDK's client making the same {calls} DescribeTasks calls (the "
            "commands' and clicks' pages, then the tick's batches of up to 100 task ids per region)"
        ),
        figures=[
            Figure(
                "peak RSS: commands, clicks and a poller tick",
                "MB",
                ours,
                sdk,
                Goal(f"< {GOAL_MB:.0f} MB (128 MB instance)", max_value=GOAL_MB, strict=True),
                headline=True,
            )
        ],
    )


if __name__ == "__main__":
    script_main(run, __doc__)
