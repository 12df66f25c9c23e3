"""The text and blocks of a message request, checked as Slack checks them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulators.slack.answers import SlackApiFailure
from emulators.slack.blockkit import BlocksRejected, Surface, parse_blocks, validate_blocks
from emulators.slack.limits import BLOCK_KIT_LIMITS

ERROR_NO_TEXT = "no_text"
ERROR_MSG_TOO_LONG = "msg_too_long"


@dataclass(frozen=True)
class MessageContent:
    """`text` is "" when absent; `blocks` is None when the request did not mention blocks at all."""

    text: str
    blocks: list[dict[str, Any]] | None
    has_attachments: bool = False

    @property
    def empty(self) -> bool:
        return not self.text and not self.blocks and not self.has_attachments


def rejection_failure(rejected: BlocksRejected, *, status: int = 200) -> SlackApiFailure:
    """Slack lists each problem in `errors` and again, prefixed, in `response_metadata.messages`."""
    extra = {
        "errors": list(rejected.details),
        "response_metadata": {"messages": [f"[ERROR] {detail}" for detail in rejected.details]},
    }
    return SlackApiFailure(rejected.error, status=status, extra=extra)


def checked_blocks(raw: object, *, surface: Surface, status: int = 200) -> list[dict[str, Any]]:
    parsed = parse_blocks(raw)
    if isinstance(parsed, BlocksRejected):
        raise rejection_failure(parsed, status=status)
    rejected = validate_blocks(parsed, surface=surface)
    if rejected is not None:
        raise rejection_failure(rejected, status=status)
    return parsed


def message_content(args: Mapping[str, Any], *, require: bool = True, status: int = 200) -> MessageContent:
    """Validate `text`/`blocks` of a message; `require` demands at least one of them (`no_text`)."""
    raw_text = args.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    if len(text) > BLOCK_KIT_LIMITS.message_text_chars:
        raise SlackApiFailure(ERROR_MSG_TOO_LONG, status=status)
    raw_blocks = args.get("blocks")
    blocks = None if raw_blocks is None else checked_blocks(raw_blocks, surface="message", status=status)
    content = MessageContent(text, blocks, has_attachments=bool(args.get("attachments")))
    if require and content.empty:
        raise SlackApiFailure(ERROR_NO_TEXT, status=status)
    return content
