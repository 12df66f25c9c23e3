"""Slack Block Kit and message limits, as data.

The emulator's own copy, taken from Slack's Block Kit reference pages, so that it checks the formatter
rather than sharing its numbers: the formatter keeps its limits (and its lower budget for the total
characters) in `shared/cards/limits.py`, which the emulator does not import. The total-characters cap is
undocumented and reported by users (see `message_blocks_chars`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BlockKitLimits:
    """Maximum sizes Slack accepts; character counts are Python `len` of the string."""

    blocks_per_message: int = 50
    blocks_per_view: int = 100  # modals and the App Home tab
    # Undocumented cap on the characters of all text across a message's blocks (msg_blocks_too_long).
    # Measured here as the sum of every text object's `text`; stay well below it.
    message_blocks_chars: int = 13_200
    message_text_chars: int = 40_000  # top-level `text` (msg_too_long)
    section_text_chars: int = 3_000
    section_fields: int = 10
    section_field_chars: int = 2_000
    actions_elements: int = 25
    context_elements: int = 10
    header_text_chars: int = 150
    button_text_chars: int = 75
    button_value_chars: int = 2_000
    button_url_chars: int = 3_000
    action_id_chars: int = 255
    block_id_chars: int = 255


BLOCK_KIT_LIMITS = BlockKitLimits()

TEXT_OBJECT_TYPES = frozenset({"plain_text", "mrkdwn"})
# Block types Slack knows; only the ones this project renders are checked in depth.
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
