"""The one place that builds each process's objects from settings: the access policy, the ECS clients (one
factory, one connection pool), every Slack Web API client, the store, the bot's dependencies and the poller.
Entry points (`functions/`, the CLI) call these and build nothing themselves.

Heavy libraries (`requests`, SQLAlchemy) are imported inside the builders that need them, so the path to
Slack's first answer on a cold start pays only for what it uses.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.wiring.deps import BotDeps
from shared.config import Settings
from shared.errors import ApiError, ConfigurationError
from shared.log import configure_logging, log_context, log_event, register_secret
from shared.timefmt import utc_now

if TYPE_CHECKING:
    import requests
    from slack_bolt import App
    from slack_sdk import WebClient
    from slack_sdk.webhook import WebhookClient

    from bot.slack.answering.deferral import FunctionComputeDeferral, ThreadDeferral
    from bot.usecases.doctor import DatabaseState, DoctorProbes, EventTriggers, SlackAuth
    from shared.ecs.accounts import Account, AccountDirectory
    from shared.ecs.client import EcsClient
    from shared.ecs.credentials import CredentialsProvider
    from shared.ecs.sessions import SessionSpec
    from shared.ecs.sts import AssumedRoleCache, StsClient
    from shared.health import Check
    from shared.policy import AccessPolicy, PolicyHolder
    from shared.store import SqlStore
    from shared.updates.announcer import EventAnnouncer
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
    which for chat.postMessage (or a post to a response_url) can post twice. Whoever posts decides what is
    sent again (the outbox does, on record). The timeout keeps a poller tick and a deferred answer well
    inside the function's timeout. Web API clients (`slack_web_client`) and response_url clients
    (`response_url_client`) alike.
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
    line = functools.partial(
        log_event,
        "ecs.call",
        action=action,
        region_id=region_id,
        ecs_request_id=request_id,
        outcome="ok" if error is None else error.code,
        duration_ms=round(seconds * 1000, 1),
    )
    if account is None:
        line()  # the home account's calls, most of them: no context to enter
        return
    with log_context(account=account):
        line()


def build_ecs_client(
    settings: Settings,
    *,
    on_call: EcsCallObserver | None = log_ecs_call,
    max_region_workers: int | None = None,
    credentials: CredentialsProvider | None = None,
) -> EcsClient:
    """The home account's client, for a process that works at home alone (the CLI, the benches): the one
    factory's (`ecs_clients`). `max_region_workers`: regions worked on at once, the client's default if None.
    `credentials`: the home account's own (the CLI's official chain), from a factory of its own; None: the
    function's (the environment, then the aliyun CLI's profile file)."""
    from shared.ecs.accounts import HOME

    clients = ecs_clients(settings) if credentials is None else EcsClients(settings, home_credentials=credentials)
    return clients.client_for(HOME, on_call=on_call, max_region_workers=max_region_workers)


def pooled_session(connections: int) -> requests.Session:
    """A session that keeps up to `connections` connections per host: with ECS_ENDPOINT every region has the
    same host, and requests' default pool (10) would open and drop a connection per call beyond it."""
    import requests

    from shared.ecs.transport import ApiAdapter

    session = requests.Session()
    adapter = ApiAdapter(pool_connections=connections, pool_maxsize=connections)
    for prefix in ("https://", "http://"):
        session.mount(prefix, adapter)
    return session


def build_policy(settings: Settings) -> AccessPolicy:
    """The process's access policy. ConfigurationError naming the setting for a bad account name, such as one
    named like a word of the grammar (`failed`, `all`, `cn-hangzhou`) or a console name of a region
    (`shanghai`, `singapore`), which could never be typed as an account."""
    from shared.policy import AccessPolicy

    return AccessPolicy.from_settings(settings, reserved_word=reserved_account_word)


def reserved_account_word(name: str) -> str | None:
    """What `name` already means to the grammar, a region's console name included (any spelling the grammar
    folds to it: `us_east_1` is `US East 1`), or None."""
    from bot.language.region_names import REGION_BY_NAME, region_name_key
    from bot.language.words import grammar_word_in

    meaning = grammar_word_in(name)
    if meaning is None and (region := REGION_BY_NAME.get(region_name_key(name))) is not None:
        meaning = f"the console name of the region {region}"
    return meaning


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


