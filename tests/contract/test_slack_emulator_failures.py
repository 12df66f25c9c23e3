"""The Slack emulator's failures, as Slack's own clients see them: channel states, documented errors on demand,
rate limits with Retry-After, refused tokens, outages and replies to a deleted thread parent.

Every call goes over loopback HTTP through slack_sdk's WebClient or WebhookClient; what is asserted is what
those clients report (SlackApiError, status codes, headers) and what their retry handlers do with it.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from emulators.slack import MANIFEST_SCOPES, SLACK_RATE_LIMITS, BotIdentity, Channel, SlackEmulator, SlackSender
from emulators.slack.errors import DOCUMENTED_ERRORS

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"
CHANNEL, OTHER, USER = "C0TEST", "C0OTHER", "U0TEST"
START = 1_700_000_000.0


class FakeClock:
    """The emulator's clock; `sleep` moves it on, so a retry handler's wait takes no time."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def shared_emulator(clock: FakeClock) -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token=TOKEN, clock=clock) as emulator:
        yield emulator


@pytest.fixture
def emulator(shared_emulator: SlackEmulator, clock: FakeClock) -> SlackEmulator:
    clock.now, clock.sleeps = START, []
    shared_emulator.reset()
    shared_emulator.set_rate_limits(None)
    shared_emulator.set_missing_parent("hidden")
    for channel_id in (CHANNEL, OTHER):
        shared_emulator.set_channel(channel_id, "ok")
    return shared_emulator


@pytest.fixture
def client(emulator: SlackEmulator) -> WebClient:
    return WebClient(base_url=emulator.api_url, token=TOKEN, retry_handlers=[])


def refusal(call: Callable[[], object]) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value


def error_of(call: Callable[[], object]) -> str:
    return str(refusal(call).response["error"])


# --- channel states and the bot's membership -------------------------------------------------------

POST = "post"
REPLY = "reply"
EPHEMERAL = "ephemeral"
UPDATE = "update"


def attempt(client: WebClient, emulator: SlackEmulator, channel: Channel, action: str) -> str:
    """Set up an open channel with a card, turn it into `channel`, try `action`; "ok" or Slack's error."""
    emulator.set_channel(CHANNEL, "ok")
    card = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    emulator.set_channel(CHANNEL, channel)
    calls: dict[str, Callable[[], object]] = {
        POST: lambda: client.chat_postMessage(channel=CHANNEL, text="x"),
        REPLY: lambda: client.chat_postMessage(channel=CHANNEL, text="x", thread_ts=card),
        EPHEMERAL: lambda: client.chat_postEphemeral(channel=CHANNEL, user=USER, text="x"),
        UPDATE: lambda: client.chat_update(channel=CHANNEL, ts=card, text="v2"),
    }
    try:
        calls[action]()
    except SlackApiError as exc:
        return str(exc.response["error"])
    return "ok"


