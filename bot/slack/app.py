"""The Slack Bolt app: verification and listeners. Platform adapters live in `functions/`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.slack import dispatch
from bot.slack.answering.answer import Runner
from bot.slack.answering.deferral import Deferral
from bot.wiring.deps import BotDeps
from shared.errors import ConfigurationError
from shared.log import register_secret

if TYPE_CHECKING:
    from slack_sdk.webhook import WebhookClient


def build_app(
    deps: BotDeps, *, deferral: Deferral, web_client: WebClient, response_url_client: Callable[[str], WebhookClient]
) -> App:
    """The Bolt app over `web_client` (built by bot.wiring, without a token: each request's is authorized);
    its answers through a response_url are posted by `response_url_client`'s clients (bot.wiring's, under the
    same policy as `web_client`)."""
    settings = deps.settings
    if settings.slack_signing_secret is None:
        raise ConfigurationError(
            "SLACK_SIGNING_SECRET is not set: every Slack request must be verified with it.",
            setting="SLACK_SIGNING_SECRET",
        )
    signing_secret = settings.slack_signing_secret.get_secret_value()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    register_secret(signing_secret)
    register_secret(token)

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        # One workspace, one bot token: no auth.test round trip to Slack on the ack path of a cold start.
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=token)

    app = App(
        signing_secret=signing_secret,
        client=web_client,
        authorize=authorize,
        # Answer before returning (FaaS): the listener finishes (inline answer or deferral) before the ack.
        process_before_response=True,
        # No auth.test at start-up: it would cost a Slack round trip on every cold start.
        token_verification_enabled=False,
        name="ecs-tasks",
    )
    dispatch.register(app, deps, Runner(deps, deferral, response_url_client=response_url_client))
    return app
