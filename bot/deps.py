"""What the listeners need, built once per instance by `bot.compose` and injected (tests swap any part)."""

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
    from shared.ecs.sessions import Purpose, SessionSpec
    from shared.store import SqlStore


class NotASlackUser(ValueError):
    """Work in a configured account needs a Slack user id to name its session after; this had none."""


@dataclass
class BotDeps:
    settings: Settings
    clock: Callable[[], datetime]
    # Built on first use: a plain answer never opens the store, and an answer from the ack alone (help, a
    # usage error, a refusal) never builds the ECS client.
    ecs_factory: Callable[[Settings], EcsClient]
    store_factory: Callable[[Settings], SqlStore]
    # Issue 13: a client per (configured account, session), and the accounts with their channel bindings.
    # Without them (hand-built deps), only the function's own account can be used.
    account_ecs_factory: Callable[[Settings, Account, SessionSpec], EcsClient] | None = None
    directory_factory: Callable[[Settings], AccountDirectory] | None = None
    _ecs: EcsClient | None = field(default=None, init=False, repr=False)
    _store: SqlStore | None = field(default=None, init=False, repr=False)
    _directory: AccountDirectory | None = field(default=None, init=False, repr=False)
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

    @property
    def accounts(self) -> AccountDirectory:
        with self._lock:
            if self._directory is None:
                if self.directory_factory is not None:
                    self._directory = self.directory_factory(self.settings)
                else:
                    from shared.ecs.accounts import AccountDirectory

                    self._directory = AccountDirectory.from_settings(self.settings)
            return self._directory

    def ecs_for(self, account: Account, user_id: str | None, purpose: Purpose) -> EcsClient:
        """The client for work a Slack user started in `account`: the function's own client at home, else the
        account's role assumed for a session named after the user, allowed only what `purpose` needs."""
        if account.is_home:
            return self.ecs
        from shared.ecs.sessions import SessionSpec
        from shared.errors import ConfigurationError

        try:
            session = SessionSpec.for_user(user_id or "", purpose)
        except ValueError as error:
            raise NotASlackUser(str(error)) from None
        if self.account_ecs_factory is None:
            raise ConfigurationError(f"no ECS client can be built for account {account.name}")
        return self.account_ecs_factory(self.settings, account, session)