ARCHIVED = Channel(archived=True)
DELETED = Channel(deleted=True)
PRIVATE_WITHOUT_BOT = Channel(private=True, bot_is_member=False)
PUBLIC_WITHOUT_BOT = Channel(bot_is_member=False)


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        (Channel(), {POST: "ok", REPLY: "ok", EPHEMERAL: "ok", UPDATE: "ok"}),
        (Channel(private=True), {POST: "ok", REPLY: "ok", EPHEMERAL: "ok", UPDATE: "ok"}),
        (ARCHIVED, {POST: "is_archived", REPLY: "is_archived", EPHEMERAL: "is_archived", UPDATE: "is_inactive"}),
        (
            DELETED,
            {
                POST: "channel_not_found",
                REPLY: "channel_not_found",
                EPHEMERAL: "channel_not_found",
                UPDATE: "is_inactive",
            },
        ),
        (
            PRIVATE_WITHOUT_BOT,
            {
                POST: "channel_not_found",
                REPLY: "channel_not_found",
                EPHEMERAL: "channel_not_found",
                UPDATE: "channel_not_found",
            },
        ),
        (
            PUBLIC_WITHOUT_BOT,
            {POST: "not_in_channel", REPLY: "not_in_channel", EPHEMERAL: "not_in_channel", UPDATE: "not_in_channel"},
        ),
        (
            Channel(restriction="restricted_action"),
            {POST: "restricted_action", REPLY: "restricted_action", EPHEMERAL: "restricted_action", UPDATE: "ok"},
        ),
        (
            Channel(restriction="restricted_action_read_only_channel"),
            {
                POST: "restricted_action_read_only_channel",
                REPLY: "restricted_action_read_only_channel",
                EPHEMERAL: "restricted_action_read_only_channel",
                UPDATE: "ok",
            },
        ),
        (
            Channel(restriction="restricted_action_thread_only_channel"),
            {
                POST: "restricted_action_thread_only_channel",
                REPLY: "ok",
                EPHEMERAL: "restricted_action_thread_only_channel",
                UPDATE: "ok",
            },
        ),
    ],
    ids=[
        "open",
        "private",
        "archived",
        "deleted",
        "private-no-bot",
        "public-no-bot",
        "restricted",
        "read-only",
        "thread-only",
    ],
)
def test_each_channel_state_answers_each_call_as_slack_does(
    client: WebClient, emulator: SlackEmulator, channel: Channel, expected: dict[str, str]
) -> None:
    assert {action: attempt(client, emulator, channel, action) for action in expected} == expected


def test_chat_write_public_opens_public_channels_only() -> None:
    with SlackEmulator(bot_token=TOKEN, identity=BotIdentity(scopes=MANIFEST_SCOPES)) as emulator:
        client = WebClient(base_url=emulator.api_url, token=TOKEN, retry_handlers=[])
        assert {action: attempt(client, emulator, PUBLIC_WITHOUT_BOT, action) for action in (POST, UPDATE)} == {
            POST: "ok",
            UPDATE: "ok",
        }
        assert attempt(client, emulator, PRIVATE_WITHOUT_BOT, POST) == "channel_not_found"
        assert attempt(client, emulator, ARCHIVED, POST) == "is_archived"


def test_refused_posts_leave_the_channel_as_it_was(client: WebClient, emulator: SlackEmulator) -> None:
    assert attempt(client, emulator, ARCHIVED, UPDATE) == "is_inactive"
    assert [m.text for m in emulator.messages(CHANNEL)] == ["card"]
    assert [(c.method, c.error) for c in emulator.calls][-1] == ("chat.update", "is_inactive")


# --- every documented error, on demand -------------------------------------------------------------


def web_api_calls(client: WebClient, card_ts: str) -> dict[str, Callable[[], object]]:
    return {
        "auth.test": client.auth_test,
        "chat.postMessage": lambda: client.chat_postMessage(channel=CHANNEL, text="x"),
        "chat.postEphemeral": lambda: client.chat_postEphemeral(channel=CHANNEL, user=USER, text="x"),
        "chat.update": lambda: client.chat_update(channel=CHANNEL, ts=card_ts, text="x"),
    }


@pytest.mark.parametrize("method", ["auth.test", "chat.postMessage", "chat.postEphemeral", "chat.update"])
def test_each_documented_error_of_a_method_can_be_answered_next(
    client: WebClient, emulator: SlackEmulator, method: str
) -> None:
    card = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    call = web_api_calls(client, card)[method]
    seen: dict[str, tuple[str, int]] = {}
    for error in sorted(DOCUMENTED_ERRORS[method]):
        emulator.fail_next(method, error)
        raised = refusal(call)
        seen[error] = (str(raised.response["error"]), raised.response.status_code)
        call()  # the fault is spent: the next call goes through
    expected_status = {error: 429 if error == "ratelimited" else 200 for error in DOCUMENTED_ERRORS[method]}
    assert seen == {error: (error, expected_status[error]) for error in DOCUMENTED_ERRORS[method]}
    errors = sorted(DOCUMENTED_ERRORS[method])
    assert [c.error for c in emulator.calls[1:]] == [e for error in errors for e in (error, None)]
    posted = len(errors) if method == "chat.postMessage" else 0
    assert len(emulator.messages(CHANNEL)) == 1 + posted + (len(errors) if method == "chat.postEphemeral" else 0)


