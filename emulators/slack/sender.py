"""`SlackSender`: builds and signs requests the way Slack sends them to an app's Request URL.

Slash commands are form-encoded with Slack's field set; button clicks are a form field `payload`
holding the block_actions JSON. Both are signed: `X-Slack-Signature: v0=hex(HMAC-SHA256(secret,
"v0:{timestamp}:{body}"))`. Helpers build deliberately bad requests (forged, stale, unsigned).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

import requests

HEADER_TIMESTAMP = "X-Slack-Request-Timestamp"
HEADER_SIGNATURE = "X-Slack-Signature"
SIGNATURE_VERSION = "v0"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
# Slack rejects nothing older than this itself, but verifiers (Bolt's) refuse timestamps 5 minutes off.
STALE_AGE_S = 10 * 60
FORGED_SECRET = "not-the-signing-secret"

DEFAULT_COMMAND = "/ecs-tasks"
DEFAULT_USER_ID = "U0DEMO"
DEFAULT_USER_NAME = "demo"
DEFAULT_CHANNEL_ID = "C0DEMO"
DEFAULT_CHANNEL_NAME = "ops"
DEFAULT_BLOCK_ID = "actions"


def compute_signature(signing_secret: str, timestamp: int, body: str) -> str:
    base = f"{SIGNATURE_VERSION}:{timestamp}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def _iter_elements(blocks: Iterable[Any]) -> Iterable[tuple[str | None, dict[str, Any]]]:
    """(block_id, element) for every interactive element: actions elements and section accessories."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict):
                yield block.get("block_id"), element


def find_element(blocks: Iterable[Any], action_id: str) -> tuple[str | None, dict[str, Any]] | None:
    """The (block_id, element) carrying `action_id`, as Slack finds the button that was clicked."""
    return next(((bid, el) for bid, el in _iter_elements(blocks) if el.get("action_id") == action_id), None)


