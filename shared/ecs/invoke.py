"""Asynchronous InvokeFunction (Function Compute 3.0 API, signature V3) — how lazy work leaves the ack path."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from shared.config import Settings
from shared.ecs import signer
from shared.ecs.credentials import CredentialsProvider
from shared.ecs.transport import random_nonce
from shared.errors import CODE_CONNECTION, CODE_TIMEOUT, ConfigurationError, FcApiError
from shared.timefmt import utc_now

FC_API_VERSION = "2023-03-30"
INVOKE_ACTION = "InvokeFunction"
INVOCATION_TYPE_HEADER = "x-fc-invocation-type"
ASYNC = "Async"
# On the ack path: the whole hand-off must leave room in Slack's 3 seconds.
INVOKE_TIMEOUT_S = (1.0, 1.5)


def fc_endpoint(settings: Settings) -> str:
    if settings.fc_endpoint:
        return settings.fc_endpoint.rstrip("/")
    if not (settings.fc_account_id and settings.fc_region):
        raise ConfigurationError("FC_ACCOUNT_ID and FC_REGION are needed to invoke the function asynchronously.")
    return f"https://{settings.fc_account_id}.{settings.fc_region}.fc.aliyuncs.com"


class AsyncInvoker:
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
    ) -> None:
        self._credentials = credentials
        self._endpoint = endpoint.rstrip("/")
        self._host = urlsplit(self._endpoint).netloc
        self._path = f"/{FC_API_VERSION}/functions/{function_name}/invocations"
        self._session = session or requests.Session()
        self._clock = clock
        self._nonce = nonce
        self._query = {"qualifier": qualifier} if qualifier else {}

    def invoke_async(self, payload: Mapping[str, Any]) -> str | None:
        """Queue one asynchronous invocation; returns FC's request id. Raises FcApiError on failure."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        creds = self._credentials.get()
        headers = signer.v3_signed_headers(
            method="POST",
            host=self._host,
            pathname=self._path,
            query=self._query,
            action=INVOKE_ACTION,
            version=FC_API_VERSION,
            body=body,
            access_key_id=creds.access_key_id,
            access_key_secret=creds.access_key_secret,
            security_token=creds.security_token,
            timestamp=self._clock(),
            nonce=self._nonce(),
            content_type="application/json",
            extra_headers={INVOCATION_TYPE_HEADER: ASYNC},
        )
        query = f"?{signer.canonical_query(self._query)}" if self._query else ""
        try:
            response = self._session.post(
                f"{self._endpoint}{self._path}{query}", data=body, headers=headers, timeout=INVOKE_TIMEOUT_S
            )
        except requests.Timeout as exc:
            raise FcApiError(CODE_TIMEOUT, "InvokeFunction did not answer in time") from exc
        except requests.ConnectionError as exc:
            raise FcApiError(CODE_CONNECTION, f"could not reach {self._host}") from exc
        request_id = response.headers.get("x-fc-request-id") or response.headers.get("x-acs-request-id")
        if response.status_code not in (200, 202):
            code, message = _error_of(response)
            raise FcApiError(code, message, request_id=request_id, http_status=response.status_code)
        return request_id


def _error_of(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP{response.status_code}", response.reason or ""
    if isinstance(body, dict):
        return str(body.get("Code") or body.get("code") or f"HTTP{response.status_code}"), str(
            body.get("Message") or body.get("message") or ""
        )
    return f"HTTP{response.status_code}", ""