def test_the_server_errors_answer_http_200_with_ok_false(client: WebClient, emulator: SlackEmulator) -> None:
    for error in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
        emulator.fail_next("chat.postMessage", error)
        raised = refusal(lambda: client.chat_postMessage(channel=CHANNEL, text="x"))
        assert (raised.response.status_code, raised.response.data) == (200, {"ok": False, "error": error})
    assert emulator.messages(CHANNEL) == []


def test_a_fault_answers_times_calls_and_an_endless_one_until_cleared(
    client: WebClient, emulator: SlackEmulator
) -> None:
    emulator.fail_method("chat.postMessage", "internal_error", times=2)
    emulator.fail_next("chat.postMessage", "msg_too_long")  # queued behind the first fault

    def post() -> SlackResponse:
        return client.chat_postMessage(channel=CHANNEL, text="x")

    assert [error_of(post), error_of(post), error_of(post)] == ["internal_error", "internal_error", "msg_too_long"]
    assert post()["ok"]
    emulator.fail_method("chat.update", "edit_window_closed", times=None)
    for _ in range(3):
        assert error_of(lambda: client.chat_update(channel=CHANNEL, ts="1.000001", text="x")) == "edit_window_closed"
    assert client.auth_test()["ok"]  # faults belong to their method
    emulator.clear_faults()
    assert error_of(lambda: client.chat_update(channel=CHANNEL, ts="1.000001", text="x")) == "message_not_found"
    emulator.fail_method("chat.postMessage", "internal_error", times=None)
    emulator.reset()
    assert post()["ok"]


def test_only_documented_errors_and_known_methods_can_be_injected(emulator: SlackEmulator) -> None:
    with pytest.raises(ValueError, match="not a documented error"):
        emulator.fail_next("chat.update", "is_archived")  # chat.update answers is_inactive instead
    with pytest.raises(ValueError, match="no error list"):
        emulator.fail_next("chat.delete", "message_not_found")
    with pytest.raises(ValueError, match="at least 1"):
        emulator.fail_method("chat.postMessage", "internal_error", times=0)
    with pytest.raises(ValueError, match="5xx"):
        emulator.fail_http("chat.postMessage", 429)


# --- rate limits -------------------------------------------------------------------------------------


