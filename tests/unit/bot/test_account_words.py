"""Accounts in the Slack query path: account words in the grammar, button values
of format version 2 that carry them, and the one check that a channel names only its own accounts."""

from __future__ import annotations

import dataclasses
import json
import random
import string
import typing
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.language.codecs import (
    BUTTON_VALUE_LIMIT,
    MAX_QUERY_ACCOUNTS,
    QUERY_PREFIX,
    QUERY_PREFIX_V2,
    TASK_REF_PREFIX,
    TASK_REF_PREFIX_V2,
    QueryCodecError,
    TaskRef,
    check_bounds,
    decode_query,
    decode_task_ref,
    encode_query,
    encode_task_ref,
)
from bot.language.grammar import (
    AccountsCommand,
    Command,
    QueryCommand,
    SubscribeCommand,
    UnsubscribeCommand,
    UnwatchCommand,
    UsageError,
    WatchCommand,
    parse,
)
from bot.usecases import access
from shared.config import Settings
from shared.ecs.query import ALL_REGIONS, TaskQuery, TaskStatus
from shared.policy import AccessPolicy
from tests.unit.bot.test_query_codec import (
    GOLDEN_QUERY,
    GOLDEN_QUERY_VALUE,
    GOLDEN_REF_VALUE,
    GOLDEN_REGIONS,
    worst_case_query,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 5, 12, 30, tzinfo=UTC)
HZ = "cn-hangzhou"
CHANNEL = ("prod", "staging")
CONFIGURED = ("prod", "staging", "audit")


def p(text: str, accounts: tuple[str, ...] = CHANNEL, configured: tuple[str, ...] = CONFIGURED) -> object:
    return parse(text, default_region=HZ, now=NOW, accounts=accounts, configured_accounts=configured)


# --- the grammar ---------------------------------------------------------------------------------


def test_an_account_word_names_the_account_and_the_rest_parses_as_before() -> None:
    command = p("prod cn-hangzhou failed")
    assert isinstance(command, QueryCommand)
    assert command.query == TaskQuery(regions=(HZ,), status=TaskStatus.FAILED, accounts=("prod",))


@pytest.mark.parametrize("text", ["prod staging", "staging,prod", "PROD Staging prod"])
def test_several_account_words_are_kept_in_the_order_typed_without_repeats(text: str) -> None:
    command = p(text)
    assert isinstance(command, QueryCommand)
    expected = tuple(dict.fromkeys(word.lower() for word in text.replace(",", " ").split()))
    assert command.query.accounts == expected


def test_without_an_account_word_a_query_covers_the_channels_accounts() -> None:
    command = p("all failed")
    assert isinstance(command, QueryCommand)
    assert command.query.accounts == CHANNEL


def test_a_configured_account_the_channel_is_not_bound_to_is_refused_naming_the_channels() -> None:
    command = p("audit failed")
    assert isinstance(command, UsageError)
    assert command.token == "audit"
    assert "Account `audit` is not available in this channel" in command.message
    assert "`prod`, `staging`" in command.message


def test_an_unknown_word_close_to_an_account_suggests_it() -> None:
    command = p("stagin failed")
    assert isinstance(command, UsageError)
    assert command.suggestion == "staging"


def test_without_accounts_an_account_word_is_an_unknown_word_as_before() -> None:
    # No accounts configured: the grammar is exactly today's.
    command = parse("prod failed", default_region=HZ, now=NOW)
    assert isinstance(command, UsageError) and command.token == "prod"
    assert "account" not in command.message.lower()
    plain = parse("cn-hangzhou failed", default_region=HZ, now=NOW)
    assert isinstance(plain, QueryCommand) and plain.query.accounts == ()


def test_accounts_is_a_command_of_its_own() -> None:
    assert p("accounts") == AccountsCommand()
    assert parse("accounts", default_region=HZ, now=NOW) == AccountsCommand()
    refused = p("accounts prod")
    assert isinstance(refused, UsageError) and refused.token == "prod"


