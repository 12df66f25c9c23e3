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
    from shared.health import Check
    from shared.policy import PolicyHolder
    from shared.store import SqlStore

# An EcsClient working in an account for a session (None only for the home account, whose calls run under
# the function's own credentials whoever they are for).
EcsFactory = Callable[["Account", "SessionSpec | None"], "EcsClient"]


@dataclass
class BotDeps:
    settings: Settings
    clock: Callable[[], datetime]
    # The process's access policy (built once by bot.wiring.build); `policy.current()` is the one in force.
    policy: PolicyHolder
    # `ecs(account, session)`: the one client factory. It builds nothing until first asked, so an answer from
    # the ack alone (help, a usage error, a refusal) never loads the HTTP client.
    ecs: EcsFactory
    # Opened on first use: a plain answer never opens the store.
    store_factory: Callable[[Settings], SqlStore]
    # `/ecs-tasks doctor`'s checks (bot.wiring.build.run_doctor over these settings).
    doctor: Callable[[], tuple[Check, ...]]
    _store: SqlStore | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def accounts(self) -> AccountDirectory:
        """The configured accounts and channel bindings of the policy in force."""
        return self.policy.current().accounts

    def store(self) -> SqlStore:
        with self._lock:
            if self._store is None:
                self._store = self.store_factory(self.settings)
            return self._store
