"""The fixed names every benchmark shares: credentials the emulators accept, the command measured, and the
environment a deployed function would have. Standard library only: fresh-interpreter children import it."""

from __future__ import annotations

import json
from typing import Any

ACCESS_KEY_ID = "bench-access-key-id"
ACCESS_KEY_SECRET = "bench-access-key-secret-5f1c"
SIGNING_SECRET = "bench-signing-secret-93ab7e"
BOT_TOKEN = "xoxb-bench-token-2207"
TEAM_ID = "T0BENCH"
CHANNEL_ID = "C0BENCH"
USER_ID = "U0BENCH"
SLACK_PATH = "/slack/events"

# The call both sides make: one page of finished tasks in one region (the emulator's demo seed has them).
REGION = "cn-hangzhou"
STATUS = "Finished"
PAGE_SIZE = 10
COMMAND_TEXT = f"{REGION} {STATUS.lower()}"

# Children print exactly one line starting with this, holding their measurements as JSON.
RESULT_PREFIX = "BENCH_RESULT "

# What the official SDK's children read (they take the endpoint as host:port, without the scheme).
ENV_ECS_URL = "BENCH_ECS_URL"

# Handler settings a deployed function has (see tests/conftest.py `app_env`); FC_FUNCTION_NAME stays unset so
# deferred work runs on the instance's thread pool, as outside Function Compute, unless `fc_env` adds it.
CLEARED_VARIABLES = (
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ECS_TASKS_ALLOWED_TEAM_IDS",
    "ECS_TASKS_ALLOWED_CHANNEL_IDS",
    "ECS_TASKS_REGIONS",
    "ECS_TASKS_CANCEL_USER_IDS",
    "FC_FUNCTION_NAME",
    "FC_ENDPOINT",
    "ECS_SIGNATURE_VERSION",
)


def handler_env(*, ecs_url: str, slack_api_url: str, database_url: str) -> dict[str, str]:
    return {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack_api_url,
        "ECS_ENDPOINT": ecs_url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        "ECS_TASKS_DATABASE_URL": database_url,
        "ECS_TASKS_DEFAULT_REGION": REGION,
        ENV_ECS_URL: ecs_url,
    }


# What Function Compute 3.0 sets in a function's environment (and the FC stand-in's fixture sets in tests): with
# FC_FUNCTION_NAME the handler defers work as an async InvokeFunction to FC_ENDPOINT.
FC_FUNCTION_NAME = "ecs-tasks"
FC_REGION = "cn-hangzhou"
FC_ACCOUNT_ID = "1234567890123456"


def fc_env(fc_endpoint: str) -> dict[str, str]:
    return {
        "FC_FUNCTION_NAME": FC_FUNCTION_NAME,
        "FC_ENDPOINT": fc_endpoint,
        "FC_REGION": FC_REGION,
        "FC_ACCOUNT_ID": FC_ACCOUNT_ID,
    }


def child_env(base: dict[str, str], settings: dict[str, str]) -> dict[str, str]:
    """`base` (usually os.environ) without the variables that would change the handler's wiring, plus `settings`."""
    env = {name: value for name, value in base.items() if name not in CLEARED_VARIABLES}
    env.update(settings)
    return env


PROC_STATUS = "/proc/self/status"
HIGH_WATER_FIELD = "VmHWM:"
KIB = 1024


def peak_rss_bytes() -> int:
    """This process's peak resident set: VmHWM, the high-water mark of its own address space.

    Not `ru_maxrss`: Linux carries that over from the parent across fork and exec, so a child spawned by a
    benchmark that had just seeded 100k watches would report the parent's size, not its own.
    """
    with open(PROC_STATUS) as status:
        for line in status:
            if line.startswith(HIGH_WATER_FIELD):
                return int(line.split()[1]) * KIB  # reported in kB
    raise RuntimeError(f"{PROC_STATUS} has no {HIGH_WATER_FIELD} line (peak RSS is read on Linux only)")


def emit_result(result: dict[str, Any]) -> None:
    """A child's last word: its measurements, on one line the parent looks for."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)