class SlackSender:
    """Sends signed slash commands and block_actions to `target_url`, as Slack would."""

    def __init__(
        self,
        *,
        signing_secret: str,
        target_url: str,
        clock: Callable[[], float] = time.time,
        team_id: str = "T0DEMO",
        team_domain: str = "demo",
        timeout: float = 10.0,
        api_app_id: str = "A0DEMO",
        verification_token: str = "demo-verification-token",  # deprecated, but Slack still sends it
        session: requests.Session | None = None,
    ) -> None:
        self.signing_secret = signing_secret
        self.target_url = target_url
        self.clock = clock
        self.team_id = team_id
        self.team_domain = team_domain
        self.timeout = timeout
        self.api_app_id = api_app_id
        self.verification_token = verification_token
        self.session = session or requests.Session()
        self._sequence = itertools.count(1)

    # --- headers -----------------------------------------------------------------------------

    def signed_headers(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        """Headers of a correctly signed request; pass `timestamp` to sign as of another time."""
        ts = int(self.clock()) if timestamp is None else timestamp
        return self._headers(ts, compute_signature(self.signing_secret, ts, body))

    def forged_headers(self, body: str) -> dict[str, str]:
        """A current timestamp, but signed with the wrong secret."""
        ts = int(self.clock())
        return self._headers(ts, compute_signature(FORGED_SECRET, ts, body))

    def stale_headers(self, body: str, age_s: int = STALE_AGE_S) -> dict[str, str]:
        """Correctly signed, but `age_s` seconds ago (a replay)."""
        return self.signed_headers(body, timestamp=int(self.clock()) - age_s)

    def unsigned_headers(self) -> dict[str, str]:
        return {"Content-Type": FORM_CONTENT_TYPE, "User-Agent": SLACK_USER_AGENT}

    def _headers(self, timestamp: int, signature: str) -> dict[str, str]:
        return {**self.unsigned_headers(), HEADER_TIMESTAMP: str(timestamp), HEADER_SIGNATURE: signature}

    # --- bodies ------------------------------------------------------------------------------

    def _trigger_id(self) -> str:
        n = next(self._sequence)
        return f"{int(self.clock())}.{n}.{hashlib.sha256(f'trigger-{n}'.encode()).hexdigest()[:32]}"

    def slash_command_body(
        self,
        text: str,
        *,
        command: str = DEFAULT_COMMAND,
        user_id: str = DEFAULT_USER_ID,
        user_name: str = DEFAULT_USER_NAME,
        channel_id: str = DEFAULT_CHANNEL_ID,
        channel_name: str = DEFAULT_CHANNEL_NAME,
        response_url: str,
        trigger_id: str | None = None,
    ) -> str:
        """The form-encoded body of a slash command, fields in Slack's order."""
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or self._trigger_id(),
        }
        return urlencode(fields)

    def block_actions_payload(
        self,
        *,
        action_id: str,
        value: str,
        block_id: str | None = None,
        message: dict[str, Any] | None = None,
        message_ts: str | None = None,
        channel_id: str = DEFAULT_CHANNEL_ID,
        channel_name: str = DEFAULT_CHANNEL_NAME,
        user_id: str = DEFAULT_USER_ID,
        user_name: str = DEFAULT_USER_NAME,
        response_url: str,
        container: dict[str, Any] | None = None,
        is_ephemeral: bool = False,
        button_text: str | None = None,
    ) -> dict[str, Any]:
        """The block_actions JSON for a button click on `message` (a message dict with `ts`, `blocks`)."""
        found = find_element((message or {}).get("blocks") or [], action_id)
        element = found[1] if found else {}
        text = element.get("text") or {"type": "plain_text", "text": button_text or action_id, "emoji": True}
        ts = message_ts or (message or {}).get("ts") or f"{self.clock():.6f}"
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": self.team_id},
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": container
            or {"type": "message", "message_ts": ts, "channel_id": channel_id, "is_ephemeral": is_ephemeral},
            "trigger_id": self._trigger_id(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": channel_name},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id or (found[0] if found else None) or DEFAULT_BLOCK_ID,
                    "text": text,
                    "value": value,
                    "type": element.get("type", "button"),
                    "action_ts": f"{self.clock():.6f}",
                }
            ],
        }
        # Slack leaves the message out for ephemeral messages: the app never sees their content.
        if message is not None and not is_ephemeral:
            payload["message"] = {"type": "message", **message}
        return payload

    @staticmethod
    def block_actions_body(payload: dict[str, Any]) -> str:
        return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})

    # --- sending -----------------------------------------------------------------------------

    def post_raw(self, body: str, headers: dict[str, str]) -> requests.Response:
        """POST exactly `body` with exactly `headers` (for well-formed and deliberately bad requests)."""
        return self.session.post(self.target_url, data=body.encode(), headers=headers, timeout=self.timeout)

    def slash_command(
        self,
        text: str,
        *,
        command: str = DEFAULT_COMMAND,
        user_id: str = DEFAULT_USER_ID,
        user_name: str = DEFAULT_USER_NAME,
        channel_id: str = DEFAULT_CHANNEL_ID,
        channel_name: str = DEFAULT_CHANNEL_NAME,
        response_url: str,
        trigger_id: str | None = None,
    ) -> requests.Response:
        body = self.slash_command_body(
            text,
            command=command,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            response_url=response_url,
            trigger_id=trigger_id,
        )
        return self.post_raw(body, self.signed_headers(body))

    def block_action(
        self,
        *,
        action_id: str,
        value: str,
        block_id: str | None = None,
        message: dict[str, Any] | None = None,
        message_ts: str | None = None,
        channel_id: str = DEFAULT_CHANNEL_ID,
        user_id: str = DEFAULT_USER_ID,
        response_url: str,
        container: dict[str, Any] | None = None,
        is_ephemeral: bool = False,
    ) -> requests.Response:
        payload = self.block_actions_payload(
            action_id=action_id,
            value=value,
            block_id=block_id,
            message=message,
            message_ts=message_ts,
            channel_id=channel_id,
            user_id=user_id,
            response_url=response_url,
            container=container,
            is_ephemeral=is_ephemeral,
        )
        body = self.block_actions_body(payload)
        return self.post_raw(body, self.signed_headers(body))
