"""response_url targets: JSON posts that answer a slash command or a button click.

Semantics modelled on Slack's: up to 5 uses within 30 minutes; `response_type` `ephemeral` (the
default) or `in_channel`; `replace_original` / `delete_original` act on "the original" message —
the message the button was on, or for a slash command the first message posted through the URL.
Posting needs no channel membership (that is what response_url is for), so channel state is ignored.
"""

from __future__ import annotations

import json
from typing import Any

from emulators.slack.answers import HttpAnswer, SlackApiFailure
from emulators.slack.content import message_content
from emulators.slack.errors import METHOD_RESPONSE_URL
from emulators.slack.workspace import Message, ResponseUrlTarget, Workspace

MAX_USES = 5
LIFETIME_S = 30 * 60
RESPONSE_TYPE_IN_CHANNEL = "in_channel"
RESPONSE_PATH_PREFIX = "/response/"

ERROR_USED_URL = "used_url"
ERROR_EXPIRED_URL = "expired_url"
ERROR_NO_SERVICE = "no_service"  # an id this emulator never issued
ERROR_INVALID_PAYLOAD = "invalid_payload"
ERROR_MESSAGE_NOT_FOUND = "message_not_found"

HTTP_BAD_REQUEST = 400
HTTP_NOT_FOUND = 404


def new_target(ws: Workspace, *, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
    """Register a response_url target; returns its id (the URL's last path segment)."""
    with ws.lock:
        url_id = ws.next_id("R")
        ws.response_urls[url_id] = ResponseUrlTarget(url_id, channel_id, user_id, ws.clock(), message_ts)
        return url_id


def _flag(payload: dict[str, Any], name: str) -> bool:
    value = payload.get(name)
    return value is True or value == "true"


def _usable_target(ws: Workspace, url_id: str) -> ResponseUrlTarget:
    target = ws.response_urls.get(url_id)
    if target is None:
        raise SlackApiFailure(ERROR_NO_SERVICE, status=HTTP_NOT_FOUND)
    if ws.clock() - target.created_at > LIFETIME_S:
        raise SlackApiFailure(ERROR_EXPIRED_URL, status=HTTP_NOT_FOUND)
    if target.uses >= MAX_USES:
        raise SlackApiFailure(ERROR_USED_URL, status=HTTP_NOT_FOUND)
    return target


def _decode(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8") or "null")
    except ValueError as exc:
        raise SlackApiFailure(ERROR_INVALID_PAYLOAD, status=HTTP_BAD_REQUEST, extra={"detail": str(exc)}) from exc
    if not isinstance(payload, dict):
        raise SlackApiFailure(
            ERROR_INVALID_PAYLOAD, status=HTTP_BAD_REQUEST, extra={"detail": "the body must be a JSON object"}
        )
    return payload


def _original(ws: Workspace, target: ResponseUrlTarget) -> Message | None:
    if target.original_ts is None:
        return None
    return ws.find_message(target.channel_id, target.original_ts)


def _apply(ws: Workspace, target: ResponseUrlTarget, payload: dict[str, Any]) -> None:
    original = _original(ws, target)
    if _flag(payload, "delete_original"):
        if original is None:
            raise SlackApiFailure(ERROR_MESSAGE_NOT_FOUND, status=HTTP_NOT_FOUND)
        ws.delete_message(original.channel_id, original.ts)
        return
    content = message_content(payload, status=HTTP_BAD_REQUEST)
    if _flag(payload, "replace_original") and original is not None:
        # The replacement keeps the original's ts and visibility; it is a new rendering of it.
        original.text = content.text
        original.blocks = content.blocks or []
        return
    in_channel = payload.get("response_type") == RESPONSE_TYPE_IN_CHANNEL
    thread_ts = payload.get("thread_ts") if isinstance(payload.get("thread_ts"), str) else None
    message = Message(
        ws.next_ts(),
        target.channel_id,
        content.text,
        content.blocks or [],
        thread_ts=thread_ts,
        ephemeral_to=None if in_channel else target.user_id,
    )
    ws.add_message(message)
    if target.original_ts is None:
        target.original_ts = message.ts


# The HTTP status Slack answers each response_url error with.
ERROR_STATUS = {
    ERROR_USED_URL: HTTP_NOT_FOUND,
    ERROR_EXPIRED_URL: HTTP_NOT_FOUND,
    ERROR_NO_SERVICE: HTTP_NOT_FOUND,
    ERROR_MESSAGE_NOT_FOUND: HTTP_NOT_FOUND,
}


def post_to_response_url(ws: Workspace, url_id: str, body: bytes) -> HttpAnswer:
    """Handle one POST to a response_url (or answer the fault injected for it) and record the call."""
    with ws.lock:
        payload: dict[str, Any] = {}
        try:
            target = _usable_target(ws, url_id)
            payload = _decode(body)
            ws.raise_injected_fault(METHOD_RESPONSE_URL)
            _apply(ws, target, payload)
            target.uses += 1  # only accepted posts spend a use
        except SlackApiFailure as failure:
            ws.record(METHOD_RESPONSE_URL, {**payload, "url_id": url_id}, failure.error)
            return failure.answer()
        ws.record(METHOD_RESPONSE_URL, {**payload, "url_id": url_id}, None)
        return HttpAnswer.of({"ok": True})
