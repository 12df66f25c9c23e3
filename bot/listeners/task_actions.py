"""Per-task buttons: Details (DescribeTaskAttribute) and Cancel (CancelTask, then the card is refreshed)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient

from bot import access, reply
from bot.answers import STALE_BUTTON, answer_errors, lazy_once
from bot.deps import BotDeps
from bot.listeners.task_list import build_card
from bot.query_codec import TaskRef, decode_task_ref
from shared.cards.task_cards import (
    ACTION_CANCEL_PATTERN,
    ACTION_DETAILS_PATTERN,
    ACTION_TASK_MENU,
    notice_message,
    task_detail_message,
)


def _clicked_value(body: dict[str, Any]) -> str:
    action = body["actions"][0]
    # Buttons carry `value`; the compact layout's select carries `selected_option.value`.
    selected = action.get("selected_option") or {}
    return str(action.get("value") or selected.get("value") or "")


def _task_ref(body: dict[str, Any]) -> TaskRef | None:
    try:
        return decode_task_ref(_clicked_value(body))
    except ValueError:
        return None


def register(app: App, deps: BotDeps) -> None:
    def ack_details(ack: Ack) -> None:
        ack()

    def show_details(request: BoltRequest, respond: Respond, body: dict[str, Any]) -> None:
        ref = _task_ref(body)

        def work() -> None:
            if ref is None:
                reply.reply_ephemeral(respond, notice_message(STALE_BUTTON))
                return
            denied = access.check_click(deps.settings, body, (ref.region,))
            if denied:
                reply.reply_ephemeral(respond, notice_message(denied.reason))
                return
            with answer_errors(respond, what=f"show task {ref.task_id}"):
                deadline = deps.ecs.deadline(deps.settings.ecs_deadline_s)
                attribute = deps.ecs.describe_task_attribute(ref.region, ref.task_id, deadline=deadline)
                reply.reply_ephemeral(respond, task_detail_message(attribute, now=deps.clock()))

        lazy_once(deps, request, "show_details", work)

    for action_id in (ACTION_DETAILS_PATTERN, ACTION_TASK_MENU):
        app.action(action_id)(ack=ack_details, lazy=[show_details])

    def ack_cancel(ack: Ack) -> None:
        ack()  # every check, and telling a refused user, happens in the lazy work: no Slack I/O here

    def cancel_task(request: BoltRequest, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
        user_id = body.get("user", {}).get("id")
        ref = _task_ref(body)

        def work() -> None:
            if not access.user_may_cancel(deps.settings, user_id):
                reply.reply_ephemeral(respond, notice_message(access.cancel_denied().reason))
                return
            if ref is None:
                reply.reply_ephemeral(respond, notice_message(STALE_BUTTON))
                return
            denied = access.check_click(deps.settings, body, (ref.region,))
            if denied:
                reply.reply_ephemeral(respond, notice_message(denied.reason))
                return
            with answer_errors(respond, what=f"cancel task {ref.task_id}"):
                deadline = deps.ecs.deadline(deps.settings.ecs_deadline_s)
                result = deps.ecs.cancel_task(ref.region, ref.task_id, deadline=deadline)
                reply.reply_ephemeral(
                    respond,
                    notice_message(
                        f":octagonal_sign: <@{user_id}> cancelled task `{ref.task_id}` in {ref.region} "
                        f"(RequestId {result.request_id})."
                    ),
                )
                message = build_card(deps, ref.query, user_id=user_id)
                reply.replace_in_place(respond, client, message, container=body.get("container", {}))

        lazy_once(deps, request, "cancel_task", work)

    app.action(ACTION_CANCEL_PATTERN)(ack=ack_cancel, lazy=[cancel_task])