def build_sts_client(settings: Settings, *, session: requests.Session) -> StsClient:
    """AssumeRole under the function's own credentials, on STS_ENDPOINT or the global endpoint, signed as
    ECS_SIGNATURE_VERSION says, over the process's connection pool (`session`)."""
    from shared.ecs.credentials import DefaultCredentialsProvider
    from shared.ecs.sts import STS_API_VERSION, StsClient, endpoint_url
    from shared.ecs.transport import ApiTransport
    from shared.errors import StsApiError

    transport = ApiTransport(
        DefaultCredentialsProvider(),
        endpoint=endpoint_url(settings.sts_endpoint),
        signature_version=settings.ecs_signature_version,
        session=session,
        api_version=STS_API_VERSION,
        error_type=StsApiError,
    )
    return StsClient(transport, on_call=log_sts_call)


class EcsClients:
    """The one ECS client factory of a process: `client_for(account, session)`. Every client it makes shares
    one requests.Session (one connection pool), built when the first client is asked for (so building the
    factory loads no HTTP client), and one cache of assumed-role credentials, built with the first client
    of an account other than home.

    The home account's calls run under the function's own credentials, never AssumeRole, whoever they are
    for (its `session` may be None); its client is built once (per worker count and observer) and kept,
    because a head start's prefetch waits in it for the listener. Any other account's client works under the
    account's role assumed for `session`: named after the Slack user (or the poller), allowed only its purpose.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        home_credentials: CredentialsProvider | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._home_credentials = home_credentials
        self._lock = threading.Lock()
        self._http: requests.Session | None = None
        self._assumed: AssumedRoleCache | None = None
        self._home: dict[tuple[int, EcsCallObserver | None], EcsClient] = {}

    def pool(self) -> requests.Session:
        """The process's one requests.Session: every Alibaba Cloud client of the process sends through it."""
        with self._lock:
            if self._http is None:
                # As many connections as the poller's region workers (connections are opened only when needed).
                self._http = pooled_session(POLLER_REGION_WORKERS)
            return self._http

    def _assumed_roles(self) -> AssumedRoleCache:
        """Built with the first client of an account other than home: a home-only process never loads STS."""
        http = self.pool()
        with self._lock:
            if self._assumed is None:
                from shared.ecs.sts import AssumedRoleCache

                self._assumed = AssumedRoleCache(build_sts_client(self.settings, session=http), clock=self._clock)
            return self._assumed

    def client_for(
        self,
        account: Account,
        session: SessionSpec | None = None,
        *,
        on_call: EcsCallObserver | None = log_ecs_call,
        max_region_workers: int | None = None,
    ) -> EcsClient:
        """An EcsClient working in `account` for `session` (see the class). `max_region_workers`: regions
        worked on at once, the client's default if None. ValueError: an account other than home without a
        session."""
        from shared.ecs.client import MAX_REGION_WORKERS

        workers = max_region_workers or MAX_REGION_WORKERS
        if account.is_home:
            key = (workers, on_call)
            with self._lock:
                kept = self._home.get(key)
            if kept is not None:
                return kept
            built = self._client(account, None, on_call, workers)
            with self._lock:
                return self._home.setdefault(key, built)
        if session is None:
            raise ValueError(f"account {account.name!r} works under an assumed role: its client needs a session")
        if on_call is log_ecs_call:
            on_call = functools.partial(log_ecs_call, account=account.name)
        return self._client(account, session, on_call, workers)

    def _client(
        self, account: Account, session: SessionSpec | None, on_call: EcsCallObserver | None, workers: int
    ) -> EcsClient:
        from shared.ecs.client import EcsClient
        from shared.ecs.credentials import DefaultCredentialsProvider
        from shared.ecs.transport import ApiTransport

        credentials: CredentialsProvider
        if session is None:
            credentials = self._home_credentials or DefaultCredentialsProvider()
        else:
            from shared.ecs.sts import AssumedRoleCredentialsProvider

            credentials = AssumedRoleCredentialsProvider(self._assumed_roles(), account, session)
        transport = ApiTransport(
            credentials,
            endpoint=self.settings.ecs_endpoint,
            signature_version=self.settings.ecs_signature_version,
            session=self.pool(),
        )
        source = self.settings.default_region or (account.regions[0] if account.regions else "cn-hangzhou")
        return EcsClient(transport, on_call=on_call, regions_source=source, max_region_workers=workers)


_ecs_clients: EcsClients | None = None
_ecs_clients_lock = threading.Lock()


def ecs_clients(settings: Settings) -> EcsClients:
    """The process's one EcsClients for these settings (rebuilt for other settings: tests change them)."""
    global _ecs_clients
    with _ecs_clients_lock:
        if _ecs_clients is None or _ecs_clients.settings is not settings:
            _ecs_clients = EcsClients(settings)
        return _ecs_clients


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


