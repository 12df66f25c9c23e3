"""The Slack emulator, driven by Slack's own clients; the sender, checked by Slack's own verifier and Bolt."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import requests
from slack_bolt import App, BoltRequest
from slack_bolt.request.payload_utils import is_block_actions, is_slash_command, to_action, to_command
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.signature import Clock, SignatureVerifier

from emulators.serving import PromptlyStoppedHTTPServer
from emulators.slack import SlackEmulator, SlackSender, render_message

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"
CHANNEL, USER = "C0TEST", "U0TEST"


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
def emulator(shared_emulator: SlackEmulator) -> SlackEmulator:
    shared_emulator.reset()
    shared_emulator.set_channel(CHANNEL, "ok")
    return shared_emulator


@pytest.fixture
def client(emulator: SlackEmulator) -> WebClient:
    return WebClient(base_url=emulator.api_url, token=TOKEN)


def slack_error(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as raised:
        call()
    data: dict[str, Any] = raised.value.response.data
    return data


# --- Web API: authentication and methods ---------------------------------------------------------


def test_auth_test_reports_the_bot_identity(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["ok"] and answer["team_id"] == "T0DEMO" and answer["user_id"] and answer["bot_id"]


def test_missing_and_wrong_tokens_are_refused(emulator: SlackEmulator) -> None:
    assert slack_error(WebClient(base_url=emulator.api_url).auth_test)["error"] == "not_authed"
    assert slack_error(WebClient(base_url=emulator.api_url, token="xoxb-wrong").auth_test)["error"] == "invalid_auth"
    assert [c.error for c in emulator.calls] == ["not_authed", "invalid_auth"]


def test_unknown_method_is_refused(client: WebClient) -> None:
    assert slack_error(lambda: client.api_call("chat.nonsense"))["error"] == "unknown_method"


def test_form_encoded_call_with_token_argument_and_blocks_string(emulator: SlackEmulator) -> None:
    blocks = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}])
    form = {"token": TOKEN, "channel": CHANNEL, "text": "hi", "blocks": blocks}
    answer = requests.post(emulator.api_url + "chat.postMessage", data=form, timeout=5).json()
    assert answer["ok"], answer
    assert emulator.messages(CHANNEL)[0].blocks[0]["text"]["text"] == "*hi*"
    assert "token" not in emulator.calls[0].args  # credentials are not kept
    form["blocks"] = "[{not json"
    bad = requests.post(emulator.api_url + "chat.postMessage", data=form, timeout=5).json()
    assert bad["error"] == "invalid_blocks_format"


def test_post_message_answers_like_slack_and_threads(client: WebClient, emulator: SlackEmulator) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="parent")
    assert parent["channel"] == CHANNEL and parent["message"]["text"] == "parent"
    reply = client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert [(m.text, m.thread_ts) for m in emulator.messages(CHANNEL)] == [
        ("parent", None),
        ("reply", parent["ts"]),
    ]
    orphan = slack_error(lambda: client.chat_postMessage(channel=CHANNEL, text="x", thread_ts="1.000001"))
    assert orphan["error"] == "thread_not_found"


@pytest.mark.parametrize("state", ["not_in_channel", "channel_not_found", "is_archived"])
def test_channel_states_refuse_posts(client: WebClient, emulator: SlackEmulator, state: str) -> None:
    emulator.set_channel("C0BAD", state)  # type: ignore[arg-type]
    assert slack_error(lambda: client.chat_postMessage(channel="C0BAD", text="x"))["error"] == state
    assert slack_error(lambda: client.chat_postEphemeral(channel="C0BAD", user=USER, text="x"))["error"] == state
    assert emulator.messages("C0BAD") == []


def test_channels_given_at_construction_apply() -> None:
    with SlackEmulator(bot_token=TOKEN, channels={"C0GONE": "is_archived"}) as emulator:
        client = WebClient(base_url=emulator.api_url, token=TOKEN)
        assert slack_error(lambda: client.chat_postMessage(channel="C0GONE", text="x"))["error"] == "is_archived"


def test_update_replaces_in_place_and_keeps_omitted_blocks(client: WebClient, emulator: SlackEmulator) -> None:
    blocks = [{"type": "divider"}]
    posted = client.chat_postMessage(channel=CHANNEL, text="v1", blocks=blocks)
    updated = client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")
    assert updated["ts"] == posted["ts"] and updated["text"] == "v2"
    (message,) = emulator.messages(CHANNEL)
    assert (message.text, message.blocks) == ("v2", blocks)


def test_update_refuses_unknown_and_ephemeral_messages(client: WebClient) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="v1")
    assert slack_error(lambda: client.chat_update(channel=CHANNEL, ts="1.000001", text="x"))["error"] == (
        "message_not_found"
    )
    wrong_channel = slack_error(lambda: client.chat_update(channel="C0OTHER", ts=posted["ts"], text="x"))
    assert wrong_channel["error"] == "message_not_found"
    ephemeral = client.chat_postEphemeral(channel=CHANNEL, user=USER, text="only you")
    refused = slack_error(lambda: client.chat_update(channel=CHANNEL, ts=ephemeral["message_ts"], text="x"))
    assert refused["error"] == "cant_update_message"


def test_post_ephemeral_is_visible_to_one_user(client: WebClient, emulator: SlackEmulator) -> None:
    answer = client.chat_postEphemeral(channel=CHANNEL, user=USER, text="only you")
    (message,) = emulator.messages(CHANNEL)
    assert message.ts == answer["message_ts"] and message.ephemeral_to == USER


def test_message_without_text_or_blocks_is_refused(client: WebClient) -> None:
    with pytest.warns(UserWarning):  # WebClient itself warns about the missing text
        error = slack_error(lambda: client.chat_postMessage(channel=CHANNEL, blocks=[]))
    assert error["error"] == "no_text"


def test_views_publish_stores_the_home_tab(client: WebClient, emulator: SlackEmulator) -> None:
    blocks = [{"type": "divider"}] * 100
    answer = client.views_publish(user_id=USER, view={"type": "home", "blocks": blocks})
    assert answer["view"]["id"] and emulator.home_view(USER)["blocks"] == blocks  # type: ignore[index]
    too_many = slack_error(
        lambda: client.views_publish(user_id=USER, view={"type": "home", "blocks": [*blocks, blocks[0]]})
    )
    assert too_many["error"] == "invalid_blocks"
    modal = slack_error(lambda: client.views_publish(user_id=USER, view={"type": "modal", "blocks": []}))
    assert modal["error"] == "invalid_arguments"


# --- Block Kit limits (Slack's documented numbers, not the module's): accepted at, refused past ---


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(text: str = "Go", *, action_id: str = "go", **extra: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, **extra}


def _actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


LIMIT_CASES: dict[str, tuple[int, Callable[[int], list[dict[str, Any]]]]] = {
    "blocks per message": (50, lambda n: [{"type": "divider"}] * n),
    "section text": (3_000, lambda n: [_section("x" * n)]),
    "section fields": (10, lambda n: [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * n}]),
    "section field length": (
        2_000,
        lambda n: [{"type": "section", "fields": [{"type": "plain_text", "text": "f" * n}]}],
    ),
    "actions elements": (25, lambda n: [_actions(*(_button(action_id=f"a{i}") for i in range(n)))]),
    "button text": (75, lambda n: [_actions(_button("b" * n))]),
    "button value": (2_000, lambda n: [_actions(_button(value="v" * n))]),
    "button url": (3_000, lambda n: [_actions(_button(url="https://e.x/" + "u" * (n - 12)))]),
    "action_id": (255, lambda n: [_actions(_button(action_id="a" * n))]),
    "block_id": (255, lambda n: [{"type": "divider", "block_id": "b" * n}]),
    "context elements": (10, lambda n: [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * n}]),
    "header text": (150, lambda n: [{"type": "header", "text": {"type": "plain_text", "text": "h" * n}}]),
}


@pytest.mark.parametrize("case", LIMIT_CASES)
def test_block_kit_limit(client: WebClient, case: str) -> None:
    limit, build = LIMIT_CASES[case]
    assert client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=build(limit))["ok"]
    error = slack_error(lambda: client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=build(limit + 1)))
    assert error["error"] == "invalid_blocks"
    assert "json-pointer:/blocks" in error["errors"][0]


def test_total_characters_cap_answers_msg_blocks_too_long(client: WebClient) -> None:
    per_block = 13_200 // 5  # Slack's reported cap, counted over text objects
    at_cap = [_section("x" * per_block) for _ in range(5)]
    assert client.chat_postMessage(channel=CHANNEL, text="t", blocks=at_cap)["ok"]
    over = [*at_cap, _section("x")]
    assert slack_error(lambda: client.chat_postMessage(channel=CHANNEL, text="t", blocks=over))["error"] == (
        "msg_blocks_too_long"
    )


@pytest.mark.parametrize(
    ("blocks", "detail"),
    [
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "plain_text"),
        ([_section("a"), {**_section("b"), "text": {"type": "markdown", "text": "b"}}], "valid enum"),
        ([_actions(_button(action_id="same"), _button(action_id="same"))], "duplicate"),
        ([{"type": "divider", "block_id": "d"}, {"type": "divider", "block_id": "d"}], "duplicate"),
        ([{"type": "carousel"}], "unsupported"),
    ],
    ids=["header-mrkdwn", "text-type", "dup-action_id", "dup-block_id", "block-type"],
)
def test_malformed_blocks_are_refused_with_a_detail(client: WebClient, blocks: list[Any], detail: str) -> None:
    error = slack_error(lambda: client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))
    assert error["error"] == "invalid_blocks" and detail in " ".join(error["errors"])


def test_valid_message_built_with_slack_sdk_models_is_accepted(client: WebClient, emulator: SlackEmulator) -> None:
    blocks = [
        HeaderBlock(text="ECS tasks in cn-hangzhou"),
        SectionBlock(
            text=MarkdownTextObject(text="*t-123* ImportImage"),
            fields=[MarkdownTextObject(text="*Status*\nProcessing"), PlainTextObject(text="50%")],
            accessory=ButtonElement(text="Details", action_id="details", value="t-123"),
        ),
        DividerBlock(),
        ContextBlock(elements=[MarkdownTextObject(text="Updated <!date^1700000000^{time}|12:00>")]),
        ActionsBlock(
            block_id="task-actions",
            elements=[
                ButtonElement(text="Refresh", action_id="refresh", value="t-123"),
                ButtonElement(text="Cancel", action_id="cancel", value="t-123", style="danger"),
            ],
        ),
    ]
    assert client.chat_postMessage(channel=CHANNEL, text="ECS tasks", blocks=blocks)["ok"]
    assert len(emulator.messages(CHANNEL)[0].blocks) == len(blocks)


# --- response_url ----------------------------------------------------------------------------------


def test_response_url_posts_ephemeral_by_default_and_in_channel_on_request(emulator: SlackEmulator) -> None:
    url = emulator.new_response_url(channel_id=CHANNEL, user_id=USER)
    assert requests.post(url, json={"text": "private"}, timeout=5).json() == {"ok": True}
    assert requests.post(url, json={"text": "public", "response_type": "in_channel"}, timeout=5).ok
    assert [(m.text, m.ephemeral_to) for m in emulator.messages(CHANNEL)] == [("private", USER), ("public", None)]
    assert [c.method for c in emulator.calls] == ["response_url", "response_url"]


def test_response_url_replaces_and_deletes_the_original(client: WebClient, emulator: SlackEmulator) -> None:
    original = client.chat_postMessage(channel=CHANNEL, text="before")
    url = emulator.new_response_url(channel_id=CHANNEL, user_id=USER, message_ts=original["ts"])
    assert requests.post(url, json={"text": "after", "replace_original": True}, timeout=5).ok
    (message,) = emulator.messages(CHANNEL)
    assert (message.ts, message.text, message.ephemeral_to) == (original["ts"], "after", None)
    assert requests.post(url, json={"delete_original": True}, timeout=5).ok
    assert emulator.messages(CHANNEL) == []
    assert requests.post(url, json={"delete_original": True}, timeout=5).status_code == 404


def test_response_url_allows_five_uses(emulator: SlackEmulator) -> None:
    url = emulator.new_response_url(channel_id=CHANNEL, user_id=USER)
    bad = requests.post(url, json={"text": "t", "blocks": [{"type": "nope"}]}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_blocks"  # refused posts spend no use
    for n in range(5):
        assert requests.post(url, json={"text": f"use {n}"}, timeout=5).ok
    sixth = requests.post(url, json={"text": "one too many"}, timeout=5)
    assert (sixth.status_code, sixth.json()["error"]) == (404, "used_url")
    assert len(emulator.messages(CHANNEL)) == 5


def test_response_url_expires_after_thirty_minutes() -> None:
    clock = FakeClock()
    with SlackEmulator(bot_token=TOKEN, clock=clock) as emulator:
        url = emulator.new_response_url(channel_id=CHANNEL, user_id=USER)
        clock.now += 30 * 60
        assert requests.post(url, json={"text": "just in time"}, timeout=5).ok
        clock.now += 1
        late = requests.post(url, json={"text": "late"}, timeout=5)
        assert (late.status_code, late.json()["error"]) == (404, "expired_url")


# --- inspection API and waiting ----------------------------------------------------------------


def test_inspection_api_over_http(emulator: SlackEmulator) -> None:
    base = emulator.base_url + "/_emulator/"
    url = requests.post(base + "response-url", json={"channel_id": CHANNEL, "user_id": USER}, timeout=5).json()["url"]
    assert requests.post(url, json={"text": "hello"}, timeout=5).ok
    assert requests.post(base + "channel", json={"channel_id": "C0X", "state": "not_in_channel"}, timeout=5).ok
    client = WebClient(base_url=emulator.api_url, token=TOKEN)
    assert slack_error(lambda: client.chat_postMessage(channel="C0X", text="x"))["error"] == "not_in_channel"
    calls = requests.get(base + "calls", timeout=5).json()["calls"]
    assert [(c["method"], c["error"]) for c in calls] == [
        ("response_url", None),
        ("chat.postMessage", "not_in_channel"),
    ]
    messages = requests.get(base + "messages", params={"channel": CHANNEL}, timeout=5).json()["messages"]
    assert [m["text"] for m in messages] == ["hello"]
    assert requests.post(base + "reset", timeout=5).ok
    assert emulator.calls == [] and emulator.messages(CHANNEL) == []
    assert requests.post(base + "channel", json={"channel_id": "C0X", "state": "gone"}, timeout=5).status_code == 400


def test_wait_for_calls_sees_work_done_later(client: WebClient, emulator: SlackEmulator) -> None:
    timer = threading.Timer(0.1, lambda: client.chat_postMessage(channel=CHANNEL, text="later"))
    timer.start()
    calls = emulator.wait_for_calls(1, timeout=5, method="chat.postMessage")
    timer.join()
    assert calls[0].args["text"] == "later"
    with pytest.raises(TimeoutError, match=r"chat\.update"):
        emulator.wait_for_calls(1, timeout=0.05, method="chat.update")


# --- the sender: what an app's Request URL receives ----------------------------------------------


class Receiver:
    """A loopback Request URL: records each request, answers with `handle(body, headers)`."""

    def __init__(self, handle: Callable[[str, dict[str, str]], tuple[int, str]] | None = None) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                headers = dict(self.headers.items())
                outer.requests.append((body, headers))
                status, answer = handle(body, headers) if handle else (200, "")
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer.encode())))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = PromptlyStoppedHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"
        self.thread = threading.Thread(target=self.server.serve_forever)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


SLASH_COMMAND_FIELDS = {
    *("token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name", "command", "text"),
    *("api_app_id", "is_enterprise_install", "response_url", "trigger_id"),
}


def bolt_body(body: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The body as Bolt parses it from a raw HTTP request."""
    as_bolt: dict[str, str | Sequence[str]] = dict(headers or {})
    return BoltRequest(body=body, headers=as_bolt).body


