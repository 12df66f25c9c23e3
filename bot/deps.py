"""What the listeners need, built once per instance by `bot.compose` and injected (tests swap any part)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shared.config import Settings

if TYPE_CHECKING:
    from shared.ecs.client import EcsClient
    from shared.store import SqlStore


@dataclass
class BotDeps:
    settings: Settings
    clock: Callable[[], datetime]
    # Built on first use: a plain answer never opens the store, and an answer from the ack alone (help, a
    # usage error, a refusal) never builds the ECS client.
    ecs_factory: Callable[[Settings], EcsClient]
    store_factory: Callable[[Settings], SqlStore]
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
