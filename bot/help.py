"""The answer to `/ecs-tasks help` (and, per issue 10, to a bare `/ecs-tasks`)."""

from __future__ import annotations

from bot.grammar import usage_text
from shared.cards.task_cards import Message, notice_message
from shared.config import Settings


def help_message(settings: Settings) -> Message:
    return notice_message(usage_text())
