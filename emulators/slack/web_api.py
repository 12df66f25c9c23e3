"""Slack Web API methods over a `Workspace`: argument parsing, authentication, the method table."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from emulators.slack.answers import HttpAnswer, SlackApiFailure
from emulators.slack.channels import ERROR_CHANNEL_NOT_FOUND, SCOPE_CHAT_WRITE_PUBLIC, post_refusal, update_refusal
from emulators.slack.content import checked_blocks, message_content
from emulators.slack.errors import METHOD_AUTH_TEST, METHOD_POST_EPHEMERAL, METHOD_POST_MESSAGE, METHOD_UPDATE
from emulators.slack.workspace import Message, Workspace

ERROR_NOT_AUTHED = "not_authed"
ERROR_INVALID_AUTH = "invalid_auth"
ERROR_UNKNOWN_METHOD = "unknown_method"
ERROR_INVALID_JSON = "invalid_json"
ERROR_INVALID_ARGUMENTS = "invalid_arguments"
ERROR_MESSAGE_NOT_FOUND = "message_not_found"
ERROR_CANT_UPDATE = "cant_update_message"
ERROR_THREAD_NOT_FOUND = "thread_not_found"  # the strict answer to a reply whose parent is gone
ERROR_USER_NOT_FOUND = "user_not_found"
ERROR_MISSING_SCOPE = "missing_scope"
ERROR_RATELIMITED = "ratelimited"
HTTP_TOO_MANY_REQUESTS = 429

# The scopes of the product's manifest but chat:write.public, so a public channel the bot is not in answers
# `not_in_channel` unless a test grants it (`BotIdentity(scopes=MANIFEST_SCOPES)`).
DEFAULT_SCOPES: frozenset[str] = frozenset({"commands", "chat:write"})
MANIFEST_SCOPES: frozenset[str] = DEFAULT_SCOPES | {SCOPE_CHAT_WRITE_PUBLIC}
# The scope a `missing_scope` answer names as `needed`.
NEEDED_SCOPE = {METHOD_POST_MESSAGE: "chat:write", METHOD_POST_EPHEMERAL: "chat:write", METHOD_UPDATE: "chat:write"}

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
    scopes: frozenset[str] = DEFAULT_SCOPES

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


def _require_postable(ws: Workspace, bot: BotIdentity, channel_id: str, *, reply: bool) -> None:
    if not channel_id:
        raise SlackApiFailure(ERROR_CHANNEL_NOT_FOUND)
    refusal = post_refusal(ws.channel(channel_id), bot.scopes, reply=reply)
    if refusal is not None:
        raise SlackApiFailure(refusal)


def _reply_is_hidden(ws: Workspace, channel_id: str, thread_ts: str | None) -> bool:
    """Whether a reply to `thread_ts` is shown nowhere; raises thread_not_found where Slack (or the mode) does."""
    if thread_ts is None:
        return False
    parent = ws.find_message(channel_id, thread_ts)
    if parent is not None and not parent.hidden:
        return False
    if parent is None and not ws.was_deleted(channel_id, thread_ts):
        raise SlackApiFailure(ERROR_THREAD_NOT_FOUND)  # never a message here: unconfirmed, see the README
    if ws.missing_parent == ERROR_THREAD_NOT_FOUND:
        raise SlackApiFailure(ERROR_THREAD_NOT_FOUND)
    return True


def chat_post_message(ws: Workspace, bot: BotIdentity, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _text_arg(args, "channel")
    thread_ts = _text_arg(args, "thread_ts") or None
    _require_postable(ws, bot, channel, reply=thread_ts is not None)
    content = message_content(args)
    hidden = _reply_is_hidden(ws, channel, thread_ts)
    message = Message(ws.next_ts(), channel, content.text, content.blocks or [], thread_ts=thread_ts, hidden=hidden)
    ws.add_message(message)
    return {"channel": channel, "ts": message.ts, "message": message_json(message, bot)}


def chat_post_ephemeral(ws: Workspace, bot: BotIdentity, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _text_arg(args, "channel")
    thread_ts = _text_arg(args, "thread_ts") or None
    _require_postable(ws, bot, channel, reply=thread_ts is not None)
    user = _text_arg(args, "user")
    if not user:
        raise SlackApiFailure(ERROR_USER_NOT_FOUND)
    content = message_content(args)
    message = Message(ws.next_ts(), channel, content.text, content.blocks or [], thread_ts, ephemeral_to=user)
    ws.add_message(message)
    return {"message_ts": message.ts}


def chat_update(ws: Workspace, bot: BotIdentity, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _text_arg(args, "channel")
    refusal = update_refusal(ws.channel(channel), bot.scopes) if channel else ERROR_CHANNEL_NOT_FOUND
    if refusal is not None:
        raise SlackApiFailure(refusal)
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
    METHOD_AUTH_TEST: auth_test,
    METHOD_POST_MESSAGE: chat_post_message,
    METHOD_POST_EPHEMERAL: chat_post_ephemeral,
    METHOD_UPDATE: chat_update,
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


def _refuse_revoked_token(ws: Workspace, bot: BotIdentity, method: str) -> None:
    error = ws.faults.refused_token(ws.clock())
    if error is None:
        return
    extra = {}
    if error == ERROR_MISSING_SCOPE:
        extra = {"needed": NEEDED_SCOPE.get(method, ""), "provided": ",".join(sorted(bot.scopes))}
    raise SlackApiFailure(error, extra=extra)


def _refuse_past_rate_limit(ws: Workspace, method: str, args: Mapping[str, Any]) -> None:
    retry_after = ws.rate_limiter.retry_after(method, _text_arg(args, "channel"), ws.clock())
    if retry_after is not None:
        raise SlackApiFailure(
            ERROR_RATELIMITED, status=HTTP_TOO_MANY_REQUESTS, headers={"Retry-After": str(retry_after)}
        )


def call_method(ws: Workspace, bot: BotIdentity, request: ApiRequest) -> HttpAnswer:
    """Run one Web API method and record it.

    In order: the method must exist, the arguments parse, the token authenticates, no token refusal is in
    force, no fault is injected for this call, the rate limit allows it; then the method runs.
    """
    with ws.lock:
        recorded: dict[str, Any] = {}
        try:
            handler = METHODS.get(request.method)
            if handler is None:
                raise SlackApiFailure(ERROR_UNKNOWN_METHOD, extra={"req_method": request.method})
            args = parse_api_args(request.query, request.body, request.content_type)
            recorded = {k: v for k, v in args.items() if k != "token"}  # keep no credentials in the log
            authenticate(request.authorization, args, bot.token)
            _refuse_revoked_token(ws, bot, request.method)
            ws.raise_injected_fault(request.method)
            _refuse_past_rate_limit(ws, request.method, args)
            body = {"ok": True, **handler(ws, bot, args)}
        except SlackApiFailure as failure:
            ws.record(request.method, recorded, failure.error)
            return failure.answer()
        ws.record(request.method, recorded, None)
        # Slack names the token's scopes on every answer to an authenticated call.
        return HttpAnswer.of(body, headers={"x-oauth-scopes": ",".join(sorted(bot.scopes))})
