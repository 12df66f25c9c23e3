"""The one place that builds each process's objects from settings: the ECS client, every Slack Web API
client, the store, the bot's dependencies and the poller. Entry points (`functions/`, the CLI) call these
and build nothing themselves.

Heavy libraries (`requests`, SQLAlchemy) are imported inside the builders that need them, so the path to
Slack's first answer on a cold start pays only for what it uses.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.wiring.deps import BotDeps
from shared.config import Settings
from shared.errors import ApiError, ConfigurationError
from shared.log import log_context, log_event, register_secret
from shared.timefmt import utc_now

if TYPE_CHECKING:
    import requests
    from slack_sdk import WebClient

    from bot.slack.answering.deferral import ThreadDeferral
    from shared.ecs.accounts import Account, AccountDirectory
    from shared.ecs.client import EcsClient
    from shared.ecs.credentials import CredentialsProvider
    from shared.ecs.sessions import SessionSpec
    from shared.ecs.sts import AssumedRoleCache, StsClient
    from shared.store import SqlStore
    from shared.updates.outbox import Faults
    from shared.updates.poller import Poller

SLACK_API_URL = "https://slack.com/api/"
# The poller works on every region of a tick at once: its first pass is up to 50 DescribeTasks calls in a row
# per region (TickBudget), each waiting on ECS, so regions queued behind a smaller pool wait a region's whole
# pass (20 regions on the default 8 workers: three rounds). Alibaba Cloud has fewer public regions than this.
POLLER_REGION_WORKERS = 32


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


def log_ecs_call(
    action: str,
    region_id: str,
    request_id: str | None,
    error: ApiError | None,
    seconds: float,
    *,
    account: str | None = None,
) -> None:
    """One log line per ECS attempt, with the ECS RequestId that support will ask for (and, in a configured
    account, the account's name: the RequestId is that account's)."""
    with log_context(account=account):  # a None account adds nothing
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
    max_region_workers: int | None = None,
) -> EcsClient:
    """The function's own client. `max_region_workers`: regions worked on at once, with a connection pool to
    match (the bench's one-call-per-watch baseline uses the poller's); the client's default if None."""
    from shared.ecs.client import MAX_REGION_WORKERS, EcsClient
    from shared.ecs.credentials import DefaultCredentialsProvider
    from shared.ecs.transport import EcsTransport

    transport = EcsTransport(
        credentials or DefaultCredentialsProvider(),
        endpoint=settings.ecs_endpoint,
        signature_version=settings.ecs_signature_version,
        session=pooled_session(max_region_workers) if max_region_workers else None,
    )
    source = settings.default_region or "cn-hangzhou"
    workers = max_region_workers or MAX_REGION_WORKERS
    return EcsClient(transport, on_call=on_call, regions_source=source, max_region_workers=workers)


def pooled_session(connections: int) -> requests.Session:
    """A session that keeps up to `connections` connections per host: with ECS_ENDPOINT every region has the
    same host, and requests' default pool (10) would open and drop a connection per call beyond it."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=connections, pool_maxsize=connections)
    for prefix in ("https://", "http://"):
        session.mount(prefix, adapter)
    return session


# --- accounts (issue 13) -------------------------------------------------------------------------


def log_sts_call(
    account: str, session_name: str, request_id: str | None, error: ApiError | None, seconds: float
) -> None:
    """One log line per AssumeRole attempt: the account, the session (a Slack user id or the poller), the outcome."""
    log_event(
        "sts.assume_role",
        account=account,
        session_name=session_name,
        sts_request_id=request_id,
        outcome="ok" if error is None else error.code,
        duration_ms=round(seconds * 1000, 1),
    )


def account_directory(settings: Settings) -> AccountDirectory:
    """The configured accounts and channel bindings. ConfigurationError on a malformed region id, or on an
    account named like a word of the grammar (`failed`, `all`, `cn-hangzhou`), which could never be typed."""
    from bot.language.words import grammar_word_in
    from shared.config import ENV_ACCOUNTS
    from shared.ecs.accounts import AccountDirectory

    for name in settings.accounts:
        meaning = grammar_word_in(name)
        if meaning is not None:
            raise ConfigurationError(
                f"invalid settings: {ENV_ACCOUNTS}: the account name {name!r} is {meaning} in /ecs-tasks, so it "
                "could not be typed as an account; name it otherwise, such as prod or staging-eu",
                setting=ENV_ACCOUNTS,
            )
    return AccountDirectory.from_settings(settings)


def build_sts_client(settings: Settings, *, session: requests.Session | None = None) -> StsClient:
    """AssumeRole under the function's own credentials, on STS_ENDPOINT or the global endpoint, signed as
    ECS_SIGNATURE_VERSION says."""
    from shared.ecs.credentials import DefaultCredentialsProvider
    from shared.ecs.sts import STS_API_VERSION, StsClient, endpoint_url
    from shared.ecs.transport import EcsTransport
    from shared.errors import StsApiError

    transport = EcsTransport(
        DefaultCredentialsProvider(),
        endpoint=endpoint_url(settings.sts_endpoint),
        signature_version=settings.ecs_signature_version,
        session=session,
        api_version=STS_API_VERSION,
        error_type=StsApiError,
    )
    return StsClient(transport, on_call=log_sts_call)


@dataclass
class AccountClients:
    """What every account's clients share in one process: one requests.Session (one connection pool) and
    one credentials cache. `ecs_client_for` below uses a process-wide one."""

    settings: Settings
    http: requests.Session
    cache: AssumedRoleCache

    @classmethod
    def build(cls, settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> AccountClients:

        from shared.ecs.sts import AssumedRoleCache

        # As many connections as the poller's region workers (connections are opened only when needed).
        http = pooled_session(POLLER_REGION_WORKERS)
        return cls(settings, http, AssumedRoleCache(build_sts_client(settings, session=http), clock=clock))

    def ecs_client_for(
        self,
        account: Account,
        session: SessionSpec,
        *,
        on_call: EcsCallObserver | None = log_ecs_call,
        max_region_workers: int | None = None,
    ) -> EcsClient:
        """An EcsClient working in `account`: the home account under the function's own credentials, any
        other under the account's role assumed for `session` (its name and its policy). `max_region_workers`:
        regions worked on at once, the client's default if None."""
        from shared.ecs.client import MAX_REGION_WORKERS, EcsClient
        from shared.ecs.credentials import DefaultCredentialsProvider
        from shared.ecs.sts import AssumedRoleCredentialsProvider
        from shared.ecs.transport import EcsTransport

        credentials: CredentialsProvider = (
            DefaultCredentialsProvider()
            if account.is_home
            else AssumedRoleCredentialsProvider(self.cache, account, session)
        )
        transport = EcsTransport(
            credentials,
            endpoint=self.settings.ecs_endpoint,
            signature_version=self.settings.ecs_signature_version,
            session=self.http,
        )
        source = self.settings.default_region or (account.regions[0] if account.regions else "cn-hangzhou")
        if on_call is log_ecs_call and not account.is_home:
            on_call = functools.partial(log_ecs_call, account=account.name)
        workers = max_region_workers or MAX_REGION_WORKERS
        return EcsClient(transport, on_call=on_call, regions_source=source, max_region_workers=workers)


