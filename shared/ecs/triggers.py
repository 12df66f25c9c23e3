"""ListTriggers (Function Compute 3.0 API, signature V3): which triggers a function has, for `ecs-tasks doctor`.

`GET /2023-03-30/functions/{functionName}/triggers` answers `ListTriggersOutput`: `triggers` (each with
`triggerName` and `triggerType`, among others) and `nextToken` when there is another page.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.ecs.credentials import CredentialsProvider
from shared.ecs.invoke import FC_API_VERSION, FC_REQUEST_ID_HEADER, fc_transport
from shared.ecs.retry import Deadline, Retrying, RetryPolicy, Timeout
from shared.ecs.transport import JSON_MEDIA_TYPE, ApiResponse, random_nonce
from shared.errors import CODE_MALFORMED, FcApiError
from shared.timefmt import utc_now

LIST_TRIGGERS_ACTION = "ListTriggers"
# The API's largest page; a function of this project has one or two triggers.
PAGE_LIMIT = 100
# Pages followed at most: a nextToken that never ends cannot keep the doctor waiting.
MAX_PAGES = 10
LIST_TIMEOUT_S = (3.05, 5.0)
LIST_DEADLINE_S = 10.0


class Trigger(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(alias="triggerName")
    type: str = Field(alias="triggerType")


class ListTriggersOutput(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    triggers: tuple[Trigger, ...] = ()
    next_token: str | None = Field(default=None, alias="nextToken")


class TriggerLister:
    """ListTriggers on the shared transport under the one retry rule (a read: retried on any retryable error)."""

    def __init__(
        self,
        credentials: CredentialsProvider,
        *,
        endpoint: str,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = utc_now,
        nonce: Callable[[], str] = random_nonce,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._transport = fc_transport(credentials, endpoint=endpoint, session=session, clock=clock, nonce=nonce)
        self._retrying = Retrying(retry or RetryPolicy(), LIST_TIMEOUT_S, sleep, rand, monotonic)
        self._monotonic = monotonic

    def triggers(self, function_name: str) -> tuple[Trigger, ...]:
        """Every trigger of `function_name`. Raises FcApiError (FunctionNotFound, a refusal, a malformed answer)."""
        path = f"/{FC_API_VERSION}/functions/{function_name}/triggers"
        deadline = Deadline.after(LIST_DEADLINE_S, self._monotonic)
        found: list[Trigger] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            query = {"limit": str(PAGE_LIMIT), **({"nextToken": token} if token else {})}

            def attempt(timeout: Timeout, query: dict[str, str] = query) -> ApiResponse:
                return self._transport.call_roa(
                    LIST_TRIGGERS_ACTION,
                    path,
                    body=b"",
                    content_type=JSON_MEDIA_TYPE,
                    signed_headers={},
                    query=query,
                    accepted=frozenset({200}),
                    request_id_header=FC_REQUEST_ID_HEADER,
                    timeout=timeout,
                    method="GET",
                )

            answer = self._retrying.call(
                attempt, deadline=deadline, changes_something=False, errors=FcApiError, what=LIST_TRIGGERS_ACTION
            )
            # Validated once answered, as EcsClient does: an answer of the wrong shape is not asked again.
            try:
                page = ListTriggersOutput.model_validate(answer.body)
            except ValidationError as error:
                fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
                raise FcApiError(
                    CODE_MALFORMED,
                    f"ListTriggers answered an unexpected shape ({fields})",
                    request_id=answer.request_id or None,
                    http_status=answer.http_status,
                ) from None
            found.extend(page.triggers)
            token = page.next_token
            if not token:
                return tuple(found)
        raise FcApiError(CODE_MALFORMED, f"ListTriggers gave more than {MAX_PAGES} pages")
