"""Accounts in the ECS emulator: whose credentials a request carries, and that account's tasks.

The emulator's own keys (its `credentials`) belong to the "home" account and keep today's behaviour. A key
the STS emulator issued (looked up in the shared `SessionRegistry`) belongs to the assumed role's account:
its signature is verified with the official signing utilities, an expired session is refused, an action
the session may not take (the role's permissions intersected with the session policy) is refused with
Forbidden.RAM, and the request is served from that account's own task table.

    registry = SessionRegistry()
    ecs = EcsEmulator(sessions=registry, account_seeds={"1111111111111111": [...], ...})
    sts = StsEmulator(callers=..., roles=..., registry=registry)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emulators.ecs.errors import ServiceError
from emulators.ecs.regions import Region
from emulators.ecs.request import V3, IncomingRequest
from emulators.ecs.store import TaskStore
from emulators.sts.sessions import IssuedSession, SessionRegistry
from emulators.sts.verify import KeyRecord, OfficialVerifier, SigningError

FORBIDDEN_RAM = "Forbidden.RAM"
FORBIDDEN_RAM_MESSAGE = "User not authorized to operate on the specified resource, or this API doesn't support RAM."


@dataclass(frozen=True)
class Tenant:
    session: IssuedSession
    store: TaskStore


@dataclass(frozen=True)
class AccountCall:
    """One request made with STS-issued credentials: which account, which session, which action, allowed."""

    account_id: str
    role_arn: str
    session_name: str
    access_key_id: str
    action: str
    region_id: str | None
    allowed: bool


def _access_key_id(request: IncomingRequest) -> str | None:
    if request.signature_version == V3:
        _, _, rest = request.headers.get("authorization", "").partition(" ")
        for item in rest.split(","):
            name, _, value = item.strip().partition("=")
            if name == "Credential":
                return value
        return None
    return request.params.get("AccessKeyId")


class AccountTenancy:
    """Routes STS-issued credentials to their account's TaskStore; None for everything else (home)."""

    def __init__(
        self,
        registry: SessionRegistry,
        regions: tuple[Region, ...],
        request_clock: Callable[[], datetime],
    ) -> None:
        self._registry = registry
        self._regions = regions
        self._verifier = OfficialVerifier(self._key, request_clock)
        self._lock = threading.Lock()
        self._stores: dict[str, TaskStore] = {}
        self._calls: list[AccountCall] = []

    def store(self, account_id: str) -> TaskStore:
        """The account's task table (created empty on first use)."""
        with self._lock:
            store = self._stores.get(account_id)
            if store is None:
                # A different id seed per account, so ids do not repeat across accounts.
                store = self._stores[account_id] = TaskStore(self._regions, id_seed=int(account_id))
            return store

    def seed(self, account_seeds: Mapping[str, Sequence[Mapping[str, Any]]], now: datetime) -> None:
        for account_id, entries in account_seeds.items():
            store = self.store(account_id)
            for entry in entries:
                store.add_seed(entry, now)

    def add_task(self, account_id: str, now: datetime, **fields: Any) -> str:
        return self.store(account_id).add_seed(fields, now).task_id

    @property
    def calls(self) -> list[AccountCall]:
        with self._lock:
            return list(self._calls)

    def route(self, request: IncomingRequest) -> Tenant | None:
        access_key_id = _access_key_id(request)
        session = self._registry.lookup(access_key_id) if access_key_id else None
        if session is None:
            return None
        try:
            self._verifier.verify(request)
        except SigningError as error:
            raise ServiceError(error.status, error.code, error.message) from None
        allowed = session.allows(request.action)
        with self._lock:
            self._calls.append(
                AccountCall(
                    account_id=session.account_id,
                    role_arn=session.role_arn,
                    session_name=session.session_name,
                    access_key_id=session.access_key_id,
                    action=request.action,
                    region_id=request.api_params.get("RegionId"),
                    allowed=allowed,
                )
            )
        if not allowed:
            raise ServiceError(403, FORBIDDEN_RAM, FORBIDDEN_RAM_MESSAGE)
        return Tenant(session, self.store(session.account_id))

    def _key(self, access_key_id: str) -> KeyRecord | None:
        session = self._registry.lookup(access_key_id)
        return None if session is None else session.key_record()
