"""Credentials inside URL settings never show: the user-info of ECS_ENDPOINT, SLACK_API_URL
and ECS_TASKS_DATABASE_URL, through the FC handler over real HTTP, in every message and every log line.

The CLI's failures with such URLs (unreachable, silent, malformed, no driver) are in tests/integration/test_cli.py."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import http
from tests.conftest import fixed_task
from tests.e2e.test_slack_e2e import send_command, wait_for_response

USER, PASSWORD = "svc-ecs", "s3cr3t-pass"


def with_user_info(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{USER}:{PASSWORD}@{parts.netloc}").geturl()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://{USER}:{PASSWORD}@127.0.0.1:{port}"


def assert_nothing_shows(texts: list[str]) -> None:
    for text in texts:
        assert PASSWORD not in text and f"{USER}:" not in text, text


def everything_said(
    slack: SlackEmulator, response: object, capfd: pytest.CaptureFixture[str], *, answered: bool = True
) -> list[str]:
    """Every reply and post, the command's HTTP answer, and every log line; after the user got an answer."""
    if answered and not _answered_in_ack(response):
        answers = [call for call in wait_for_response(slack) if call.args.get("text") or call.args.get("blocks")]
        assert answers, "the user got no answer"
    out, err = capfd.readouterr()
    assert err.strip(), "nothing was logged"
    said = [json.dumps(call.args, ensure_ascii=False) for call in slack.calls]
    return [*said, getattr(response, "text", ""), out, err]


def _answered_in_ack(response: object) -> bool:
    """Answers come inline in the acknowledgement when they can, else at the response_url."""
    try:
        body = json.loads(getattr(response, "text", "") or "{}")
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("text") or body.get("blocks"))


@pytest.mark.parametrize(
    "setting",
    [
        "ECS_ENDPOINT unreachable",
        "ECS_ENDPOINT rejecting the signature",
        "ECS_ENDPOINT malformed",
    ],
)
def test_ecs_endpoint_credentials_never_show(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    setting: str,
) -> None:
    # Given an ECS endpoint whose URL carries user-info, and that fails in one way or another
    ecs.add_task(**fixed_task("t-bp1x", status="Failed", created=now - timedelta(hours=1), finished=now))
    endpoint = {
        "ECS_ENDPOINT unreachable": closed_port_url(),
        # requests moves user-info out of the Host header, so the signed host no longer matches
        "ECS_ENDPOINT rejecting the signature": with_user_info(ecs.base_url),
        "ECS_ENDPOINT malformed": f"http://{USER}:{PASSWORD}@[::1",
    }[setting]
    monkeypatch.setenv("ECS_ENDPOINT", endpoint)
    monkeypatch.setenv("ECS_TASKS_ECS_DEADLINE", "3")
    http.reset_app()
    # When a user asks for tasks
    response, _, _ = send_command(sender, slack, "cn-hangzhou failed")
    fc.wait_for_async()
    # Then they are answered (a malformed setting with the misconfiguration reply), and whatever they are
    # told, and whatever is logged, holds no part of the user-info
    assert_nothing_shows(everything_said(slack, response, capfd))


def test_slack_api_url_credentials_never_show(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given a Slack API URL with user-info that cannot be reached, when a command needs the Web API
    monkeypatch.setenv("SLACK_API_URL", closed_port_url() + "/api/")
    http.reset_app()
    response, _, _ = send_command(sender, slack, "subscribe cn-hangzhou failed")
    fc.wait_for_async()
    # Then nothing said or logged shows it
    assert_nothing_shows(everything_said(slack, response, capfd))


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:1/nowhere",
        f"nosuchdialect://{USER}:{PASSWORD}@db.example.com/x",
    ],
)
def test_database_url_credentials_never_show(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    url: str,
) -> None:
    # Given a database URL with user-info that cannot be used, when a channel command needs the store
    monkeypatch.setenv("ECS_TASKS_DATABASE_URL", url)
    http.reset_app()
    response, _, _ = send_command(sender, slack, "list")
    fc.wait_for_async()
    # Then nothing said or logged shows it
    assert_nothing_shows(everything_said(slack, response, capfd))