def response_url_client(url: str) -> WebhookClient:
    """A client for one response_url under SLACK_CLIENT_POLICY."""
    from slack_sdk.webhook import WebhookClient

    return WebhookClient(url=url, timeout=SLACK_CLIENT_POLICY.timeout_s, retry_handlers=[])


def build_thread_deferral() -> ThreadDeferral:
    from bot.slack.answering.deferral import ThreadDeferral

    return ThreadDeferral()


def build_function_compute_deferral(settings: Settings) -> FunctionComputeDeferral:
    """Deferred work as an async InvokeFunction of this very function (Function Compute 3.0), each sealed
    under a key derived from the signing secret."""
    from bot.slack.answering.deferral import FunctionComputeDeferral
    from bot.slack.answering.seal import Sealer
    from shared.ecs.credentials import DefaultCredentialsProvider
    from shared.ecs.invoke import AsyncInvoker, fc_endpoint

    if settings.slack_signing_secret is None:
        raise ConfigurationError(
            "SLACK_SIGNING_SECRET is not set: deferred work is sealed with it.", setting="SLACK_SIGNING_SECRET"
        )
    invoker = AsyncInvoker(
        DefaultCredentialsProvider(),
        endpoint=fc_endpoint(settings),
        function_name=settings.fc_function_name or "",
        session=ecs_clients(settings).pool(),
    )
    return FunctionComputeDeferral(
        invoker, sealer=Sealer.from_signing_secret(settings.slack_signing_secret.get_secret_value())
    )


@dataclass(frozen=True)
class SlackApp:
    """The Bolt app, and the thread its deferred work runs on where that is a thread (None: an async
    InvokeFunction on Function Compute 3.0)."""

    app: App
    thread_deferral: ThreadDeferral | None


def build_slack_app(deps: BotDeps, *, async_invocations: bool = True) -> SlackApp:
    """The app wired for where it runs: deferred work as an async invocation on Function Compute 3.0, a
    thread elsewhere (and on FC 2.0's WSGI runtime, whose events are not FC 3.0 HTTP events)."""
    from bot.slack.app import build_app

    if deps.settings.on_function_compute and async_invocations:
        deferred = build_function_compute_deferral(deps.settings)
        web_client = slack_web_client(deps.settings, token=None)
        app = build_app(deps, deferral=deferred, web_client=web_client, response_url_client=response_url_client)
        return SlackApp(app, None)
    deferral = build_thread_deferral()
    web_client = slack_web_client(deps.settings, token=None)
    app = build_app(deps, deferral=deferral, web_client=web_client, response_url_client=response_url_client)
    deferral.bind(app.dispatch)
    return SlackApp(app, deferral)


def load_bot_deps() -> BotDeps:
    """The Slack function's dependencies, from its settings (the environment); logging configured by them."""
    from shared.config import load_settings

    settings = load_settings()
    configure_logging(logging.getLevelName(settings.log_level))
    return build_bot_deps(settings)


def load_poller() -> Poller:
    """The timer function's poller, from its settings (the environment); logging configured by them."""
    from shared.config import load_settings

    settings = load_settings()
    configure_logging(logging.getLevelName(settings.log_level))
    return build_poller(settings)


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
    """The Slack function's dependencies. The policy is built here, once, while the app is built: a misnamed
    account is then answered as a misconfiguration naming the setting, like any other bad setting."""
    base = build_policy(settings)

    def slack_bindings() -> AccessPolicy:
        return base.with_slack_bindings(deps.store().bindings.all())

    deps = BotDeps(
        settings=settings,
        clock=clock,
        policy=policy_holder(settings, base, slack_bindings),
        ecs=ecs_clients(settings).client_for,
        store_factory=open_configured_store,
        doctor=functools.partial(run_doctor, settings),
    )
    return deps


def policy_holder(settings: Settings, base: AccessPolicy, with_bindings: Callable[[], AccessPolicy]) -> PolicyHolder:
    """The policy in force: the settings' alone, or, where accounts and a database are configured, with the
    channel bindings made in Slack read again at most once per the holder's staleness (30 s). Without
    accounts nothing can be bound, so a query never opens the store."""
    from shared.policy import PolicyHolder

    if settings.database_url is None or not base.accounts.configured:
        return PolicyHolder.fixed(base)
    return PolicyHolder.refreshing(base, with_bindings)


