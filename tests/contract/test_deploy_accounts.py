"""Deploy for accounts (issue 13 item 7): both functions' roles may assume exactly the listed account roles,
and template.yml passes the account settings to both functions, empty by default (as before accounts)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from shared.config import Settings
from shared.ecs.accounts import HOME
from shared.policy import AccessPolicy
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
