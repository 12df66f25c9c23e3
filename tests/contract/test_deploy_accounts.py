"""Deploy for accounts: both functions' roles may assume exactly the listed account roles (the policy files, and
the policies tools/ram_policy.py fills in from them for docs/deploying.md, step 3), and template.yml passes the
account settings to both functions, empty by default (one account: the functions' own)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from shared.config import Settings
from shared.ecs.accounts import HOME
from shared.policy import AccessPolicy
from tests.cli_support import run_main
from tests.paths import FIXTURES, REPO

POLICIES = [REPO / "deploy" / "ram-policy.json", REPO / "deploy" / "ram-policy-poller.json"]
RAM_POLICY_SCHEMA = json.loads((FIXTURES / "ram-policy.schema.json").read_text())
ACCOUNT_VARIABLES = ("ECS_TASKS_ACCOUNTS", "ECS_TASKS_CHANNEL_ACCOUNTS", "ECS_TASKS_DEFAULT_ACCOUNTS", "STS_ENDPOINT")
# A role ARN with placeholders for the account id and role name: `acs:ram::<prod-account-id>:role/<prod-role-name>`.
PLACEHOLDER_ROLE_ARN = re.compile(r"acs:ram::<[a-z-]+-account-id>:role/<[a-z-]+-role-name>")


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_each_functions_role_may_assume_exactly_the_listed_roles(path: Path) -> None:
    policy = json.loads(path.read_text())
    jsonschema.validate(policy, RAM_POLICY_SCHEMA)
    assume = [s for s in policy["Statement"] if "sts:AssumeRole" in s["Action"]]
    # One statement, for sts:AssumeRole alone, on a list of role ARNs: no wildcard, no other resource
    assert len(assume) == 1
    statement = assume[0]
    assert statement["Effect"] == "Allow" and statement["Action"] == ["sts:AssumeRole"]
    assert isinstance(statement["Resource"], list) and statement["Resource"]
    assert all(PLACEHOLDER_ROLE_ARN.fullmatch(arn) for arn in statement["Resource"]), statement["Resource"]
    assert not any("*" in arn for arn in statement["Resource"])
    assert "Condition" not in statement


def test_both_functions_get_the_account_settings_empty_by_default() -> None:
    template = yaml.safe_load((REPO / "template.yml").read_text())
    for anchor in ("environment", "poller_environment"):
        environment = template["vars"][anchor]
        for name in ACCOUNT_VARIABLES:
            assert environment[name] == f"${{env('{name}', '')}}", (anchor, name)


def test_empty_account_settings_mean_the_functions_own_role() -> None:
    # Given the values Serverless Devs passes when the variables are unset; when Settings reads them
    settings = Settings.model_validate({name: "" for name in ACCOUNT_VARIABLES})
    # Then no account is configured and every channel works under the function's own role
    assert settings.accounts == {} and settings.channel_accounts == {} and settings.default_accounts == ()
    assert settings.sts_endpoint in (None, "")
    assert AccessPolicy.from_settings(settings).accounts.accounts_for_channel("C0ANY") == (HOME,)


GUIDE = REPO / "docs" / "deploying.md"
# The recipe of docs/deploying.md, step 3, for the functions in account 1234567890123456 in cn-hangzhou.
REGION_AND_ACCOUNT = ["--region", "cn-hangzhou", "--account-id", "1234567890123456"]


def recipe(policy: Path) -> list[str]:
    return ["-m", "tools.ram_policy", str(policy.relative_to(REPO)), *REGION_AND_ACCOUNT]


TWO_ACCOUNTS = {
    "prod": {"role_arn": "acs:ram::1111111111111111:role/ecs-tasks-read", "external_id": "x-1234"},
    "staging": {"role_arn": "acs:ram::2222222222222222:role/ecs-tasks-read"},
}


def run_recipe(policy: Path, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The recipe's `main()` in this process, run in the checkout as the guide runs it (the refusals below run
    `python -m tools.ram_policy` itself, exit statuses and all)."""
    from tools.ram_policy import main

    # A template folder with no .env, so only the given environment counts
    _, module, *args = recipe(policy)
    args += ["--template", str(tmp_path / "template.yml")]
    return run_main(args, env, main=main, prog=f"python -m {module}", cwd=REPO)


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_the_recipe_gives_a_single_account_deployment_a_policy_without_placeholders(path: Path, tmp_path: Path) -> None:
    # Given no ECS_TASKS_ACCOUNTS (the functions work in their own account only)
    completed = run_recipe(path, tmp_path, {})
    assert completed.returncode == 0, completed.stderr
    policy = json.loads(completed.stdout)
    # Then the policy is valid RAM grammar, names the real region and account, and assumes no role at all
    jsonschema.validate(policy, RAM_POLICY_SCHEMA)
    assert "<" not in completed.stdout and ">" not in completed.stdout
    assert not [s for s in policy["Statement"] if "sts:AssumeRole" in s["Action"]]
    # And every other statement is kept as it was
    original = json.loads(path.read_text())["Statement"]
    assert len(policy["Statement"]) == len(original) - 1