class FixedClock(Clock):
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock()


def test_slash_command_is_a_signed_form_with_slacks_fields() -> None:
    with Receiver() as receiver:
        sender = SlackSender(signing_secret=SECRET, target_url=receiver.url)
        assert sender.slash_command("list cn-hangzhou", response_url="http://127.0.0.1:9/r").status_code == 200
    ((body, headers),) = receiver.requests
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    parsed = bolt_body(body, headers)
    assert is_slash_command(parsed)
    command = to_command(parsed)
    assert command is not None
    assert set(command) == SLASH_COMMAND_FIELDS
    assert (command["command"], command["text"], command["channel_id"]) == ("/ecs-tasks", "list cn-hangzhou", "C0DEMO")


def test_block_action_carries_the_clicked_button_and_message(client: WebClient) -> None:
    blocks = [_actions(_button("Refresh", action_id="refresh", value="t-1")) | {"block_id": "task-actions"}]
    posted = client.chat_postMessage(channel=CHANNEL, text="tasks", blocks=blocks)
    with Receiver() as receiver:
        sender = SlackSender(signing_secret=SECRET, target_url=receiver.url)
        sender.block_action(
            action_id="refresh",
            value="t-1",
            message=posted["message"],
            channel_id=CHANNEL,
            response_url="http://127.0.0.1:9/r",
        )
        sender.block_action(
            action_id="refresh",
            value="t-1",
            message_ts="1.000002",
            is_ephemeral=True,
            response_url="http://127.0.0.1:9/r",
        )
    (body, headers), (ephemeral_body, _) = receiver.requests
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    payload = bolt_body(body, headers)
    assert is_block_actions(payload)
    action = to_action(payload)
    assert action is not None
    assert (action["action_id"], action["value"], action["block_id"], action["type"]) == (
        "refresh",
        "t-1",
        "task-actions",
        "button",
    )
    assert action["text"]["text"] == "Refresh" and action["action_ts"]
    assert payload["message"]["ts"] == posted["ts"] and payload["message"]["blocks"] == blocks
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": CHANNEL,
        "is_ephemeral": False,
    }
    assert {"user", "team", "channel", "trigger_id", "api_app_id", "token", "state", "response_url"} <= set(payload)
    ephemeral = bolt_body(ephemeral_body)
    assert "message" not in ephemeral and ephemeral["container"]["is_ephemeral"] is True


