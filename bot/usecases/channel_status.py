"""What a channel's updates stand at: the list of what it follows (`/ecs-tasks list`), and the notice said
under watch, subscribe and list while Slack refuses the bot's token and the outbox holds every post."""

from __future__ import annotations

from datetime import timezone

from bot.usecases.work import Ephemeral, Replies
from bot.wiring.deps import BotDeps
from shared.cards.parts import code
from shared.cards.task_cards import Message, notice_message
from shared.updates.cards import list_message
from shared.updates.model import WATCH_ACTIVE

# Slack's answer names the fault (never the token itself), and doctor checks the token and its scopes.
PAUSED = (
    ":pause_button: Channel updates are paused: Slack refuses ecs-tasks' token ({reason}) since {since}. "
    "An admin can check with `/ecs-tasks doctor`."
)


def channel_list(deps: BotDeps, channel_id: str) -> Message:
    store = deps.store()
    watches = [w for w in store.watches.for_channel(channel_id) if w.state == WATCH_ACTIVE]
    subscriptions = store.subscriptions.for_channel(channel_id)
    return list_message(watches, subscriptions, now=deps.clock(), show_accounts=deps.accounts.configured)


def paused_notice(deps: BotDeps) -> Replies:
    """A line saying channel updates are paused for everyone, and why, while Slack refuses the bot's token
    (the outbox's hold, `shared.store.hold_store`); empty while posting works."""
    held = deps.store().hold.current()
    if held is None:
        return ()
    reason, since = held
    now = deps.clock().astimezone(timezone.utc)
    since = since.astimezone(timezone.utc)
    shown = f"{since:%H:%M} UTC" if since.date() == now.date() else f"{since:%Y-%m-%d %H:%M} UTC"
    return (Ephemeral(notice_message(PAUSED.format(reason=code(reason), since=shown))),)
