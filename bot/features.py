"""Assemble the bot's dependencies from settings: the production wiring in one place."""

from __future__ import annotations

from bot.deps import BotDeps
from bot.listeners import channel_updates
from shared.config import Settings


def build_deps(settings: Settings) -> BotDeps:
    deps = BotDeps(
        settings=settings,
        channel_updates_enabled=True,
        register_extra=channel_updates.register,
    )
    deps.channel_command_handler = channel_updates.channel_command_ack(deps)
    return deps