def test_forged_stale_and_unsigned_requests_fail_slacks_verifier() -> None:
    clock = FakeClock()
    sender = SlackSender(signing_secret=SECRET, target_url="http://127.0.0.1:9/", clock=clock)
    verifier = SignatureVerifier(SECRET, clock=FixedClock(clock))
    body = sender.slash_command_body("list", response_url="http://127.0.0.1:9/r")
    assert verifier.is_valid_request(body, sender.signed_headers(body))
    assert verifier.is_valid_request(body, sender.signed_headers(body, timestamp=int(clock.now) - 300))
    assert not verifier.is_valid_request(body, sender.signed_headers(body, timestamp=int(clock.now) - 301))
    assert not verifier.is_valid_request(body, sender.stale_headers(body))
    assert not verifier.is_valid_request(body, sender.forged_headers(body))
    assert not verifier.is_valid_request(body, sender.unsigned_headers())
    assert not verifier.is_valid_request(body + "&x=1", sender.signed_headers(body))


def test_a_bolt_app_answers_through_the_emulator(emulator: SlackEmulator) -> None:
    app = App(
        signing_secret=SECRET, client=WebClient(base_url=emulator.api_url, token=TOKEN), process_before_response=True
    )

    @app.command("/ecs-tasks")
    def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        ack()
        respond(text=f"tasks: {command['text']}", blocks=[_actions(_button("Refresh", action_id="refresh", value="v"))])

    @app.action("refresh")
    def on_refresh(ack: Any, action: dict[str, Any], respond: Any) -> None:
        ack()
        respond(replace_original=True, text=f"refreshed {action['value']}")

    def dispatch(body: str, headers: dict[str, str]) -> tuple[int, str]:
        response = app.dispatch(BoltRequest(body=body, headers=dict(headers.items())))
        return response.status, response.body

    with Receiver(dispatch) as receiver:
        sender = SlackSender(signing_secret=SECRET, target_url=receiver.url)
        url = emulator.new_response_url(channel_id=CHANNEL, user_id=USER)
        assert sender.slash_command("list", channel_id=CHANNEL, user_id=USER, response_url=url).status_code == 200
        (shown,) = emulator.messages(CHANNEL)
        assert (shown.text, shown.ephemeral_to) == ("tasks: list", USER)
        click_url = emulator.new_response_url(channel_id=CHANNEL, user_id=USER, message_ts=shown.ts)
        clicked = sender.block_action(
            action_id="refresh",
            value="v",
            message_ts=shown.ts,
            is_ephemeral=True,
            channel_id=CHANNEL,
            user_id=USER,
            response_url=click_url,
        )
        assert clicked.status_code == 200
        body = sender.slash_command_body("list", response_url=url)
        assert sender.post_raw(body, sender.forged_headers(body)).status_code == 401
    assert [(m.ts, m.text) for m in emulator.messages(CHANNEL)] == [(shown.ts, "refreshed v")]


# --- the terminal renderer -----------------------------------------------------------------------


def test_render_message_reads_like_the_slack_client() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "ECS tasks"}},
        _section("*t-1* is _running_ :hourglass_flowing_sand: for <@U0DEMO>, see <https://e.x/t-1|details>"),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "*Status*"}, {"type": "mrkdwn", "text": "Processing"}],
        },
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "as of <!date^1700000000^{time}|12:00 UTC>"}]},
        _actions(_button("Refresh", action_id="r"), _button("Cancel", action_id="c")),
    ]
    assert render_message("fallback", blocks).splitlines() == [
        "ECS tasks",
        "═════════",
        "t-1 is running ⏳ for @U0DEMO, see details (https://e.x/t-1)",
        "Status".ljust(34) + "Processing",
        "─" * 48,
        "  as of 12:00 UTC",
        "[ Refresh ]  [ Cancel ]",
    ]
    assert render_message("plain *text* &amp; more", []) == "plain text & more"
