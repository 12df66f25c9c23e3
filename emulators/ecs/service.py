"""One ECS request from parsed form to answer: faults, authentication, dispatch, rendering, record.

No sockets here: the HTTP server hands in an IncomingRequest and writes out the Answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from emulators.ecs import errors
from emulators.ecs.actions import ACTIONS, API_VERSION, ActionContext
from emulators.ecs.auth import Authenticator
from emulators.ecs.clock import TaskClock
from emulators.ecs.errors import ServiceError
from emulators.ecs.faults import THROTTLE_RETRY_AFTER_S, Fault, FaultConfig, FaultInjector, FaultKind
from emulators.ecs.records import CallLog, RecordedCall
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
        strict_listing: bool = False,
    ) -> None:
        self._strict_listing = strict_listing
        self._store = store
        self._regions = regions
        self._auth = authenticator
        self._clock = clock
        self._faults = faults
        self._injector = FaultInjector()
        self._calls = calls
        self._request_clock = request_clock

    def handle(self, request: IncomingRequest) -> Answer:
        fault = self._injector.decide(self._faults())
        request_id = new_request_id()
        if fault.kind is FaultKind.DROP:
            self._record(request, None, None, None, None, fault)
            return Answer(None, fault.latency_s)
        access_key_id: str | None = None
        error_code: str | None = None
        try:
            if request.path != API_PATH:
                raise errors.invalid_action()
            access_key_id = self._auth.authenticate(request).access_key_id
            rendered = self._dispatch(request, request_id, fault)
        except ServiceError as error:
            rendered = render_error(error, request_id, response_format(request.params))
            error_code = error.code
        if fault.kind is FaultKind.MALFORMED:
            rendered = malformed(rendered, truncate=fault.variant)
        rendered = replace(rendered, headers={**rendered.headers, REQUEST_ID_HEADER: request_id})
        self._record(request, rendered.status, error_code, request_id, access_key_id, fault)
        return Answer(rendered, fault.latency_s)

    def _dispatch(self, request: IncomingRequest, request_id: str, fault: Fault) -> Rendered:
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
            raise errors.throttled(THROTTLE_RETRY_AFTER_S if fault.variant else None)
        context = ActionContext(
            store=self._store, regions=self._regions, now=self._clock.now(), strict_listing=self._strict_listing
        )
        body = handler(request.api_params, context)
        return render_success(request.action, body, request_id, response_format(request.params))

    def _record(
        self,
        request: IncomingRequest,
        status: int | None,
        error_code: str | None,
        request_id: str | None,
        access_key_id: str | None,
        fault: Fault,
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
            )
        )