@pytest.mark.parametrize("cls", [WatchCommand, UnwatchCommand, SubscribeCommand, UnsubscribeCommand])
def test_the_channel_update_commands_end_with_an_optional_account(cls: type) -> None:
    last = dataclasses.fields(cls)[-1]
    assert (last.name, last.type, last.default) == ("account", "str | None", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("watch prod t-abc", WatchCommand(HZ, ("t-abc",), "prod")),
        ("watch t-abc", WatchCommand(HZ, ("t-abc",), None)),
        ("unwatch staging cn-shanghai t-abc", UnwatchCommand("cn-shanghai", ("t-abc",), "staging")),
        ("unwatch t-abc", UnwatchCommand(None, ("t-abc",), None)),
        ("subscribe prod all failed", SubscribeCommand((ALL_REGIONS,), TaskStatus.FAILED, None, "prod")),
        ("subscribe cn-hangzhou", SubscribeCommand((HZ,), None, None, None)),
        ("unsubscribe staging", UnsubscribeCommand(None, "staging")),
        ("unsubscribe cn-hangzhou", UnsubscribeCommand((HZ,), None)),
    ],
)
def test_the_channel_update_commands_take_one_account_word(text: str, expected: object) -> None:
    assert p(text) == expected


@pytest.mark.parametrize(
    "text", ["watch audit t-abc", "subscribe audit all", "unwatch audit t-abc", "unsubscribe audit"]
)
def test_the_channel_update_commands_refuse_an_unbound_account(text: str) -> None:
    command = p(text)
    assert isinstance(command, UsageError) and "Account `audit` is not available" in command.message


def test_the_channel_update_commands_take_at_most_one_account() -> None:
    command = p("watch prod staging t-abc")
    assert isinstance(command, UsageError) and command.token == "staging" and "one account" in command.message


_WORDS = st.sampled_from([*CONFIGURED, "prd", "stagin", "watch", "subscribe", "accounts", "all", "t-abc", HZ, "failed"])


@given(st.lists(_WORDS | st.text(max_size=12), max_size=8))
def test_parse_with_accounts_never_raises(words: list[str]) -> None:
    command = p(" ".join(words))
    assert isinstance(command, typing.get_args(Command))
    if isinstance(command, QueryCommand):
        assert command.query.accounts and set(command.query.accounts) <= set(CHANNEL)


# --- button values -------------------------------------------------------------------------------


def test_a_query_without_accounts_is_written_exactly_as_before() -> None:
    q = TaskQuery(regions=(HZ,), status=TaskStatus.FAILED)
    assert encode_query(q) == "cn-hangzhou failed"
    assert encode_query(GOLDEN_QUERY) == GOLDEN_QUERY_VALUE
    assert encode_task_ref(HZ, "t-bp1abc", GOLDEN_QUERY) == GOLDEN_REF_VALUE


def test_version_1_values_still_decode_as_the_functions_own_account() -> None:
    query = decode_query(GOLDEN_QUERY_VALUE, known_regions=GOLDEN_REGIONS, now=NOW)
    assert query.accounts == ()
    ref = decode_task_ref(GOLDEN_REF_VALUE, known_regions=GOLDEN_REGIONS, now=NOW)
    assert (ref.account, ref.query.accounts) == (None, ())


def test_a_query_with_accounts_travels_as_version_2_and_round_trips() -> None:
    q = TaskQuery(regions=(HZ, "cn-shanghai"), status=TaskStatus.FAILED, accounts=("staging", "prod"))
    value = encode_query(q)
    assert value.startswith(QUERY_PREFIX_V2)
    assert decode_query(value, now=NOW) == q


def test_a_task_ref_carries_its_tasks_account() -> None:
    q = TaskQuery(regions=(ALL_REGIONS,), accounts=("prod", "staging"))
    for account in q.accounts:
        value = encode_task_ref("cn-shanghai", "t-abc123", q, account)
        assert value.startswith(TASK_REF_PREFIX_V2)
        assert decode_task_ref(value, now=NOW) == TaskRef("cn-shanghai", "t-abc123", q, account)


