"""Channel updates in several accounts, end to end over loopback HTTP: the bot's watch and subscribe
work looks tasks up in the channel's accounts under the user's session; the poller built by bot.wiring.build polls
each (account, region) group with that account's credentials, assumed at the STS emulator under the poller's
session, and posts each change once to the Slack emulator. The ECS emulator serves each account's own tasks
to the credentials STS issued for it, and records which account and session every request came from."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import insert

from bot.language.grammar import SubscribeCommand
from bot.slack.answering.reply import Answer, ResponseUrl, send
from bot.usecases.channel_status import channel_list
from bot.usecases.subscribing import subscribe
from bot.usecases.watching import unwatch_tasks, watch_tasks
from bot.usecases.where import Where
from bot.usecases.work import Replies
from bot.wiring.build import build_bot_deps, build_poller, response_url_client
from bot.wiring.deps import BotDeps
from emulators.ecs.accounts import AccountCall
from emulators.ecs.server import EcsEmulator
from emulators.slack import SlackEmulator
from emulators.sts.server import StsEmulator
from emulators.sts.sessions import SessionRegistry
from shared.config import Settings
from shared.ecs.models import Task
from shared.log import LOGGER_NAME
from shared.store import SqlStore, open_store
from shared.store.schema import watches
from shared.updates.model import task_to_json
from tests.conftest import BOT_TOKEN
from tests.sts_support import CALLERS, HOME_KEY_ID, HOME_KEY_SECRET, PROD_ROLE, ROLES, STAGING_ROLE

PROD_ID, STAGING_ID = "1111111111111111", "2222222222222222"
# A role STS refuses to let the function assume (it is in no trust policy of the emulator's roles).
BROKEN_ROLE = "acs:ram::3333333333333333:role/ecs-tasks-read"
HANGZHOU, SHANGHAI = "cn-hangzhou", "cn-shanghai"
OPS, PROD_ONLY, HOME_CHANNEL = "C0OPS", "C0PROD", "C0HOME"
USER = "U0ALICE"
POLLER = "ecs-tasks-poller"
BUDGET_S = 50.0
ACCOUNTS = {
    "prod": {"role_arn": PROD_ROLE, "regions": [HANGZHOU], "external_id": "prod-external-id"},
    "staging": {"role_arn": STAGING_ROLE, "regions": [SHANGHAI]},
}


@dataclass
class World:
    ecs: EcsEmulator
    sts: StsEmulator
    slack: SlackEmulator
    settings: Settings
    store: SqlStore
    tmp_path: Path

    def account_calls(self, action: str = "DescribeTasks") -> list[AccountCall]:
        assert self.ecs.accounts is not None
        return [c for c in self.ecs.accounts.calls if c.action == action]

    def home_calls(self, action: str = "DescribeTasks") -> list[Any]:
        return [c for c in self.ecs.calls if c.action == action and c.access_key_id == HOME_KEY_ID]

    def add_task(self, account_id: str | None, region: str, **lifecycle: Any) -> str:
        fields = {"RegionId": region, "TaskAction": "ImportImage", "waiting_s": 0, "processing_s": 600, **lifecycle}
        if account_id is None:
            return self.ecs.add_task(**fields)
        assert self.ecs.accounts is not None
        return self.ecs.accounts.add_task(account_id, self.ecs.clock.now(), **fields)

    def deps(self) -> BotDeps:
        return build_bot_deps(self.settings, clock=self.ecs.clock.now)

    def respond(self, channel: str) -> ResponseUrl:
        return ResponseUrl(self.slack.new_response_url(channel_id=channel, user_id=USER), response_url_client)

    def web(self) -> WebClient:
        return WebClient(token=BOT_TOKEN, base_url=self.slack.api_url, retry_handlers=[])

    def send(self, channel: str, replies: Replies) -> None:
        """What the Slack layer does with a use case's replies: send them through the request's response_url."""
        send(Answer(self.respond(channel), self.web()), replies)


def make_settings(tmp_path: Path, ecs: EcsEmulator, sts: StsEmulator, slack: SlackEmulator, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "ecs_endpoint": ecs.base_url,
        "sts_endpoint": sts.base_url,
        "slack_api_url": slack.api_url,
        "slack_bot_token": BOT_TOKEN,
        "database_url": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "repoll_interval_s": 0,
        "accounts": json.dumps(ACCOUNTS),
        "channel_accounts": json.dumps({OPS: ["prod", "staging"], PROD_ONLY: ["prod"]}),
        **extra,
    }
    return Settings(**values)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, slack: SlackEmulator) -> Iterator[World]:
    registry = SessionRegistry()
    ecs = EcsEmulator(seed=[], credentials={HOME_KEY_ID: HOME_KEY_SECRET}, sessions=registry, listing="strict")
    sts = StsEmulator(callers=CALLERS, roles=ROLES, registry=registry)
    with ecs, sts:
        # The function's own credentials, as Function Compute sets them.
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", HOME_KEY_ID)
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", HOME_KEY_SECRET)
        monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)
        settings = make_settings(tmp_path, ecs, sts, slack)
        store = open_store(settings.database_url.get_secret_value() if settings.database_url else None)
        try:
            yield World(ecs, sts, slack, settings, store, tmp_path)
        finally:
            store.engine.dispose()


def stored_watches(store: SqlStore, rows: list[tuple[str, str, str, str]], *, now: Any) -> None:
    """Watches as an earlier command left them: (channel, account, region, task id), last seen Processing."""
    values = [
        {
            "team_id": None,
            "channel_id": channel,
            "account": account,
            "user_id": USER,
            "region_id": region,
            "task_id": task_id,
            "origin": "watch",
            "announced": True,
            "last_status": "Processing",
            "version": 1,
            "task_json": task_to_json(
                Task.model_validate({"TaskId": task_id, "TaskStatus": "Processing", "RegionId": region})
            ),
            "card_ts": "1.0",
            "thread_ts": "1.0",
            "state": "active",
            "live": 1,
            "created_at": now,
            "expires_at": now + timedelta(days=7),
            "updated_at": now,
        }
        for channel, account, region, task_id in rows
    ]
    with store.engine.begin() as connection:
        connection.execute(insert(watches), values)


@pytest.fixture
def our_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Our logger stops propagating once a JSON handler is attached (shared.log): hand caplog its records."""
    ours = logging.getLogger(LOGGER_NAME)
    ours.addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        yield caplog
    ours.removeHandler(caplog.handler)


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    unique = {id(record): record for record in caplog.records}.values()
    return [getattr(r, "fields", {}) for r in unique if r.name == LOGGER_NAME and r.getMessage() == name]