def sleep_on(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """RateLimitErrorRetryHandler sleeps Retry-After plus up to 1 s of jitter: on the fake clock, jitter-free."""
    monkeypatch.setattr(builtin_handlers, "time", types.SimpleNamespace(sleep=clock.sleep))
    monkeypatch.setattr(builtin_handlers, "random", types.SimpleNamespace(random=lambda: 0.0))


def test_an_injected_ratelimited_is_a_429_with_retry_after_that_slacks_retry_handler_honours(
    emulator: SlackEmulator, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.fail_next("chat.postMessage", "ratelimited")
    plain = WebClient(base_url=emulator.api_url, token=TOKEN, retry_handlers=[])
    raised = refusal(lambda: plain.chat_postMessage(channel=CHANNEL, text="x"))
    assert (raised.response.status_code, raised.response["error"]) == (429, "ratelimited")
    assert raised.response.headers["Retry-After"] == "1"
    emulator.fail_method("chat.postMessage", "ratelimited", retry_after_s=7)
    sleep_on(clock, monkeypatch)
    retrying = WebClient(base_url=emulator.api_url, token=TOKEN, retry_handlers=[RateLimitErrorRetryHandler()])
    assert retrying.chat_postMessage(channel=CHANNEL, text="after the wait")["ok"]
    assert clock.sleeps == [7]


def test_rate_limiting_is_off_by_default(client: WebClient, emulator: SlackEmulator) -> None:
    for n in range(60):
        client.chat_postMessage(channel=CHANNEL, text=f"burst {n}")
    card = emulator.messages(CHANNEL)[0].ts
    for n in range(60):
        client.chat_update(channel=CHANNEL, ts=card, text=f"edit {n}")
    assert all(c.ok for c in emulator.calls)


def test_post_message_allows_a_short_burst_then_one_a_second_per_channel(
    client: WebClient, emulator: SlackEmulator, clock: FakeClock
) -> None:
    emulator.set_rate_limits(SLACK_RATE_LIMITS)

    def post(channel: str) -> SlackResponse:
        return client.chat_postMessage(channel=channel, text="x")

    for _ in range(SLACK_RATE_LIMITS.post_message_per_channel.burst):
        post(CHANNEL)
    limited = refusal(lambda: post(CHANNEL))
    assert (limited.response.status_code, limited.response["error"]) == (429, "ratelimited")
    assert limited.response.headers["Retry-After"] == "1"
    assert post(OTHER)["ok"]  # the limit is per channel
    clock.now += 1
    assert post(CHANNEL)["ok"]
    assert error_of(lambda: post(CHANNEL)) == "ratelimited"
    assert len(emulator.messages(CHANNEL)) == SLACK_RATE_LIMITS.post_message_per_channel.burst + 1


def test_update_is_tier_3_fifty_a_minute(client: WebClient, emulator: SlackEmulator, clock: FakeClock) -> None:
    card = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    emulator.set_rate_limits(SLACK_RATE_LIMITS)
    for n in range(50):
        client.chat_update(channel=CHANNEL, ts=card, text=f"edit {n}")
    limited = refusal(lambda: client.chat_update(channel=CHANNEL, ts=card, text="one too many"))
    assert (limited.response.status_code, limited.response.headers["Retry-After"]) == (429, "2")  # 60/50 s, rounded up
    clock.now += 2
    assert client.chat_update(channel=CHANNEL, ts=card, text="later")["ok"]
    assert emulator.messages(CHANNEL)[0].text == "later"


def test_slacks_retry_handler_paces_a_burst_under_the_limit(
    emulator: SlackEmulator, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.set_rate_limits(SLACK_RATE_LIMITS)
    sleep_on(clock, monkeypatch)
    handler = RateLimitErrorRetryHandler(max_retry_count=1)
    client = WebClient(base_url=emulator.api_url, token=TOKEN, retry_handlers=[handler])
    for n in range(8):
        client.chat_postMessage(channel=CHANNEL, text=f"change {n}")
    assert [m.text for m in emulator.messages(CHANNEL)] == [f"change {n}" for n in range(8)]
    # three at once, then one a second: each later post waited once for Retry-After
    assert clock.sleeps == [1] * 5


# --- a token refused for a while --------------------------------------------------------------------


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive", "not_authed", "missing_scope"])
def test_a_refused_token_answers_every_method_until_the_given_time(
    client: WebClient, emulator: SlackEmulator, clock: FakeClock, error: str
) -> None:
    card = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    emulator.revoke_token(error, until=START + 60)  # type: ignore[arg-type]
    for method, call in web_api_calls(client, card).items():
        raised = refusal(call)
        assert (raised.response.status_code, raised.response["error"]) == (200, error), method
    clock.now = START + 59.9
    assert error_of(client.auth_test) == error
    clock.now = START + 60
    assert all(call()["ok"] for call in web_api_calls(client, card).values())  # type: ignore[index]


def test_missing_scope_names_the_scope_needed_and_those_granted(client: WebClient, emulator: SlackEmulator) -> None:
    emulator.revoke_token("missing_scope")
    raised = refusal(lambda: client.chat_postMessage(channel=CHANNEL, text="x"))
    assert raised.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "chat:write",
        "provided": "chat:write,commands",
    }
    emulator.clear_faults()
    assert client.chat_postMessage(channel=CHANNEL, text="x")["ok"]


# --- outages: HTTP 5xx ---------------------------------------------------------------------------


def test_an_outage_is_a_5xx_without_slack_json_that_slacks_server_error_handler_retries(
    emulator: SlackEmulator,
) -> None:
    emulator.fail_http("chat.postMessage", 503)
    plain = WebClient(base_url=emulator.api_url, token=TOKEN, retry_handlers=[])
    raised = refusal(lambda: plain.chat_postMessage(channel=CHANNEL, text="x"))
    assert raised.response.status_code == 503
    assert "non-JSON" in str(raised.response["error"])  # slack_sdk's own wording for a body it cannot parse
    emulator.fail_http("chat.update", 500, times=2)
    card = plain.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    retrying = WebClient(
        base_url=emulator.api_url,
        token=TOKEN,
        retry_handlers=[
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0))
        ],
    )
    assert retrying.chat_update(channel=CHANNEL, ts=card, text="v2")["ok"]
    assert [(c.method, c.error) for c in emulator.calls] == [
        ("chat.postMessage", "http_503"),
        ("chat.postMessage", None),
        ("chat.update", "http_500"),
        ("chat.update", "http_500"),
        ("chat.update", None),
    ]