@pytest.mark.parametrize(
    ("query", "account"),
    [
        (TaskQuery(regions=(HZ,), accounts=("prod",)), "staging"),  # not one of the query's
        (TaskQuery(regions=(HZ,), accounts=("prod",)), None),  # a task in an account query has one
        (TaskQuery(regions=(HZ,)), "prod"),  # a query without accounts has none
    ],
)
def test_a_task_ref_account_must_be_one_of_its_querys(query: TaskQuery, account: str | None) -> None:
    with pytest.raises(QueryCodecError):
        encode_task_ref(HZ, "t-abc", query, account)


def _names(rng: random.Random, count: int) -> tuple[str, ...]:
    """`count` distinct account names of the longest form: 20 characters."""
    chars = string.ascii_lowercase + string.digits + "-_"
    return tuple(f"{string.ascii_lowercase[i]}" + "".join(rng.choice(chars) for _ in range(19)) for i in range(count))


@pytest.mark.parametrize("seed", range(3))
def test_the_most_accounts_with_the_longest_names_fit_beside_a_large_query(seed: int) -> None:
    rng = random.Random(seed)
    accounts = _names(rng, MAX_QUERY_ACCOUNTS)
    big = worst_case_query(seed)
    # Half the largest query's task ids, every region, both times: with 8 accounts of 20 characters
    q = dataclasses.replace(big, task_ids=big.task_ids[:50], accounts=accounts)
    value = encode_query(q)
    assert len(value) <= BUTTON_VALUE_LIMIT
    assert decode_query(value, now=datetime(2026, 12, 1, tzinfo=UTC)) == q
    ref = encode_task_ref("cn-hangzhou", "t-" + "z" * 22, q, accounts[-1])
    assert len(ref) <= BUTTON_VALUE_LIMIT
    assert decode_task_ref(ref, now=datetime(2026, 12, 1, tzinfo=UTC)).account == accounts[-1]


@pytest.mark.parametrize("seed", range(3))
def test_a_value_that_would_pass_the_limit_is_refused_rather_than_written(seed: int) -> None:
    q = dataclasses.replace(worst_case_query(seed), accounts=_names(random.Random(seed), MAX_QUERY_ACCOUNTS))
    with pytest.raises(QueryCodecError, match="button value holds 2000"):
        encode_query(q)


@pytest.mark.parametrize(
    "accounts",
    [
        ("Prod",),  # not lower case
        ("p" * 21,),  # too long
        ("", "prod"),  # empty
        ("prod", "prod"),  # a repeat
        tuple(f"a{i}" for i in range(MAX_QUERY_ACCOUNTS + 1)),  # too many
        ("pro d",),
    ],
)
def test_check_bounds_refuses_account_names_a_typed_command_cannot_make(accounts: tuple[str, ...]) -> None:
    with pytest.raises(QueryCodecError, match="accounts"):
        check_bounds(TaskQuery(regions=(HZ,), accounts=accounts), now=NOW)


def test_a_tampered_version_2_value_is_refused_or_stays_in_bounds() -> None:
    value = encode_query(TaskQuery(regions=(HZ,), accounts=("prod", "staging")))
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "-_"
    for _ in range(300):
        i = rng.randrange(len(QUERY_PREFIX_V2), len(value))
        tampered = value[:i] + rng.choice(alphabet) + value[i + 1 :]
        try:
            query = decode_query(tampered, now=NOW)
        except QueryCodecError:
            continue
        check_bounds(query, now=NOW)  # whatever decodes is within the typed bounds
        assert query.accounts


def test_the_two_versions_do_not_read_each_others_values() -> None:
    v2 = encode_query(TaskQuery(regions=(HZ,), accounts=("prod",)))
    with pytest.raises(QueryCodecError):
        decode_task_ref(v2, now=NOW)
    ref = encode_task_ref(HZ, "t-abc", TaskQuery(regions=(HZ,), accounts=("prod",)), "prod")
    with pytest.raises(QueryCodecError):
        decode_query(ref, now=NOW)
    assert not encode_query(TaskQuery(regions=(HZ,))).startswith((QUERY_PREFIX, QUERY_PREFIX_V2))
    assert encode_task_ref(HZ, "t-abc", TaskQuery(regions=(HZ,))).startswith(TASK_REF_PREFIX)