def thread_replies(world: World, channel: str) -> list[Any]:
    return [m for m in world.slack.messages(channel) if m.thread_ts is not None and m.ephemeral_to is None]


def ephemeral_texts(world: World) -> str:
    return " ".join(json.dumps(c.args) for c in world.slack.calls_to("response_url"))


# --- the poller ----------------------------------------------------------------------------------------


def test_watches_in_two_accounts_are_polled_with_each_accounts_poller_session_and_posted_once(world: World) -> None:
    # Given a task in prod (cn-hangzhou) and one in staging (cn-shanghai), watched in a channel bound to both
    prod_task = world.add_task(PROD_ID, HANGZHOU, processing_s=60)
    staging_task = world.add_task(STAGING_ID, SHANGHAI, processing_s=60)
    deps, where = world.deps(), Where(None, OPS, USER)
    world.send(OPS, watch_tasks(deps, where, HANGZHOU, [prod_task]))
    world.send(OPS, watch_tasks(deps, where, SHANGHAI, [staging_task]))
    stored = {(t.account, t.region_id, t.task_id) for t in world.store.watches.poll_targets()}
    assert stored == {("prod", HANGZHOU, prod_task), ("staging", SHANGHAI, staging_task)}
    # (the look-ups ran in each account under Alice's own session)
    assert {(c.account_id, c.session_name) for c in world.account_calls()} == {
        (PROD_ID, "slack-U0ALICE"),
        (STAGING_ID, "slack-U0ALICE"),
    }
    world.ecs.reset_calls()
    assert world.ecs.accounts is not None
    before = len(world.ecs.accounts.calls)

    # When both tasks finish and the poller ticks (twice: a retried timer event)
    world.ecs.advance(61)
    poller = build_poller(world.settings, clock=world.ecs.clock.now)
    first, second = poller.tick(BUDGET_S), poller.tick(BUDGET_S)

    # Then each account was asked once (the second tick found nothing left to poll), under the poller's
    # session, about its own region
    polled = world.ecs.accounts.calls[before:]
    assert sorted((c.account_id, c.session_name, c.region_id) for c in polled if c.action == "DescribeTasks") == [
        (PROD_ID, POLLER, HANGZHOU),
        (STAGING_ID, POLLER, SHANGHAI),
    ]
    # with temporary credentials STS issued to the poller's session in that very account, never the function's key
    issued = {(s.account_id, s.session_name): s.access_key_id for s in world.sts.registry.sessions}
    for call in polled:
        assert call.access_key_id == issued[(call.account_id, POLLER)]
    assert world.home_calls() == [] and all((c.access_key_id or "").startswith("STS.") for c in world.ecs.calls)
    # And each change was posted once: one card update and one thread reply per task, none on the retry
    assert (first.accepted, first.posted, second.accepted, second.posted) == (2, 2, 0, 0)
    replies = thread_replies(world, OPS)
    assert len(replies) == 2 and all("Finished" in r.text for r in replies)
    assert len(world.slack.calls_to("chat.update")) == 2