# --- response_url ------------------------------------------------------------------------------------


def test_response_url_faults_reach_slacks_webhook_client(emulator: SlackEmulator) -> None:
    webhook = WebhookClient(emulator.new_response_url(channel_id=CHANNEL, user_id=USER), retry_handlers=[])
    emulator.fail_next("response_url", "used_url")
    used = webhook.send(text="x")
    assert (used.status_code, used.body) == (404, '{"ok": false, "error": "used_url"}')
    emulator.fail_next("response_url", "no_text")
    assert webhook.send(text="x").status_code == 400
    emulator.fail_http("response_url", 502)
    assert (webhook.send(text="x").status_code, emulator.messages(CHANNEL)) == (502, [])
    assert webhook.send(text="at last").status_code == 200
    assert [m.text for m in emulator.messages(CHANNEL)] == ["at last"]


# --- a reply whose thread parent is gone --------------------------------------------------------------


def test_a_reply_to_a_deleted_parent_is_accepted_and_shown_nowhere_by_default(
    client: WebClient, emulator: SlackEmulator
) -> None:
    card = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    assert emulator.delete_message(CHANNEL, card)
    reply = client.chat_postMessage(channel=CHANNEL, text="update", thread_ts=card)
    assert reply["ok"] and reply["message"]["thread_ts"] == card
    assert emulator.messages(CHANNEL) == []
    assert [(m.text, m.thread_ts) for m in emulator.hidden_messages(CHANNEL)] == [("update", card)]
    # a reply to the hidden reply is as invisible
    assert client.chat_postMessage(channel=CHANNEL, text="again", thread_ts=reply["ts"])["ok"]
    assert emulator.messages(CHANNEL) == []


def test_a_reply_to_a_deleted_parent_answers_thread_not_found_in_the_strict_mode(
    client: WebClient, emulator: SlackEmulator
) -> None:
    emulator.set_missing_parent("thread_not_found")
    card = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    url = emulator.new_response_url(channel_id=CHANNEL, user_id=USER, message_ts=card)
    assert WebhookClient(url).send_dict({"delete_original": True}).status_code == 200  # deleted by its button
    assert error_of(lambda: client.chat_postMessage(channel=CHANNEL, text="update", thread_ts=card)) == (
        "thread_not_found"
    )
    assert emulator.messages(CHANNEL) == emulator.hidden_messages(CHANNEL) == []


