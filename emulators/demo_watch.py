"""The demo's third act: watch a running task, let the emulator finish it, run one poller tick."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emulators.ecs import EcsEmulator
from emulators.slack import SlackEmulator, SlackSender

CHANNEL = "C0DEMOOPS"
USER = "U0DEMO"
CLI = str(Path(sys.executable).with_name("ecs-tasks"))


def watch_demo(
    ecs: EcsEmulator,
    slack: SlackEmulator,
    url: str,
    env: Mapping[str, str],
    *,
    sender: SlackSender,
    show: Any,
    banner: Any,
) -> None:
    banner("3. Channel updates: /ecs-tasks watch")
    running = _running_import(env)
    print(f"A running ImportImage task: {running['TaskId']} ({running['TaskStatus']})\n")
    sender.slash_command(
        f"watch {running['TaskId']}",
        user_id=USER,
        channel_id=CHANNEL,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
    )
    (posted,) = slack.wait_for_calls(1, timeout=30, method="chat.postMessage")
    show("5-watch-card", posted.args)

    banner("The emulator's clock moves on an hour: the task ends")
    ecs.advance(3600)
    print("$ ecs-tasks poll")
    tick = subprocess.run([CLI, "poll"], env=dict(env), capture_output=True, text=True, timeout=120)
    report = json.loads(tick.stdout or "{}")
    print(json.dumps({k: v for k, v in report.items() if not isinstance(v, (list, dict))}, indent=2))
    print()
    updates = slack.calls_to("chat.update")
    replies = [c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    print(f"The tick made {len(updates)} chat.update and {len(replies)} thread reply.\n")
    if updates:
        banner("The watch card, updated in place (chat.update)")
        show("6-watch-card-updated", updates[-1].args)
    if replies:
        banner("The reply in its thread")
        show("7-thread-reply", replies[-1].args)

    banner("A second tick posts nothing new")
    before = len(slack.calls)
    again = subprocess.run([CLI, "poll"], env=dict(env), capture_output=True, text=True, timeout=120)
    print(f"exit status {again.returncode}; Slack calls during the second tick: {len(slack.calls) - before}")


def _running_import(env: Mapping[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [CLI, "query", "cn-hangzhou", "processing", "import", "--json"],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    tasks: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    if not tasks:
        raise SystemExit("the demo data has no running ImportImage task in cn-hangzhou")
    return tasks[0]
