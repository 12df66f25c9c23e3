"""A malformed setting never leaves a Slack user without an answer: the answer says ecs-tasks is
misconfigured and which setting is wrong (never its value); the log line is JSON and names the setting.
An unusable signing secret is a 500 with a clear log. Over real HTTP through `functions.http.handler`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import http
from shared.cards.task_cards import ACTION_REFRESH

CHANNEL = "C0OPS"
USER = "U0ALICE"
BAD_ENDPOINT = "ftp://operator:hunter2@ecs.example"
BAD_DATABASE = "nosuchdb://operator:hunter2@db.example/ecs"


def log_records(err: str) -> list[dict[str, Any]]:
    records = []
    for line in err.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def command(sender: SlackSender, slack: SlackEmulator, text: str) -> Any:
    return sender.slash_command(
        text, user_id=USER, channel_id=CHANNEL, response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    )


def test_a_malformed_ecs_endpoint_is_named_to_the_user_and_in_the_log(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given an ECS_ENDPOINT that is not an http(s) URL
    monkeypatch.setenv("ECS_ENDPOINT", BAD_ENDPOINT)
    http.reset_app()
    # When the user asks a plain query
    response = command(sender, slack, "cn-hangzhou failed")
    # Then the answer says ecs-tasks is misconfigured and names the setting, never its value
    assert response.status_code == 200
    text = response.json()["text"]
    assert "misconfigured" in text and "ECS_ENDPOINT" in text
    assert "hunter2" not in text and "ftp" not in text
    # And the log line is JSON, names the setting, and holds no value
    err = capfd.readouterr().err
    records = [r for r in log_records(err) if r.get("event") == "config.error"]
    assert records and records[0]["setting"] == "ECS_ENDPOINT"
    assert "hunter2" not in err
    assert ecs.calls == []


def test_a_click_while_misconfigured_is_answered_at_its_response_url(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_ENDPOINT", BAD_ENDPOINT)
    http.reset_app()
    response = sender.block_action(
        action_id=ACTION_REFRESH,
        value="cn-hangzhou failed",
        channel_id=CHANNEL,
        user_id=USER,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
        is_ephemeral=True,
    )
    assert response.status_code == 200
    (answer,) = slack.calls_to("response_url")
    assert "misconfigured" in answer.args["text"] and "ECS_ENDPOINT" in answer.args["text"]
    assert ecs.calls == []


def test_a_database_url_with_an_unknown_scheme_breaks_channel_updates_only(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ECS_TASKS_DATABASE_URL", BAD_DATABASE)
    http.reset_app()
    # A plain query needs no database: it is answered
    query = command(sender, slack, "cn-hangzhou failed")
    assert "blocks" in query.json() and "misconfigured" not in query.json()["text"]
    # A channel command is told which setting is wrong
    watch = command(sender, slack, "watch cn-hangzhou t-abc123")
    text = watch.json()["text"]
    assert "misconfigured" in text and "ECS_TASKS_DATABASE_URL" in text and "hunter2" not in text
    err = capfd.readouterr().err
    assert any(
        r.get("event") == "config.error" and r.get("setting") == "ECS_TASKS_DATABASE_URL" for r in log_records(err)
    )
    assert "hunter2" not in err


def test_without_a_signing_secret_every_request_is_a_500_with_a_clear_log(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "")
    http.reset_app()
    response = command(sender, slack, "cn-hangzhou failed")
    assert response.status_code == 500
    records = [r for r in log_records(capfd.readouterr().err) if r.get("event") == "config.error"]
    assert records and records[0]["setting"] == "SLACK_SIGNING_SECRET" and records[0]["level"] == "error"
    assert ecs.calls == [] and slack.calls == []


def test_a_database_url_with_a_port_that_is_not_a_number_is_named_to_the_user(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given a database URL whose port is not a number (SQLAlchemy would fail on it only when the store opens)
    monkeypatch.setenv("ECS_TASKS_DATABASE_URL", "postgresql+psycopg://operator:hunter2@db.example:five/ecs")
    http.reset_app()
    # When a user types a command
    response = command(sender, slack, "watch cn-hangzhou t-abc123")
    # Then it is answered with the misconfiguration reply naming the setting, never its value
    assert response.status_code == 200
    text = response.json()["text"]
    assert "misconfigured" in text and "ECS_TASKS_DATABASE_URL" in text and "hunter2" not in text
    err = capfd.readouterr().err
    assert any(
        r.get("event") == "config.error" and r.get("setting") == "ECS_TASKS_DATABASE_URL" for r in log_records(err)
    )
    assert "hunter2" not in err and ecs.calls == []
