"""Channel bindings made in Slack, end to end on each database: signed `/ecs-tasks bind`, `unbind` and
`bindings` through the FC stand-in to the handler, the STS and ECS emulators behind it.

C0OPS is configured to prod; an admin binds it to staging in Slack (which replaces prod there), and unbinding
staging returns it to prod, suspending the channel's subscription in staging."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.eventbridge import EventBridgeStandIn, api_call_event
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from emulators.sts.server import StsEmulator
from emulators.sts.service import Caller, Role
from emulators.sts.sessions import SessionRegistry
from functions import events, http
from shared.store import SqlStore
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET
from tests.poller_support import ENGINES, database_url, fresh_store

OPS = "C0OPS"
ADMIN, OTHER = "U0ADMIN", "U0OTHER"
FUNCTION_ROLE = "acs:ram::1000000000000000:role/ecs-tasks-fc"
PROD_ROLE = "acs:ram::1111111111111111:role/ecs-tasks-read"
STAGING_ROLE = "acs:ram::2222222222222222:role/ecs-tasks-read"
ACCOUNTS = {
    "prod": {"role_arn": PROD_ROLE, "regions": ["cn-hangzhou"]},
    "staging": {"role_arn": STAGING_ROLE, "regions": ["cn-shanghai"]},
}


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    yield from fresh_store(database_url(request.param, tmp_path))


STAGING_ID = "2222222222222222"
STAGING_TASK = "t-stag0000000000000001"


@pytest.fixture
def registry() -> SessionRegistry:
    return SessionRegistry()


@pytest.fixture
def sts(registry: SessionRegistry) -> Iterator[StsEmulator]:
    roles = [Role(PROD_ROLE, frozenset({FUNCTION_ROLE})), Role(STAGING_ROLE, frozenset({FUNCTION_ROLE}))]
    callers = {ACCESS_KEY_ID: Caller(ACCESS_KEY_SECRET, FUNCTION_ROLE)}
    with StsEmulator(callers=callers, roles=roles, registry=registry) as emulator:
        yield emulator


@pytest.fixture
def ecs(registry: SessionRegistry) -> Iterator[EcsEmulator]:
    """Overrides conftest's: the sessions STS issued are accepted, and staging has a running ImportImage."""
    running = {"TaskId": STAGING_TASK, "RegionId": "cn-shanghai", "TaskAction": "ImportImage",
               "TaskStatus": "Processing", "created_ago_s": 60}  # fmt: skip
    emulator = EcsEmulator(
        seed=[],
        credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET},
        sessions=registry,
        account_seeds={STAGING_ID: [running]},
    )
    with emulator:
        yield emulator


@pytest.fixture
def bindings_env(app_env: dict[str, str], store: SqlStore, sts: StsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_TASKS_DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps(ACCOUNTS))
    monkeypatch.setenv("ECS_TASKS_CHANNEL_ACCOUNTS", json.dumps({OPS: ["prod"]}))
    monkeypatch.setenv("STS_ENDPOINT", sts.base_url)
    monkeypatch.setenv("ECS_TASKS_ADMIN_USER_IDS", ADMIN)
    http.reset_app()


def say(fc: FcServer, sender: SlackSender, slack: SlackEmulator, text: str, user: str = ADMIN) -> str:
    """Type `/ecs-tasks TEXT` in C0OPS; everything answered (acknowledgement and response_url), as text."""
    before = len(slack.calls_to("response_url"))
    response_url = slack.new_response_url(channel_id=OPS, user_id=user)
    response = sender.slash_command(text, user_id=user, channel_id=OPS, response_url=response_url)
    assert response.status_code == 200
    fc.wait_for_async(timeout=30)
    later = [json.dumps(call.args, ensure_ascii=False) for call in slack.calls_to("response_url")[before:]]
    return " ".join([response.text if response.content else "", *later])


def posts(slack: SlackEmulator) -> list[str]:
    return [json.dumps(call.args, ensure_ascii=False) for call in slack.calls_to("chat.postMessage")]


def new_instance() -> None:
    """A fresh instance: its policy is read now, not within the held one's 30 s."""
    http.reset_app()


