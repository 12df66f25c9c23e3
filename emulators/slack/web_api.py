"""Slack Web API methods over a `Workspace`: argument parsing, authentication, the method table."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from emulators.slack.content import checked_blocks, message_content
from emulators.slack.workspace import Message, SlackApiFailure, Workspace

ERROR_NOT_AUTHED = "not_authed"
ERROR_INVALID_AUTH = "invalid_auth"
ERROR_UNKNOWN_METHOD = "unknown_method"
ERROR_INVALID_JSON = "invalid_json"
ERROR_INVALID_ARGUMENTS = "invalid_arguments"
ERROR_MESSAGE_NOT_FOUND = "message_not_found"
ERROR_CANT_UPDATE = "cant_update_message"
ERROR_THREAD_NOT_FOUND = "thread_not_found"  # unconfirmed for chat.postMessage; strict on purpose
ERROR_USER_NOT_FOUND = "user_not_found"

JSON_CONTENT_TYPE = "application/json"
BEARER_PREFIX = "Bearer "
VIEW_TYPE_HOME = "home"


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot token belongs to, as `auth.test` reports it."""

    token: str = "xoxb-demo-token"
    team_id: str = "T0DEMO"
    team: str = "demo"
    user: str = "ecs-tasks"
    user_id: str = "U0ECSBOT"
    bot_id: str = "B0ECSBOT"
    app_id: str = "A0DEMO"

    @property
    def url(self) -> str:
        return f"https://{self.team}.slack.com/"


Handler = Callable[[Workspace, BotIdentity, Mapping[str, Any]], dict[str, Any]]


