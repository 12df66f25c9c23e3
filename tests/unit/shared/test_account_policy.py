"""Today's policy on a stored row's account, as pure checks: a row may run only in an account its
channel is bound to today, and a stored account name not in account-name form is never used."""

from __future__ import annotations

import json

import pytest

from shared.config import Settings
from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.policy import (
    ACCOUNT_INVALID,
    ACCOUNT_NOT_BOUND,
    CHANNEL_NOT_ALLOWED,
    REGION_INVALID,
    AccessPolicy,
    stored_refusal,
)

PROD_ROLE = "acs:ram::1111111111111111:role/ecs-tasks-read"
STAGING_ROLE = "acs:ram::2222222222222222:role/ecs-tasks-read"


def policy(**bindings: object) -> AccessPolicy:
    settings = Settings(
        accounts=json.dumps({"prod": {"role_arn": PROD_ROLE}, "staging": {"role_arn": STAGING_ROLE}}),
        **bindings,  # type: ignore[arg-type]
    )
    return AccessPolicy.from_settings(settings)


def refusal(p: AccessPolicy, channel: str, account: str, region: str = "cn-hangzhou") -> str | None:
    return stored_refusal(p, team_id="T1", channel_id=channel, region_id=region, account=account)


def test_with_no_accounts_configured_every_channel_works_in_home_only() -> None:
    empty = AccessPolicy.from_settings(Settings())
    assert refusal(empty, "C1", HOME_ACCOUNT_NAME) is None
    # (the default: rows from before accounts existed)
    assert stored_refusal(empty, team_id=None, channel_id="C1", region_id="cn-hangzhou") is None
    assert refusal(empty, "C1", "prod") == ACCOUNT_NOT_BOUND


def test_a_row_runs_only_in_an_account_its_channel_is_bound_to_today() -> None:
    bound = policy(channel_accounts=json.dumps({"C0OPS": ["prod", "staging"], "C0PROD": ["prod"]}))
    assert refusal(bound, "C0OPS", "staging") is None
    assert refusal(bound, "C0PROD", "prod") is None
    assert refusal(bound, "C0PROD", "staging") == ACCOUNT_NOT_BOUND
    # A channel with no binding and no default works in home alone
    assert refusal(bound, "C0OTHER", HOME_ACCOUNT_NAME) is None
    assert refusal(bound, "C0OTHER", "prod") == ACCOUNT_NOT_BOUND
    # A channel bound to accounts no longer works in home
    assert refusal(bound, "C0PROD", HOME_ACCOUNT_NAME) == ACCOUNT_NOT_BOUND


def test_the_default_binding_applies_to_channels_without_their_own() -> None:
    default = policy(default_accounts="staging")
    assert refusal(default, "C0ANY", "staging") is None
    assert refusal(default, "C0ANY", "prod") == ACCOUNT_NOT_BOUND


def test_an_account_no_longer_configured_is_not_bound_anywhere() -> None:
    bound = policy(channel_accounts=json.dumps({"C0OPS": ["prod"]}))
    assert refusal(bound, "C0OPS", "retired") == ACCOUNT_NOT_BOUND


@pytest.mark.parametrize("stored", ["", "Prod", "prod;drop", "x" * 40, "../home", "home\n"])
def test_a_stored_account_name_not_in_name_form_is_invalid(stored: str) -> None:
    assert refusal(policy(), "C1", stored) == ACCOUNT_INVALID


def test_the_older_refusals_still_come_first() -> None:
    narrowed = AccessPolicy(channel_ids=frozenset({"C0OTHER"}))
    assert refusal(narrowed, "C1", "nonsense!") == CHANNEL_NOT_ALLOWED
    assert refusal(AccessPolicy(), "C1", "prod", region="cn-hangzhou/../x") == REGION_INVALID
