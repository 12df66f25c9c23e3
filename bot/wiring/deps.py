"""What the listeners need, built once per instance by `bot.wiring.build` and injected (tests swap any part)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shared.config import Settings

if TYPE_CHECKING:
    from shared.ecs.accounts import Account, AccountDirectory
    from shared.ecs.client import EcsClient
    from shared.ecs.sessions import SessionSpec
    from shared.store import SqlStore

AccountEcsFactory = Callable[["Settings", "Account", "SessionSpec"], "EcsClient"]


@dataclass
class BotDeps:
    settings: Settings
    clock: Callable[[], datetime]
    # Built on first use: a plain answer never opens the store, and an answer from the ack alone (help, a
    # usage error, a refusal) never builds the ECS client.
    ecs_factory: Callable[[Settings], EcsClient]
    store_factory: Callable[[Settings], SqlStore]
    # Issue 13: an account's client for a session; None: bot.wiring.build.ecs_client_for. The home account's
    # client is always `ecs` (the function's own role, as before accounts existed).
    account_ecs_factory: AccountEcsFactory | None = None
    _ecs: EcsClient | None = field(default=None, init=False, repr=False)
    _accounts: AccountDirectory | None = field(default=None, init=False, repr=False)
    _store: SqlStore | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def ecs(self) -> EcsClient:
        with self._lock:
            if self._ecs is None:
                self._ecs = self.ecs_factory(self.settings)
            return self._ecs

    @property
    def accounts(self) -> AccountDirectory:
        """The configured accounts and channel bindings (built on first use, by bot.wiring.build)."""
        from bot.wiring.build import account_directory  # at call time: bot.wiring.build imports this module

        with self._lock:
            if self._accounts is None:
                self._accounts = account_directory(self.settings)
            return self._accounts

    def ecs_for(self, account: Account, session: SessionSpec) -> EcsClient:
        """An EcsClient working in `account` for `session` (the home account: `ecs`)."""
        if account.is_home:
            return self.ecs
        if self.account_ecs_factory is not None:
            return self.account_ecs_factory(self.settings, account, session)
        from bot.wiring.build import ecs_client_for

        return ecs_client_for(self.settings, account, session)

    def store(self) -> SqlStore:
        with self._lock:
            if self._store is None:
                self._store = self.store_factory(self.settings)
            return self._store