def parse_api_args(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Arguments from the query string and a form-encoded or JSON body (JSON wins on overlap)."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if not body:
        return args
    text = body.decode("utf-8")
    if content_type.split(";")[0].strip().lower() == JSON_CONTENT_TYPE:
        try:
            decoded = json.loads(text)
        except ValueError as exc:
            raise SlackApiFailure(ERROR_INVALID_JSON, extra={"detail": str(exc)}) from exc
        if not isinstance(decoded, dict):
            raise SlackApiFailure(ERROR_INVALID_JSON, extra={"detail": "the JSON body must be an object"})
        args.update(decoded)
    else:
        args.update(parse_qsl(text, keep_blank_values=True))
    return args


def authenticate(authorization: str | None, args: Mapping[str, Any], expected_token: str) -> None:
    """Bearer header first, then the `token` argument (Slack accepts both)."""
    token: object = args.get("token")
    if authorization:
        token = authorization[len(BEARER_PREFIX) :] if authorization.startswith(BEARER_PREFIX) else ""
    if not token:
        raise SlackApiFailure(ERROR_NOT_AUTHED)
    if token != expected_token:
        raise SlackApiFailure(ERROR_INVALID_AUTH)


def message_json(message: Message, bot: BotIdentity) -> dict[str, Any]:
    """The `message` object Slack returns for a bot's message."""
    body: dict[str, Any] = {
        "type": "message",
        "user": bot.user_id,
        "bot_id": bot.bot_id,
        "app_id": bot.app_id,
        "team": bot.team_id,
        "text": message.text,
        "ts": message.ts,
        "blocks": message.blocks,
    }
    if message.thread_ts:
        body["thread_ts"] = message.thread_ts
    return body


def _text_arg(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    return value if isinstance(value, str) else ""


def auth_test(ws: Workspace, bot: BotIdentity, args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "url": bot.url,
        "team": bot.team,
        "user": bot.user,
        "team_id": bot.team_id,
        "user_id": bot.user_id,
        "bot_id": bot.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: Workspace, bot: BotIdentity, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _text_arg(args, "channel")
    ws.require_postable(channel)
    content = message_content(args)
    thread_ts = _text_arg(args, "thread_ts") or None
    if thread_ts is not None and ws.find_message(channel, thread_ts) is None:
        raise SlackApiFailure(ERROR_THREAD_NOT_FOUND)
    message = ws.add_message(Message(ws.next_ts(), channel, content.text, content.blocks or [], thread_ts=thread_ts))
    return {"channel": channel, "ts": message.ts, "message": message_json(message, bot)}


def chat_post_ephemeral(ws: Workspace, bot: BotIdentity, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _text_arg(args, "channel")
    ws.require_postable(channel)
    user = _text_arg(args, "user")
    if not user:
        raise SlackApiFailure(ERROR_USER_NOT_FOUND)
    content = message_content(args)
    thread_ts = _text_arg(args, "thread_ts") or None
    message = Message(ws.next_ts(), channel, content.text, content.blocks or [], thread_ts, ephemeral_to=user)
    ws.add_message(message)
    return {"message_ts": message.ts}


def chat_update(ws: Workspace, bot: BotIdentity, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _text_arg(args, "channel")
    ws.require_postable(channel)
    message = ws.find_message(channel, _text_arg(args, "ts"))
    if message is None:
        raise SlackApiFailure(ERROR_MESSAGE_NOT_FOUND)
    if message.ephemeral_to is not None:
        raise SlackApiFailure(ERROR_CANT_UPDATE)
    content = message_content(args)
    # Slack keeps what the update leaves out: omitted blocks stay, `blocks: []` removes them.
    if "text" in args:
        message.text = content.text
    if content.blocks is not None:
        message.blocks = content.blocks
    return {"channel": channel, "ts": message.ts, "text": message.text, "message": message_json(message, bot)}


def views_publish(ws: Workspace, bot: BotIdentity, args: Mapping[str, Any]) -> dict[str, Any]:
    user_id = _text_arg(args, "user_id")
    raw_view = args.get("view")
    if isinstance(raw_view, str):
        try:
            raw_view = json.loads(raw_view)
        except ValueError as exc:
            raise SlackApiFailure(ERROR_INVALID_ARGUMENTS, extra={"detail": f"view: {exc}"}) from exc
    if not user_id or not isinstance(raw_view, dict):
        raise SlackApiFailure(ERROR_INVALID_ARGUMENTS, extra={"detail": "user_id and view are required"})
    if raw_view.get("type") != VIEW_TYPE_HOME:
        raise SlackApiFailure(ERROR_INVALID_ARGUMENTS, extra={"detail": "views.publish takes a home view"})
    blocks = checked_blocks(raw_view.get("blocks", []), surface="view")
    view_id = ws.home_views.get(user_id, {}).get("id") or ws.next_id("V")
    view = {
        **raw_view,
        "id": view_id,
        "team_id": bot.team_id,
        "app_id": bot.app_id,
        "bot_id": bot.bot_id,
        "blocks": blocks,
        "hash": ws.next_id("h"),
    }
    ws.home_views[user_id] = view
    return {"view": view}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "views.publish": views_publish,
}


@dataclass(frozen=True)
class ApiRequest:
    """The parts of an HTTP request the Web API looks at."""

    method: str
    query: str
    body: bytes
    content_type: str
    authorization: str | None


def call_method(ws: Workspace, bot: BotIdentity, request: ApiRequest) -> dict[str, Any]:
    """Run one Web API method and record it; returns the JSON body (Slack answers HTTP 200 either way)."""
    with ws.lock:
        recorded: dict[str, Any] = {}
        try:
            handler = METHODS.get(request.method)
            if handler is None:
                raise SlackApiFailure(ERROR_UNKNOWN_METHOD, extra={"req_method": request.method})
            args = parse_api_args(request.query, request.body, request.content_type)
            recorded = {k: v for k, v in args.items() if k != "token"}  # keep no credentials in the log
            authenticate(request.authorization, args, bot.token)
            body = {"ok": True, **handler(ws, bot, args)}
        except SlackApiFailure as failure:
            ws.record(request.method, recorded, failure.error)
            return failure.body()
        ws.record(request.method, recorded, None)
        return body
