"""`make demo`: the whole product against the emulators, with no cloud account.

1. `ecs-tasks query` examples against the ECS emulator (the CLI, as a user runs it).
2. A scripted Slack session through `ecs-tasks-dev serve` (the Function Compute handler): a signed
   `/ecs-tasks cn-hangzhou failed ImportImage`, then clicks on Next page, Refresh and Details.
3. Channel updates: watch a running task, the emulator moves it to Finished, `ecs-tasks poll` posts it.
4. Accounts: a channel bound to two accounts (prod, staging) queries and watches both through STS AssumeRole;
   a channel bound to one cannot reach the other.
5. Tasks announced as they start: alice starts an ImportImage with the official SDK, ActionTrail's event of it
   reaches the events function through the EventBridge stand-in, and the subscribed channel is told, naming her.
6. `ecs-tasks doctor`: every check of the deployment passes.
Every message is rendered in the terminal and its Block Kit JSON saved under `demo-out/`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emulators.demo_accounts import ACCOUNT_SEEDS, account_settings, accounts_demo, sts_callers, sts_roles
from emulators.demo_events import ALICE_KEY_ID, ALICE_KEY_SECRET, events_demo
from emulators.ecs import EcsEmulator
from emulators.slack import SlackEmulator, SlackSender
from emulators.slack.render import render_message
from emulators.sts.server import StsEmulator
from emulators.sts.sessions import SessionRegistry

OUT = Path("demo-out")
SIGNING_SECRET = "demo-signing-secret"
BOT_TOKEN = "xoxb-demo-token"
ACCESS_KEY_ID = "demo-access-key-id"
ACCESS_KEY_SECRET = "demo-access-key-secret"
CHANNEL = "C0DEMOOPS"
USER = "U0DEMO"
CLI = str(Path(sys.executable).with_name("ecs-tasks"))
DEV_CLI = str(Path(sys.executable).with_name("ecs-tasks-dev"))


def banner(title: str) -> None:
    print(f"\n\033[1m━━ {title} \033[0m" + "━" * max(0, 70 - len(title)), flush=True)


def show(name: str, message: Mapping[str, Any]) -> None:
    (OUT / f"{name}.json").write_text(json.dumps(message, indent=2, ensure_ascii=False))
    print(render_message(str(message.get("text", "")), list(message.get("blocks") or [])))
    print(f"\033[2m(Block Kit JSON: {OUT / (name + '.json')})\033[0m", flush=True)


def run_cli(env: Mapping[str, str], *words: str) -> None:
    print(f"$ ecs-tasks {' '.join(words)}", flush=True)
    result = subprocess.run([CLI, *words], env=dict(env), capture_output=True, text=True, timeout=60)
    print(result.stdout.rstrip() or "(no output)")
    if result.stderr.strip():
        print(result.stderr.rstrip())
    print(f"\033[2m(exit status {result.returncode})\033[0m\n", flush=True)


def start_serve(env: Mapping[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [DEV_CLI, "serve", "--port", "0"], env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match:
        process.kill()
        raise SystemExit(f"ecs-tasks-dev serve did not start: {line!r}")
    return process, match.group(1)


def find_button(message: Mapping[str, Any], action_prefix: str) -> dict[str, Any]:
    for block in message.get("blocks") or []:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if str(element.get("action_id", "")).startswith(action_prefix):
                return dict(element)
    raise SystemExit(f"no {action_prefix} button in the card")


def latest_response(slack: SlackEmulator, count: int) -> dict[str, Any]:
    calls = slack.wait_for_calls(count, timeout=30, method="response_url")
    return dict(calls[-1].args)


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    # The STS emulator issues temporary credentials into `sessions`; the ECS emulator serves each account's
    # own tasks to them (act 4). The demo channel of acts 1-3 is bound to no account: the function's own role.
    sessions = SessionRegistry()
    with (
        EcsEmulator(
            credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET, ALICE_KEY_ID: ALICE_KEY_SECRET},
            users={ALICE_KEY_ID: "alice"},
            sessions=sessions,
            account_seeds=ACCOUNT_SEEDS,
        ) as ecs,
        StsEmulator(callers=sts_callers(ACCESS_KEY_ID, ACCESS_KEY_SECRET), roles=sts_roles(), registry=sessions) as sts,
        SlackEmulator(bot_token=BOT_TOKEN) as slack,
    ):
        env = demo_environment(ecs, sts, slack, OUT / "store.sqlite3")

        banner("1. The CLI: the same words as in Slack")
        print(f"ECS emulator on {ecs.base_url} (signatures checked, demo data seeded)\n")
        run_cli(env, "query", "cn-hangzhou", "failed", "ImportImage", "since", "30d")
        run_cli(env, "query", "all", "processing")
        run_cli(env, "query", "cn-hangzou", "faild")

        serve, url = start_serve(env)
        try:
            slack_session(ecs, slack, url)
            channel_updates(ecs, slack, url, env)
            sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"{url}/slack/events")
            accounts_demo(ecs, slack, env, sender=sender, show=show, banner=banner)
            events_demo(ecs, slack, env, sender=sender, show=show, banner=banner)
            banner("6. ecs-tasks doctor: the deployment checked, one line per check")
            run_cli(env, "doctor")
        finally:
            serve.terminate()
            serve.wait(timeout=10)
    banner("Done")
    print(f"Every message's Block Kit JSON is in {OUT}/.")
    return 0


def demo_environment(ecs: EcsEmulator, sts: StsEmulator, slack: SlackEmulator, database: Path) -> dict[str, str]:
    """The deployed functions' environment, pointing at the emulators (the doctor test uses it too)."""
    env = {
        **os.environ,
        "ECS_ENDPOINT": ecs.base_url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "ECS_TASKS_DEFAULT_REGION": "cn-hangzhou",
        "ECS_TASKS_DATABASE_URL": f"sqlite:///{database.resolve()}",
        "ECS_TASKS_LOG_LEVEL": "WARNING",
        **account_settings(sts.base_url),
    }
    for name in ("ALIBABA_CLOUD_SECURITY_TOKEN", "FC_FUNCTION_NAME", "FC_ENDPOINT"):
        env.pop(name, None)
    return env


