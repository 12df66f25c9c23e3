"""STS AssumeRole over our own signer and transport, with credentials cached until shortly before expiry.

API (bot/wiring/build.py builds these; the Slack layer only sees the clients of `EcsClients.client_for`):

- `StsClient(transport).assume_role(account, session) -> TemporaryCredentials` — one AssumeRole (API version
  2015-04-01, signed V3 or V1 like ECS, on `sts.aliyuncs.com`, `sts.<region>.aliyuncs.com` or STS_ENDPOINT),
  with RoleArn, RoleSessionName, DurationSeconds, Policy and, when the account has one, ExternalId.
  Throttling and transient failures are retried with backoff within a deadline; every failure is an
  `StsApiError` whose message says what to fix, in which account.
- `AssumedRoleCache(sts, clock=...)` — credentials per (role, external id, session name, session policy),
  reused until `REFRESH_MARGIN` (5 minutes) before they expire. Thread-safe; one AssumeRole per key at a time.
- `AssumedRoleCredentialsProvider(cache, account, session)` — a `CredentialsProvider` for ApiTransport.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.ecs.accounts import Account
from shared.ecs.credentials import Credentials
from shared.ecs.retry import Deadline, Retrying, RetryPolicy, Timeout
from shared.ecs.sessions import SessionSpec
from shared.ecs.transport import ApiResponse, ApiTransport
from shared.errors import CODE_MALFORMED, ApiError, StsApiError
from shared.region_ids import checked_region_id
from shared.timefmt import utc_now

STS_API_VERSION = "2015-04-01"
ACTION_ASSUME_ROLE = "AssumeRole"
GLOBAL_STS_ENDPOINT = "https://sts.aliyuncs.com"
# STS's bounds are 900 s to the role's MaxSessionDuration (3600 s unless raised): the default maximum.
DEFAULT_DURATION_S = 3600
MIN_DURATION_S = 900
REFRESH_MARGIN = timedelta(minutes=5)
DEFAULT_TIMEOUT_S = (3.05, 10.0)
DEFAULT_DEADLINE_S = 10.0
MAX_CACHED_SESSIONS = 512  # one per (account, user, purpose) in use; old ones are dropped first
SOURCE_PREFIX = "sts:"  # Credentials.source of assumed credentials: `sts:<account>`

StsCallObserver = Callable[[str, str, "str | None", "ApiError | None", float], None]


def sts_endpoint(region_id: str | None = None) -> str:
    """`https://sts.<region>.aliyuncs.com`, or the global `https://sts.aliyuncs.com` without a region."""
    return f"https://sts.{checked_region_id(region_id)}.aliyuncs.com" if region_id else GLOBAL_STS_ENDPOINT


def endpoint_url(setting: str | None) -> str:
    """STS_ENDPOINT as a URL: a bare host (`sts.cn-hangzhou.aliyuncs.com`) gets `https://`."""
    if not setting:
        return GLOBAL_STS_ENDPOINT
    return setting if "://" in setting else f"https://{setting}"


# --- the answer ---------------------------------------------------------------------------------


class _StsModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _Credentials(_StsModel):
    access_key_id: str = Field(alias="AccessKeyId", min_length=1)
    access_key_secret: str = Field(alias="AccessKeySecret", min_length=1, repr=False)
    security_token: str = Field(alias="SecurityToken", min_length=1, repr=False)
    expiration: datetime = Field(alias="Expiration")


class _AssumedRoleUser(_StsModel):
    arn: str = Field(default="", alias="Arn")
    assumed_role_id: str = Field(default="", alias="AssumedRoleId")


class AssumeRoleAnswer(_StsModel):
    request_id: str = Field(default="", alias="RequestId")
    credentials: _Credentials = Field(alias="Credentials")
    assumed_role_user: _AssumedRoleUser = Field(default_factory=_AssumedRoleUser, alias="AssumedRoleUser")


@dataclass(frozen=True)
class TemporaryCredentials:
    credentials: Credentials
    expiration: datetime  # aware, UTC
    assumed_role_arn: str
    request_id: str

    def fresh_at(self, now: datetime, margin: timedelta = REFRESH_MARGIN) -> bool:
        return now < self.expiration - margin


# --- errors: what to fix, where -----------------------------------------------------------------

ADVICE: dict[str, str] = {
    "NoPermission": (
        "this function may not assume {role}. In account {account_id}, add this function's role to the trust "
        "policy of role {role_name} (and the external id condition if {name} has one), and allow sts:AssumeRole "
        "on {role} in the function's own policy"
    ),
    "EntityNotExist.Role": (
        "role {role_name} does not exist in account {account_id}: create it, or correct role_arn of account "
        "{name} in ECS_TASKS_ACCOUNTS"
    ),
    "InvalidParameter.RoleArn": (
        "STS refused the role ARN {role}: correct role_arn of account {name} in ECS_TASKS_ACCOUNTS "
        "(acs:ram::<account id>:role/<role name>)"
    ),
    "InvalidParameter.ExternalId": "STS refused the external id: correct external_id of account {name}",
    "InvalidParameter.DurationSeconds": (
        "the session duration ({duration}s) is above role {role_name}'s maximum session duration: raise "
        "MaxSessionDuration of role {role_name} in account {account_id} to at least {duration} seconds"
    ),
    "InvalidParameter.RoleSessionName": (
        "STS refused the session name {session}: report this to the ecs-tasks maintainers (it should fit "
        "2-64 of letters, digits and .@-_)"
    ),
    "InvalidParameter.PolicyGrammar": (
        "STS refused the session policy for {purpose}: report this to the ecs-tasks maintainers"
    ),
    "InvalidParameter.PolicySize": "STS refused the session policy's size: report this to the ecs-tasks maintainers",
    "InvalidAccessKeyId.NotFound": "STS does not know this function's own access key: check its credentials",
    "SignatureDoesNotMatch": "STS could not verify this function's signature: check its own access key secret",
}
THROTTLED_ADVICE = "STS is throttling AssumeRole for account {name}: try again in a minute"
DEFAULT_ADVICE = "assuming role {role} for account {name} failed"


def advice(code: str, account: Account, session: SessionSpec, duration_s: int) -> str:
    template = ADVICE.get(code)
    if template is None:
        template = THROTTLED_ADVICE if code.startswith("Throttling") else DEFAULT_ADVICE
    if code.startswith("InvalidSecurityToken"):
        template = "STS refused this function's own security token ({code}): its credentials may have expired"
    return template.format(
        role=account.role_arn,
        role_name=account.role_name,
        account_id=account.account_id,
        name=account.name,
        session=session.name,
        purpose=session.purpose.name.lower(),
        duration=duration_s,
        code=code,
    )


def _sts_error(error: ApiError, account: Account, session: SessionSpec, duration_s: int) -> StsApiError:
    said = f" STS said: {error.message}" if error.message else ""
    return StsApiError(
        error.code,
        f"Account {account.name}: {advice(error.code, account, session, duration_s)}.{said}",
        request_id=error.request_id,
        http_status=error.http_status,
        recommend=error.recommend,
        retry_after_s=error.retry_after_s,
        account=account.name,
        role_arn=account.role_arn,
    )


# --- the client ---------------------------------------------------------------------------------


class StsClient:
    """AssumeRole with bounded retries; sleep, randomness and the monotonic clock are injectable."""

    def __init__(
        self,
        transport: ApiTransport,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_S,
        deadline_s: float = DEFAULT_DEADLINE_S,
        duration_s: int = DEFAULT_DURATION_S,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        on_call: StsCallObserver | None = None,
    ) -> None:
        if duration_s < MIN_DURATION_S:
            raise ValueError(f"duration_s must be at least {MIN_DURATION_S}")
        self._transport = transport
        self._retrying = Retrying(retry or RetryPolicy(), timeout, sleep, rand, monotonic)
        self._deadline_s = deadline_s
        self._duration_s = duration_s
        self._monotonic = monotonic
        # Called once per attempt: (account, session name, request id, error, seconds) — for structured logs.
        self._on_call = on_call

    @staticmethod
    def params(account: Account, session: SessionSpec, duration_s: int = DEFAULT_DURATION_S) -> dict[str, str]:
        """AssumeRole's parameters, exactly as the API names them."""
        if account.role_arn is None:
            raise ValueError("the home account has no role to assume")
        params = {
            "RoleArn": account.role_arn,
            "RoleSessionName": session.name,
            "DurationSeconds": str(duration_s),
            "Policy": session.policy,
        }
        if account.external_id:
            params["ExternalId"] = account.external_id
        return params

    def assume_role(
        self, account: Account, session: SessionSpec, *, deadline: Deadline | None = None
    ) -> TemporaryCredentials:
        params = self.params(account, session, self._duration_s)

        def attempt(timeout: Timeout) -> ApiResponse:
            return self._transport.call(ACTION_ASSUME_ROLE, "", params, timeout=timeout)

        def report(response: ApiResponse | None, error: ApiError | None, seconds: float) -> None:
            if self._on_call is not None:
                request_id = response.request_id if response is not None else error.request_id if error else None
                self._on_call(account.name, session.name, request_id, error, seconds)

        try:
            response = self._retrying.call(
                attempt,
                deadline=deadline or Deadline.after(self._deadline_s, self._monotonic),
                changes_something=False,  # AssumeRole changes nothing: any retryable failure may be tried again
                errors=ApiError,
                what=ACTION_ASSUME_ROLE,
                observe=report,
            )
        except ApiError as error:
            raise _sts_error(error, account, session, self._duration_s) from None
        return _temporary(response.body, response.request_id, account, response.http_status)


