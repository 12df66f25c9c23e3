"""What the listeners need, built once per instance and injected (so tests can swap any part)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.config import Settings
from shared.errors import ConfigurationError
from shared.timefmt import utc_now

if TYPE_CHECKING:
    from shared.ecs_client import EcsClient
    from shared.store import SqlStore


def _open_configured_store(settings: Settings) -> SqlStore:
    # Imported here: SQLAlchemy is only needed by lazy work and the poller, never on the ack path.
    from shared.store import open_store

    url = settings.database_url.get_secret_value() if settings.database_url else None
    if url is None and settings.on_function_compute:
        # A SQLite file on an instance that is frozen and recycled would forget everything.
        raise ConfigurationError("ECS_TASKS_DATABASE_URL is not set: Function Compute needs a real database.")
    return open_store(url)


def _build_configured_ecs(settings: Settings) -> EcsClient:
    # Imported here: the ECS client (and `requests`) is needed by lazy work only, never on the ack path.
    from shared.wiring import build_ecs_client

    return build_ecs_client(settings)


@dataclass
class BotDeps:
    settings: Settings
    clock: Callable[[], datetime] = utc_now
    ecs_factory: Callable[[Settings], EcsClient] = _build_configured_ecs
    store_factory: Callable[[Settings], SqlStore] = _open_configured_store
    channel_updates_enabled: bool = False
    # Hooks for the channel-updates feature: a handler for its commands and a function registering its buttons.
    channel_command_handler: Callable[..., None] | None = None
    register_extra: Callable[[Any, BotDeps], None] | None = None
    _ecs: EcsClient | None = field(default=None, init=False, repr=False)
    _store: SqlStore | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def ecs(self) -> EcsClient:
        with self._lock:
            if self._ecs is None:
                self._ecs = self.ecs_factory(self.settings)
            return self._ecs

    def store(self) -> SqlStore:
        with self._lock:
            if self._store is None:
                self._store = self.store_factory(self.settings)
            return self._store
