"""A readable plain-text rendering of a Slack message for the terminal demo.

Light by design: enough mrkdwn is converted to read naturally (links, mentions, dates shown as
their fallback, bold/italic markers dropped, a few emoji); unknown blocks show their type.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

DIVIDER = "─" * 48
FIELD_WIDTH = 34  # two fields per line, like Slack's two columns

# A handful of emoji the project's messages use; others stay as `:name:`.
EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔",
    "x": "❌",
    "warning": "⚠",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "arrows_counterclockwise": "🔄",
    "no_entry_sign": "🚫",
    "pause_button": "⏸",
    "wastebasket": "🗑",
    "mag": "🔍",
    "information_source": "ℹ",
}

_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK_LABELLED = re.compile(r"<((?:https?|mailto):[^|>]+)\|([^>]+)>")
_LINK_BARE = re.compile(r"<((?:https?|mailto):[^|>]+)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]+))?>")
_CHANNEL = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn to plain text, for reading in a terminal."""
    out = _DATE.sub(lambda m: m.group(1), text)
    out = _LINK_LABELLED.sub(lambda m: f"{m.group(2)} ({m.group(1)})", out)
    out = _LINK_BARE.sub(lambda m: m.group(1), out)
    out = _USER.sub(lambda m: f"@{m.group(2) or m.group(1)}", out)
    out = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", out)
    out = _SPECIAL.sub(lambda m: f"@{m.group(1)}", out)
    out = _BOLD.sub(lambda m: m.group(1), out)
    out = _ITALIC.sub(lambda m: m.group(1), out)
    out = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), out)
    return html.unescape(out)  # Slack escapes &, < and > in text


def _text(obj: object) -> str:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return ""
    text: str = obj["text"]
    return mrkdwn_to_text(text) if obj.get("type") == "mrkdwn" else html.unescape(text)


def _element(element: object) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        return f"[ {_text(element.get('text'))} ]"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    placeholder = _text(element.get("placeholder"))
    return f"[{kind}{': ' + placeholder if placeholder else ''} ▾]"


def _fields(fields: list[Any]) -> list[str]:
    cells = [_text(f) for f in fields]
    lines = []
    for i in range(0, len(cells), 2):
        pair = cells[i : i + 2]
        if len(pair) == 2 and "\n" not in pair[0] and len(pair[0]) < FIELD_WIDTH:
            lines.append(pair[0].ljust(FIELD_WIDTH) + pair[1])
        else:
            lines.extend(pair)
    return lines


def _section(block: dict[str, Any]) -> list[str]:
    lines = _text(block.get("text")).splitlines() if block.get("text") else []
    lines += _fields(block.get("fields") or [])
    accessory = block.get("accessory")
    if accessory is not None:
        lines.append(_element(accessory))
    return lines


def _header(block: dict[str, Any]) -> list[str]:
    title = _text(block.get("text"))
    return [title, "═" * max(len(title), 3)]


def _context(block: dict[str, Any]) -> list[str]:
    parts = [
        _element(e) if isinstance(e, dict) and e.get("type") == "image" else _text(e)
        for e in block.get("elements") or []
    ]
    return ["  " + "  ·  ".join(p for p in parts if p)]


def _actions(block: dict[str, Any]) -> list[str]:
    return ["  ".join(_element(e) for e in block.get("elements") or [])]


_RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "divider": lambda _block: [DIVIDER],
    "image": lambda block: [f"[image: {block.get('alt_text', '')}]"],
}


def render_message(text: str, blocks: list[dict[str, Any]]) -> str:
    """The message as a terminal would show it: its blocks, or its text when it has none."""
    if not blocks:
        return mrkdwn_to_text(text)
    lines: list[str] = []
    for block in blocks:
        kind = str(block.get("type"))
        render = _RENDERERS.get(kind)
        lines.extend(render(block) if render else [f"[{kind} block]"])
    return "\n".join(lines)
