"""The admins' words: `doctor`, `bind`, `unbind`, `bindings` parse to their commands, and can no longer be
account names (the one check, shared.policy.check_account_name, with the grammar's reserved words)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from bot.language.grammar import BindCommand, BindingsCommand, DoctorCommand, UnbindCommand, UsageError, parse
from bot.language.words import grammar_word_in
from bot.wiring.build import build_policy
from shared.config import Settings
from shared.errors import ConfigurationError

NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)
ROLE = "acs:ram::1111111111111111:role/ecs-tasks-read"


def test_each_admin_word_parses_to_its_command() -> None:
    assert parse("doctor", default_region=None, now=NOW) == DoctorCommand()
    assert parse("bindings", default_region=None, now=NOW, accounts=["prod"]) == BindingsCommand()
    assert parse("bind Prod staging prod", default_region=None, now=NOW) == BindCommand(("prod", "staging"))
    assert parse("unbind prod", default_region=None, now=NOW, accounts=["prod"]) == UnbindCommand(("prod",))


@pytest.mark.parametrize("text", ["bind", "unbind", "doctor now", "bind 0", "unbind <!channel>", "bind Pröd"])
def test_a_malformed_admin_command_is_a_usage_error(text: str) -> None:
    assert isinstance(parse(text, default_region=None, now=NOW), UsageError)


@pytest.mark.parametrize("word", ["doctor", "bind", "unbind", "bindings"])
def test_an_admin_word_cannot_name_an_account(word: str) -> None:
    assert grammar_word_in(word) == "a command"
    settings = Settings(accounts=json.dumps({word: {"role_arn": ROLE}}))
    with pytest.raises(ConfigurationError, match=f"the account name '{word}' is a command"):
        build_policy(settings)
