"""manifest.yml: a Slack app manifest Slack accepts, for the command the grammar answers to."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from jsonschema import Draft7Validator

from bot.language.words import SLASH_COMMAND
from tests.paths import FIXTURES, REPO

SCHEMAS = FIXTURES / "schemas"  # copies, each with its licence
MANIFEST = REPO / "manifest.yml"

BOT_SCOPES = {"commands", "chat:write", "chat:write.public"}
REQUEST_PATH = "/slack/events"


def load_manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_manifest_validates_against_slacks_schema() -> None:
    # Given Slack's manifest schema
    validator = Draft7Validator(json.loads((SCHEMAS / "slack-app-manifest.schema.json").read_text()))
    # When manifest.yml is validated
    errors = [f"{'/'.join(map(str, error.path))}: {error.message}" for error in validator.iter_errors(load_manifest())]
    # Then Slack's rules hold
    assert errors == []


def test_the_one_slash_command_is_the_grammars_with_a_valid_name() -> None:
    (command,) = load_manifest()["features"]["slash_commands"]
    name = command["command"]
    assert name == SLASH_COMMAND
    assert name.startswith("/")
    assert 2 <= len(name) <= 32
    # The grammar parses the raw text; escaped text would carry <#C…> and <@U…> ids instead
    assert command["should_escape"] is False
    assert {"help", "watch", "subscribe", "since"} <= set(re.findall(r"[a-z]+", command["usage_hint"]))


def test_bot_scopes_are_exactly_the_three_the_app_needs() -> None:
    scopes = load_manifest()["oauth_config"]["scopes"]
    assert set(scopes["bot"]) == BOT_SCOPES
    assert len(scopes["bot"]) == len(BOT_SCOPES)
    assert "user" not in scopes


def test_command_and_interactivity_share_the_functions_request_url() -> None:
    manifest = load_manifest()
    (command,) = manifest["features"]["slash_commands"]
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"] == command["url"]
    assert command["url"].startswith("https://") and command["url"].endswith(REQUEST_PATH)


def test_app_uses_http_delivery_in_one_workspace() -> None:
    settings = load_manifest()["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert "bot_user" in load_manifest()["features"]
