"""Block Kit validation as Slack applies it: pure functions over decoded JSON.

Problems are reported like Slack does, a message with a JSON pointer, e.g.
`must be less than 3001 characters [json-pointer:/blocks/0/text/text]`, so a rejected message
says exactly which field to shorten.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from emulators.slack.limits import BLOCK_KIT_LIMITS, KNOWN_BLOCK_TYPES, TEXT_OBJECT_TYPES, BlockKitLimits

Surface = Literal["message", "view"]

ERROR_INVALID_BLOCKS = "invalid_blocks"
ERROR_INVALID_BLOCKS_FORMAT = "invalid_blocks_format"
ERROR_BLOCKS_TOO_LONG = "msg_blocks_too_long"

BUTTON_STYLES = frozenset({"primary", "danger"})


@dataclass(frozen=True)
class BlocksRejected:
    """Why Slack would refuse these blocks: the API error code and one detail per problem."""

    error: str
    details: tuple[str, ...]


def parse_blocks(raw: object) -> list[Any] | BlocksRejected:
    """Blocks arrive as a JSON array or (form-encoded calls) a string holding one."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            return BlocksRejected(ERROR_INVALID_BLOCKS_FORMAT, (f"blocks is not valid JSON: {exc}",))
    if not isinstance(value, list):
        return BlocksRejected(ERROR_INVALID_BLOCKS_FORMAT, ("blocks must be a JSON array",))
    return value


def iter_text_objects(node: object) -> Iterator[dict[str, Any]]:
    """Every text object (`plain_text` / `mrkdwn`) anywhere inside `node`."""
    if isinstance(node, dict):
        if node.get("type") in TEXT_OBJECT_TYPES and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from iter_text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_text_objects(item)


def blocks_text_chars(blocks: list[Any]) -> int:
    """The measure used for the undocumented per-message cap (`message_blocks_chars`)."""
    return sum(len(obj["text"]) for obj in iter_text_objects(blocks))


def validate_blocks(
    blocks: list[Any], *, surface: Surface = "message", limits: BlockKitLimits = BLOCK_KIT_LIMITS
) -> BlocksRejected | None:
    """None when Slack would accept `blocks`, else the error it would answer."""
    checker = _Checker(limits)
    max_blocks = limits.blocks_per_view if surface == "view" else limits.blocks_per_message
    if len(blocks) > max_blocks:
        checker.problem(f"no more than {max_blocks} items allowed", "/blocks")
    for index, block in enumerate(blocks):
        checker.block(block, f"/blocks/{index}")
    if checker.problems:
        return BlocksRejected(ERROR_INVALID_BLOCKS, tuple(checker.problems))
    total = blocks_text_chars(blocks)
    if surface == "message" and total > limits.message_blocks_chars:
        detail = f"blocks hold {total} characters of text; Slack refuses more than {limits.message_blocks_chars}"
        return BlocksRejected(ERROR_BLOCKS_TOO_LONG, (detail,))
    return None


