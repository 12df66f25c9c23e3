"""Several accounts end to end: signed Slack requests → the FC 3.0 handler over loopback → our STS
client at the STS emulator → the ECS emulator, which serves each account's own tasks only to that account's
temporary credentials and refuses what the session policy does not allow.

One channel (C0OPS) is bound to prod and staging, another (C0PROD) to prod alone; the function's own
account holds a task of its own that no bound channel may see.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from bot.language.codecs import (
    QUERY_PREFIX_V2,
    TASK_REF_PREFIX_V2,
    decode_query,
    decode_task_ref,
    encode_query,
    encode_task_ref,
)
from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from emulators.sts.server import StsEmulator
from emulators.sts.service import Caller, Role
from emulators.sts.sessions import IssuedSession, SessionRegistry
from functions import http
from shared.cards.parts import ACTION_UNWATCH
from shared.cards.task_cards import (
    ACTION_CANCEL,
    ACTION_DETAILS,
    ACTION_NEXT,
    ACTION_PREV,
    ACTION_REFRESH,
    ACTION_TASK_MENU,
    ACTION_WATCH,
)
from shared.ecs.query import ALL_REGIONS, TaskQuery
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET
from tests.e2e.test_slack_e2e import all_text, buttons

OPS, PROD_ONLY = "C0OPS", "C0PROD"
ALICE = "U0ALICE"
FUNCTION_ROLE = "acs:ram::1000000000000000:role/ecs-tasks-fc"
PROD_ROLE = "acs:ram::1111111111111111:role/ecs-tasks-read"
STAGING_ROLE = "acs:ram::2222222222222222:role/ecs-tasks-read"
PROD_ID, STAGING_ID = "1111111111111111", "2222222222222222"
HOME_TASK, PROD_TASK, STAGING_TASK = "t-home0000000000000001", "t-prod0000000000000001", "t-stag0000000000000001"
ACCOUNT_OF = {PROD_ID: "prod", STAGING_ID: "staging"}


def _task(task_id: str, region: str) -> dict[str, Any]:
    # A running ImportImage: listed without a status filter, and cancellable.
    return {"TaskId": task_id, "RegionId": region, "TaskAction": "ImportImage", "TaskStatus": "Processing",
            "created_ago_s": 60}  # fmt: skip


@pytest.fixture
def registry() -> SessionRegistry:
    return SessionRegistry()


@pytest.fixture
def ecs(registry: SessionRegistry) -> Iterator[EcsEmulator]:
    """Overrides conftest's: the home account's task, and one task in each of prod and staging."""
    emulator = EcsEmulator(
        seed=[_task(HOME_TASK, "cn-hangzhou")],
        credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET},
        sessions=registry,
        account_seeds={PROD_ID: [_task(PROD_TASK, "cn-hangzhou")], STAGING_ID: [_task(STAGING_TASK, "cn-shanghai")]},
    )
    with emulator:
        yield emulator


@pytest.fixture
def sts(registry: SessionRegistry) -> Iterator[StsEmulator]:
    roles = [
        Role(PROD_ROLE, frozenset({FUNCTION_ROLE}), external_id="prod-external-id"),
        Role(STAGING_ROLE, frozenset({"acs:ram::1000000000000000:root"})),
    ]
    emulator = StsEmulator(callers={ACCESS_KEY_ID: Caller(ACCESS_KEY_SECRET, FUNCTION_ROLE)}, roles=roles,
                           registry=registry)  # fmt: skip
    with emulator:
        yield emulator


@pytest.fixture
def accounts_env(app_env: dict[str, str], sts: StsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = {
        "prod": {"role_arn": PROD_ROLE, "regions": ["cn-hangzhou"], "external_id": "prod-external-id"},
        "staging": {"role_arn": STAGING_ROLE, "regions": ["cn-shanghai"]},
    }
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps(accounts))
    monkeypatch.setenv("ECS_TASKS_CHANNEL_ACCOUNTS", json.dumps({OPS: ["prod", "staging"], PROD_ONLY: ["prod"]}))
    monkeypatch.setenv("STS_ENDPOINT", sts.base_url)
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", ALICE)
    http.reset_app()


def command(sender: SlackSender, slack: SlackEmulator, text: str, channel: str) -> tuple[dict[str, Any], str]:
    """Type the command in `channel`; the acknowledgement's body and the response_url."""
    response_url = slack.new_response_url(channel_id=channel, user_id=ALICE)
    response = sender.slash_command(text, user_id=ALICE, channel_id=channel, response_url=response_url)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body, response_url