def slack_session(ecs: EcsEmulator, slack: SlackEmulator, url: str) -> None:
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"{url}/slack/events")
    banner("2. Slack: /ecs-tasks cn-hangzhou failed ImportImage")
    print(f"`ecs-tasks-dev serve` (the Function Compute handler) on {url}; Slack emulator on {slack.base_url}")
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    started = time.monotonic()
    ack = sender.slash_command(
        "cn-hangzhou failed ImportImage", user_id=USER, channel_id=CHANNEL, response_url=response_url
    )
    elapsed_ms = (time.monotonic() - started) * 1000
    # ECS answered within the budget, so the card is the acknowledgement itself: one round trip.
    card = dict(ack.json())
    print(f"Slack got its acknowledgement, the card in it: HTTP {ack.status_code} in {elapsed_ms:.0f} ms\n")
    show("1-command", card)

    banner("Click: Next page ▶")
    button = find_button(card, "ecs_tasks_next")
    click(sender, button, response_url)
    card = latest_response(slack, 1)
    show("2-next-page", card)

    banner("Click: Refresh")
    click(sender, find_button(card, "ecs_tasks_refresh"), response_url)
    card = latest_response(slack, 2)
    show("3-refresh", card)

    banner("Click: Details")
    click(sender, find_button(card, "ecs_tasks_details"), response_url)
    show("4-details", latest_response(slack, 3))


def click(sender: SlackSender, button: Mapping[str, Any], response_url: str) -> None:
    sender.block_action(
        action_id=str(button["action_id"]),
        value=str(button["value"]),
        channel_id=CHANNEL,
        user_id=USER,
        response_url=response_url,
        is_ephemeral=True,
    )


def channel_updates(ecs: EcsEmulator, slack: SlackEmulator, url: str, env: Mapping[str, str]) -> None:
    """Watch a running task; the emulator finishes it; one poller tick posts the change."""
    from emulators.demo_watch import watch_demo

    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"{url}/slack/events")
    watch_demo(ecs, slack, url, env, sender=sender, show=show, banner=banner)


if __name__ == "__main__":
    raise SystemExit(main())
