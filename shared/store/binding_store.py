"""Channel bindings made in Slack (`/ecs-tasks bind`, `unbind`): per channel, the accounts that replace its
configured binding. Each change is one statement (or an insert that only one racer wins), so two admins
binding the same channel at once leave one of their bindings, never a mix.

Names are stored as an admin typed them once checked by the use case against the configured accounts; whoever
reads them back checks them again (shared.policy keeps only configured names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from shared.store.schema import channel_bindings
from shared.store.tx import transact


@dataclass(frozen=True)
class ChannelBinding:
    channel_id: str
    accounts: tuple[str, ...]
    updated_by: str
    updated_at: datetime


def _names(text: str) -> tuple[str, ...]:
    return tuple(name for name in text.split(",") if name)


class BindingStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self) -> Mapping[str, tuple[str, ...]]:
        """Every channel's binding made in Slack: channel id -> account names."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(channel_bindings.c.channel_id, channel_bindings.c.accounts)).all()
        return {str(channel): _names(str(accounts)) for channel, accounts in rows}

    def get(self, channel_id: str) -> ChannelBinding | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(channel_bindings).where(channel_bindings.c.channel_id == channel_id)
            ).first()
        if row is None:
            return None
        return ChannelBinding(row.channel_id, _names(row.accounts), row.updated_by, row.updated_at)

    def put(self, channel_id: str, accounts: tuple[str, ...], *, by: str, now: datetime) -> None:
        """Bind `channel_id` to `accounts` (replacing its binding made in Slack); empty: remove it."""
        if not accounts:
            self.remove(channel_id)
            return
        values = {"accounts": ",".join(accounts), "updated_by": by, "updated_at": now}

        def replace(connection: Connection) -> int:
            where = channel_bindings.c.channel_id == channel_id
            return connection.execute(update(channel_bindings).where(where).values(**values)).rowcount

        for _ in range(2):
            if transact(self.engine, replace) == 1:
                return
            try:
                with self.engine.begin() as connection:
                    connection.execute(insert(channel_bindings).values(channel_id=channel_id, **values))
                return
            except IntegrityError:
                continue  # another admin bound it just now: replace theirs
        raise RuntimeError("the channel's binding could be neither updated nor inserted")

    def remove(self, channel_id: str) -> bool:
        """Forget the channel's binding made in Slack (it returns to the configured one); False if it had none."""
        with self.engine.begin() as connection:
            removed = connection.execute(delete(channel_bindings).where(channel_bindings.c.channel_id == channel_id))
        return removed.rowcount == 1