def test_the_recipe_fills_the_region_account_and_renamed_slack_function(tmp_path: Path) -> None:
    completed = run_recipe(POLICIES[0], tmp_path, {"ECS_TASKS_SLACK_FUNCTION": "chatops-slack"})
    assert completed.returncode == 0, completed.stderr
    by_action = {a: s for s in json.loads(completed.stdout)["Statement"] for a in s["Action"]}
    assert by_action["fc:InvokeFunction"]["Resource"] == "acs:fc:cn-hangzhou:1234567890123456:functions/chatops-slack"


def test_the_recipe_fills_the_renamed_events_function(tmp_path: Path) -> None:
    environment = {"ECS_TASKS_SLACK_FUNCTION": "chatops-slack", "ECS_TASKS_EVENTS_FUNCTION": "chatops-events"}
    completed = run_recipe(POLICIES[0], tmp_path, environment)
    assert completed.returncode == 0, completed.stderr
    by_action = {a: s for s in json.loads(completed.stdout)["Statement"] for a in s["Action"]}
    assert by_action["fc:ListTriggers"]["Resource"] == "acs:fc:cn-hangzhou:1234567890123456:functions/chatops-events"
    assert by_action["fc:InvokeFunction"]["Resource"] == "acs:fc:cn-hangzhou:1234567890123456:functions/chatops-slack"


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_the_recipe_lets_the_role_assume_exactly_the_listed_account_roles(path: Path, tmp_path: Path) -> None:
    # Given two accounts in the settings, one of them twice under another name
    accounts = {**TWO_ACCOUNTS, "prod-again": TWO_ACCOUNTS["prod"]}
    completed = run_recipe(path, tmp_path, {"ECS_TASKS_ACCOUNTS": json.dumps(accounts)})
    assert completed.returncode == 0, completed.stderr
    policy = json.loads(completed.stdout)
    jsonschema.validate(policy, RAM_POLICY_SCHEMA)
    (assume,) = [s for s in policy["Statement"] if "sts:AssumeRole" in s["Action"]]
    # Then the statement lists each role once, and no external id leaks into the policy
    assert assume["Resource"] == [
        "acs:ram::1111111111111111:role/ecs-tasks-read",
        "acs:ram::2222222222222222:role/ecs-tasks-read",
    ]
    assert "x-1234" not in completed.stdout


def test_the_recipe_reads_the_env_file_beside_the_template_as_s_does(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"ECS_TASKS_ACCOUNTS='{json.dumps(TWO_ACCOUNTS)}'\n")
    completed = run_recipe(POLICIES[1], tmp_path, {})
    assert completed.returncode == 0, completed.stderr
    (assume,) = [s for s in json.loads(completed.stdout)["Statement"] if "sts:AssumeRole" in s["Action"]]
    assert len(assume["Resource"]) == 2


@pytest.mark.parametrize(
    ("env", "argv_tail", "message"),
    [
        ({"ECS_TASKS_ACCOUNTS": '{"prod": {"role_arn": "acs:ram::1:role/x"}}'}, [], "role_arn is not a RAM role ARN"),
        ({}, ["--region", "Hangzhou"], "is not a region id"),
    ],
    ids=["bad-account", "bad-region"],
)
def test_the_recipe_refuses_settings_it_cannot_trust(
    tmp_path: Path, env: dict[str, str], argv_tail: list[str], message: str
) -> None:
    command = [sys.executable, *recipe(POLICIES[0]), "--template", str(tmp_path / "template.yml"), *argv_tail]
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 1
    assert message in completed.stderr and completed.stdout == ""


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_the_guide_shows_the_recipe_these_tests_run_and_no_hand_editing(path: Path) -> None:
    guide = GUIDE.read_text()
    assert f".venv/bin/python {' '.join(recipe(path))}" in guide
    # No step tells the operator to replace placeholders by hand (the sed recipe left some behind)
    assert "sed -e" not in guide and "<prod-" not in guide