_account_clients: AccountClients | None = None
_account_clients_lock = threading.Lock()


def account_clients(settings: Settings) -> AccountClients:
    """The process's AccountClients for these settings (built on first use; rebuilt for other settings)."""
    global _account_clients
    with _account_clients_lock:
        if _account_clients is None or _account_clients.settings is not settings:
            _account_clients = AccountClients.build(settings)
        return _account_clients


def ecs_client_for(settings: Settings, account: Account, session: SessionSpec) -> EcsClient:
    """An EcsClient for one account and session, sharing the process's connection pool and credentials cache."""
    return account_clients(settings).ecs_client_for(account, session)


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


def guarded_web_client(settings: Settings, *, token: str | None, before_call: Callable[[], None]) -> WebClient:
    """A client under SLACK_CLIENT_POLICY that calls `before_call` before every Web API call (work that may
    be abandoned asks its attempt first: see `bot.slack.answering.attempt`)."""
    from slack_sdk import WebClient

    class GuardedWebClient(WebClient):
        def api_call(self, api_method: str, **kwargs: Any) -> Any:
            before_call()
            return super().api_call(api_method, **kwargs)

    return GuardedWebClient(
        token=token,
        base_url=settings.slack_api_url or SLACK_API_URL,
        timeout=SLACK_CLIENT_POLICY.timeout_s,
        retry_handlers=[],
    )


def build_thread_deferral() -> ThreadDeferral:
    from bot.slack.answering.deferral import ThreadDeferral

    return ThreadDeferral()


def open_configured_store(settings: Settings) -> SqlStore:
    # Imported here: SQLAlchemy is needed by channel updates and deferred work, never by a plain answer.
    from shared.store import open_store

    url = settings.database_url.get_secret_value() if settings.database_url else None
    if url is None and settings.on_function_compute:
        # A SQLite file on an instance that is frozen and recycled would forget everything.
        raise ConfigurationError(
            "ECS_TASKS_DATABASE_URL is not set: Function Compute needs a real database.",
            setting="ECS_TASKS_DATABASE_URL",
        )
    return open_store(url)


def build_bot_deps(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> BotDeps:
    deps = BotDeps(
        settings=settings,
        clock=clock,
        ecs_factory=build_ecs_client,
        store_factory=open_configured_store,
        account_ecs_factory=ecs_client_for,
    )
    if settings.accounts:
        # Checked now, while the app is built: a misnamed account is then answered as a misconfiguration
        # naming the setting, like any other bad setting, instead of failing inside a listener.
        deps.accounts  # noqa: B018 - built for its check
    return deps


def build_poller(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, faults: Faults | None = None
) -> Poller:
    from shared.updates.notifier import Notifier
    from shared.updates.outbox import no_faults
    from shared.updates.policy import AccessPolicy
    from shared.updates.poller import Poller, PollerConfig

    if settings.accounts:
        account_directory(settings)  # the same account-name checks as the Slack function's
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
        poller_ecs_clients(settings, config.policy.accounts),
        notifier,
        config,
        clock=clock,
        faults=faults or no_faults,
    )


def poller_ecs_clients(settings: Settings, directory: AccountDirectory) -> Callable[[str], EcsClient]:
    """Each account's EcsClient for the poller, by configured name, under the poller's session
    (`ecs-tasks-poller`, READ policy); built once per account, sharing the process's pool and credentials
    cache. The home account keeps the function's own credentials. The poller asks only for accounts its
    policy admitted; any other name is a programming error (KeyError)."""
    from shared.ecs.sessions import SessionSpec

    clients = account_clients(settings)
    session = SessionSpec.for_poller()
    built: dict[str, EcsClient] = {}
    lock = threading.Lock()

    def ecs_for(name: str) -> EcsClient:
        with lock:
            client = built.get(name)
            if client is None:
                account = directory.named(name)
                if account is None:
                    raise KeyError(f"account {name[:24]!r} is not configured")
                client = built[name] = clients.ecs_client_for(
                    account, session, max_region_workers=POLLER_REGION_WORKERS
                )
            return client

    return ecs_for
