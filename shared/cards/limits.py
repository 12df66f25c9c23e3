"""Slack's Block Kit limits for a message, as data, and the one measure they need (text characters).

Sources: Slack's Block Kit reference pages (blocks, elements, composition objects). The per-message
character cap is undocumented (`msg_blocks_too_long`, reported at about 13,200 characters); the budget
here stays well below it. Character counts are Python `len` of the string, as Slack counts them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

TEXT_OBJECT_TYPES = frozenset({"plain_text", "mrkdwn"})


@dataclass(frozen=True)
class BlockKitLimits:
    blocks_per_message: int = 50
    # Our budget for the text of all text objects in a message's blocks; below Slack's ~13,200 cap.
    message_chars_budget: int = 12_000
    message_text_chars: int = 40_000  # the top-level `text` fallback
    text_object_chars: int = 3_000  # any text object, wherever it is (context elements included)
    section_text_chars: int = 3_000
    section_fields: int = 10
    section_field_chars: int = 2_000
    actions_elements: int = 25
    context_elements: int = 10
    header_text_chars: int = 150
    button_text_chars: int = 75
    button_value_chars: int = 2_000
    url_chars: int = 3_000  # a button's url; also our cap for a link in mrkdwn
    action_id_chars: int = 255
    block_id_chars: int = 255
    overflow_options_min: int = 2
    overflow_options_max: int = 5
    select_options: int = 100
    option_text_chars: int = 75
    option_value_chars: int = 150
    placeholder_chars: int = 150
    confirm_title_chars: int = 100
    confirm_text_chars: int = 300
    confirm_button_chars: int = 30


BLOCK_KIT = BlockKitLimits()


def iter_text_objects(node: object) -> Iterator[dict[str, Any]]:
    """Every text object (`plain_text` / `mrkdwn`) anywhere inside decoded blocks."""
    if isinstance(node, dict):
        if node.get("type") in TEXT_OBJECT_TYPES and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from iter_text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_text_objects(item)


def blocks_text_chars(blocks: list[dict[str, Any]]) -> int:
    """What `message_chars_budget` is measured on: the text of every text object in the blocks."""
    return sum(len(obj["text"]) for obj in iter_text_objects(blocks))


def blocks_fit(blocks: list[dict[str, Any]], limits: BlockKitLimits = BLOCK_KIT) -> bool:
    """The two message-wide limits; element limits are kept by construction (and by slack_sdk)."""
    return len(blocks) <= limits.blocks_per_message and blocks_text_chars(blocks) <= limits.message_chars_budget
