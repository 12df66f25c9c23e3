"""Errors that cross module boundaries. Messages never contain a secret."""

from __future__ import annotations

from dataclasses import dataclass

# ECS error codes the client makes decisions on; keyed on Code, never on the HTTP status.
THROTTLING_CODES = frozenset({"Throttling", "Throttling.User", "Throttling.Api", "Throttling.Resource"})
RETRYABLE_CODES = THROTTLING_CODES | frozenset({"ServiceUnavailable", "InternalError"})


class EcsTasksError(Exception):
    """Base class for every error this project raises on purpose."""


@dataclass
class EcsApiError(EcsTasksError):
    """An error answered by the ECS API (or a transport failure, with a synthetic Code)."""

    code: str
    message: str
    request_id: str | None = None
    http_status: int | None = None
    recommend: str | None = None
    region_id: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.message}"]
        if self.region_id:
            parts.append(f"region {self.region_id}")
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.request_id:
            parts.append(f"RequestId {self.request_id}")
        return " (".join(parts[:1]) + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")

    @property
    def retryable(self) -> bool:
        if self.code in RETRYABLE_CODES or self.code.startswith("Throttling"):
            return True
        return self.http_status is not None and self.http_status >= 500


# Synthetic codes for failures that never reached an ECS answer.
CODE_TIMEOUT = "Client.Timeout"
CODE_CONNECTION = "Client.ConnectionError"
CODE_MALFORMED = "Client.MalformedResponse"
CODE_DEADLINE = "Client.DeadlineExceeded"


class CredentialsNotFoundError(EcsTasksError):
    """No Alibaba Cloud credentials were found; the message says where we looked."""


class ConfigurationError(EcsTasksError):
    """A setting is missing or malformed; the message names it."""