@pytest.mark.usefixtures("bindings_env")
def test_bind_replaces_the_configured_binding_and_unbind_returns_to_it(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, store: SqlStore
) -> None:
    # Given C0OPS configured to prod: staging is refused there
    assert "not available in this channel" in say(fc, sender, slack, "staging cn-shanghai")
    # When the admin binds it to staging in Slack
    say(fc, sender, slack, "bind staging")
    # Then the change is posted in the channel and stored
    (posted,) = posts(slack)
    assert "bound this channel to `staging`" in posted and f"<@{ADMIN}>" in posted
    assert store.bindings.all() == {OPS: ("staging",)}
    # and commands see it (a fresh instance; a warm one within its 30 s): staging in force, prod not
    new_instance()
    accounts = say(fc, sender, slack, "accounts")
    assert "staging" in accounts and "prod" not in accounts
    shown = say(fc, sender, slack, "bindings")
    assert "*Configured:* `prod`" in shown and "*Made in Slack:* `staging`" in shown
    assert "*In force:* the binding made in Slack" in shown
    # Given a subscription in staging, made while staging is bound
    say(fc, sender, slack, "subscribe staging cn-shanghai failed")
    assert [s.account for s in store.subscriptions.for_channel(OPS)] == ["staging"]
    # When the admin unbinds staging
    say(fc, sender, slack, "unbind staging")
    # Then the channel is back to prod, the subscription in staging is suspended, and the post says how many
    assert "back to its configured accounts (`prod`)" in posts(slack)[-1]
    assert "Suspended 1 of its watches and subscriptions in `staging`" in posts(slack)[-1]
    assert store.bindings.all() == {}
    (subscription,) = store.subscriptions.for_channel(OPS)
    assert subscription.account == "staging" and subscription.suspended == "account_not_bound"
    new_instance()
    assert "*Made in Slack:* none" in say(fc, sender, slack, "bindings")


@pytest.mark.usefixtures("bindings_env")
def test_a_non_admin_an_unknown_account_and_too_many_accounts_are_refused(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for command in ("bind staging", "unbind staging", "bindings", "doctor"):
        assert "for the deployment's admins" in say(fc, sender, slack, command, user=OTHER)
    assert "`prdo` is not a configured account. Did you mean `prod`?" in say(fc, sender, slack, "bind prdo")
    assert "`staging` is not bound to this channel in Slack" in say(fc, sender, slack, "unbind staging")
    # Given nine configured accounts, a binding of all of them is refused
    many = {f"acct{i}": {"role_arn": PROD_ROLE} for i in range(9)}
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps({**ACCOUNTS, **many}))
    new_instance()
    assert "at most 8 accounts" in say(fc, sender, slack, "bind " + " ".join(many))
    assert posts(slack) == [] and store.bindings.all() == {}


def test_without_a_database_bind_says_it_needs_one(
    app_env: dict[str, str], fc: FcServer, sender: SlackSender, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ECS_TASKS_DATABASE_URL")
    monkeypatch.setenv("ECS_TASKS_ADMIN_USER_IDS", ADMIN)
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps(ACCOUNTS))
    monkeypatch.setenv("FC_FUNCTION_NAME", "")  # not on FC: a missing database is not a misconfiguration
    http.reset_app()
    answer: Any = say(fc, sender, slack, "bind staging")
    assert "Bindings made in Slack need a database" in answer


@pytest.mark.usefixtures("bindings_env")
def test_an_event_in_an_account_bound_in_slack_is_announced_in_the_channel_bound_to_it(
    store: SqlStore, ecs: EcsEmulator, slack: SlackEmulator
) -> None:
    # Given C0OPS configured to prod, bound in Slack to staging, and subscribed to staging's tasks
    store.bindings.put(OPS, ("staging",), by=ADMIN, now=ecs.clock.now())
    store.subscriptions.add(
        team_id=None,
        channel_id=OPS,
        user_id=ADMIN,
        region_id="cn-shanghai",
        status=None,
        action=None,
        now=ecs.clock.now() - timedelta(minutes=5),
        account="staging",
    )
    task_id = STAGING_TASK
    events.reset_announcer()
    bridge = EventBridgeStandIn(deliver=lambda body: events.handler(body, None))
    # When EventBridge delivers the task's start in staging's account
    event = api_call_event(
        action="ImportImage",
        region_id="cn-shanghai",
        account_id=STAGING_ID,
        at=ecs.clock.now(),
        request={"ImageName": "web-1"},
        response={"TaskId": task_id},
        user="alice",
    )
    try:
        (answer,) = bridge.publish(event)
    finally:
        events.reset_announcer()
    # Then the events function holds the binding made in Slack as the Slack function does: announced in C0OPS
    assert answer == {"ok": True, "announced": 1}
    assert task_id in " ".join(posts(slack))
