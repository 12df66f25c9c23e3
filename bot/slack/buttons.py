"""Every button, defined once: the action id (or pattern) its card sends (`shared.cards.parts`, where the card
builders take it from), the kind of value it carries (and so its codec), the guard's rule for it, and the
handler that turns a checked click into work. The dispatcher registers these, the guard checks by them, and
the head start reads them.

The handlers import the use cases where they run: a cold instance reads its first click before the
listeners (and Bolt) load.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from shared.cards.parts import (
    ACTION_CANCEL_PATTERN,
    ACTION_DETAILS_PATTERN,
    ACTION_NEXT,
    ACTION_PREV,
    ACTION_REFRESH,
    ACTION_TASK_MENU,
    ACTION_UNSUBSCRIBE_PATTERN,
    ACTION_UNWATCH_PATTERN,
    ACTION_WATCH_PATTERN,
)

if TYPE_CHECKING:
    from bot.usecases.work import Click, Work
    from bot.wiring.deps import BotDeps


class ButtonKind(Enum):
    """What a button's value is, and so how the guard decodes it (`bot.slack.guard`)."""

    QUERY = "query"  # a card's query (bot.language.codecs.decode_query)
    TASK_REF = "task_ref"  # a task on a card, with the card's query (bot.language.codecs.decode_task_ref)
    UNWATCH_REF = "unwatch_ref"  # a watched task (bot.language.codecs.decode_unwatch_ref)
    SUBSCRIPTION_ID = "subscription_id"  # a subscription's database id


# The decoded value (its type follows the kind) and the checked click.
ButtonHandler = Callable[["BotDeps", Any, "Click"], "Work"]


@dataclass(frozen=True)
class Button:
    action: str | re.Pattern[str]
    kind: ButtonKind
    handler: ButtonHandler
    cancels: bool = False  # only users in ECS_TASKS_CANCEL_USER_IDS may click it
    needs_database: bool = False
    # Its work only removes the channel's own rows, and asks neither STS nor ECS: the accounts and regions its
    # value names are not checked, so a row left in an account the channel was re-bound away from can go.
    own_rows_only: bool = False

    def matches(self, action_id: str) -> bool:
        if isinstance(self.action, str):
            return action_id == self.action
        return self.action.fullmatch(action_id) is not None

    @property
    def runs_its_query(self) -> bool:
        """Whether its work asks `EcsClient.query` for exactly the query its value carries (the head start's cue)."""
        return self.kind is ButtonKind.QUERY


def _refresh(deps: BotDeps, value: Any, click: Click) -> Work:
    from bot.usecases import tasks

    return tasks.refresh_work(deps, value, click)


def _details(deps: BotDeps, value: Any, click: Click) -> Work:
    from bot.usecases import tasks

    return tasks.details_work(deps, value, click)


def _cancel(deps: BotDeps, value: Any, click: Click) -> Work:
    from bot.usecases import tasks

    return tasks.cancel_work(deps, value, click)


def _watch(deps: BotDeps, value: Any, click: Click) -> Work:
    from bot.usecases import channels
    from shared.ecs.accounts import HOME_ACCOUNT_NAME

    # The task's account as its card's button carries it; a button from before accounts: the function's own.
    return channels.watch_button_work(deps, value, click, value.account or HOME_ACCOUNT_NAME)


def _unwatch(deps: BotDeps, value: Any, click: Click) -> Work:
    from bot.usecases import channels

    return channels.unwatch_button_work(deps, value, click)


def _unsubscribe(deps: BotDeps, value: Any, click: Click) -> Work:
    from bot.usecases import channels

    return channels.unsubscribe_button_work(deps, value, click)


BUTTONS = (
    Button(ACTION_REFRESH, ButtonKind.QUERY, _refresh),
    Button(ACTION_PREV, ButtonKind.QUERY, _refresh),
    Button(ACTION_NEXT, ButtonKind.QUERY, _refresh),
    Button(ACTION_DETAILS_PATTERN, ButtonKind.TASK_REF, _details),
    Button(ACTION_TASK_MENU, ButtonKind.TASK_REF, _details),
    Button(ACTION_CANCEL_PATTERN, ButtonKind.TASK_REF, _cancel, cancels=True),
    Button(ACTION_WATCH_PATTERN, ButtonKind.TASK_REF, _watch, needs_database=True),
    Button(ACTION_UNWATCH_PATTERN, ButtonKind.UNWATCH_REF, _unwatch, needs_database=True, own_rows_only=True),
    Button(
        ACTION_UNSUBSCRIBE_PATTERN, ButtonKind.SUBSCRIPTION_ID, _unsubscribe, needs_database=True, own_rows_only=True
    ),
)


def button_for(action_id: str) -> Button | None:
    """The button an action id belongs to (as Bolt matches its listeners), or None: not one of ours."""
    return next((button for button in BUTTONS if button.matches(action_id)), None)