def test_a_stored_watch_in_an_account_the_channel_is_no_longer_bound_to_is_refused_and_logged_once(
    world: World, our_log: pytest.LogCaptureFixture
) -> None:
    # Given a watch of a staging task in a channel that is now bound to prod only, and a prod watch beside it
    staging_task = world.add_task(STAGING_ID, SHANGHAI)
    prod_task = world.add_task(PROD_ID, HANGZHOU)
    now = world.ecs.clock.now()
    stored_watches(
        world.store, [(PROD_ONLY, "staging", SHANGHAI, staging_task), (PROD_ONLY, "prod", HANGZHOU, prod_task)], now=now
    )
    # When the poller ticks twice
    poller = build_poller(world.settings, clock=world.ecs.clock.now)
    reports = [poller.tick(BUDGET_S), poller.tick(BUDGET_S)]

    # Then staging was never asked (nor were its credentials assumed); prod was, each tick
    assert {c.account_id for c in world.account_calls()} == {PROD_ID}
    assert {s.account_id for s in world.sts.registry.sessions} == {PROD_ID}
    assert [r.suspended for r in reports] == [1, 1]
    # And the refusal was told once (logged and marked on the row), not every tick
    suspended = events(our_log, "updates.suspended")
    assert [(e["task_id"], e["reason"]) for e in suspended] == [(staging_task, "account_not_bound")]
    marks = {t.task_id: t.suspended for t in world.store.watches.poll_targets()}
    assert marks == {staging_task: "account_not_bound", prod_task: None}


def test_a_watch_in_an_account_no_longer_configured_is_refused_too(world: World, tmp_path: Path) -> None:
    # Given a staging watch, and then staging removed from the settings altogether
    staging_task = world.add_task(STAGING_ID, SHANGHAI)
    stored_watches(world.store, [(OPS, "staging", SHANGHAI, staging_task)], now=world.ecs.clock.now())
    settings = make_settings(
        tmp_path,
        world.ecs,
        world.sts,
        world.slack,
        accounts=json.dumps({"prod": ACCOUNTS["prod"]}),
        channel_accounts=json.dumps({OPS: ["prod"]}),
    )
    report = build_poller(settings, clock=world.ecs.clock.now).tick(BUDGET_S)
    assert report.suspended == 1 and report.describe_calls == 0
    assert world.ecs.calls == [] and world.sts.calls == []


