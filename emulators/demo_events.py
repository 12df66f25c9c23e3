"""The demo's fifth act: a user starts an ImportImage, and the channel is told within seconds, naming them.

alice (a RAM user whose AccessKey the ECS emulator knows) imports an image with the official SDK; the ECS
emulator records who made the call; the EventBridge stand-in delivers ActionTrail's event of it, as bytes, to
the events function (`functions.events.handler`, in a process of its own as Function Compute would run it);
the channel subscribed to the region's imports gets the card. EventBridge delivers again: nothing more.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from emulators.ecs import EcsEmulator
from emulators.ecs.service import HOME_ACCOUNT_ID
from emulators.eventbridge import EventBridgeStandIn, event_from_call
from emulators.slack import SlackEmulator, SlackSender

CHANNEL = "C0DEMOIMG"
USER = "U0DEMO"
REGION = "cn-hangzhou"
ALICE_KEY_ID = "demo-alice-key-id"
ALICE_KEY_SECRET = "demo-alice-key-secret"
# The events function, once per delivery: Function Compute hands it the event as bytes.
EVENTS_FUNCTION = (
    "import json, sys\n"
    "from functions.events import handler\n"
    "print(json.dumps(handler(sys.stdin.buffer.read(), None)))\n"
)


def events_demo(
    ecs: EcsEmulator,
    slack: SlackEmulator,
    env: Mapping[str, str],
    *,
    sender: SlackSender,
    show: Callable[[str, Mapping[str, Any]], None],
    banner: Callable[[str], None],
) -> None:
    banner("5. Tasks announced as they start: ActionTrail's events through EventBridge")
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    sender.slash_command(f"subscribe {REGION} ImportImage", user_id=USER, channel_id=CHANNEL, response_url=response_url)
    print(f"#{CHANNEL} subscribed to new ImportImage tasks in {REGION}.\n")

    print("alice imports an image with the official SDK (alibabacloud-ecs20140526), under her own AccessKey")
    task_id = _import_as_alice(ecs)
    (call,) = [c for c in ecs.calls if c.action == "ImportImage"][-1:]
    event = event_from_call(call)
    assert call.caller is not None
    print(f"ECS started task {task_id}; the emulator recorded the caller: {call.caller.type} {call.caller.user_name}")
    ecs.advance(5)  # ECS starts processing it

    function_env = {**env, "FC_ACCOUNT_ID": HOME_ACCOUNT_ID}
    bridge = EventBridgeStandIn(deliver=lambda body: _events_function(function_env, body))
    before = len(slack.calls_to("chat.postMessage"))
    started = time.monotonic()
    (answer,) = bridge.publish(event)
    elapsed = time.monotonic() - started
    posted = [c for c in slack.calls_to("chat.postMessage")[before:] if c.args.get("channel") == CHANNEL]
    print(f"EventBridge delivered ActionTrail's event; the events function answered {answer}")
    print(f"(delivery to card: {elapsed:.1f} s, a fresh process included)\n")
    if posted:
        banner(f"The announcement in #{CHANNEL}")
        show("13-announced-by-event", posted[-1].args)

    banner("EventBridge delivers the same event again (at least once)")
    again = len(slack.calls)
    (duplicate,) = bridge.publish(event)
    print(f"The events function answered {duplicate}; Slack calls: {len(slack.calls) - again}")


def _import_as_alice(ecs: EcsEmulator) -> str:
    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi import models as openapi_models

    config = openapi_models.Config(
        access_key_id=ALICE_KEY_ID,
        access_key_secret=ALICE_KEY_SECRET,
        endpoint=urlsplit(ecs.base_url).netloc,
        protocol="http",
        region_id=REGION,
        read_timeout=5000,
        connect_timeout=2000,
    )
    request = ecs_models.ImportImageRequest(region_id=REGION, image_name="web-2026-12", ostype="linux")
    return str(Client(config).import_image(request).body.task_id)


def _events_function(env: Mapping[str, str], body: bytes) -> Any:
    result = subprocess.run(
        [sys.executable, "-c", EVENTS_FUNCTION], input=body, env=dict(env), capture_output=True, timeout=60
    )
    return json.loads(result.stdout or b"{}")