@dataclass
class _Checker:
    """Walks one message's blocks, collecting problems and the ids that must be unique."""

    limits: BlockKitLimits
    problems: list[str] = field(default_factory=list)
    block_ids: set[str] = field(default_factory=set)
    action_ids: set[str] = field(default_factory=set)

    def problem(self, message: str, pointer: str) -> None:
        self.problems.append(f"{message} [json-pointer:{pointer}]")

    def max_chars(self, value: object, limit: int, pointer: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.problem(f"must be less than {limit + 1} characters", pointer)

    def max_items(self, items: list[Any], limit: int, pointer: str) -> None:
        if len(items) > limit:
            self.problem(f"no more than {limit} items allowed", pointer)

    def unique_id(self, value: object, seen: set[str], limit: int, pointer: str) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not value:
            self.problem("must be a non-empty string", pointer)
            return
        self.max_chars(value, limit, pointer)
        if value in seen:
            self.problem(f"duplicate id {value!r} within this message", pointer)
        seen.add(value)

    def required_list(self, container: dict[str, Any], key: str, pointer: str) -> list[Any]:
        value = container.get(key)
        if not isinstance(value, list) or not value:
            self.problem(f"missing required field: {key} (a non-empty array)", f"{pointer}/{key}")
            return []
        return value

    def text_object(self, obj: object, pointer: str, *, limit: int | None = None, plain_only: bool = False) -> None:
        if not isinstance(obj, dict):
            self.problem("must provide an object", pointer)
            return
        kind = obj.get("type")
        if kind not in TEXT_OBJECT_TYPES:
            self.problem(f"must be a valid enum value {sorted(TEXT_OBJECT_TYPES)}, got {kind!r}", f"{pointer}/type")
            return
        if plain_only and kind != "plain_text":
            self.problem("must be plain_text here, not mrkdwn", f"{pointer}/type")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.problem("must be more than 0 characters", f"{pointer}/text")
        elif limit is not None:
            self.max_chars(text, limit, f"{pointer}/text")

    def block(self, block: object, pointer: str) -> None:
        if not isinstance(block, dict):
            self.problem("must provide an object", pointer)
            return
        kind = block.get("type")
        if kind not in KNOWN_BLOCK_TYPES:
            self.problem(f"unsupported block type {kind!r}", f"{pointer}/type")
            return
        self.unique_id(block.get("block_id"), self.block_ids, self.limits.block_id_chars, f"{pointer}/block_id")
        check = _BLOCK_CHECKS.get(str(kind))
        if check is not None:
            check(self, block, pointer)

    def section(self, block: dict[str, Any], pointer: str) -> None:
        has_text = "text" in block
        fields = block.get("fields")
        if not has_text and fields is None:
            self.problem("must provide either text or fields", pointer)
        if has_text:
            self.text_object(block["text"], f"{pointer}/text", limit=self.limits.section_text_chars)
        if fields is not None:
            if not isinstance(fields, list):
                self.problem("must be an array", f"{pointer}/fields")
            else:
                self.max_items(fields, self.limits.section_fields, f"{pointer}/fields")
                for index, item in enumerate(fields):
                    self.text_object(item, f"{pointer}/fields/{index}", limit=self.limits.section_field_chars)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory")

    def header(self, block: dict[str, Any], pointer: str) -> None:
        self.text_object(block.get("text"), f"{pointer}/text", limit=self.limits.header_text_chars, plain_only=True)

    def context(self, block: dict[str, Any], pointer: str) -> None:
        elements = self.required_list(block, "elements", pointer)
        self.max_items(elements, self.limits.context_elements, f"{pointer}/elements")
        for index, item in enumerate(elements):
            item_pointer = f"{pointer}/elements/{index}"
            if isinstance(item, dict) and item.get("type") == "image":
                continue  # image elements carry no text object
            self.text_object(item, item_pointer)

    def actions(self, block: dict[str, Any], pointer: str) -> None:
        elements = self.required_list(block, "elements", pointer)
        self.max_items(elements, self.limits.actions_elements, f"{pointer}/elements")
        for index, item in enumerate(elements):
            self.element(item, f"{pointer}/elements/{index}")

    def element(self, element: object, pointer: str) -> None:
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            self.problem("must provide an element object with a type", pointer)
            return
        limits = self.limits
        self.unique_id(element.get("action_id"), self.action_ids, limits.action_id_chars, f"{pointer}/action_id")
        if element["type"] != "button":
            return
        self.text_object(element.get("text"), f"{pointer}/text", limit=limits.button_text_chars, plain_only=True)
        self.max_chars(element.get("value"), limits.button_value_chars, f"{pointer}/value")
        self.max_chars(element.get("url"), limits.button_url_chars, f"{pointer}/url")
        style = element.get("style")
        if style is not None and style not in BUTTON_STYLES:
            self.problem(f"must be a valid enum value {sorted(BUTTON_STYLES)}", f"{pointer}/style")


_BLOCK_CHECKS = {
    "section": _Checker.section,
    "header": _Checker.header,
    "context": _Checker.context,
    "actions": _Checker.actions,
}
