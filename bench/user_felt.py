"""What users feel: Enter → card in Slack, through the Function Compute stand-in, inline against deferred.

`python -m bench.user_felt [--queue-delay-ms 100]`: each Function Compute instance is a fresh interpreter
(`bench.fc_instance`) running the FC stand-in around `functions.http.handler` with Function Compute's settings;
this process plays Slack: it POSTs a signed slash command (or a Refresh click) to the instance's HTTP trigger
and waits until the card is in the acknowledgement or has been accepted at the response_url by the Slack
emulator. Inline is the deployed default; deferred is forced with a budget of 0 (ECS_TASKS_INLINE_BUDGET=0),
so the card comes from a real, signed async InvokeFunction that waits in the stand-in's queue first. Cold: a
new instance per command, timed from just before its spawn. Warm: one long-lived instance per path.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.env import CHANNEL_ID, COMMAND_TEXT, RESULT_PREFIX, SLACK_PATH, USER_ID, fc_env
from bench.procs import (
    PROJECT_ROOT,
    PYTHON,
    STOP_TIMEOUT_S,
    BenchError,
    EmulatorProcess,
    EmulatorUrls,
    compile_project_bytecode,
    new_response_url,
    response_url_posts,
    set_ecs_faults,
)
from bench.report import Figure, Goal, Section, print_section
from bench.slack_events import new_sender, refresh_button_for
from bench.stats import median, percentile, to_ms
from emulators.slack import SlackSender

DEFAULT_QUEUE_DELAY_MS = 100.0
LATENCY_S = 0.05
COLD_RUNS = 5
QUICK_COLD_RUNS = 1
WARM_COMMANDS = 20
QUICK_WARM_COMMANDS = 3
WARMUP_COMMANDS = 2
POLL_S = 0.005
CARD_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 10.0
INSTANCE_MODULE = "bench.fc_instance"
INLINE = "inline"
DEFERRED = "deferred"
PATHS = (INLINE, DEFERRED)
SLASH = "slash"
CLICK = "click"
FORCE_DEFERRED = {"ECS_TASKS_INLINE_BUDGET": "0"}
TASK_ID_PREFIX = "t-"  # a card listing tasks shows their ids
VIA_ACK = "ack"
VIA_RESPONSE_URL = "response_url"
DATABASE_FILE = "store.sqlite3"
INVOCATIONS_GOAL = Goal("1 (goal)", max_value=1.0)
ROUND_TRIPS_GOAL = Goal("0 (goal)", max_value=0.0)


@dataclass(frozen=True)
class Answer:
    seconds: float  # Enter → card in Slack
    acked_s: float  # Enter → acknowledgement back at Slack
    via: str


class Instance:
    """`with Instance(env, delay) as fc:` — one Function Compute instance, a fresh interpreter."""

    def __init__(self, env: dict[str, str], queue_delay_s: float, *, count_db: bool = False) -> None:
        self._command = [PYTHON, "-m", INSTANCE_MODULE, repr(queue_delay_s), *(["--count-db"] if count_db else [])]
        self._env = env
        self._process: subprocess.Popen[str] | None = None
        self.spawned = 0.0
        self.url = ""
        self.result: dict[str, Any] = {}

    def __enter__(self) -> Instance:
        self.spawned = time.monotonic()
        process = subprocess.Popen(
            self._command, cwd=PROJECT_ROOT, env=self._env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._process = process
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            self._stop()
            raise BenchError("a Function Compute instance exited before it listened")
        self.url = str(json.loads(line)["url"])
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            out, _ = process.communicate(timeout=CARD_TIMEOUT_S)  # closes stdin: the instance reports and exits
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
            raise
        for line in out.splitlines():
            if line.startswith(RESULT_PREFIX):
                self.result = json.loads(line[len(RESULT_PREFIX) :])


class Slack:
    """The user's side: signed requests to an instance's HTTP trigger, and the card awaited in Slack."""

    def __init__(self, urls: EmulatorUrls) -> None:
        self._urls = urls
        self._sender: SlackSender = new_sender()
        self._refresh = refresh_button_for(COMMAND_TEXT)

    def enter(self, instance_url: str, kind: str, *, since: float | None = None) -> Answer:
        """Send one request; return when its card is in Slack. Times count from `since` (default: now)."""
        response_url = new_response_url(self._urls.slack_url)
        body = self._body(kind, response_url)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **self._sender.signed_headers(body)}
        request = urllib.request.Request(f"{instance_url}{SLACK_PATH}", data=body.encode(), headers=headers)
        started = time.monotonic() if since is None else since
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            ack = response.read().decode()
        acked = time.monotonic()
        if TASK_ID_PREFIX in ack:
            return Answer(acked - started, acked - started, VIA_ACK)
        deadline = acked + CARD_TIMEOUT_S
        while not self._card_at(response_url):
            if time.monotonic() > deadline:
                raise BenchError(f"no card reached the response_url within {CARD_TIMEOUT_S:.0f} s (ack: {ack!r})")
            time.sleep(POLL_S)
        return Answer(time.monotonic() - started, acked - started, VIA_RESPONSE_URL)

    def _body(self, kind: str, response_url: str) -> str:
        if kind == SLASH:
            return self._sender.slash_command_body(
                COMMAND_TEXT, user_id=USER_ID, channel_id=CHANNEL_ID, response_url=response_url
            )
        payload = self._sender.block_actions_payload(
            action_id=str(self._refresh["action_id"]),
            value=str(self._refresh["value"]),
            user_id=USER_ID,
            channel_id=CHANNEL_ID,
            response_url=response_url,
            is_ephemeral=True,
        )
        return self._sender.block_actions_body(payload)

    def _card_at(self, response_url: str) -> bool:
        posts = response_url_posts(self._urls.slack_url, response_url)
        return any(TASK_ID_PREFIX in json.dumps(post["args"].get("blocks")) for post in posts)


Samples = dict[str, list[Answer]]


def measure_cold(
    slack: Slack, envs: dict[str, dict[str, str]], delay_s: float, runs: int
) -> tuple[Samples, dict[str, list[dict[str, Any]]]]:
    answers: Samples = {path: [] for path in PATHS}
    instances: dict[str, list[dict[str, Any]]] = {path: [] for path in PATHS}
    for round_number in range(runs + 1):
        for path in PATHS:  # interleaved, so a noisy moment touches both alike
            with Instance(envs[path], delay_s) as fc:
                answer = slack.enter(fc.url, SLASH, since=fc.spawned)
            if round_number > 0:  # round 0 warms the disk cache
                answers[path].append(answer)
                instances[path].append(fc.result)
    return answers, instances


def measure_warm(
    slack: Slack, envs: dict[str, dict[str, str]], delay_s: float, commands: int
) -> tuple[dict[str, Samples], dict[str, dict[str, Any]], int]:
    answers: dict[str, Samples] = {kind: {path: [] for path in PATHS} for kind in (SLASH, CLICK)}
    served = WARMUP_COMMANDS + 2 * commands
    with (
        Instance(envs[INLINE], delay_s, count_db=True) as inline,
        Instance(envs[DEFERRED], delay_s, count_db=True) as deferred,
    ):
        fcs = {INLINE: inline, DEFERRED: deferred}
        for fc in fcs.values():
            for _ in range(WARMUP_COMMANDS):
                slack.enter(fc.url, SLASH)
        for _ in range(commands):
            for kind in (SLASH, CLICK):
                for path, fc in fcs.items():
                    answers[kind][path].append(slack.enter(fc.url, kind))
    results = {INLINE: inline.result, DEFERRED: deferred.result}
    return answers, results, served


def check_paths(cold: Samples, warm: dict[str, Samples]) -> None:
    """Each path must have been the one measured: inline cards in the ack (slash), deferred ones at the URL."""
    for samples in (cold, *warm.values()):
        if any(a.via != VIA_RESPONSE_URL for a in samples[DEFERRED]):
            raise BenchError("a request meant to be deferred was answered inline")
    for samples in (cold, warm[SLASH]):
        if any(a.via != VIA_ACK for a in samples[INLINE]):
            raise BenchError("a slash command meant to be answered inline was deferred")


def ms(answers: list[Answer], pct: float = 50) -> float:
    return percentile([to_ms(a.seconds) for a in answers], pct)


def figures(
    cold: Samples,
    cold_results: dict[str, list[dict[str, Any]]],
    warm: dict[str, Samples],
    warm_results: dict[str, dict[str, Any]],
    served: int,
    delay_ms: float,
) -> list[Figure]:
    faster = Goal("faster than deferred", max_ratio=1.0, strict=True)
    cold_invocations = {p: median([r["invocations"] for r in cold_results[p]]) for p in PATHS}
    statements = {p: warm_results[p]["statements"] / served for p in PATHS}
    cold_sqlalchemy = sum(r["sqlalchemy_imported"] for r in cold_results[INLINE])
    return [
        Figure(
            "cold: Enter → card in Slack, slash command, inline vs deferred, median",
            "ms",
            ms(cold[INLINE]),
            ms(cold[DEFERRED]),
            faster,
            headline=True,
        ),
        Figure(
            "cold: Enter → ack, slash command, inline vs deferred, median",
            "ms",
            median([to_ms(a.acked_s) for a in cold[INLINE]]),
            median([to_ms(a.acked_s) for a in cold[DEFERRED]]),
        ),
        Figure(
            "warm: Enter → card in Slack, slash command, inline vs deferred, median",
            "ms",
            ms(warm[SLASH][INLINE]),
            ms(warm[SLASH][DEFERRED]),
            faster,
            headline=True,
        ),
        Figure(
            "warm: same, p95",
            "ms",
            ms(warm[SLASH][INLINE], 95),
            ms(warm[SLASH][DEFERRED], 95),
        ),
        Figure(
            "warm: Enter → card at the response_url, Refresh click, inline vs deferred, median",
            "ms",
            ms(warm[CLICK][INLINE]),
            ms(warm[CLICK][DEFERRED]),
            faster,
        ),
        Figure(
            "invocations per slash command (cold), inline vs deferred",
            "calls",
            cold_invocations[INLINE],
            cold_invocations[DEFERRED],
            INVOCATIONS_GOAL,
            headline=True,
        ),
        Figure(
            "database round trips per request (warm), inline vs deferred",
            "calls",
            statements[INLINE],
            statements[DEFERRED],
            ROUND_TRIPS_GOAL,
            note=f"SQL statements sent, over {served} requests each",
            headline=True,
        ),
        Figure(
            "cold inline instances that imported SQLAlchemy",
            "calls",
            float(cold_sqlalchemy),
            None,
            Goal("0 (goal)", max_value=0.0),
            note=f"of {len(cold_results[INLINE])}",
        ),
        Figure("async queue delay (the flag), each deferred hop", "ms", delay_ms),
    ]


def run(quick: bool, queue_delay_ms: float = DEFAULT_QUEUE_DELAY_MS) -> Section:
    delay_s = queue_delay_ms / 1000
    runs = QUICK_COLD_RUNS if quick else COLD_RUNS
    commands = QUICK_WARM_COMMANDS if quick else WARM_COMMANDS
    compile_project_bytecode()  # cold instances load the project from bytecode, as deployed
    with EmulatorProcess() as urls, tempfile.TemporaryDirectory() as tmp:
        set_ecs_faults(urls.ecs_url, latency_s=LATENCY_S)
        # A database is configured: inline queries must not use it; deferred work claims its run there.
        base = urls.handler_env(f"sqlite:///{Path(tmp) / DATABASE_FILE}")
        # FC_ENDPOINT is set by each instance to its own stand-in once it listens.
        envs = {INLINE: {**base, **fc_env("")}, DEFERRED: {**base, **fc_env(""), **FORCE_DEFERRED}}
        slack = Slack(urls)
        cold, cold_results = measure_cold(slack, envs, delay_s, runs)
        warm, warm_results, served = measure_warm(slack, envs, delay_s, commands)
    check_paths(cold, warm)
    return Section(
        key="user_felt",
        title="Enter → card in Slack",
        method=(
            "Each Function Compute instance is a fresh interpreter running the FC stand-in "
            "(`emulators.fc_server`) around `functions.http.handler` with Function Compute's settings "
            "(FC_FUNCTION_NAME, FC_ENDPOINT = the stand-in, FC_REGION, FC_ACCOUNT_ID) and a SQLite database URL; "
            f"ECS calls take {LATENCY_S * 1000:.0f} ms more in the emulator. The bench process plays Slack: it "
            f"POSTs a signed `/ecs-tasks {COMMAND_TEXT}` (or a Refresh click) to the HTTP trigger over loopback and "
            "waits until the card is in the acknowledgement or was accepted at the response_url by the Slack "
            f"emulator (polled every {POLL_S * 1000:.0f} ms). Deferred: ECS_TASKS_INLINE_BUDGET=0, so the handler "
            "acks at once and the card comes from a real async InvokeFunction (V3-signed, verified by the stand-in "
            f"with the official SDK's signature code), which waits {queue_delay_ms:.0f} ms in the queue "
            "(`--queue-delay-ms`) and runs on the same instance (warm, as a second instance would be at best). "
            f"Cold: {runs} new instances per path, interleaved, after one warm-up round; timed from just before "
            "the spawn (interpreter start, the stand-in, the handler's import). Warm: one instance per path, "
            f"{WARMUP_COMMANDS} unmeasured commands, then {commands} slash commands and {commands} clicks on each, "
            "interleaved. Invocations: the handler calls the instance served (HTTP trigger and async), per "
            "command. Database round trips: SQL statements the instance sent, counted by a SQLAlchemy "
            "`before_cursor_execute` listener on every Engine (warm instances only: the listener imports SQLAlchemy; "
            "cold instances report instead whether SQLAlchemy was imported at all)."
        ),
        baseline=(
            "the deferred path on the same build: ack first, then a second invocation (async InvokeFunction through "
            "the stand-in's queue) that makes the ECS call and posts the card to the response_url — the design "
            "every command would take without inline answers"
        ),
        figures=figures(cold, cold_results, warm, warm_results, served, queue_delay_ms),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the section here (for bench.run_all)")
    parser.add_argument("--quick", action="store_true", help="fewer samples: a smoke test, not a measurement")
    parser.add_argument(
        "--queue-delay-ms",
        type=float,
        default=DEFAULT_QUEUE_DELAY_MS,
        help=f"how long each async invocation waits in the stand-in's queue (default {DEFAULT_QUEUE_DELAY_MS:.0f})",
    )
    args = parser.parse_args(argv)
    section = run(args.quick, args.queue_delay_ms)
    print_section(section)
    if args.json is not None:
        section.write(args.json)


if __name__ == "__main__":
    main()
