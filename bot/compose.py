"""The one place that builds each process's objects from settings: the ECS client, every Slack Web API
client, the store, the bot's dependencies and the poller. Entry points (`functions/`, the CLI) call these
and build nothing themselves.

Heavy libraries (`requests`, SQLAlchemy) are imported inside the builders that need them, so the path to
Slack's first answer on a cold start pays only for what it uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.deps import BotDeps
from shared.config import Settings
from shared.errors import ApiError, ConfigurationError
from shared.log import log_event, register_secret
from shared.timefmt import utc_now

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from shared.ecs.client import EcsClient
    from shared.ecs.credentials import CredentialsProvider
    from shared.store import SqlStore
    from shared.updates.outbox import Faults
    from shared.updates.poller import Poller

SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackClientPolicy:
    """How every Slack Web API client of this project behaves, stated once.

    No retry handlers: slack_sdk's default connection-error handler re-sends a request whose answer was lost,
    which for chat.postMessage can post twice. Whoever posts decides what is sent again (the outbox does,
    on record). The timeout keeps a poller tick and a deferred answer well inside the function's timeout.
    """

    timeout_s: int = 5


SLACK_CLIENT_POLICY = SlackClientPolicy()

EcsCallObserver = Callable[[str, str, "str | None", "ApiError | None", float], None]


def log_ecs_call(action: str, region_id: str, request_id: str | None, error: ApiError | None, seconds: float) -> None:
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
    on_call: EcsCallObserver | None = log_ecs_call,
) -> EcsClient:
    from shared.ecs.client import EcsClient
    from shared.ecs.credentials import DefaultCredentialsProvider
    from shared.ecs.transport import EcsTransport

    transport = EcsTransport(
        credentials or DefaultCredentialsProvider(),
        endpoint=settings.ecs_endpoint,
        signature_version=settings.ecs_signature_version,
    )
    return EcsClient(transport, on_call=on_call, regions_source=settings.default_region or "cn-hangzhou")


def slack_bot_token(settings: Settings, *, needed_by: str) -> str:
    if settings.slack_bot_token is None:
        raise ConfigurationError(f"SLACK_BOT_TOKEN is not set: {needed_by} cannot post to Slack without it.")
    token = settings.slack_bot_token.get_secret_value()
    register_secret(token)
    return token


def slack_web_client(settings: Settings, *, token: str | None) -> WebClient:
    """A Web API client under SLACK_CLIENT_POLICY. `token` may be None for the bot, whose token Bolt's
    authorize step supplies per request."""
    from slack_sdk import WebClient

    return WebClient(
        token=token,
        base_url=settings.slack_api_url or SLACK_API_URL,
        timeout=SLACK_CLIENT_POLICY.timeout_s,
        retry_handlers=[],
    )


def open_configured_store(settings: Settings) -> SqlStore:
    # Imported here: SQLAlchemy is needed by channel updates and deferred work, never by a plain answer.
    from shared.store import open_store

    url = settings.database_url.get_secret_value() if settings.database_url else None
    if url is None and settings.on_function_compute:
        # A SQLite file on an instance that is frozen and recycled would forget everything.
        raise ConfigurationError("ECS_TASKS_DATABASE_URL is not set: Function Compute needs a real database.")
    return open_store(url)


def build_bot_deps(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> BotDeps:
    return BotDeps(
        settings=settings,
        clock=clock,
        ecs_factory=build_ecs_client,
        store_factory=open_configured_store,
    )


def build_poller(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, faults: Faults | None = None
) -> Poller:
    from shared.updates.notifier import Notifier
    from shared.updates.outbox import no_faults
    from shared.updates.policy import AccessPolicy
    from shared.updates.poller import Poller, PollerConfig

    config = PollerConfig(
        ttl=settings.watch_ttl,
        allowed_regions=settings.allowed_regions,
        policy=AccessPolicy.from_settings(settings),
        repoll_interval_s=settings.repoll_interval_s,
        min_post_s=2.0 * SLACK_CLIENT_POLICY.timeout_s,  # a card update and a reply at the full timeout
    )
    notifier = Notifier(slack_web_client(settings, token=slack_bot_token(settings, needed_by="the poller")))
    return Poller(
        open_configured_store(settings),
        build_ecs_client(settings),
        notifier,
        config,
        clock=clock,
        faults=faults or no_faults,
    )
