"""An EcsClient per account and session (bot.wiring.build.EcsClients.client_for), end to end over loopback HTTP: our STS
client assumes each account's role at the STS emulator, and the ECS emulator serves each account's own tasks
to the temporary credentials, refusing what the session policy does not allow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from bot.wiring.build import build_function_compute_deferral, build_policy, ecs_clients
from emulators.ecs.server import EcsEmulator
from emulators.sts.server import StsEmulator
from emulators.sts.sessions import IssuedSession, Policy, SessionRegistry
from shared.config import Settings
from shared.ecs.accounts import HOME
from shared.ecs.client import EcsClient
from shared.ecs.credentials import Credentials, StaticCredentialsProvider
from shared.ecs.sessions import Purpose, SessionSpec
from shared.ecs.transport import ApiTransport
from shared.errors import EcsApiError
from tests.sts_support import CALLERS, HOME_KEY_ID, HOME_KEY_SECRET, PROD_ROLE, ROLES, STAGING_ROLE

PROD_ID, STAGING_ID = "1111111111111111", "2222222222222222"
HOME_TASK, PROD_TASK, STAGING_TASK = "t-home0000000000000001", "t-prod0000000000000001", "t-stag0000000000000001"
ALICE_READ = SessionSpec.for_user("U0ALICE", Purpose.READ)
ALICE_CANCEL = SessionSpec.for_user("U0ALICE", Purpose.CANCEL)


def _task(task_id: str, region: str = "cn-hangzhou") -> dict[str, object]:
    return {"TaskId": task_id, "RegionId": region, "TaskAction": "ImportImage", "TaskStatus": "Processing",
            "created_ago_s": 60}  # fmt: skip


@dataclass
class World:
    ecs: EcsEmulator
    sts: StsEmulator
    settings: Settings


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    registry = SessionRegistry()
    ecs = EcsEmulator(
        seed=[_task(HOME_TASK)],
        credentials={HOME_KEY_ID: HOME_KEY_SECRET},
        sessions=registry,
        account_seeds={PROD_ID: [_task(PROD_TASK)], STAGING_ID: [_task(STAGING_TASK, "cn-shanghai")]},
    )
    sts = StsEmulator(callers=CALLERS, roles=ROLES, registry=registry)
    with ecs, sts:
        # The function's own credentials, as Function Compute sets them.
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", HOME_KEY_ID)
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", HOME_KEY_SECRET)
        monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)
        accounts = {
            "prod": {"role_arn": PROD_ROLE, "regions": ["cn-hangzhou"], "external_id": "prod-external-id"},
            "staging": {"role_arn": STAGING_ROLE, "regions": ["cn-shanghai"]},
        }
        settings = Settings(
            ecs_endpoint=ecs.base_url,
            sts_endpoint=sts.base_url,
            accounts=json.dumps(accounts),
            channel_accounts=json.dumps({"C0OPS": ["prod", "staging"], "C0PROD": ["prod"]}),
            # On Function Compute, where deferred work is an InvokeFunction of the function itself.
            slack_signing_secret="account-clients-signing-secret",
            fc_function_name="ecs-tasks-slack",
            fc_region="cn-hangzhou",
            fc_account_id="1234567890123456",
        )
        yield World(ecs, sts, settings)


def _task_ids(client: EcsClient, region: str) -> set[str]:
    return {task.task_id for task in client.describe_tasks(region).tasks}


def test_each_account_sees_only_its_own_tasks(world: World) -> None:
    # Given a channel bound to prod and staging
    prod, staging = build_policy(world.settings).accounts.accounts_for_channel("C0OPS")

    # When Alice queries each account, and the home account
    # Then each answer holds that account's tasks and no other's
    assert _task_ids(ecs_clients(world.settings).client_for(prod, ALICE_READ), "cn-hangzhou") == {PROD_TASK}
    assert _task_ids(ecs_clients(world.settings).client_for(staging, ALICE_READ), "cn-shanghai") == {STAGING_TASK}
    assert _task_ids(ecs_clients(world.settings).client_for(staging, ALICE_READ), "cn-hangzhou") == set()
    assert _task_ids(ecs_clients(world.settings).client_for(HOME, ALICE_READ), "cn-hangzhou") == {HOME_TASK}


def test_every_request_carries_the_accounts_temporary_credentials_and_the_users_session(world: World) -> None:
    directory = build_policy(world.settings).accounts
    prod, staging = directory.accounts["prod"], directory.accounts["staging"]
    ecs_clients(world.settings).client_for(prod, ALICE_READ).describe_tasks("cn-hangzhou")
    ecs_clients(world.settings).client_for(staging, SessionSpec.for_user("U0BOB", Purpose.READ)).describe_tasks(
        "cn-shanghai"
    )
    ecs_clients(world.settings).client_for(prod, SessionSpec.for_poller()).describe_tasks("cn-hangzhou")

    assert world.ecs.accounts is not None
    seen = [(c.account_id, c.session_name, c.action) for c in world.ecs.accounts.calls]
    assert seen == [
        (PROD_ID, "slack-U0ALICE", "DescribeTasks"),
        (STAGING_ID, "slack-U0BOB", "DescribeTasks"),
        (PROD_ID, "ecs-tasks-poller", "DescribeTasks"),
    ]
    # And on the wire every ECS request used STS credentials, never the function's own key
    keys = [call.access_key_id for call in world.ecs.calls]
    assert all(key is not None and key.startswith("STS.") for key in keys)
    assert HOME_KEY_ID not in keys


def test_credentials_are_assumed_once_per_session_and_shared_by_clients(world: World) -> None:
    prod = build_policy(world.settings).accounts.accounts["prod"]
    for _ in range(3):
        ecs_clients(world.settings).client_for(prod, ALICE_READ).describe_tasks("cn-hangzhou")
    assert len(world.sts.calls) == 1
    assert ecs_clients(world.settings) is ecs_clients(world.settings)


def test_a_read_session_cannot_cancel_and_a_cancel_session_can_only_cancel(world: World) -> None:
    prod = build_policy(world.settings).accounts.accounts["prod"]
    reader = ecs_clients(world.settings).client_for(prod, ALICE_READ)

    # When a read session tries to cancel, ECS refuses it under the session policy
    with pytest.raises(EcsApiError) as refused:
        reader.cancel_task("cn-hangzhou", PROD_TASK)
    assert (refused.value.code, refused.value.http_status) == ("Forbidden.RAM", 403)
    assert reader.describe_task_attribute("cn-hangzhou", PROD_TASK).task_status == "Processing"

    # When a cancel session cancels, it works; and that session may do nothing else
    canceller = ecs_clients(world.settings).client_for(prod, ALICE_CANCEL)
    canceller.cancel_task("cn-hangzhou", PROD_TASK)
    with pytest.raises(EcsApiError, match=r"Forbidden\.RAM"):
        canceller.describe_tasks("cn-hangzhou")
    # (ECS shows a cancelled task as Deleted.)
    assert reader.describe_task_attribute("cn-hangzhou", PROD_TASK).task_status == "Deleted"


def test_the_ecs_emulator_refuses_expired_session_credentials(world: World) -> None:
    # Given credentials STS issued that expired a minute ago
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    assert world.ecs.accounts is not None
    world.sts.registry.add(
        IssuedSession("STS.expired", "expired-secret", "expired-token", PROD_ID, PROD_ROLE, "slack-U0ALICE", past,
                      Policy.allowing(["ecs:*"]), None)
    )  # fmt: skip
    transport = ApiTransport(
        StaticCredentialsProvider(Credentials("STS.expired", "expired-secret", "expired-token")),
        endpoint=world.ecs.base_url,
    )
    with pytest.raises(EcsApiError) as refused:
        EcsClient(transport).describe_tasks("cn-hangzhou")
    assert refused.value.code == "InvalidSecurityToken.Expired"


def test_the_home_account_keeps_todays_behaviour(world: World) -> None:
    # The function's own key still authenticates through the emulator's own checks and sees the home tasks.
    client = ecs_clients(world.settings).client_for(HOME, ALICE_READ)
    assert _task_ids(client, "cn-hangzhou") == {HOME_TASK}
    assert world.sts.calls == []
    assert world.ecs.calls[-1].access_key_id == HOME_KEY_ID


def test_the_ecs_emulator_checks_session_signatures_with_the_official_utilities(world: World) -> None:
    # Given a key STS issued, used with a wrong secret
    prod = build_policy(world.settings).accounts.accounts["prod"]
    ecs_clients(world.settings).client_for(prod, ALICE_READ).describe_tasks("cn-hangzhou")
    issued = world.sts.registry.sessions[0]
    forged = Credentials(issued.access_key_id, "not-the-secret", issued.security_token)
    for signature in ("v3", "v1"):
        transport = ApiTransport(StaticCredentialsProvider(forged), endpoint=world.ecs.base_url,
                                 signature_version=signature)  # fmt: skip
        with pytest.raises(EcsApiError) as refused:
            EcsClient(transport).describe_tasks("cn-hangzhou")
        assert refused.value.code == "SignatureDoesNotMatch", signature


def test_each_ecs_call_in_an_account_is_logged_with_the_account(world: World) -> None:
    import io

    from shared.log import configure_logging

    # Given JSON logging to a stream
    stream = io.StringIO()
    configure_logging(stream=stream)
    directory = build_policy(world.settings).accounts
    # When a call is made in prod and one at home
    try:
        ecs_clients(world.settings).client_for(directory.accounts["prod"], ALICE_READ).describe_tasks("cn-hangzhou")
        ecs_clients(world.settings).client_for(HOME, ALICE_READ).describe_tasks("cn-hangzhou")
    finally:
        configure_logging()  # back to stderr for the tests after this one
    # Then prod's ecs.call line names the account (its RequestId is that account's), home's names none
    calls = [json.loads(line) for line in stream.getvalue().splitlines() if '"ecs.call"' in line]
    assert [c.get("account") for c in calls] == ["prod", None]
    assert all(c["ecs_request_id"] and c["outcome"] == "ok" for c in calls)


def test_home_and_every_account_share_one_connection_pool(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    # Given every requests.Session this process makes from now on counted
    sessions: list[requests.Session] = []

    class CountedSession(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            sessions.append(self)

    monkeypatch.setattr(requests, "Session", CountedSession)
    clients = ecs_clients(world.settings)
    prod, staging = build_policy(world.settings).accounts.accounts_for_channel("C0OPS")
    # When home, two accounts (through STS) and the poller's session all make calls
    assert _task_ids(clients.client_for(HOME, ALICE_READ), "cn-hangzhou") == {HOME_TASK}
    assert _task_ids(clients.client_for(prod, ALICE_READ), "cn-hangzhou") == {PROD_TASK}
    assert _task_ids(clients.client_for(staging, SessionSpec.for_poller()), "cn-shanghai") == {STAGING_TASK}
    clients.client_for(HOME).describe_tasks("cn-shanghai")
    # And the deferral's InvokeFunction client is built for the same process
    build_function_compute_deferral(world.settings)
    # Then they all go through one session: one connection pool for the process
    assert len(sessions) == 1
    assert len(world.sts.calls) == 2 and {c.access_key_id for c in world.ecs.calls if c.access_key_id} > {HOME_KEY_ID}
    # And the home account has one client, whoever its work is for (a head start's prefetch waits in it)
    assert clients.client_for(HOME) is clients.client_for(HOME, ALICE_READ)


def test_an_account_other_than_home_needs_a_session(world: World) -> None:
    prod = build_policy(world.settings).accounts.accounts["prod"]
    with pytest.raises(ValueError, match="needs a session"):
        ecs_clients(world.settings).client_for(prod)
    assert world.sts.calls == []
