"""Errors that cross module boundaries. Messages never contain a secret."""

from __future__ import annotations

from dataclasses import dataclass

# ECS error codes the client makes decisions on; keyed on Code, never on the HTTP status.
THROTTLING_CODES = frozenset({"Throttling", "Throttling.User", "Throttling.Api", "Throttling.Resource"})
CODE_SERVICE_UNAVAILABLE = "ServiceUnavailable"
CODE_INTERNAL_ERROR = "InternalError"
RETRYABLE_CODES = THROTTLING_CODES | frozenset({CODE_SERVICE_UNAVAILABLE, CODE_INTERNAL_ERROR})
# DescribeTaskAttribute / CancelTask on an id ECS does not know in the region (never created, or forgotten).
CODE_TASK_NOT_FOUND = "InvalidTaskId.NotFound"


# Synthetic codes for failures that never reached an ECS answer.
CODE_TIMEOUT = "Client.Timeout"
CODE_CONNECT_FAILED = "Client.ConnectFailed"  # never connected: the request was not sent
CODE_CONNECTION = "Client.ConnectionError"  # the connection broke after the request may have been sent
CODE_MALFORMED = "Client.MalformedResponse"
CODE_DEADLINE = "Client.DeadlineExceeded"
TRANSPORT_FAILURE_CODES = frozenset({CODE_TIMEOUT, CODE_CONNECT_FAILED, CODE_CONNECTION, CODE_MALFORMED})


class EcsTasksError(Exception):
    """Base class for every error this project raises on purpose."""


@dataclass
class ApiError(EcsTasksError):
    """An error answered by an Alibaba Cloud API (or a transport failure, with a synthetic Code)."""

    code: str
    message: str
    request_id: str | None = None
    http_status: int | None = None
    recommend: str | None = None
    region_id: str | None = None
    # Seconds the service asked us to wait: `x-acs-retry-after` carries milliseconds (as the official SDK reads
    # it); the transport converts it to seconds, capped at 120 s as the SDK caps it.
    retry_after_s: float | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        details = [
            f"region {self.region_id}" if self.region_id else "",
            f"HTTP {self.http_status}" if self.http_status is not None else "",
            f"RequestId {self.request_id}" if self.request_id else "",
        ]
        shown = ", ".join(d for d in details if d)
        return f"{self.code}: {self.message}" + (f" ({shown})" if shown else "")

    @property
    def retryable(self) -> bool:
        """Worth another attempt for an idempotent call."""
        if self.code in RETRYABLE_CODES or self.code in TRANSPORT_FAILURE_CODES or self.is_throttling:
            return True
        return self.http_status is not None and self.http_status >= 500

    @property
    def is_throttling(self) -> bool:
        return self.code.startswith("Throttling")

    @property
    def rejected_before_acting(self) -> bool:
        """The service provably did nothing, so even a non-idempotent call may be retried."""
        return self.is_throttling or self.code in (CODE_SERVICE_UNAVAILABLE, CODE_CONNECT_FAILED)


class EcsApiError(ApiError):
    """An error from the ECS API."""


class FcApiError(ApiError):
    """An error from the Function Compute API (InvokeFunction)."""


class CredentialsNotFoundError(EcsTasksError):
    """No Alibaba Cloud credentials were found; the message says where we looked."""


class ConfigurationError(EcsTasksError):
    """A setting is missing or malformed; the message names it, and `setting` (when known) is its variable."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass
class StsApiError(ApiError):
    """An error from STS AssumeRole for one configured account: `message` says what to fix, and where.

    `account` is the account's configured name (ECS_TASKS_ACCOUNTS), `role_arn` the role it names; neither
    is a secret. The service's own message, already free of secrets, follows the advice.
    """

    account: str | None = None
    role_arn: str | None = None

    def __str__(self) -> str:
        where = f" (account {self.account}, role {self.role_arn})" if self.account else ""
        rid = f" [RequestId {self.request_id}]" if self.request_id else ""
        status = f" [HTTP {self.http_status}]" if self.http_status is not None else ""
        return f"{self.code}{where}: {self.message}{status}{rid}"