def _temporary(body: dict[str, object], request_id: str, account: Account, status: int) -> TemporaryCredentials:
    try:
        answer = AssumeRoleAnswer.model_validate(body)
    except ValidationError as error:
        raise StsApiError(
            CODE_MALFORMED,
            f"Account {account.name}: the AssumeRole answer had an unexpected shape ({error.error_count()} problems)",
            request_id=request_id or None,
            http_status=status,
            account=account.name,
            role_arn=account.role_arn,
        ) from None
    c = answer.credentials
    expiration = c.expiration if c.expiration.tzinfo else c.expiration.replace(tzinfo=timezone.utc)
    return TemporaryCredentials(
        credentials=Credentials(c.access_key_id, c.access_key_secret, c.security_token, SOURCE_PREFIX + account.name),
        expiration=expiration.astimezone(timezone.utc),
        assumed_role_arn=answer.assumed_role_user.arn,
        request_id=answer.request_id or request_id,
    )


# --- the cache ----------------------------------------------------------------------------------

CacheKey = tuple[str, str, str, str]  # role ARN, external id, session name, session policy


class AssumedRoleCache:
    """Temporary credentials per role, external id, session name and session policy, refreshed
    `margin` before they expire (on the injected clock)."""

    def __init__(
        self,
        sts: StsClient,
        *,
        clock: Callable[[], datetime] = utc_now,
        margin: timedelta = REFRESH_MARGIN,
        max_entries: int = MAX_CACHED_SESSIONS,
    ) -> None:
        self._sts = sts
        self._clock = clock
        self._margin = margin
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[CacheKey, TemporaryCredentials] = OrderedDict()
        self._key_locks: dict[CacheKey, threading.Lock] = {}

    def get(self, account: Account, session: SessionSpec) -> TemporaryCredentials:
        key: CacheKey = (account.role_arn or "", account.external_id or "", session.name, session.policy)
        cached = self._fresh(key)
        if cached is not None:
            return cached
        with self._key_lock(key):
            # Another thread may have assumed the role while this one waited for the key.
            cached = self._fresh(key)
            if cached is not None:
                return cached
            issued = self._sts.assume_role(account, session)
            with self._lock:
                self._entries[key] = issued
                self._entries.move_to_end(key)
                while len(self._entries) > self._max_entries:
                    old, _ = self._entries.popitem(last=False)
                    self._key_locks.pop(old, None)
            return issued

    def _fresh(self, key: CacheKey) -> TemporaryCredentials | None:
        with self._lock:
            cached = self._entries.get(key)
            if cached is None:
                return None
            if cached.fresh_at(self._clock(), self._margin):
                self._entries.move_to_end(key)
                return cached
            del self._entries[key]
            return None

    def _key_lock(self, key: CacheKey) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())


class AssumedRoleCredentialsProvider:
    """A CredentialsProvider: the account's role, assumed for this session (through the shared cache)."""

    def __init__(self, cache: AssumedRoleCache, account: Account, session: SessionSpec) -> None:
        if account.is_home:
            raise ValueError("the home account uses the function's own credentials, not AssumeRole")
        self._cache = cache
        self._account = account
        self._session = session

    def get(self) -> Credentials:
        return self._cache.get(self._account, self._session).credentials

    def __repr__(self) -> str:
        return f"AssumedRoleCredentialsProvider(account={self._account.name!r}, session={self._session.name!r})"


__all__ = [
    "AssumeRoleAnswer",
    "AssumedRoleCache",
    "AssumedRoleCredentialsProvider",
    "StsClient",
    "TemporaryCredentials",
    "advice",
    "endpoint_url",
    "sts_endpoint",
]
