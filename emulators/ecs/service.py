"""One ECS request from parsed form to answer: faults, authentication, dispatch, rendering, record.

No sockets here: the HTTP server hands in an IncomingRequest and writes out the Answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from emulators.ecs import errors
from emulators.ecs.actions import (
    ACTIONS,
    API_VERSION,
    LISTINGS,
    MAX_PAGE_SIZE,
    STRICT_LISTING,
    WRITE_ACTIONS,
    ActionContext,
)
from emulators.ecs.auth import Authenticator
from emulators.ecs.clock import TaskClock
from emulators.ecs.errors import ServiceError
from emulators.ecs.faults import Fault, FaultConfig, FaultInjector, FaultKind
from emulators.ecs.records import Caller, CallLog, RecordedCall
from emulators.ecs.regions import Region
from emulators.ecs.request import IncomingRequest
from emulators.ecs.responses import (
    REQUEST_ID_HEADER,
    Rendered,
    malformed,
    new_request_id,
    render_error,
    render_success,
    response_format,
)
from emulators.ecs.store import TaskStore

# The account the emulator's own (non-STS) credentials belong to, as ActionTrail events name it.
HOME_ACCOUNT_ID = "1234567890123456"

if TYPE_CHECKING:
    from emulators.ecs.accounts import AccountTenancy

API_PATH = "/"


@dataclass(frozen=True)
class Answer:
    rendered: Rendered | None  # None: close the connection without answering
    latency_s: float


class EcsService:
    def __init__(
        self,
        *,
        store: TaskStore,
        regions: tuple[Region, ...],
        authenticator: Authenticator,
        clock: TaskClock,
        faults: Callable[[], FaultConfig],
        calls: CallLog,
        request_clock: Callable[[], datetime],
        accounts: AccountTenancy | None = None,
        listing: str = STRICT_LISTING,
        page_size_cap: int = MAX_PAGE_SIZE,
        users: Mapping[str, str] | None = None,
        account_id: str = HOME_ACCOUNT_ID,
    ) -> None:
        if listing not in LISTINGS:
            raise ValueError(f"listing must be one of {', '.join(LISTINGS)}, not {listing!r}")
        self._listing = listing
        self._page_size_cap = page_size_cap
        self._store = store
        # STS-issued credentials are served from their own account's tasks (emulators/ecs/accounts.py).
        self._accounts = accounts
        self._regions = regions
        self._auth = authenticator
        self._clock = clock
        self._faults = faults
        self._injector = FaultInjector()
        self._calls = calls
        self._request_clock = request_clock
        # Who holds which AccessKey (a RAM user's name), for the call log's callers; any other key is the root's.
        self._users = dict(users or {})
        self._account_id = account_id

    @property
    def listing(self) -> str:
        """How DescribeTasks reads "no TaskStatus": strict (the API page) or lenient."""
        return self._listing

    def handle(self, request: IncomingRequest) -> Answer:
        fault = self._injector.decide(self._faults())
        request_id = new_request_id()
        if fault.kind is FaultKind.DROP:
            self._record(request, None, None, None, None, fault)
            return Answer(None, fault.latency_s)
        access_key_id: str | None = None
        error_code: str | None = None
        caller: Caller | None = None
        result: dict[str, Any] | None = None
        try:
            if request.path != API_PATH:
                raise errors.invalid_action()
            tenant = self._accounts.route(request) if self._accounts is not None else None
            if tenant is None:
                access_key_id = self._auth.authenticate(request).access_key_id
                store = self._store
                caller = self._caller(access_key_id)
            else:
                access_key_id, store = tenant.session.access_key_id, tenant.store
                role_name = tenant.session.role_arn.rpartition("/")[2]
                user_name = f"{role_name}:{tenant.session.session_name}"
                caller = Caller("assumed-role", tenant.session.account_id, user_name)
            rendered, body = self._dispatch(request, request_id, fault, store)
            result = body if request.action in WRITE_ACTIONS else None
        except ServiceError as error:
            rendered = render_error(error, request_id, response_format(request))
            error_code = error.code
        if fault.kind is FaultKind.MALFORMED:
            rendered = malformed(rendered, truncate=fault.variant)
        rendered = replace(rendered, headers={**rendered.headers, REQUEST_ID_HEADER: request_id})
        self._record(request, rendered.status, error_code, request_id, access_key_id, fault, caller, result)
        return Answer(rendered, fault.latency_s)

    def _caller(self, access_key_id: str) -> Caller:
        user = self._users.get(access_key_id)
        if user is None:
            return Caller("root-account", self._account_id)
        return Caller("ram-user", self._account_id, user)

    def _dispatch(
        self, request: IncomingRequest, request_id: str, fault: Fault, store: TaskStore
    ) -> tuple[Rendered, dict[str, Any]]:
        if not request.version:
            raise errors.missing_parameter("Version")
        if request.version != API_VERSION:
            raise errors.invalid_version()
        if not request.action:
            raise errors.missing_parameter("Action")
        handler = ACTIONS.get(request.action)
        if handler is None:
            raise errors.invalid_action()
        # Server-side trouble strikes after the gateway has identified the caller and the API.
        if fault.kind is FaultKind.ERROR_5XX:
            raise errors.service_unavailable() if fault.variant else errors.internal_error()
        if fault.kind is FaultKind.THROTTLE:
            raise errors.throttled(self._faults().throttle_retry_after_ms if fault.variant else None)
        context = ActionContext(
            store=store,
            regions=self._regions,
            now=self._clock.now(),
            listing=self._listing,
            page_size_cap=self._page_size_cap,
        )
        body = handler(request.api_params, context)
        return render_success(request.action, body, request_id, response_format(request)), body

    def _record(
        self,
        request: IncomingRequest,
        status: int | None,
        error_code: str | None,
        request_id: str | None,
        access_key_id: str | None,
        fault: Fault,
        caller: Caller | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        api_params = request.api_params
        self._calls.append(
            RecordedCall(
                action=request.action,
                region_id=api_params.get("RegionId"),
                params=api_params,
                signature_version=request.signature_version,
                http_status=status,
                error_code=error_code,
                request_id=request_id,
                method=request.method,
                at=self._request_clock(),
                access_key_id=access_key_id,
                fault=None if fault.kind is FaultKind.NONE else fault.kind.value,
                caller=caller,
                result=result,
            )
        )