def test_each_group_makes_at_most_one_describe_tasks_call_per_100_watched_tasks(world: World) -> None:
    # Given 150 prod watches, 30 staging watches and 101 home watches (a channel bound to no account)
    now = world.ecs.clock.now()
    prod = [world.add_task(PROD_ID, HANGZHOU) for _ in range(150)]
    staging = [world.add_task(STAGING_ID, SHANGHAI) for _ in range(30)]
    home = [world.add_task(None, HANGZHOU) for _ in range(101)]
    rows = [(OPS, "prod", HANGZHOU, t) for t in prod] + [(OPS, "staging", SHANGHAI, t) for t in staging]
    rows += [(HOME_CHANNEL, "home", HANGZHOU, t) for t in home]
    stored_watches(world.store, rows, now=now)

    # When the poller ticks
    report = build_poller(world.settings, clock=world.ecs.clock.now).tick(BUDGET_S)

    # Then each (account, region) group made ceil(n / 100) DescribeTasks calls, each within its own account
    per_account = {PROD_ID: 0, STAGING_ID: 0}
    for call in world.account_calls():
        per_account[call.account_id] += 1
    assert per_account == {PROD_ID: 2, STAGING_ID: 1}
    assert len(world.home_calls()) == 2
    assert report.describe_calls == 5 and report.watches == 281 and report.carried_regions == ()
    # and no task needed a look-up: every one was listed by its own account
    assert world.account_calls("DescribeTaskAttribute") == [] and world.home_calls("DescribeTaskAttribute") == []


def test_an_account_whose_role_cannot_be_assumed_is_carried_and_the_others_still_post(
    world: World, tmp_path: Path
) -> None:
    # Given a channel bound to prod and to an account whose role STS refuses, with a watch in each
    accounts = {**ACCOUNTS, "broken": {"role_arn": BROKEN_ROLE, "regions": [HANGZHOU]}}
    settings = make_settings(
        tmp_path,
        world.ecs,
        world.sts,
        world.slack,
        accounts=json.dumps(accounts),
        channel_accounts=json.dumps({OPS: ["prod", "broken"]}),
    )
    prod_task = world.add_task(PROD_ID, HANGZHOU, processing_s=60)
    now = world.ecs.clock.now()
    stored_watches(world.store, [(OPS, "prod", HANGZHOU, prod_task), (OPS, "broken", HANGZHOU, "t-broken001")], now=now)
    world.ecs.advance(61)

    # When the poller ticks
    report = build_poller(settings, clock=world.ecs.clock.now).tick(BUDGET_S)

    # Then STS refused the broken account, whose group is carried to the next tick, and prod's change is posted
    assert report.carried_regions == ("broken/cn-hangzhou",)
    assert (report.accepted, report.posted) == (1, 1)
    assert [c.account_id for c in world.account_calls()] == [PROD_ID]
    # (its card was made up by the test, so a new card replaces it and the notice goes to its thread)
    card, notice = world.slack.messages(OPS)
    assert notice.text == f"{prod_task} Finished, took 1m 00s" and notice.thread_ts == card.ts
    # and the broken watch is still there, untouched, for when its role is fixed
    broken = [t for t in world.store.watches.poll_targets() if t.account == "broken"]
    assert len(broken) == 1 and broken[0].last_status == "Processing" and broken[0].suspended is None


# --- the bot's commands ---------------------------------------------------------------------------------


def test_watch_without_an_account_asks_when_the_task_is_in_two_of_the_channels_accounts(world: World) -> None:
    # Given the same task id in prod and staging (the emulator lets a test make one), both in cn-hangzhou
    wide = json.loads(json.dumps(ACCOUNTS))
    wide["staging"]["regions"] = [HANGZHOU, SHANGHAI]
    settings = make_settings(world.tmp_path, world.ecs, world.sts, world.slack, accounts=json.dumps(wide))
    task_id = world.add_task(PROD_ID, HANGZHOU)
    assert world.ecs.accounts is not None
    world.ecs.accounts.store(STAGING_ID).add_seed(
        {"TaskId": task_id, "RegionId": HANGZHOU, "TaskAction": "ImportImage", "waiting_s": 0, "processing_s": 600},
        world.ecs.clock.now(),
    )
    deps = build_bot_deps(settings, clock=world.ecs.clock.now)

    # When Alice watches it without naming an account
    world.send(OPS, watch_tasks(deps, Where(None, OPS, USER), HANGZHOU, [task_id]))

    # Then nothing is watched, and she is asked to name the account
    assert world.store.watches.poll_targets() == []
    text = ephemeral_texts(world)
    assert "more than one of this channel" in text and "`prod`" in text and "`staging`" in text
    # When she names it, the task is watched in that account only
    world.send(OPS, watch_tasks(deps, Where(None, OPS, USER), HANGZHOU, [task_id], "staging"))
    assert [(t.account, t.task_id) for t in world.store.watches.poll_targets()] == [("staging", task_id)]


