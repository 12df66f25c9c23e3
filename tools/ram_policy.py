"""Fill in a function role's RAM policy: `python -m tools.ram_policy deploy/ram-policy.json --region R --account-id A`.

deploy/ram-policy.json (the Slack function's role) and deploy/ram-policy-poller.json (the poller's) are
templates with placeholders: `<region>` and `<account-id>` of the functions, the Slack function's name
(`ecs-tasks-slack` unless ECS_TASKS_SLACK_FUNCTION renames it), the events function's (`ecs-tasks-events`
unless ECS_TASKS_EVENTS_FUNCTION renames it), and example role ARNs in the `sts:AssumeRole`
statement. This prints the policy to create, with the account roles the deployment names in
ECS_TASKS_ACCOUNTS in that statement, or without the statement when it names none (one account: the
functions' own). The settings are read as `s deploy` reads them: this shell's environment plus the `.env`
beside template.yml.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.config import ENV_ACCOUNTS, Settings
from tools.deploy_template import deploy_environment

ASSUME_ROLE = ["sts:AssumeRole"]
DEFAULT_SLACK_FUNCTION = "ecs-tasks-slack"  # template.yml's default for ECS_TASKS_SLACK_FUNCTION
DEFAULT_EVENTS_FUNCTION = "ecs-tasks-events"  # template.yml's default for ECS_TASKS_EVENTS_FUNCTION
REGION_RE = re.compile(r"[a-z]{2}(-[a-z0-9]+)+")
ACCOUNT_ID_RE = re.compile(r"[0-9]{16}")


class PolicyError(Exception):
    """The policy cannot be filled in as asked; the message says why."""


def account_role_arns(environment: Mapping[str, str]) -> list[str]:
    """The role ARNs ECS_TASKS_ACCOUNTS lists, sorted, checked as the functions check them."""
    try:
        settings = Settings.model_validate({ENV_ACCOUNTS: environment.get(ENV_ACCOUNTS, "")})
    except ValidationError as error:
        raise PolicyError(f"{ENV_ACCOUNTS} is not valid: {error.errors()[0]['msg']}") from None
    return sorted({account.role_arn for account in settings.accounts.values()})


def fill(policy: Mapping[str, Any], *, region: str, account_id: str, environment: Mapping[str, str]) -> dict[str, Any]:
    """The policy with its placeholders replaced and its AssumeRole statement fitted to the accounts."""
    if not REGION_RE.fullmatch(region):
        raise PolicyError(f"--region {region!r} is not a region id such as cn-hangzhou")
    if not ACCOUNT_ID_RE.fullmatch(account_id):
        raise PolicyError(f"--account-id {account_id!r} is not a 16-digit Alibaba Cloud account id")
    slack_function = environment.get("ECS_TASKS_SLACK_FUNCTION") or DEFAULT_SLACK_FUNCTION
    text = json.dumps(policy)
    text = text.replace("<region>", region).replace("<account-id>", account_id)
    events_function = environment.get("ECS_TASKS_EVENTS_FUNCTION") or DEFAULT_EVENTS_FUNCTION
    text = text.replace(f'functions/{DEFAULT_SLACK_FUNCTION}"', f'functions/{slack_function}"')
    text = text.replace(f'functions/{DEFAULT_EVENTS_FUNCTION}"', f'functions/{events_function}"')
    filled: dict[str, Any] = json.loads(text)
    roles = account_role_arns(environment)
    statements = []
    for statement in filled["Statement"]:
        if statement["Action"] == ASSUME_ROLE:
            if not roles:
                continue  # no other account: nothing to assume
            statement = {**statement, "Resource": roles}
        statements.append(statement)
    filled["Statement"] = statements
    leftover = re.findall(r"<[a-z-]+>", json.dumps(filled))
    if leftover:
        raise PolicyError(f"placeholders this tool does not fill: {', '.join(sorted(set(leftover)))}")
    return filled


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.ram_policy", description=__doc__.splitlines()[0])
    parser.add_argument("policy", type=Path, help="deploy/ram-policy.json or deploy/ram-policy-poller.json")
    parser.add_argument("--region", required=True, help="the functions' region (ECS_TASKS_FC_REGION)")
    parser.add_argument("--account-id", required=True, help="the functions' Alibaba Cloud account id")
    parser.add_argument("--template", type=Path, default=Path("template.yml"), help="whose .env is read too")
    args = parser.parse_args(argv)
    environment = deploy_environment(args.template, os.environ)
    try:
        filled = fill(
            json.loads(args.policy.read_text()), region=args.region, account_id=args.account_id, environment=environment
        )
    except PolicyError as error:
        print(f"ram_policy: {error}", file=sys.stderr)
        return 1
    print(json.dumps(filled, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
