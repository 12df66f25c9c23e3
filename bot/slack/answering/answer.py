"""Inline or deferred: how every command and click that needs ECS or the store gets its answer.

Inline (the request from Slack): the work gets the budget, counted from the start of the invocation; its
answer goes out from the listener's thread before the acknowledgement returns (a slash command's card in
the acknowledgement itself). Out of budget: the request is deferred and acknowledged empty. Deferred (the
same request again, marked): acknowledged at once, the work runs once with the full ECS deadline, and
answers through the response_url.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltRequest, Respond
from slack_sdk import WebClient

from bot.slack.answering.deferral import Arrival, Deferral
from bot.slack.answering.once import RecentKeys, deferred_work_key, request_digest, run_once
from bot.slack.answering.reply import Answer, ResponseUrl, send
from bot.usecases.attempt import Attempt, run_inline
from bot.usecases.work import DeferredRun, Work
from bot.wiring.deps import BotDeps
from shared.cards.task_cards import notice_message
from shared.log import log_event

if TYPE_CHECKING:
    from slack_sdk.webhook import WebhookClient

COULD_NOT_START = (  # shown to the user
    ":warning: ecs-tasks could not start working on this (ECS was slow and the work could not be handed on). "
    "Please try again in a moment."
)
DEFERRED_WORK_NAME = "slack"


class Runner:
    """The one path by which a command or click that needs ECS or the store is answered: `answer`."""

    def __init__(
        self,
        deps: BotDeps,
        deferral: Deferral,
        *,
        response_url_client: Callable[[str], WebhookClient],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`response_url_client`: the wiring's client for a response_url, under the one Slack client policy."""
        self._deps = deps
        self._deferral = deferral
        self._response_url_client = response_url_client
        self._monotonic = monotonic
        self._requests = RecentKeys(monotonic=monotonic)  # replays of a request this instance answered
        self._deferred = RecentKeys(monotonic=monotonic)  # deliveries of deferred work this instance ran

    def response_url(self, respond: Respond) -> ResponseUrl:
        """Where a listener's `respond` posts, through the wiring's client (never Bolt's own, whose client
        has slack_sdk's default timeout and retry)."""
        return ResponseUrl(respond.response_url, self._response_url_client)

    def is_deferred(self, request: BoltRequest) -> bool:
        return _deferred(request) is not None

    def first_time(self, request: BoltRequest) -> bool:
        """False for a replay of a request already answered here (the same signed bytes again)."""
        if self.is_deferred(request) or self._requests.first_time(request_digest(request)):
            return True
        log_event("slack.replay", level=logging.WARNING, outcome="ignored")
        return False

    def answer(
        self,
        work: Work,
        *,
        request: BoltRequest,
        ack: Ack,
        respond: Respond,
        client: WebClient,
        in_ack: bool,
    ) -> None:
        """The one way a request that needs ECS or the store is answered: inline within the budget, or
        deferred; a deferred run does the work once. Acknowledges the request."""
        run = _deferred(request)
        if run is not None:
            ack()
            self._run_deferred(work, run, request, Answer(self.response_url(respond), client))
            return
        arrival = Arrival.of(request.context)
        started = arrival.started if arrival is not None and arrival.started is not None else self._monotonic()
        attempt = Attempt(
            inline=True,
            ends_at=started + self._deps.settings.inline_budget_s,
            monotonic=self._monotonic,
            ecs_deadline_s=self._deps.settings.ecs_deadline_s,
        )
        replies = run_inline(attempt, lambda a: work(a, None))
        answer = Answer(self.response_url(respond), client, in_ack=in_ack)
        if replies is not None:
            send(answer, replies)
            log_event("slack.answer", via="inline")
        else:
            queued = self._deferral.defer(request, DeferredRun(may_have_acted=attempt.may_have_acted))
            log_event("slack.answer", via="deferred", outcome="queued" if queued else "not_queued")
            if not queued:
                answer.ephemeral(notice_message(COULD_NOT_START))
        ack(**_ack_kwargs(answer))

    def _run_deferred(self, work: Work, run: DeferredRun, request: BoltRequest, answer: Answer) -> None:
        def do() -> None:
            attempt = Attempt.deferred(ecs_deadline_s=self._deps.settings.ecs_deadline_s, monotonic=self._monotonic)
            send(answer, work(attempt, run))

        arrival = Arrival.of(request.context)
        delivery_key = arrival.delivery_key if arrival is not None else None
        run_once(self._deps, self._deferred, deferred_work_key(request, DEFERRED_WORK_NAME, delivery_key), do)


def _ack_kwargs(answer: Answer) -> dict[str, Any]:
    return dict(answer.ack_body) if answer.ack_body else {}


def _deferred(request: BoltRequest) -> DeferredRun | None:
    arrival = Arrival.of(request.context)
    return arrival.deferred if arrival is not None else None