def click(
    sender: SlackSender, slack: SlackEmulator, fc: FcServer, action_id: str, value: str, channel: str
) -> list[Any]:
    """Click a button of an ephemeral card in `channel`; every answer given through the response_url."""
    response_url = slack.new_response_url(channel_id=channel, user_id=ALICE)
    response = sender.block_action(
        action_id=action_id, value=value, channel_id=channel, user_id=ALICE, response_url=response_url,
        is_ephemeral=True,
    )  # fmt: skip
    assert response.status_code == 200
    fc.wait_for_async()
    return slack.calls_to("response_url")


def wire(ecs: EcsEmulator) -> list[tuple[str, str, str]]:
    """Every ECS request made with STS credentials: (account name, session name, action)."""
    assert ecs.accounts is not None
    return [(ACCOUNT_OF[c.account_id], c.session_name, c.action) for c in ecs.accounts.calls]


def session_of(registry: SessionRegistry, access_key_id: str) -> IssuedSession:
    return next(s for s in registry.sessions if s.access_key_id == access_key_id)


# --- a channel bound to two accounts -------------------------------------------------------------


@pytest.mark.usefixtures("accounts_env")
def test_a_channel_bound_to_two_accounts_queries_both_and_sees_each_accounts_tasks(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, registry: SessionRegistry
) -> None:
    # When Alice asks for every region in the channel bound to prod and staging (no account word)
    card, _ = command(sender, slack, "all", OPS)
    text = all_text(card["blocks"])

    # Then the card lists each account's task under its account and region, and not the function's own
    assert PROD_TASK in text and STAGING_TASK in text
    assert HOME_TASK not in text
    assert "prod · cn-hangzhou" in text and "staging · cn-shanghai" in text
    # And each account was asked in its own regions, in a read session named after Alice
    assert sorted(set(wire(ecs))) == [("prod", "slack-U0ALICE", "DescribeTasks"),
                                      ("staging", "slack-U0ALICE", "DescribeTasks")]  # fmt: skip
    assert {(ACCOUNT_OF[c.account_id], c.region_id) for c in ecs.accounts.calls} == {  # type: ignore[union-attr]
        ("prod", "cn-hangzhou"),
        ("staging", "cn-shanghai"),
    }
    # And on the wire every ECS request carried temporary credentials of the right account, never the
    # function's own key
    keys = [c.access_key_id for c in ecs.calls]
    assert keys and all(key is not None and key.startswith("STS.") for key in keys)
    assert ACCESS_KEY_ID not in keys
    for call in ecs.accounts.calls:  # type: ignore[union-attr]
        session = session_of(registry, call.access_key_id)
        assert (session.account_id, session.session_name) == (call.account_id, "slack-U0ALICE")
        assert session.allows("ecs:DescribeTasks") and not session.allows("ecs:CancelTask")

    # And the card's buttons carry both accounts, and each task's own
    found = buttons(card["blocks"])
    refresh = decode_query(found[ACTION_REFRESH][0]["value"], now=datetime.now().astimezone())
    assert found[ACTION_REFRESH][0]["value"].startswith(QUERY_PREFIX_V2)
    assert refresh.accounts == ("prod", "staging")
    refs = [decode_task_ref(d["value"], now=datetime.now().astimezone()) for d in found[ACTION_DETAILS]]
    assert {(ref.account, ref.task_id) for ref in refs} == {("prod", PROD_TASK), ("staging", STAGING_TASK)}