def build_poller(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, faults: Faults | None = None
) -> Poller:
    from shared.updates.notifier import Notifier
    from shared.updates.outbox import no_faults
    from shared.updates.poller import Poller, PollerConfig

    base = build_policy(settings)
    store = open_configured_store(settings)
    config = PollerConfig(
        ttl=settings.watch_ttl,
        allowed_regions=settings.allowed_regions,
        policy=base,
        # Bindings made in Slack apply from the poller's next tick.
        policy_source=(lambda: base.with_slack_bindings(store.bindings.all())) if base.accounts.configured else None,
        repoll_interval_s=settings.repoll_interval_s,
        min_post_s=2.0 * SLACK_CLIENT_POLICY.timeout_s,  # a card update and a reply at the full timeout
    )
    notifier = Notifier(slack_web_client(settings, token=slack_bot_token(settings, needed_by="the poller")))
    return Poller(
        store,
        poller_ecs_clients(settings, config.policy.accounts),
        notifier,
        config,
        clock=clock,
        faults=faults or no_faults,
    )


def load_event_announcer() -> EventAnnouncer:
    """The events function's announcer, from its settings (the environment); logging configured by them."""
    from shared.config import load_settings

    settings = load_settings()
    configure_logging(logging.getLevelName(settings.log_level))
    return build_event_announcer(settings)