# --- the one check -------------------------------------------------------------------------------


def _policy() -> AccessPolicy:
    role = "acs:ram::1111111111111111:role/ecs-tasks-read"
    settings = Settings(
        accounts=json.dumps({name: {"role_arn": role} for name in CONFIGURED}),
        channel_accounts=json.dumps({"C0OPS": list(CHANNEL), "C0AUDIT": ["audit"]}),
    )
    return AccessPolicy.from_settings(settings)


def test_check_accounts_allows_only_the_channels_own_accounts() -> None:
    policy = _policy()
    assert access.check_accounts(policy, "C0OPS", ("prod", "staging")) is None
    denied = access.check_accounts(policy, "C0OPS", ("prod", "audit"))
    assert denied is not None and "`audit`" in denied.reason and "`prod`, `staging`" in denied.reason
    assert "`prod` is" not in denied.reason
    # A value from before accounts (the function's own account) only where a channel has no accounts
    assert access.check_accounts(policy, "C0OPS", ("home",)) is not None
    assert access.check_accounts(policy, "C0ELSE", ("home",)) is None
    assert access.check_accounts(policy, "C0ELSE", ("audit",)) is not None


def test_without_accounts_every_channel_works_at_home() -> None:
    policy = AccessPolicy.from_settings(Settings())
    assert access.check_accounts(policy, "C0ANY", ("home",)) is None
    assert access.check_accounts(policy, "C0ANY", ()) is None
    assert access.check_accounts(policy, "C0ANY", ("prod",)) is not None


@pytest.mark.parametrize(
    ("name", "meaning"),
    [
        ("failed", "a task status"),
        ("running", "a task status"),
        ("import", "a task action"),
        ("all", "a keyword"),
        ("page", "a keyword"),
        ("watch", "a command"),
        ("accounts", "a command"),
        ("eu-prod", "shaped like a region id"),
        ("shanghai", "the console name of the region cn-shanghai"),
        ("singapore", "the console name of the region ap-southeast-1"),
        ("hangzhou", "the console name of the region cn-hangzhou"),
        ("beijing", "the console name of the region cn-beijing"),
        ("us_east_1", "the console name of the region us-east-1"),
    ],
)
def test_an_account_named_like_a_word_of_the_grammar_is_a_configuration_error_naming_it(
    name: str, meaning: str
) -> None:
    from bot.wiring.build import build_policy
    from shared.config import Settings
    from shared.errors import ConfigurationError

    # Given an account whose name the grammar would read as something else
    settings = Settings(accounts=json.dumps({name: {"role_arn": "acs:ram::1111111111111111:role/ecs-tasks-read"}}))
    # When the bot builds its policy, then it refuses, naming the setting, the name and its meaning
    with pytest.raises(ConfigurationError) as raised:
        build_policy(settings)
    assert raised.value.setting == "ECS_TASKS_ACCOUNTS"
    assert repr(name) in str(raised.value) and meaning in str(raised.value)


def test_ordinary_account_names_are_not_grammar_words() -> None:
    from bot.language.words import grammar_word_in

    assert [grammar_word_in(n) for n in ("prod", "staging", "staging-eu", "bu_retail", "home2")] == [None] * 5


def test_a_channel_bound_to_more_accounts_than_a_card_can_carry_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.config import MAX_ACCOUNTS_PER_BINDING, load_settings
    from shared.errors import ConfigurationError

    # Given nine accounts, all bound to one channel (a query there covers all of them)
    names = [f"acct{n}" for n in range(MAX_ACCOUNTS_PER_BINDING + 1)]
    role = "acs:ram::1111111111111111:role/ecs-tasks-read"
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps({name: {"role_arn": role} for name in names}))
    monkeypatch.setenv("ECS_TASKS_CHANNEL_ACCOUNTS", json.dumps({"C0OPS": names}))
    # When the settings load, then they are refused, naming the binding and the limit
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "ECS_TASKS_CHANNEL_ACCOUNTS" in str(raised.value) and f"at most {MAX_ACCOUNTS_PER_BINDING}" in str(
        raised.value
    )
