"""Build the ECS client from settings: the one place that knows which concrete pieces go together."""

from __future__ import annotations

from collections.abc import Callable

from shared.config import Settings
from shared.credentials import CredentialsProvider, DefaultCredentialsProvider
from shared.ecs_client import EcsClient
from shared.errors import EcsApiError
from shared.log import log_event
from shared.transport import EcsTransport

CallObserver = Callable[[str, str, "str | None", "EcsApiError | None", float], None]


def log_ecs_call(
    action: str, region_id: str, request_id: str | None, error: EcsApiError | None, seconds: float
) -> None:
    """One log line per ECS attempt, with the ECS RequestId that support will ask for."""
    log_event(
        "ecs.call",
        action=action,
        region_id=region_id,
        ecs_request_id=request_id,
        outcome="ok" if error is None else error.code,
        duration_ms=round(seconds * 1000, 1),
    )


def build_ecs_client(
    settings: Settings,
    *,
    credentials: CredentialsProvider | None = None,
    on_call: CallObserver | None = log_ecs_call,
) -> EcsClient:
    transport = EcsTransport(
        credentials or DefaultCredentialsProvider(),
        endpoint=settings.ecs_endpoint,
        signature_version=settings.ecs_signature_version,
    )
    return EcsClient(transport, on_call=on_call, regions_source=settings.default_region or "cn-hangzhou")