@pytest.mark.usefixtures("accounts_env")
def test_refresh_and_details_stay_in_the_buttons_accounts(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    card, _ = command(sender, slack, "all", OPS)
    found = buttons(card["blocks"])
    staging_details = next(d for d in found[ACTION_DETAILS] if decode_task_ref(d["value"]).task_id == STAGING_TASK)
    before = len(wire(ecs))

    # When Alice opens the staging task's details
    (answer,) = click(sender, slack, fc, staging_details["action_id"], staging_details["value"], OPS)

    # Then it was read in staging, in Alice's read session
    assert STAGING_TASK in all_text(answer.args["blocks"])
    assert wire(ecs)[before:] == [("staging", "slack-U0ALICE", "DescribeTaskAttribute")]

    # And Refresh runs the query in both accounts again
    before = len(wire(ecs))
    click(sender, slack, fc, found[ACTION_REFRESH][0]["action_id"], found[ACTION_REFRESH][0]["value"], OPS)
    assert {account for account, _, _ in wire(ecs)[before:]} == {"prod", "staging"}


@pytest.mark.usefixtures("accounts_env")
def test_an_account_word_narrows_the_query_to_that_account(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    card, _ = command(sender, slack, "prod all", OPS)
    text = all_text(card["blocks"])
    assert PROD_TASK in text and STAGING_TASK not in text
    assert {account for account, _, _ in wire(ecs)} == {"prod"}


@pytest.mark.usefixtures("accounts_env")
def test_accounts_lists_the_channels_accounts_and_their_regions(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    body, _ = command(sender, slack, "accounts", OPS)
    text = all_text(body["blocks"])
    assert "`prod`" in text and "cn-hangzhou" in text and "`staging`" in text and "cn-shanghai" in text
    body, _ = command(sender, slack, "accounts", PROD_ONLY)
    assert "staging" not in all_text(body["blocks"])
    assert ecs.calls == []


# --- a channel bound to one account cannot reach the other ---------------------------------------


@pytest.mark.usefixtures("accounts_env")
def test_a_channel_cannot_name_an_account_it_is_not_bound_to(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    # When the prod-only channel names staging
    body, _ = command(sender, slack, "staging all", PROD_ONLY)
    text = all_text(body["blocks"])
    # Then it is refused, naming the word and the channel's accounts, and nothing reaches ECS
    assert "Account `staging` is not available in this channel" in text and "`prod`" in text
    assert ecs.calls == []
    # And a misspelt account word is suggested the channel's account
    body, _ = command(sender, slack, "prd all", PROD_ONLY)
    assert "Did you mean `prod`?" in all_text(body["blocks"])


def _foreign_query() -> str:
    return encode_query(TaskQuery(regions=(ALL_REGIONS,), accounts=("prod", "staging")))


def _foreign_ref() -> str:
    return encode_task_ref("cn-shanghai", STAGING_TASK, TaskQuery(regions=("cn-shanghai",), accounts=("staging",)),
                           "staging")  # fmt: skip


def _home_query() -> str:
    return encode_query(TaskQuery(regions=("cn-hangzhou",)))  # version 1: the function's own account


def _home_ref() -> str:
    return encode_task_ref("cn-hangzhou", HOME_TASK, TaskQuery(regions=("cn-hangzhou",)))


# Every button kind that carries an account (a query or a task), with a value naming staging.
FOREIGN = {
    "refresh": (ACTION_REFRESH, _foreign_query),
    "prev": (ACTION_PREV, _foreign_query),
    "next": (ACTION_NEXT, _foreign_query),
    "details": (f"{ACTION_DETAILS}:0", _foreign_ref),
    "task_menu": (ACTION_TASK_MENU, _foreign_ref),
    "cancel": (f"{ACTION_CANCEL}:0", _foreign_ref),
    "watch": (f"{ACTION_WATCH}:0", _foreign_ref),
    "refresh_v1": (ACTION_REFRESH, _home_query),
    "details_v1": (f"{ACTION_DETAILS}:0", _home_ref),
    "cancel_v1": (f"{ACTION_CANCEL}:0", _home_ref),
}


@pytest.mark.usefixtures("accounts_env")
@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_every_button_refuses_a_value_naming_an_account_the_channel_is_not_bound_to(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, name: str
) -> None:
    action_id, value = FOREIGN[name]
    # When a forged value (or one from another channel's card, or from before accounts) is clicked in the
    # prod-only channel
    (answer,) = click(sender, slack, fc, action_id, value(), PROD_ONLY)
    # Then the click is refused with the channel's accounts, and neither STS nor ECS is asked anything
    assert "is not available in this channel" in answer.args["text"] and "`prod`" in answer.args["text"]
    assert ecs.calls == []


@pytest.mark.usefixtures("accounts_env")
def test_a_task_button_from_a_two_account_card_is_refused_in_a_one_account_channel(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    card, _ = command(sender, slack, "all", OPS)
    prod_details = next(d for d in buttons(card["blocks"])[ACTION_DETAILS] if PROD_TASK in d["value"] or
                        decode_task_ref(d["value"]).task_id == PROD_TASK)  # fmt: skip
    calls = len(ecs.calls)
    # Even the prod task's button names staging (the card's query ran in both): refused in C0PROD
    (answer,) = click(sender, slack, fc, prod_details["action_id"], prod_details["value"], PROD_ONLY)
    assert "`staging` is not available" in answer.args["text"]
    assert len(ecs.calls) == calls
    assert prod_details["value"].startswith(TASK_REF_PREFIX_V2)


def _prod_ref_in_shanghai() -> str:
    return encode_task_ref("cn-shanghai", PROD_TASK, TaskQuery(regions=("cn-hangzhou",), accounts=("prod",)), "prod")


# Every button whose value names a task's account and region, edited to name prod in a region prod does not cover.
OUTSIDE_THE_ACCOUNT = {
    "details": (f"{ACTION_DETAILS}:0", _prod_ref_in_shanghai),
    "task_menu": (ACTION_TASK_MENU, _prod_ref_in_shanghai),
    "cancel": (f"{ACTION_CANCEL}:0", _prod_ref_in_shanghai),
    "watch": (f"{ACTION_WATCH}:0", _prod_ref_in_shanghai),
}


@pytest.mark.usefixtures("accounts_env")
@pytest.mark.parametrize("name", sorted(OUTSIDE_THE_ACCOUNT))
def test_every_task_button_refuses_a_region_its_account_does_not_cover(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, name: str
) -> None:
    action_id, value = OUTSIDE_THE_ACCOUNT[name]
    # When a value edited to name prod's task in cn-shanghai (prod covers cn-hangzhou only) is clicked in
    # the prod-only channel
    (answer,) = click(sender, slack, fc, action_id, value(), PROD_ONLY)
    # Then the click is refused with the account's regions, and neither STS nor ECS is asked anything
    assert "cn-shanghai is not a region of `prod` (cn-hangzhou)" in answer.args["text"]
    assert ecs.calls == []


# --- Cancel --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("accounts_env")
def test_cancel_runs_in_a_cancel_session_and_the_card_after_it_in_a_read_session(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, registry: SessionRegistry
) -> None:
    card, _ = command(sender, slack, "all", PROD_ONLY)
    (cancel,) = buttons(card["blocks"])[ACTION_CANCEL]
    before = len(wire(ecs))

    # When Alice (who may cancel) clicks Cancel on the prod task
    answers = click(sender, slack, fc, cancel["action_id"], cancel["value"], PROD_ONLY)

    # Then CancelTask ran in prod under a session that may only cancel, and the card was read afterwards
    # through a read session
    assert PROD_TASK in answers[0].args["text"] and "cancelled" in answers[0].args["text"]
    assert "prod · cn-hangzhou" in answers[0].args["text"]
    after = wire(ecs)[before:]
    assert after[0] == ("prod", "slack-U0ALICE", "CancelTask")
    assert set(after[1:]) == {("prod", "slack-U0ALICE", "DescribeTasks")}
    assert ecs.accounts is not None
    cancel_call, *reads = ecs.accounts.calls[before:]
    assert cancel_call.allowed and all(read.allowed for read in reads)
    canceller = session_of(registry, cancel_call.access_key_id)
    assert canceller.allows("ecs:CancelTask") and not canceller.allows("ecs:DescribeTasks")
    for read in reads:
        reader = session_of(registry, read.access_key_id)
        assert reader.allows("ecs:DescribeTasks") and not reader.allows("ecs:CancelTask")
    # And the task is cancelled in prod (ECS shows it as Deleted); the function's own key was never used
    _, state = ecs.accounts.store(PROD_ID).find("cn-hangzhou", PROD_TASK, datetime.now().astimezone())
    assert state.status == "Deleted"
    assert all(c.access_key_id != ACCESS_KEY_ID for c in ecs.calls)


# --- STS errors, help, and no accounts -----------------------------------------------------------


@pytest.mark.usefixtures("accounts_env")
def test_an_sts_refusal_says_what_to_fix_in_which_account_and_no_secret(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given prod configured with an external id its role's trust policy does not accept
    accounts = {"prod": {"role_arn": PROD_ROLE, "regions": ["cn-hangzhou"], "external_id": "not-the-external-id"}}
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps(accounts))
    monkeypatch.setenv("ECS_TASKS_CHANNEL_ACCOUNTS", json.dumps({PROD_ONLY: ["prod"]}))
    http.reset_app()
    # When Alice queries prod
    body, _ = command(sender, slack, "all", PROD_ONLY)
    text = all_text(body["blocks"])
    # Then the answer names the account and the role, says what to fix, and holds no secret
    assert body.get("response_type") == "ephemeral"
    assert "account *prod*" in text and PROD_ROLE in text
    assert "not-the-external-id" not in text and ACCESS_KEY_SECRET not in text
    assert ecs.calls == []


@pytest.mark.usefixtures("accounts_env")
def test_in_two_accounts_one_refused_by_sts_the_other_still_answers(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given prod's external id is wrong (STS refuses it) and staging is fine, both bound to the ops channel
    accounts = {
        "prod": {"role_arn": PROD_ROLE, "regions": ["cn-hangzhou"], "external_id": "not-the-external-id"},
        "staging": {"role_arn": STAGING_ROLE, "regions": ["cn-shanghai"]},
    }
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps(accounts))
    http.reset_app()
    # When Alice queries every region of both
    body, _ = command(sender, slack, "all", OPS)
    text = all_text(body["blocks"])
    # Then staging's tasks are on the card, and prod's group says what STS refused, with no secret
    assert STAGING_TASK in text and PROD_TASK not in text
    assert "*prod · cn-hangzhou*" in text and "1 failed" in text
    assert "not-the-external-id" not in text and ACCESS_KEY_SECRET not in text
    assert {account for account, _, _ in wire(ecs)} == {"staging"}


@pytest.mark.usefixtures("accounts_env")
def test_an_account_named_like_a_grammar_word_is_answered_as_a_misconfiguration(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account named `failed`, which the grammar reads as a status
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps({"failed": {"role_arn": PROD_ROLE}}))
    monkeypatch.setenv("ECS_TASKS_CHANNEL_ACCOUNTS", json.dumps({OPS: ["failed"]}))
    http.reset_app()
    # When a command comes in, then Slack gets an answer naming the setting to fix, and ECS is not asked
    body, _ = command(sender, slack, "cn-hangzhou", OPS)
    assert "ECS_TASKS_ACCOUNTS" in all_text(body.get("blocks") or []) + str(body.get("text", ""))
    assert ecs.calls == []


@pytest.mark.parametrize("name", ["shanghai", "singapore", "us_east_1", "上海"])
@pytest.mark.usefixtures("accounts_env")
def test_an_account_named_like_a_region_is_answered_as_a_misconfiguration(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    # Given an account named as the console names a region (`us_east_1` is `US East 1` to the grammar)
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps({name: {"role_arn": PROD_ROLE}}))
    monkeypatch.setenv("ECS_TASKS_CHANNEL_ACCOUNTS", json.dumps({OPS: [name]}))
    http.reset_app()
    # When a command naming a region comes in
    body, _ = command(sender, slack, f"{name} cn-hangzhou", OPS)
    # Then Slack gets the misconfiguration answer naming the setting, and ECS is not asked
    text = all_text(body.get("blocks") or []) + str(body.get("text", ""))
    assert "misconfigured" in text and "ECS_TASKS_ACCOUNTS" in text
    assert ecs.calls == []


@pytest.mark.usefixtures("accounts_env")
def test_helps_buttons_run_in_the_channels_accounts(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    body, _ = command(sender, slack, "help", OPS)
    text = all_text(body["blocks"])
    assert "/ecs-tasks accounts" in text
    values = [b["value"] for b in buttons(body["blocks"])[ACTION_REFRESH]]
    assert values and all(decode_query(v).accounts == ("prod", "staging") for v in values)


def test_without_accounts_everything_runs_at_home_as_before(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, sts: StsEmulator
) -> None:
    # Given no accounts configured (the home task is the only one the function's own key sees)
    card, _ = command(sender, slack, "all", OPS)
    text = all_text(card["blocks"])
    assert HOME_TASK in text and PROD_TASK not in text
    assert "home ·" not in text and "prod ·" not in text  # no account is named on the card
    refresh = buttons(card["blocks"])[ACTION_REFRESH][0]["value"]
    assert not refresh.startswith(QUERY_PREFIX_V2)
    assert [c.access_key_id for c in ecs.calls] and {c.access_key_id for c in ecs.calls} == {ACCESS_KEY_ID}
    assert sts.calls == []
    # And `accounts` names the function's own account; an account word is an unknown word there
    body, _ = command(sender, slack, "accounts", OPS)
    assert "function's own account (`home`)" in all_text(body["blocks"])
    body, _ = command(sender, slack, "prod all", OPS)
    assert "Unknown word `prod`" in all_text(body["blocks"])


@pytest.mark.usefixtures("accounts_env")
def test_a_region_none_of_the_named_accounts_covers_is_explained(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    # prod covers cn-hangzhou only: asked for cn-shanghai, the answer says which regions prod covers
    body, _ = command(sender, slack, "prod cn-shanghai", OPS)
    text = all_text(body["blocks"])
    assert "None of these accounts works in cn-shanghai" in text and "`prod` covers cn-hangzhou" in text
    assert ecs.calls == []
    # And in both accounts, cn-shanghai is asked in staging only, and the card says prod was left out
    body, _ = command(sender, slack, "cn-shanghai", OPS)
    text = all_text(body["blocks"])
    assert STAGING_TASK in text
    assert "Not asked: `prod` covers cn-hangzhou" in text
    assert {account for account, _, _ in wire(ecs)} == {"staging"}


@pytest.mark.usefixtures("accounts_env")
def test_watch_on_a_card_watches_the_task_in_its_own_account(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    card, _ = command(sender, slack, "all", OPS)
    watch = next(
        w for w in buttons(card["blocks"])[ACTION_WATCH] if decode_task_ref(w["value"]).task_id == STAGING_TASK
    )
    before = len(wire(ecs))
    click(sender, slack, fc, watch["action_id"], watch["value"], OPS)
    # The task was looked up in staging only, in Alice's read session
    assert {account for account, _, _ in wire(ecs)[before:]} == {"staging"}
    # And the channel's list shows it watched in staging (the answer goes through the response_url)
    response_url = slack.new_response_url(channel_id=OPS, user_id=ALICE)
    sender.slash_command("list", user_id=ALICE, channel_id=OPS, response_url=response_url)
    fc.wait_for_async()
    listed = slack.calls_to("response_url")[-1].args
    text = all_text(listed["blocks"])
    assert STAGING_TASK in text and "staging" in text

    # When the list's Unwatch button is clicked, the watch in staging stops (its value names the account)
    (unwatch,) = [
        element
        for block in listed["blocks"]
        for element in [block.get("accessory") or {}]
        if str(element.get("action_id", "")).startswith(ACTION_UNWATCH)
    ]
    assert unwatch["value"] == f"staging/cn-shanghai/{STAGING_TASK}"
    answers = click(sender, slack, fc, unwatch["action_id"], unwatch["value"], OPS)
    assert any(f"Stopped watching `{STAGING_TASK}`" in all_text(a.args.get("blocks") or []) for a in answers)


def _list_unwatch_button(sender: SlackSender, slack: SlackEmulator, fc: FcServer, channel: str) -> dict[str, Any]:
    response_url = slack.new_response_url(channel_id=channel, user_id=ALICE)
    sender.slash_command("list", user_id=ALICE, channel_id=channel, response_url=response_url)
    fc.wait_for_async()
    listed = slack.calls_to("response_url")[-1].args
    (unwatch,) = [
        element
        for block in listed["blocks"]
        for element in [block.get("accessory") or {}]
        if str(element.get("action_id", "")).startswith(ACTION_UNWATCH)
    ]
    return unwatch


@pytest.mark.usefixtures("accounts_env")
def test_unwatch_on_the_channels_own_row_works_after_the_channel_is_rebound(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a staging task watched in the channel bound to prod and staging
    card, _ = command(sender, slack, "all", OPS)
    watch = next(
        w for w in buttons(card["blocks"])[ACTION_WATCH] if decode_task_ref(w["value"]).task_id == STAGING_TASK
    )
    click(sender, slack, fc, watch["action_id"], watch["value"], OPS)
    # And the channel then re-bound to prod alone
    monkeypatch.setenv("ECS_TASKS_CHANNEL_ACCOUNTS", json.dumps({OPS: ["prod"], PROD_ONLY: ["prod"]}))
    http.reset_app()
    unwatch = _list_unwatch_button(sender, slack, fc, OPS)
    assert unwatch["value"] == f"staging/cn-shanghai/{STAGING_TASK}"
    calls = len(ecs.calls)
    # When the list's Unwatch button is clicked
    answers = click(sender, slack, fc, unwatch["action_id"], unwatch["value"], OPS)
    # Then the channel's own watch stops, as typed `unwatch` would stop it, and ECS is not asked
    assert any(f"Stopped watching `{STAGING_TASK}`" in all_text(a.args.get("blocks") or []) for a in answers)
    assert not any("is not available" in str(a.args.get("text")) for a in answers)
    assert len(ecs.calls) == calls


@pytest.mark.usefixtures("accounts_env")
@pytest.mark.parametrize(
    "value", [f"staging/cn-shanghai/{STAGING_TASK}", f"cn-hangzhou/{HOME_TASK}", f"prod/cn-shanghai/{PROD_TASK}"]
)
def test_an_unwatch_value_naming_another_account_stops_nothing_but_the_channels_own_rows(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, value: str
) -> None:
    # When a forged Unwatch value naming an account the prod-only channel is not bound to (or a region its
    # account does not cover) is clicked there
    answers = click(sender, slack, fc, f"{ACTION_UNWATCH}:0", value, PROD_ONLY)
    # Then nothing the channel does not hold is touched, and neither STS nor ECS is asked anything
    assert any("None of these tasks is watched in this channel" in all_text(a.args.get("blocks") or [])
               for a in answers)  # fmt: skip
    assert ecs.calls == []