def build_event_announcer(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> EventAnnouncer:
    """The EventBridge handler's announcer: the poller's store, its read-only clients (session
    `ecs-tasks-poller`) and its Slack client; its own outbox lease."""
    from shared.config import ROLE_ARN_RE
    from shared.updates.announcer import EventAnnouncer, EventsConfig
    from shared.updates.notifier import Notifier
    from shared.updates.poller import new_owner_id

    own_role = ROLE_ARN_RE.fullmatch(settings.slack_role_arn or "")
    base = build_policy(settings)
    store = open_configured_store(settings)
    config = EventsConfig(
        policy=base,
        policy_source=(lambda: base.with_slack_bindings(store.bindings.all())) if base.accounts.configured else None,
        ttl=settings.watch_ttl,
        home_account_id=settings.fc_account_id,
        attribution=settings.event_attribution,
        own_role_name=own_role.group("role_name") if own_role else None,
        min_post_s=2.0 * SLACK_CLIENT_POLICY.timeout_s,
    )
    notifier = Notifier(slack_web_client(settings, token=slack_bot_token(settings, needed_by="the events function")))
    return EventAnnouncer(
        store,
        poller_ecs_clients(settings, config.policy.accounts),
        notifier,
        config,
        clock=clock,
        owner=f"events:{new_owner_id()}"[:64],
    )


def poller_ecs_clients(settings: Settings, directory: AccountDirectory) -> Callable[[str], EcsClient]:
    """Each account's EcsClient for the poller, by configured name, under the poller's session
    (`ecs-tasks-poller`, READ policy); built once per account, sharing the process's pool and credentials
    cache. The home account keeps the function's own credentials. The poller asks only for accounts its
    policy admitted; any other name is a programming error (KeyError)."""
    from shared.ecs.sessions import SessionSpec

    clients = ecs_clients(settings)
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
                client = built[name] = clients.client_for(account, session, max_region_workers=POLLER_REGION_WORKERS)
            return client

    return ecs_for


# --- doctor: the probes its checks run ----------------------------------------------------------------

DOCTOR_DEADLINE_S = 10.0  # one probe's ECS or STS work, retries included
DOCTOR_HTTP_TIMEOUT_S = (3.05, 5.0)


def doctor_slack_auth(settings: Settings) -> SlackAuth:
    """auth.test with the bot token: the token's workspace and scopes (`x-oauth-scopes`), or Slack's error."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.usecases.doctor import SlackAuth

    client = slack_web_client(settings, token=slack_bot_token(settings, needed_by="doctor"))
    try:
        response = client.auth_test()
    except SlackApiError as error:
        return SlackAuth(error=str(error.response.get("error") or "unknown error"))
    except (SlackClientError, OSError) as error:
        return SlackAuth(error=f"Slack did not answer: {type(error).__name__}")
    header = next((v for k, v in response.headers.items() if k.lower() == "x-oauth-scopes"), None)
    value = header[0] if isinstance(header, list) and header else header
    scopes = frozenset(s.strip() for s in value.split(",") if s.strip()) if isinstance(value, str) else None
    team = response.get("team")
    return SlackAuth(error=None, team=team if isinstance(team, str) else None, scopes=scopes)


def doctor_database(settings: Settings) -> DatabaseState:
    """The store's schema version, read without creating or upgrading anything; the driver's own message is
    left out of the error (it may name the server's user)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from bot.usecases.doctor import DatabaseState
    from shared.store.engine import default_database_url, make_engine
    from shared.store.schema import schema_version
    from shared.store.sql_store import SqlStore

    url = settings.database_url.get_secret_value() if settings.database_url else default_database_url()
    try:
        engine = make_engine(url)
    except (ArgumentError, ImportError) as error:
        return DatabaseState(error=f"the URL cannot be used: {type(error).__name__}")
    try:
        if not inspect(engine).has_table(schema_version.name):
            return DatabaseState(error=None, version=None)
        return DatabaseState(error=None, version=SqlStore(engine).schema_version())
    except SQLAlchemyError as error:
        return DatabaseState(error=f"{type(error).__name__} on connecting")
    finally:
        engine.dispose()


def doctor_describe_one(settings: Settings, account: Account, region: str) -> str | None:
    """One DescribeTasks (PageSize=1) in `account` and `region`, under the poller's session (AssumeRole first
    in an account other than home): None when allowed, else the error's code, message and RequestId."""
    from shared.ecs.sessions import SessionSpec
    from shared.errors import CredentialsNotFoundError

    try:
        client = ecs_clients(settings).client_for(account, None if account.is_home else SessionSpec.for_poller())
        client.describe_tasks(region, page_size=1, deadline=client.deadline(DOCTOR_DEADLINE_S))
    except (ApiError, CredentialsNotFoundError, ConfigurationError) as error:
        return str(error)
    return None


def doctor_sts_answers(settings: Settings) -> str | None:
    """Whether the STS endpoint answers HTTP at all (any status will do: the AssumeRole checks say more)."""
    import requests

    from shared.ecs.sts import endpoint_url

    try:
        requests.get(endpoint_url(settings.sts_endpoint), timeout=DOCTOR_HTTP_TIMEOUT_S)
    except requests.RequestException as error:
        return type(error).__name__
    return None


# Function Compute's answers that turn the caller away: no permission, or credentials it does not accept.
FC_REFUSAL_STATUSES = frozenset({401, 403})
FC_REFUSAL_CODES = frozenset(
    {
        "AccessDenied",
        "Forbidden",
        "InvalidAccessKeyID",
        "InvalidAccessKeyId.NotFound",
        "SignatureNotMatch",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
    }
)


def doctor_event_triggers(settings: Settings) -> EventTriggers:
    """ListTriggers of the events function under the function's own credentials: the types of its triggers,
    or FC's error (code, message, RequestId), flagged when FC refused the caller or knows no such function."""
    from bot.usecases.doctor import EventTriggers
    from shared.ecs.credentials import DefaultCredentialsProvider
    from shared.ecs.invoke import fc_endpoint
    from shared.ecs.triggers import TriggerLister
    from shared.errors import CredentialsNotFoundError, FcApiError

    try:
        lister = TriggerLister(
            DefaultCredentialsProvider(), endpoint=fc_endpoint(settings), session=ecs_clients(settings).pool()
        )
        triggers = lister.triggers(settings.events_function)
    except FcApiError as error:
        refused = error.http_status in FC_REFUSAL_STATUSES or error.code in FC_REFUSAL_CODES
        return EventTriggers(error=str(error), refused=refused, no_function=error.code == "FunctionNotFound")
    except (ApiError, CredentialsNotFoundError, ConfigurationError) as error:
        return EventTriggers(error=str(error))
    return EventTriggers(types=frozenset(trigger.type for trigger in triggers))


def build_doctor_probes() -> DoctorProbes:
    from bot.usecases.doctor import DoctorProbes
    from shared.store.sql_store import SCHEMA_VERSION

    return DoctorProbes(
        slack_auth=doctor_slack_auth,
        database=doctor_database,
        describe_one=doctor_describe_one,
        sts_answers=doctor_sts_answers,
        event_triggers=doctor_event_triggers,
        schema_version=SCHEMA_VERSION,
    )


def run_doctor(settings: Settings) -> tuple[Check, ...]:
    """Every doctor check for these settings (their policy built first: a bad account name fails here)."""
    from bot.usecases.doctor import diagnose, settings_failed

    try:
        policy = build_policy(settings)
    except ConfigurationError as error:
        return settings_failed(str(error))
    return diagnose(settings, policy.accounts, build_doctor_probes())