def test_a_named_account_the_channel_is_not_bound_to_is_refused_without_an_ecs_call(world: World) -> None:
    task_id = world.add_task(STAGING_ID, SHANGHAI)
    world.send(PROD_ONLY, watch_tasks(world.deps(), Where(None, PROD_ONLY, USER), SHANGHAI,
                [task_id], "staging"))  # fmt: skip
    assert world.store.watches.poll_targets() == [] and world.ecs.calls == [] and world.sts.calls == []
    assert "Account `staging` is not available in this channel" in ephemeral_texts(world)


def test_subscribe_without_an_account_subscribes_in_each_of_the_channels_accounts_and_says_so(world: World) -> None:
    deps, where = world.deps(), Where(None, OPS, USER)
    world.send(OPS, subscribe(deps, where, SubscribeCommand(("all",))))
    stored = sorted((s.account, s.region_id) for s in world.store.subscriptions.all())
    assert stored == [("prod", "all"), ("staging", "all")]
    (notice,) = [m for m in world.slack.messages(OPS) if m.ephemeral_to is None]
    assert (
        "account prod" in notice.text
        and "account staging" in notice.text
        and "one subscription per account" in (notice.text)
    )
    # And the list names each entry's account
    listed = json.dumps(channel_list(deps, OPS).blocks)
    assert "account prod" in listed and "account staging" in listed


def test_unwatch_with_an_account_stops_only_that_accounts_watch(world: World) -> None:
    now = world.ecs.clock.now()
    stored_watches(world.store, [(OPS, "prod", HANGZHOU, "t-same0001"), (OPS, "staging", HANGZHOU, "t-same0001")],
                   now=now)  # fmt: skip
    world.send(OPS, unwatch_tasks(world.deps(), Where(None, OPS, USER), region=HANGZHOU, task_ids=("t-same0001",),
                                  account="staging"))  # fmt: skip
    assert [t.account for t in world.store.watches.poll_targets()] == ["prod"]
    assert "Stopped watching `t-same0001`" in ephemeral_texts(world)


def test_with_no_accounts_configured_commands_and_the_poller_work_as_before(world: World, tmp_path: Path) -> None:
    # Given settings with no accounts: every channel works in the function's own account
    settings = make_settings(tmp_path, world.ecs, world.sts, world.slack, accounts="{}", channel_accounts="{}")
    deps = build_bot_deps(settings, clock=world.ecs.clock.now)
    task_id = world.add_task(None, HANGZHOU, processing_s=60)
    world.send(OPS, watch_tasks(deps, Where(None, OPS, USER), HANGZHOU, [task_id]))
    assert [(t.account, t.task_id) for t in world.store.watches.poll_targets()] == [("home", task_id)]
    assert "account" not in json.dumps(channel_list(deps, OPS).blocks)
    world.ecs.advance(61)
    report = build_poller(settings, clock=world.ecs.clock.now).tick(BUDGET_S)
    assert (report.accepted, report.posted, report.carried_regions) == (1, 1, ())
    # Every request was signed with the function's own key; STS was never called
    assert world.sts.calls == [] and {c.access_key_id for c in world.ecs.calls} == {HOME_KEY_ID}