@pytest.mark.parametrize("mode", ["hidden", "thread_not_found"])
def test_a_parent_that_never_was_answers_thread_not_found_in_both_modes(
    client: WebClient, emulator: SlackEmulator, mode: Any
) -> None:
    emulator.set_missing_parent(mode)
    assert error_of(lambda: client.chat_postMessage(channel=CHANNEL, text="x", thread_ts="1.000001")) == (
        "thread_not_found"
    )


# --- the same controls over the inspection API ---------------------------------------------------------


def test_failures_can_be_set_up_over_http(client: WebClient, emulator: SlackEmulator, clock: FakeClock) -> None:
    base = emulator.base_url + "/_emulator/"

    def inspect(action: str, body: dict[str, Any]) -> int:
        return requests.post(base + action, json=body, timeout=5).status_code

    assert inspect("fault", {"method": "chat.postMessage", "error": "restricted_action", "times": 2}) == 200
    assert [error_of(lambda: client.chat_postMessage(channel=CHANNEL, text="x")) for _ in range(2)] == [
        "restricted_action"
    ] * 2
    assert inspect("fault", {"method": "auth.test", "status": 503}) == 200
    assert refusal(client.auth_test).response.status_code == 503
    assert inspect("token", {"error": "token_revoked", "until": START + 10}) == 200
    assert error_of(client.auth_test) == "token_revoked"
    clock.now += 10
    assert client.auth_test()["ok"]
    assert inspect("channel", {"channel_id": OTHER, "private": True, "bot_is_member": False}) == 200
    assert error_of(lambda: client.chat_postMessage(channel=OTHER, text="x")) == "channel_not_found"
    assert inspect("channel", {"channel_id": OTHER, "restriction": "restricted_action_read_only_channel"}) == 200
    assert emulator.channel(OTHER) == Channel(restriction="restricted_action_read_only_channel")
    assert inspect("fault", {"method": "chat.update", "error": "is_archived"}) == 400
    assert inspect("fault", {"method": "chat.update"}) == 400
    assert inspect("token", {"error": "expired"}) == 400
    assert inspect("channel", {"channel_id": OTHER, "restriction": "nope"}) == 400
    assert inspect("channel", {"channel_id": OTHER, "archived": "yes"}) == 400


# --- a Bolt app ------------------------------------------------------------------------------------------


def test_a_bolt_app_meets_the_refusals_as_slack_api_errors(emulator: SlackEmulator) -> None:
    client = WebClient(base_url=emulator.api_url, token=TOKEN, retry_handlers=[])
    app = App(
        signing_secret=SECRET, client=client, process_before_response=True, raise_error_for_unhandled_request=True
    )
    errors: list[str] = []
    responded: list[int] = []

    @app.command("/ecs-tasks")
    def on_command(ack: Any, say: Any, respond: Any) -> None:
        ack()
        say(text="in the channel")
        responded.append(respond(text="to the user").status_code)

    @app.error
    def on_error(error: Exception) -> None:
        errors.append(str(error.response["error"]) if isinstance(error, SlackApiError) else repr(error))

    sender = SlackSender(signing_secret=SECRET, target_url="http://127.0.0.1:9/unused")

    def command() -> None:
        url = emulator.new_response_url(channel_id=CHANNEL, user_id=USER)
        body = sender.slash_command_body("list", channel_id=CHANNEL, user_id=USER, response_url=url)
        app.dispatch(BoltRequest(body=body, headers=dict(sender.signed_headers(body))))

    emulator.set_channel(CHANNEL, ARCHIVED)
    command()
    emulator.set_channel(CHANNEL, "ok")
    emulator.fail_http("response_url", 500)
    command()
    assert (errors, responded) == (["is_archived"], [500])  # respond() hands the outage's status back
    assert [(m.text, m.ephemeral_to) for m in emulator.messages(CHANNEL)] == [("in the channel", None)]
