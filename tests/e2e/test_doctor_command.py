"""`/ecs-tasks doctor` end to end: signed Slack requests through the FC stand-in to the handler, the emulators
behind it. An admin (ECS_TASKS_ADMIN_USER_IDS) gets the checks, ephemerally; anyone else is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import http
from tests.conftest import ACCESS_KEY_SECRET, BOT_TOKEN, SIGNING_SECRET

ADMIN, OTHER, CHANNEL = "U0ADMIN", "U0OTHER", "C0OPS"


@pytest.fixture
def admins(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.store import open_store

    monkeypatch.setenv("ECS_TASKS_ADMIN_USER_IDS", ADMIN)
    open_store(app_env["ECS_TASKS_DATABASE_URL"]).engine.dispose()  # the schema, as a deployed poller made it
    http.reset_app()


def answer(fc: FcServer, sender: SlackSender, slack: SlackEmulator, user: str) -> dict[str, Any]:
    """The answer to `/ecs-tasks doctor`: its acknowledgement's, or the response_url's when deferred."""
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=user)
    response = sender.slash_command("doctor", user_id=user, channel_id=CHANNEL, response_url=response_url)
    assert response.status_code == 200
    fc.wait_for_async(timeout=30)
    if response.content and response.json().get("blocks"):
        body: dict[str, Any] = response.json()
        return body
    (posted,) = slack.calls_to("response_url")
    return posted.args


@pytest.mark.usefixtures("admins")
def test_an_admin_gets_the_checks_ephemerally(fc: FcServer, sender: SlackSender, slack: SlackEmulator) -> None:
    body = answer(fc, sender, slack, ADMIN)
    text = json.dumps(body, ensure_ascii=False)
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert "❌" not in text.replace("fix the ❌ lines", ""), text
    assert "✅ slack token" in text and "✅ database" in text and "✅ account home · cn-hangzhou" in text
    for secret in (BOT_TOKEN, SIGNING_SECRET, ACCESS_KEY_SECRET):
        assert secret not in text


@pytest.mark.usefixtures("admins")
def test_anyone_else_is_refused(fc: FcServer, sender: SlackSender, slack: SlackEmulator) -> None:
    text = json.dumps(answer(fc, sender, slack, OTHER), ensure_ascii=False)
    assert "for the deployment's admins" in text and "✅" not in text
    assert slack.calls_to("auth.test") == []
