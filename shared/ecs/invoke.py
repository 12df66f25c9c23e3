"""Asynchronous InvokeFunction (Function Compute 3.0 API, signature V3): how deferred work leaves the ack path."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import requests

from shared.config import Settings
from shared.ecs.credentials import CredentialsProvider
from shared.ecs.retry import Deadline, Retrying, RetryPolicy, Timeout
from shared.ecs.transport import JSON_MEDIA_TYPE, ApiTransport, random_nonce
from shared.errors import ConfigurationError, FcApiError
from shared.timefmt import utc_now

FC_API_VERSION = "2023-03-30"
INVOKE_ACTION = "InvokeFunction"
INVOCATION_TYPE_HEADER = "x-fc-invocation-type"
FC_REQUEST_ID_HEADER = "x-fc-request-id"
ASYNC = "Async"
ACCEPTED_STATUSES = frozenset({200, 202})
# On the ack path: the whole hand-off must leave room in Slack's 3 seconds. Retries (only of refusals) fit
# in what one attempt may take at most.
INVOKE_TIMEOUT_S = (1.0, 1.5)
INVOKE_DEADLINE_S = sum(INVOKE_TIMEOUT_S)


def fc_endpoint(settings: Settings) -> str:
    if settings.fc_endpoint:
        return settings.fc_endpoint.rstrip("/")
    if not (settings.fc_account_id and settings.fc_region):
        raise ConfigurationError("FC_ACCOUNT_ID and FC_REGION are needed to invoke the function asynchronously.")
    return f"https://{settings.fc_account_id}.{settings.fc_region}.fc.aliyuncs.com"


def fc_transport(
    credentials: CredentialsProvider,
    *,
    endpoint: str,
    session: requests.Session | None,
    clock: Callable[[], datetime],
    nonce: Callable[[], str],
) -> ApiTransport:
    """The transport every Function Compute 3.0 call goes through: its API version, its error type."""
    return ApiTransport(
        credentials,
        endpoint=endpoint,
        session=session,
        clock=clock,
        nonce=nonce,
        api_version=FC_API_VERSION,
        error_type=FcApiError,
    )


class AsyncInvoker:
    """InvokeFunction on the shared transport (signing, timeouts, errors) under the one retry rule: it changes
    something, so it is tried again only when Function Compute provably refused it before acting."""

    def __init__(
        self,
        credentials: CredentialsProvider,
        *,
        endpoint: str,
        function_name: str,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = utc_now,
        nonce: Callable[[], str] = random_nonce,
        qualifier: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._transport = fc_transport(credentials, endpoint=endpoint, session=session, clock=clock, nonce=nonce)
        self._path = f"/{FC_API_VERSION}/functions/{function_name}/invocations"
        self._query = {"qualifier": qualifier} if qualifier else {}
        self._retrying = Retrying(retry or RetryPolicy(), INVOKE_TIMEOUT_S, sleep, rand, monotonic)
        self._monotonic = monotonic

    def invoke_async(self, payload: Mapping[str, Any]) -> str | None:
        """Queue one asynchronous invocation; returns FC's request id. Raises FcApiError on failure."""
        body = json.dumps(payload, separators=(",", ":")).encode()

        def attempt(timeout: Timeout) -> str | None:
            answer = self._transport.call_roa(
                INVOKE_ACTION,
                self._path,
                body=body,
                content_type=JSON_MEDIA_TYPE,
                signed_headers={INVOCATION_TYPE_HEADER: ASYNC},
                query=self._query,
                accepted=ACCEPTED_STATUSES,
                request_id_header=FC_REQUEST_ID_HEADER,
                timeout=timeout,
            )
            return answer.request_id or None

        return self._retrying.call(
            attempt,
            deadline=Deadline.after(INVOKE_DEADLINE_S, self._monotonic),
            changes_something=True,
            errors=FcApiError,
            what=INVOKE_ACTION,
        )
