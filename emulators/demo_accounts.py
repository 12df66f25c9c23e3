"""The demo's fourth act: one channel bound to two accounts (prod and staging), reached through STS AssumeRole.

The STS emulator checks each AssumeRole's signature with the official utilities and issues temporary
credentials; the ECS emulator serves each account its own tasks to those credentials and records which
account and session every request ran in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from emulators.ecs import EcsEmulator
from emulators.slack import SlackEmulator, SlackSender
from emulators.sts.service import Caller, Role
from emulators.sts.sessions import Policy

FUNCTION_ROLE = "acs:ram::1000000000000000:role/ecs-tasks-fc"
PROD_ID, STAGING_ID = "1111111111111111", "2222222222222222"
PROD_ROLE = f"acs:ram::{PROD_ID}:role/ecs-tasks-read"
STAGING_ROLE = f"acs:ram::{STAGING_ID}:role/ecs-tasks-read"
TEAM_CHANNEL = "C0DEMOTEAM"  # bound to prod and staging
PROD_CHANNEL = "C0DEMOPROD"  # bound to prod only
USER = "U0DEMO"
CLI = str(Path(sys.executable).with_name("ecs-tasks"))
ACCOUNT_NAMES = {PROD_ID: "prod", STAGING_ID: "staging"}


def _task(task_id: str, action: str = "ImportImage", **plan: Any) -> dict[str, Any]:
    return {"TaskId": task_id, "RegionId": "cn-hangzhou", "TaskAction": action, "created_ago_s": 600, **plan}


# Each account's own tasks. The staging import ends after the demo's two hours of emulated time have nearly passed
# (act 3 moves the clock on an hour, this act another).
ACCOUNT_SEEDS = {
    PROD_ID: [
        _task("t-prod00000000000000a1", TaskStatus="Processing", TaskProcess="40%"),
        _task("t-prod00000000000000a2", "ExportImage", TaskStatus="Failed"),
    ],
    STAGING_ID: [_task("t-stag00000000000000b1", processing_s=6000)],
}


def sts_callers(access_key_id: str, access_key_secret: str) -> dict[str, Caller]:
    """The function's own key, belonging to the function's role in the home account."""
    return {access_key_id: Caller(access_key_secret, FUNCTION_ROLE)}


def sts_roles() -> list[Role]:
    """Both target roles trust the function's role and allow the ECS task actions (as the deploy guide says)."""
    permissions = Policy.allowing(
        ["ecs:DescribeTasks", "ecs:DescribeTaskAttribute", "ecs:DescribeRegions", "ecs:CancelTask"]
    )
    trusted = frozenset({FUNCTION_ROLE})
    return [Role(PROD_ROLE, trusted, permissions=permissions), Role(STAGING_ROLE, trusted, permissions=permissions)]


def account_settings(sts_url: str) -> dict[str, str]:
    """The environment that names the two accounts and binds the demo's channels to them."""
    accounts = {"prod": {"role_arn": PROD_ROLE}, "staging": {"role_arn": STAGING_ROLE}}
    bindings = {TEAM_CHANNEL: ["prod", "staging"], PROD_CHANNEL: ["prod"]}
    return {
        "ECS_TASKS_ACCOUNTS": json.dumps(accounts),
        "ECS_TASKS_CHANNEL_ACCOUNTS": json.dumps(bindings),
        "STS_ENDPOINT": sts_url,
    }


def accounts_demo(
    ecs: EcsEmulator,
    slack: SlackEmulator,
    env: Mapping[str, str],
    *,
    sender: SlackSender,
    show: Callable[[str, Mapping[str, Any]], None],
    banner: Callable[[str], None],
) -> None:
    assert ecs.accounts is not None, "the demo's ECS emulator serves accounts"
    banner(f"4. Accounts: channel {TEAM_CHANNEL} is bound to prod and staging")
    print("Each account is a RAM role the function assumes through STS (the STS emulator checks the signature).\n")

    show("8-accounts", _command(sender, slack, "accounts", TEAM_CHANNEL))

    banner("/ecs-tasks cn-hangzhou — one query, both accounts")
    show("9-two-accounts", _command(sender, slack, "cn-hangzhou", TEAM_CHANNEL))

    banner(f"/ecs-tasks staging cn-hangzhou in {PROD_CHANNEL}, which is bound to prod only")
    show("10-refused", _command(sender, slack, "staging cn-hangzhou", PROD_CHANNEL))

    banner("/ecs-tasks watch staging t-stag00000000000000b1, then an hour passes and the poller ticks")
    posts_before = len(slack.calls_to("chat.postMessage"))
    _command(sender, slack, "watch staging t-stag00000000000000b1", TEAM_CHANNEL)
    posted = slack.wait_for_calls(posts_before + 1, timeout=30, method="chat.postMessage")[-1]
    show("11-staging-watch", posted.args)
    updates_before = len(slack.calls_to("chat.update"))
    ecs.advance(3600)
    tick = subprocess.run([CLI, "poll"], env=dict(env), capture_output=True, text=True, timeout=120)
    print(f"$ ecs-tasks poll  (exit status {tick.returncode})")
    updates = slack.calls_to("chat.update")[updates_before:]
    if updates:
        show("12-staging-watch-updated", updates[-1].args)

    banner("What the ECS emulator saw: every request in its account, under its session")
    seen = Counter(
        (ACCOUNT_NAMES.get(call.account_id, call.account_id), call.session_name, call.action)
        for call in ecs.accounts.calls
    )
    for (account, session, action), count in sorted(seen.items()):
        print(f"  {account:8} {session:18} {action:22} × {count}")
    home_keys = [call for call in ecs.calls if call.access_key_id and not call.access_key_id.startswith("STS.")]
    print(f"\n{len(ecs.accounts.calls)} requests in prod or staging, all with temporary STS credentials; "
          f"{len(home_keys)} with the function's own key (the home channel of acts 1-3).")  # fmt: skip


def _command(sender: SlackSender, slack: SlackEmulator, text: str, channel: str) -> dict[str, Any]:
    """Send `/ecs-tasks <text>` in `channel`; the answer: the ack's card, else what reached the response_url."""
    print(f"/ecs-tasks {text}   (in {channel})")
    response_url = slack.new_response_url(channel_id=channel, user_id=USER)
    before = len(slack.calls_to("response_url"))
    ack = sender.slash_command(text, user_id=USER, channel_id=channel, response_url=response_url)
    body = ack.content and ack.headers.get("content-type", "").startswith("application/json")
    if body and ack.json().get("blocks"):
        return dict(ack.json())
    calls = slack.wait_for_calls(before + 1, timeout=30, method="response_url")
    return dict(calls[-1].args)
