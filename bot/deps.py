"""What the listeners need, built once per instance and injected (so tests can swap any part)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from shared.config import Settings
from shared.ecs_client import EcsClient

if TYPE_CHECKING:
    from shared.store import SqlStore


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _open_configured_store(settings: Settings) -> SqlStore:
    # Imported here: SQLAlchemy is only needed by lazy work and the poller, never on the ack path.
    from shared.store import open_store

    url = settings.database_url.get_secret_value() if settings.database_url else None
    return open_store(url)


@dataclass
class BotDeps:
    settings: Settings
    ecs: EcsClient
    clock: Callable[[], datetime] = utc_now
    store_factory: Callable[[Settings], SqlStore] = _open_configured_store
    channel_updates_enabled: bool = False
    # Hooks for the channel-updates feature: a handler for its commands and a function registering its buttons.
    channel_command_handler: Callable[..., None] | None = None
    register_extra: Callable[[Any, BotDeps], None] | None = None
    _store: SqlStore | None = field(default=None, init=False, repr=False)
    _store_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def store(self) -> SqlStore:
        with self._store_lock:
            if self._store is None:
                self._store = self.store_factory(self.settings)
            return self._store
