"""Which configured accounts an event's account id is: every name whose role lives in it, and home by FC_ACCOUNT_ID."""

from __future__ import annotations

from shared.ecs.accounts import HOME, Account, AccountDirectory
from shared.updates.announcer import accounts_for, bound_anywhere

PROD = Account("prod", "acs:ram::1111111111111111:role/ecs-tasks-read")
PROD_CANCEL = Account("prodops", "acs:ram::1111111111111111:role/ecs-tasks-ops")
STAGING = Account("staging", "acs:ram::2222222222222222:role/ecs-tasks-read")
DIRECTORY = AccountDirectory(
    accounts={"prod": PROD, "prodops": PROD_CANCEL, "staging": STAGING},
    channel_bindings={"C0PROD": ("prod",), "C0OPS": ("prodops", "staging")},
)


def test_two_names_sharing_an_account_id_are_both_its_and_each_channels_bindings_decide() -> None:
    assert accounts_for(DIRECTORY, "1111111111111111", "9999999999999999") == ["prod", "prodops"]
    assert DIRECTORY.account_for_channel("C0PROD", "prodops") is None
    assert DIRECTORY.account_for_channel("C0OPS", "prodops") is not None


def test_the_functions_own_account_is_home_and_an_unknown_one_is_nobodys() -> None:
    assert accounts_for(AccountDirectory(), "9999999999999999", "9999999999999999") == [HOME.name]
    assert accounts_for(DIRECTORY, "3333333333333333", "9999999999999999") == []
    assert accounts_for(AccountDirectory(), "9999999999999999", None) == []


def test_an_account_no_channel_is_bound_to_is_not_announced() -> None:
    assert bound_anywhere(DIRECTORY, "prod") and bound_anywhere(DIRECTORY, "staging")
    assert not bound_anywhere(AccountDirectory(accounts={"prod": PROD}, default_binding=()), "prod")
    # home works in every channel without a binding, unless a default binding takes them
    assert bound_anywhere(DIRECTORY, HOME.name)
    assert not bound_anywhere(AccountDirectory(accounts={"prod": PROD}, default_binding=("prod",)), HOME.name)
