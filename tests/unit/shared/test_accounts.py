"""Accounts: the settings, the channel bindings, session names and session policies.

Settings are read from the environment through load_settings, as in production; the session policies are
checked against a JSON Schema of the RAM policy grammar (tests/fixtures/ram-policy.schema.json).
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from shared.config import Settings, load_settings
from shared.ecs.accounts import HOME, Account, AccountDirectory
from shared.ecs.sessions import (
    MAX_POLICY_CHARS,
    POLLER_SESSION_NAME,
    ROLE_SESSION_NAME_RE,
    Purpose,
    SessionSpec,
    session_policy,
    user_session_name,
)
from shared.errors import ConfigurationError
from shared.policy import AccessPolicy
from tests.paths import FIXTURES

RAM_POLICY_SCHEMA = json.loads((FIXTURES / "ram-policy.schema.json").read_text(encoding="utf-8"))
PROD_ARN = "acs:ram::1111111111111111:role/ecs-tasks-read"
STAGING_ARN = "acs:ram::2222222222222222:role/ecs-tasks-read"
ACCOUNTS = {
    "prod": {"role_arn": PROD_ARN, "regions": ["cn-hangzhou"], "external_id": "prod-ext-4242"},
    "staging": {"role_arn": STAGING_ARN},
}
ENV_NAMES = ("ECS_TASKS_ACCOUNTS", "ECS_TASKS_CHANNEL_ACCOUNTS", "ECS_TASKS_DEFAULT_ACCOUNTS", "STS_ENDPOINT")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def _settings(monkeypatch: pytest.MonkeyPatch, **env: object) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value if isinstance(value, str) else json.dumps(value))
    return load_settings()


def _directory(settings: Settings) -> AccountDirectory:
    return AccessPolicy.from_settings(settings).accounts


# --- settings and bindings ------------------------------------------------------------------------------


def test_without_any_account_setting_every_channel_works_under_the_functions_own_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(monkeypatch)
    directory = _directory(settings)
    assert not directory.configured
    assert directory.accounts_for_channel("C0ANY") == (HOME,)
    assert directory.accounts_for_channel(None) == (HOME,)
    assert HOME.is_home and HOME.role_arn is None


def test_channels_get_their_bound_accounts_and_others_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two accounts, two bound channels and a default binding
    settings = _settings(
        monkeypatch,
        ECS_TASKS_ACCOUNTS=ACCOUNTS,
        ECS_TASKS_CHANNEL_ACCOUNTS={"C0PROD": ["prod"], "C0OPS": ["staging", "prod"]},
        ECS_TASKS_DEFAULT_ACCOUNTS="staging",
    )
    directory = _directory(settings)

    # Then each channel gets its accounts, in the configured order, and other channels the default
    assert [a.name for a in directory.accounts_for_channel("C0PROD")] == ["prod"]
    assert [a.name for a in directory.accounts_for_channel("C0OPS")] == ["staging", "prod"]
    assert [a.name for a in directory.accounts_for_channel("C0ELSE")] == ["staging"]
    prod = directory.accounts_for_channel("C0PROD")[0]
    assert prod == Account("prod", PROD_ARN, ("cn-hangzhou",), "prod-ext-4242")
    assert (prod.account_id, prod.role_name) == ("1111111111111111", "ecs-tasks-read")
    assert prod.covers("cn-hangzhou") and not prod.covers("cn-beijing")
    assert directory.accounts["staging"].covers("cn-beijing")  # no regions: not restricted here
    # And a channel may name only its own accounts
    assert directory.account_for_channel("C0PROD", "prod") == prod
    assert directory.account_for_channel("C0PROD", "staging") is None
    assert directory.account_for_channel("C0ELSE", "prod") is None


def test_accounts_without_a_default_leave_unbound_channels_under_the_functions_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = _directory(
        _settings(monkeypatch, ECS_TASKS_ACCOUNTS=ACCOUNTS, ECS_TASKS_CHANNEL_ACCOUNTS={"C0PROD": "prod"})
    )
    assert directory.accounts_for_channel("C0PROD")[0].name == "prod"
    assert directory.accounts_for_channel("C0OTHER") == (HOME,)


def test_the_external_id_never_shows_in_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, ECS_TASKS_ACCOUNTS=ACCOUNTS)
    assert "prod-ext-4242" not in repr(settings)
    assert "prod-ext-4242" not in repr(_directory(settings))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"ECS_TASKS_ACCOUNTS": ACCOUNTS, "ECS_TASKS_CHANNEL_ACCOUNTS": {"C0PROD": ["prod", "qa"]}},
            "ECS_TASKS_CHANNEL_ACCOUNTS[C0PROD] names unknown account 'qa' (known accounts: prod, staging)",
        ),
        (
            {"ECS_TASKS_ACCOUNTS": ACCOUNTS, "ECS_TASKS_DEFAULT_ACCOUNTS": "prod,qa"},
            "ECS_TASKS_DEFAULT_ACCOUNTS names unknown account 'qa'",
        ),
        (
            {"ECS_TASKS_DEFAULT_ACCOUNTS": "prod"},
            "ECS_TASKS_DEFAULT_ACCOUNTS names unknown account 'prod' (known accounts: none",
        ),
        ({"ECS_TASKS_ACCOUNTS": '{"prod": {"role_arn": '}, "ECS_TASKS_ACCOUNTS: not valid JSON"),
        ({"ECS_TASKS_ACCOUNTS": '["prod"]'}, "ECS_TASKS_ACCOUNTS: expected a JSON object"),
        (
            {"ECS_TASKS_ACCOUNTS": {"prod": {"role_arn": "acs:ram::1111:role/x"}}},
            "ECS_TASKS_ACCOUNTS.prod.role_arn: role_arn is not a RAM role ARN",
        ),
        (
            {"ECS_TASKS_ACCOUNTS": {"prod": {"role_arn": "arn:aws:iam::123456789012:role/x"}}},
            "role_arn is not a RAM role ARN (expected acs:ram::<16-digit account id>:role/<role name>",
        ),
        ({"ECS_TASKS_ACCOUNTS": {"prod": {"role_arn": PROD_ARN, "external_id": "x"}}}, "external_id must be 2-1224"),
        ({"ECS_TASKS_ACCOUNTS": {"prod": {"role_arn": PROD_ARN, "rgions": []}}}, "ECS_TASKS_ACCOUNTS.prod.rgions"),
        (
            {"ECS_TASKS_ACCOUNTS": ACCOUNTS, "ECS_TASKS_CHANNEL_ACCOUNTS": {"general": ["prod"]}},
            "'general' is not a Slack channel id",
        ),
        ({"ECS_TASKS_ACCOUNTS": ACCOUNTS, "ECS_TASKS_CHANNEL_ACCOUNTS": {"C0X": []}}, "C0X is bound to no account"),
    ],
)  # fmt: skip
def test_a_bad_account_setting_is_a_configuration_error_that_names_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        _settings(monkeypatch, **env)
    assert expected in str(raised.value)
    assert "prod-ext-4242" not in str(raised.value)


@pytest.mark.parametrize("region", ["CN-HANGZHOU", "cn hangzhou", "evil.example.com/x", "hangzhou"])
def test_a_malformed_region_of_an_account_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    settings = _settings(monkeypatch, ECS_TASKS_ACCOUNTS={"prod": {"role_arn": PROD_ARN, "regions": [region]}})
    with pytest.raises(ConfigurationError, match=r"ECS_TASKS_ACCOUNTS\.prod\.regions\[0\] is not a region id"):
        _directory(settings)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Prod", "account name 'Prod' is not a short lower-case"),
        ("a-very-long-account-name-indeed", "is not a short lower-case word"),
        ("prod!", "is not a short lower-case word"),
        ("home", "'home' is reserved"),
    ],
)
def test_a_bad_account_name_is_a_configuration_error_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, expected: str
) -> None:
    # Given an account whose name is not one an account may have; when the policy is built from the settings
    settings = _settings(monkeypatch, ECS_TASKS_ACCOUNTS={name: {"role_arn": PROD_ARN}})
    with pytest.raises(ConfigurationError) as raised:
        AccessPolicy.from_settings(settings)
    # Then it refuses, naming the setting and the problem
    assert expected in str(raised.value)
    assert raised.value.setting == "ECS_TASKS_ACCOUNTS"


def test_the_caller_reserves_words_an_account_may_not_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, ECS_TASKS_ACCOUNTS={"prod": {"role_arn": PROD_ARN}})
    assert AccessPolicy.from_settings(settings, reserved_word=lambda name: None).accounts.configured
    with pytest.raises(ConfigurationError, match="'prod' is a keyword in /ecs-tasks"):
        AccessPolicy.from_settings(settings, reserved_word=lambda name: "a keyword" if name == "prod" else None)


def test_sts_endpoint_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _settings(monkeypatch, STS_ENDPOINT="sts.cn-hangzhou.aliyuncs.com").sts_endpoint == (
        "sts.cn-hangzhou.aliyuncs.com"
    )


# --- attribution: RoleSessionName --------------------------------------------------------------------


@pytest.mark.parametrize("user_id", ["U0123ABC", "W012A3CDE", "U" + "A" * 40])
def test_a_users_session_is_named_after_their_slack_id(user_id: str) -> None:
    name = user_session_name(user_id)
    assert name == f"slack-{user_id}"
    assert ROLE_SESSION_NAME_RE.fullmatch(name) and 2 <= len(name) <= 64


@pytest.mark.parametrize("user_id", ["", "u0123abc", "U0123ABC; drop", "B0BOT", "U" + "A" * 60, "U0123ABC\n"])
def test_anything_but_a_slack_user_id_is_refused(user_id: str) -> None:
    with pytest.raises(ValueError, match="not a Slack user id"):
        user_session_name(user_id)


def test_the_poller_has_a_fixed_session_name() -> None:
    assert SessionSpec.for_poller() == SessionSpec(POLLER_SESSION_NAME, Purpose.READ)
    assert POLLER_SESSION_NAME == "ecs-tasks-poller"


# --- guardrails: session policies -----------------------------------------------------------------


@pytest.mark.parametrize("purpose", list(Purpose))
def test_every_session_policy_is_valid_ram_policy_grammar(purpose: Purpose) -> None:
    text = session_policy(purpose)
    jsonschema.validate(json.loads(text), RAM_POLICY_SCHEMA)
    assert len(text) <= MAX_POLICY_CHARS


def test_reads_allow_only_describing_and_a_cancel_only_cancelling() -> None:
    read = json.loads(session_policy(Purpose.READ))
    cancel = json.loads(session_policy(Purpose.CANCEL))
    assert read["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["ecs:DescribeTasks", "ecs:DescribeTaskAttribute", "ecs:DescribeRegions"],
            "Resource": "*",
        }
    ]
    assert cancel["Statement"] == [{"Effect": "Allow", "Action": ["ecs:CancelTask"], "Resource": "*"}]
    assert SessionSpec.for_user("U0123ABC", Purpose.READ).policy == session_policy(Purpose.READ)
    assert SessionSpec.for_poller().policy == session_policy(Purpose.READ)


@pytest.mark.parametrize(
    "document",
    [
        {"Version": "2", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        {"Version": "1", "Statement": []},
        {"Version": "1", "Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]},
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "DescribeTasks", "Resource": "*"}]},
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["ecs:DescribeTasks"]}]},
    ],
)
def test_the_schema_refuses_what_the_grammar_refuses(document: dict[str, object]) -> None:
    # The schema can fail: each of these breaks one rule of the grammar.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, RAM_POLICY_SCHEMA)


def test_a_session_name_outside_stss_rules_is_refused() -> None:
    with pytest.raises(ValueError, match="RoleSessionName"):
        SessionSpec("a b", Purpose.READ)
    with pytest.raises(ValueError, match="RoleSessionName"):
        SessionSpec("x" * 65, Purpose.READ)
