"""Assemble the bot's dependencies from settings: the production wiring in one place."""

from __future__ import annotations

from bot.deps import BotDeps
from shared.config import Settings
from shared.wiring import build_ecs_client


def build_deps(settings: Settings) -> BotDeps:
    return BotDeps(settings=settings, ecs=build_ecs_client(settings))
