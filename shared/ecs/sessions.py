"""Who a session acts for and what it may do: RoleSessionName and the inline session policy.

Pure functions. The Slack layer asks for a `SessionSpec` per piece of work and hands it, with the account,
to the one client factory (`deps.ecs(account, session)`, bot.wiring.build.EcsClients.client_for); the home
account needs none, its calls running under the function's own credentials:

- `SessionSpec.for_user(user_id, Purpose.READ)` — a query, Refresh, Prev/Next, Details: the session is
  named `slack-<user id>` so the target account's ActionTrail shows who did it.
- `SessionSpec.for_user(user_id, Purpose.CANCEL)` — a Cancel by a user the caller has already found may
  cancel (bot.usecases.access decides; this module does not). Only `ecs:CancelTask` is allowed: the card shown
  afterwards is read through a READ session.
- `SessionSpec.for_poller()` — the poller's reads, under the fixed name `ecs-tasks-poller`.

The policy is RAM policy grammar, Version "1"; STS intersects it with the role's own policies, so even a
broad target role cannot be used from Slack for more than the action at hand.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass

# STS RoleSessionName: 2-64 characters of letters, digits and `.@-_`.
ROLE_SESSION_NAME_RE = re.compile(r"[A-Za-z0-9.@_-]{2,64}")
USER_SESSION_PREFIX = "slack-"
POLLER_SESSION_NAME = "ecs-tasks-poller"
# Slack user ids: U... or W... (Enterprise Grid), upper-case letters and digits.
SLACK_USER_ID_RE = re.compile(r"[UW][A-Z0-9]{2,40}")
POLICY_VERSION = "1"
# What STS accepts for Policy (characters); ours are a few hundred.
MAX_POLICY_CHARS = 2048

ACTION_DESCRIBE_TASKS = "ecs:DescribeTasks"
ACTION_DESCRIBE_TASK_ATTRIBUTE = "ecs:DescribeTaskAttribute"
ACTION_DESCRIBE_REGIONS = "ecs:DescribeRegions"
ACTION_CANCEL_TASK = "ecs:CancelTask"


class Purpose(enum.Enum):
    """What a session is for; each allows exactly the ECS actions that work needs."""

    # DescribeRegions: a query over `all` regions lists them first (read-only metadata, nothing about tasks).
    READ = (ACTION_DESCRIBE_TASKS, ACTION_DESCRIBE_TASK_ATTRIBUTE, ACTION_DESCRIBE_REGIONS)
    CANCEL = (ACTION_CANCEL_TASK,)

    @property
    def actions(self) -> tuple[str, ...]:
        actions: tuple[str, ...] = self.value
        return actions


def session_policy(purpose: Purpose) -> str:
    """The inline policy (compact JSON, stable order, so it is a stable cache key) for a purpose."""
    document = {
        "Version": POLICY_VERSION,
        "Statement": [{"Effect": "Allow", "Action": list(purpose.actions), "Resource": "*"}],
    }
    return json.dumps(document, separators=(",", ":"))


def user_session_name(user_id: str) -> str:
    """`slack-U0123ABC`; ValueError (quoting none of it) for anything that is not a Slack user id."""
    if not SLACK_USER_ID_RE.fullmatch(user_id):
        raise ValueError("not a Slack user id (expected U or W followed by upper-case letters and digits)")
    name = USER_SESSION_PREFIX + user_id
    if not ROLE_SESSION_NAME_RE.fullmatch(name):  # pragma: no cover - the id rule keeps it within bounds
        raise ValueError("the session name would break STS's RoleSessionName rules")
    return name


@dataclass(frozen=True)
class SessionSpec:
    """A RoleSessionName and the session policy that goes with it."""

    name: str
    purpose: Purpose

    def __post_init__(self) -> None:
        if not ROLE_SESSION_NAME_RE.fullmatch(self.name):
            raise ValueError("RoleSessionName must be 2-64 of letters, digits and .@-_")

    @property
    def policy(self) -> str:
        return session_policy(self.purpose)

    @classmethod
    def for_user(cls, user_id: str, purpose: Purpose) -> SessionSpec:
        return cls(user_session_name(user_id), purpose)

    @classmethod
    def for_poller(cls) -> SessionSpec:
        return cls(POLLER_SESSION_NAME, Purpose.READ)
