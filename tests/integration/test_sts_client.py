"""Our STS client and credentials cache against the STS emulator over loopback HTTP: temporary credentials,
refresh before expiry on an injected clock, one cache entry per role, session name and policy, bounded
retries on throttling, and errors that say what to fix in which account."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from emulators.sts.server import StsEmulator
from shared.ecs.accounts import HOME, Account
from shared.ecs.credentials import Credentials, StaticCredentialsProvider
from shared.ecs.retry import RetryPolicy
from shared.ecs.sessions import Purpose, SessionSpec
from shared.ecs.sts import (
    STS_API_VERSION,
    AssumedRoleCache,
    AssumedRoleCredentialsProvider,
    StsClient,
    endpoint_url,
    sts_endpoint,
)
from shared.ecs.transport import ApiTransport, SignatureVersion
from shared.errors import ApiError, StsApiError
from tests.sts_support import (
    CALLERS,
    HOME_KEY_ID,
    HOME_KEY_SECRET,
    PROD,
    ROLES,
    STAGING,
    Clock,
    recorder,
)

START = datetime(2026, 12, 2, 7, 0, 0, tzinfo=timezone.utc)
ALICE_READ = SessionSpec.for_user("U0ALICE", Purpose.READ)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def sts(clock: Clock) -> Iterator[StsEmulator]:
    with StsEmulator(callers=CALLERS, roles=ROLES, clock=clock) as emulator:
        yield emulator


def _client(
    base_url: str,
    clock: Clock,
    signature: SignatureVersion = "v3",
    sleeps: list[float] | None = None,
    duration_s: int = 3600,
    observed: list[tuple[str, str, str | None]] | None = None,
) -> StsClient:
    transport = ApiTransport(
        StaticCredentialsProvider(Credentials(HOME_KEY_ID, HOME_KEY_SECRET)),
        endpoint=base_url,
        signature_version=signature,
        api_version=STS_API_VERSION,
        error_type=StsApiError,
        clock=clock,
    )
    record = sleeps if sleeps is not None else []
    seen = observed if observed is not None else []

    def observe(account: str, session: str, _request_id: str | None, error: ApiError | None, _s: float) -> None:
        seen.append((account, session, error.code if error else None))

    return StsClient(transport, sleep=record.append, rand=lambda: 0.5, duration_s=duration_s, on_call=observe)


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_assume_role_returns_the_accounts_temporary_credentials(
    sts: StsEmulator, clock: Clock, signature: SignatureVersion
) -> None:
    # Given the prod account (with its external id); when we assume its role for Alice's read
    issued = _client(sts.base_url, clock, signature).assume_role(PROD, ALICE_READ)

    # Then the credentials are STS's, expire in an hour, and the session carries Alice's name and the policy
    assert issued.credentials.access_key_id.startswith("STS.") and issued.credentials.is_sts
    assert issued.expiration == datetime(2026, 12, 2, 8, 0, 0, tzinfo=timezone.utc)
    assert issued.assumed_role_arn.endswith("/slack-U0ALICE")
    session = sts.registry.lookup(issued.credentials.access_key_id)
    assert session is not None
    assert (session.account_id, session.session_name, session.policy_text) == (
        "1111111111111111",
        "slack-U0ALICE",
        ALICE_READ.policy,
    )
    assert "ExternalId" in sts.calls[-1].params


def test_credentials_are_reused_until_five_minutes_before_expiry_then_refreshed(sts: StsEmulator, clock: Clock) -> None:
    # Given a cache on the same clock as STS
    cache = AssumedRoleCache(_client(sts.base_url, clock), clock=clock)
    first = cache.get(PROD, ALICE_READ)

    # When 54m59s pass, the same credentials are used: no second AssumeRole
    clock.advance(minutes=54, seconds=59)
    assert cache.get(PROD, ALICE_READ) is first
    assert len(sts.calls) == 1

    # When it is 5 minutes before expiry, the role is assumed again, before the credentials expire
    clock.advance(seconds=1)
    second = cache.get(PROD, ALICE_READ)
    assert len(sts.calls) == 2
    assert second.credentials.access_key_id != first.credentials.access_key_id
    assert second.expiration == first.expiration.replace(hour=8, minute=55)
    assert clock() < first.expiration


def test_one_cache_entry_per_role_session_name_and_policy(sts: StsEmulator, clock: Clock) -> None:
    cache = AssumedRoleCache(_client(sts.base_url, clock), clock=clock)
    sessions = [
        (PROD, ALICE_READ),
        (PROD, SessionSpec.for_user("U0ALICE", Purpose.CANCEL)),  # same name, other policy
        (PROD, SessionSpec.for_user("U0BOB", Purpose.READ)),  # other name
        (STAGING, ALICE_READ),  # other role
        (PROD, SessionSpec.for_poller()),
    ]
    keys = {cache.get(account, session).credentials.access_key_id for account, session in sessions}
    again = {cache.get(account, session).credentials.access_key_id for account, session in sessions}
    assert len(keys) == 5 and again == keys
    assert len(sts.calls) == 5


def test_concurrent_users_of_one_session_assume_the_role_once(sts: StsEmulator, clock: Clock) -> None:
    cache = AssumedRoleCache(_client(sts.base_url, clock), clock=clock)
    seen: list[str] = []
    threads = [
        threading.Thread(target=lambda: seen.append(cache.get(PROD, ALICE_READ).credentials.access_key_id))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1 and len(seen) == 8
    assert len(sts.calls) == 1


def test_the_provider_hands_the_cached_credentials_to_a_transport(sts: StsEmulator, clock: Clock) -> None:
    cache = AssumedRoleCache(_client(sts.base_url, clock), clock=clock)
    provider = AssumedRoleCredentialsProvider(cache, STAGING, ALICE_READ)
    assert provider.get() == cache.get(STAGING, ALICE_READ).credentials
    assert "secret" not in repr(provider).lower()
    with pytest.raises(ValueError, match="own credentials"):
        AssumedRoleCredentialsProvider(cache, HOME, ALICE_READ)


def test_throttling_is_retried_with_backoff(sts: StsEmulator, clock: Clock) -> None:
    # Given STS throttles twice; when we assume the role
    sleeps: list[float] = []
    observed: list[tuple[str, str, str | None]] = []
    sts.throttle(2)
    issued = _client(sts.base_url, clock, sleeps=sleeps, observed=observed).assume_role(STAGING, ALICE_READ)
    # Then it succeeded on the third attempt after two backoff sleeps (full jitter at 0.5)
    assert issued.credentials.access_key_id.startswith("STS.")
    assert [call.error_code for call in sts.calls] == ["Throttling.User", "Throttling.User", None]
    assert sleeps == [0.1, 0.2]
    # And each attempt was reported (for the log line), naming the account and the session
    assert observed == [
        ("staging", "slack-U0ALICE", "Throttling.User"),
        ("staging", "slack-U0ALICE", "Throttling.User"),
        ("staging", "slack-U0ALICE", None),
    ]


def test_throttling_past_the_attempts_is_an_error_naming_the_account(sts: StsEmulator, clock: Clock) -> None:
    sts.throttle(10)
    with pytest.raises(StsApiError) as raised:
        _client(sts.base_url, clock).assume_role(STAGING, ALICE_READ)
    assert raised.value.code == "Throttling.User"
    assert raised.value.account == "staging"
    assert "throttling AssumeRole for account staging" in str(raised.value)
    assert len(sts.calls) == RetryPolicy().max_attempts


MISSING_ROLE = Account("prod", "acs:ram::1111111111111111:role/gone")
UNTRUSTED = Account("prod", "acs:ram::1111111111111111:role/ecs-tasks-read")  # no external id
MALFORMED = Account("legacy", "acs:ram::42:role/x")


@pytest.mark.parametrize(
    ("account", "code", "advice"),
    [
        (MISSING_ROLE, "EntityNotExist.Role", "Account prod: role gone does not exist in account 1111111111111111"),
        (UNTRUSTED, "NoPermission", "add this function's role to the trust policy of role ecs-tasks-read"),
        (MALFORMED, "InvalidParameter.RoleArn", "correct role_arn of account legacy in ECS_TASKS_ACCOUNTS"),
    ],
)
def test_refusals_say_what_to_fix_in_which_account(
    sts: StsEmulator, clock: Clock, account: Account, code: str, advice: str
) -> None:
    with pytest.raises(StsApiError) as raised:
        _client(sts.base_url, clock).assume_role(account, ALICE_READ)
    error = raised.value
    assert error.code == code and error.account == account.name and error.role_arn == account.role_arn
    assert advice in str(error)
    assert f"account {account.name}" in str(error)
    assert HOME_KEY_SECRET not in str(error)
    assert len(sts.calls) == 1  # refusals are not retried


def test_a_duration_above_the_roles_maximum_says_to_raise_it(sts: StsEmulator, clock: Clock) -> None:
    with pytest.raises(StsApiError) as raised:
        _client(sts.base_url, clock, duration_s=7200).assume_role(STAGING, ALICE_READ)
    assert raised.value.code == "InvalidParameter.DurationSeconds"
    assert "raise MaxSessionDuration of role ecs-tasks-read in account 2222222222222222" in str(raised.value)


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("InvalidParameter.PolicyGrammar", "refused the session policy for read"),
        ("InvalidParameter.RoleSessionName", "refused the session name slack-U0ALICE"),
        ("InvalidSecurityToken.Expired", "this function's own security token"),
    ],
)
def test_refusals_only_a_real_service_gives_are_explained_too(clock: Clock, code: str, advice: str) -> None:
    # Given an endpoint answering the documented error (the emulator never sees our grammar or names fail)
    body = {"RequestId": "R-1", "HostId": "sts.aliyuncs.com", "Code": code, "Message": "refused"}
    with recorder(body, status=400) as (host_port, _seen), pytest.raises(StsApiError) as raised:
        _client(f"http://{host_port}", clock).assume_role(STAGING, ALICE_READ)
    assert advice in str(raised.value) and "Account staging" in str(raised.value)
    assert raised.value.request_id == "R-1" and raised.value.http_status == 400


def test_a_garbled_answer_is_a_clear_error(clock: Clock) -> None:
    garbled = {"RequestId": "R-2", "Credentials": {"AccessKeyId": ""}}
    with recorder(garbled) as (host_port, _seen), pytest.raises(StsApiError, match="unexpected shape"):
        _client(f"http://{host_port}", clock).assume_role(STAGING, ALICE_READ)


def test_endpoints() -> None:
    assert sts_endpoint() == "https://sts.aliyuncs.com"
    assert sts_endpoint("cn-hangzhou") == "https://sts.cn-hangzhou.aliyuncs.com"
    assert endpoint_url(None) == "https://sts.aliyuncs.com"
    assert endpoint_url("sts.cn-shanghai.aliyuncs.com") == "https://sts.cn-shanghai.aliyuncs.com"
    assert endpoint_url("http://127.0.0.1:9999") == "http://127.0.0.1:9999"