def test_subscriptions_in_each_account_scan_that_account_under_the_pollers_session(world: World) -> None:
    # Given `subscribe all` in a channel bound to prod (cn-hangzhou) and staging (cn-shanghai)
    world.send(OPS, subscribe(world.deps(), Where(None, OPS, USER), SubscribeCommand(("all",))))
    world.ecs.advance(1)
    # and then a new task in each account
    prod_task = world.add_task(PROD_ID, HANGZHOU)
    staging_task = world.add_task(STAGING_ID, SHANGHAI)
    world.ecs.advance(60)  # (the API takes StartTime and EndTime to the minute)
    assert world.ecs.accounts is not None
    before = len(world.ecs.accounts.calls)

    # When the poller ticks twice
    poller = build_poller(world.settings, clock=world.ecs.clock.now)
    first, second = poller.tick(BUDGET_S), poller.tick(BUDGET_S)

    # Then each account's own regions were scanned in that account, under the poller's session
    scans = [c for c in world.ecs.accounts.calls[before:] if c.action == "DescribeTasks"]
    assert {(c.account_id, c.session_name, c.region_id) for c in scans} == {
        (PROD_ID, POLLER, HANGZHOU),
        (STAGING_ID, POLLER, SHANGHAI),
    }
    # and each new task was announced once in the channel, followed in its own account
    assert (first.discovered, first.posted, second.discovered, second.posted) == (2, 2, 0, 0)
    cards = [m for m in world.slack.messages(OPS) if m.ephemeral_to is None and m.thread_ts is None]
    assert sum(prod_task in json.dumps(m.blocks) for m in cards) == 1
    assert sum(staging_task in json.dumps(m.blocks) for m in cards) == 1
    followed = {(t.account, t.task_id) for t in world.store.watches.poll_targets()}
    assert followed == {("prod", prod_task), ("staging", staging_task)}


def test_watch_still_finds_the_task_when_another_of_the_channels_accounts_cannot_be_assumed(world: World) -> None:
    accounts = {**ACCOUNTS, "broken": {"role_arn": BROKEN_ROLE, "regions": [HANGZHOU]}}
    settings = make_settings(world.tmp_path, world.ecs, world.sts, world.slack, accounts=json.dumps(accounts),
                             channel_accounts=json.dumps({OPS: ["broken", "prod"]}))  # fmt: skip
    task_id = world.add_task(PROD_ID, HANGZHOU)
    deps = build_bot_deps(settings, clock=world.ecs.clock.now)
    world.send(OPS, watch_tasks(deps, Where(None, OPS, USER), HANGZHOU, [task_id]))
    assert [(t.account, t.task_id) for t in world.store.watches.poll_targets()] == [("prod", task_id)]
    text = ephemeral_texts(world)
    assert "Could not look in account `broken`" in text and "not found" not in text


def test_a_stored_row_with_a_malformed_account_name_is_suspended_and_never_used(
    world: World, our_log: pytest.LogCaptureFixture
) -> None:
    hostile = "Prod\nx=1"
    stored_watches(world.store, [(OPS, hostile, HANGZHOU, "t-hostile001")], now=world.ecs.clock.now())
    report = build_poller(world.settings, clock=world.ecs.clock.now).tick(BUDGET_S)
    assert report.suspended == 1 and world.ecs.calls == [] and world.sts.calls == []
    assert [e["reason"] for e in events(our_log, "updates.suspended")] == ["account_invalid"]
    assert all(hostile not in json.dumps(r.__dict__.get("fields", {})) for r in our_log.records)


def test_a_binding_made_in_slack_applies_from_the_pollers_next_tick(world: World) -> None:
    # Given a watch of a staging task in a channel configured to prod only: the poller suspends it
    staging_task = world.add_task(STAGING_ID, SHANGHAI)
    stored_watches(world.store, [(PROD_ONLY, "staging", SHANGHAI, staging_task)], now=world.ecs.clock.now())
    poller = build_poller(world.settings, clock=world.ecs.clock.now)
    assert poller.tick(BUDGET_S).suspended == 1
    # When an admin binds the channel to staging in Slack (the store, as `/ecs-tasks bind staging` leaves it)
    world.store.bindings.put(PROD_ONLY, ("staging",), by=USER, now=world.ecs.clock.now())
    # Then the same poller's next tick resumes the watch and asks staging for it
    assert poller.tick(BUDGET_S).suspended == 0
    assert {t.task_id: t.suspended for t in world.store.watches.poll_targets()} == {staging_task: None}
    assert {c.account_id for c in world.account_calls()} == {STAGING_ID}
