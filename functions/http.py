"""Function Compute 3.0 HTTP trigger entry point: `functions.http.handler`.

Slack's signature is verified on the raw body and headers before anything parses the body. The Bolt app
is built once per instance (on the first invocation, or by the `initialize` hook) and reused while the
instance is warm. The same handler receives our own async invocations for deferred work: each carries its own
seal (`bot.slack.answering.seal`), checked instead of Slack's five-minute signature, and is then signed afresh.
A setting that does not load never stops the instance (`initialize`): every request is answered with the
misconfiguration reply naming it.

A cold instance's first request gets a head start (`bot.slack.answering.head_start`): once it is
verified, it is read and checked, and its ECS query started, before Bolt and the listeners load; what was
read goes to the listener in the request's `Arrival`. It is also the instance's start-up, run with the
garbage collector paused (`functions.start_up`). That is why the verifier, the settings and Bolt are imported
where they are used. The app, its deferral and every other object are built by `bot.wiring.build`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from bot.slack.answering.deferral import Arrival, DeferredInvocation, ThreadDeferral
from bot.usecases.work import DeferredRun
from functions.fc_event import (
    BadEvent,
    event_body,
    event_headers,
    http_method,
    plain_response,
    to_bolt_request,
    to_fc_response,
)
from functions.start_up import collector_paused_once
from shared.errors import ConfigurationError
from shared.log import configure_logging, log_context, log_event

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.slack.checked import Checked
    from bot.wiring.deps import BotDeps

TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
SIGNING_SECRET_SETTING = "SLACK_SIGNING_SECRET"
MISCONFIGURED = (  # shown to the user: names the setting, never its value
    ":warning: ecs-tasks is misconfigured: the setting {setting} is not valid. "
    "An admin can find the details in the function's logs."
)

_app: App | None = None
_deps: BotDeps | None = None  # the app's dependencies, built before it (the head start uses them first)
_thread_deferral: ThreadDeferral | None = None
_app_lock = threading.Lock()
_deps_lock = threading.Lock()


def _instance_deps() -> BotDeps:
    """The settings and dependencies of this instance, built once."""
    from bot.wiring.build import load_bot_deps

    global _deps
    with _deps_lock:
        if _deps is None:
            _deps = load_bot_deps()
        return _deps


def get_app(*, async_invocations: bool = True) -> App:
    """The instance's app, built once (`bot.wiring.build.build_slack_app`)."""
    from bot.wiring.build import build_slack_app

    global _app, _thread_deferral
    with _app_lock:
        if _app is None:
            built = build_slack_app(_instance_deps(), async_invocations=async_invocations)
            _app, _thread_deferral = built.app, built.thread_deferral
        return _app


def thread_deferral() -> ThreadDeferral | None:
    """Where deferred work runs when it runs on threads (None on Function Compute 3.0)."""
    return _thread_deferral


def reset_app() -> None:
    """Finish deferred work in flight, then forget the app (tests change the environment between cases)."""
    global _app, _deps, _thread_deferral
    with _app_lock, _deps_lock:
        if _thread_deferral is not None:
            _thread_deferral.shutdown()
        _app, _deps, _thread_deferral = None, None, None


def initialize(context: Any) -> None:
    """Function Compute initializer hook: build the app before the first request arrives.

    Never raises for a bad setting: Function Compute would fail the instance and answer every request with
    its own error, so Slack's user would get nothing. The setting is logged here, and every request then
    gets the misconfiguration reply naming it (`handler` builds the app again and meets the same error)."""
    configure_logging()
    try:
        with collector_paused_once():
            get_app()
    except ConfigurationError as error:
        log_event("config.error", level=logging.ERROR, outcome="initializer", setting=error.setting, detail=str(error))


def handler(event: bytes | str | dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.monotonic()
    if _app is None:
        # Refusals come before the app (and its settings) exist; they are logged as JSON lines all the same.
        configure_logging()
    request_id = getattr(context, "request_id", None)
    # On a cold instance, the first request is its start-up: see functions.start_up.
    with collector_paused_once(), log_context(request_id=request_id):
        try:
            return _handle(event, started)
        except ConfigurationError as error:
            # The message names the setting (never a value): the operator's first clue in the log.
            log_event("config.error", level=logging.ERROR, outcome=500, setting=error.setting, detail=str(error))
            return plain_response(500, "ecs-tasks is not configured correctly")
        except Exception as error:  # noqa: BLE001 - the platform boundary: logged, and no detail leaves
            # Function Compute would send an unhandled error's trace to the (anonymous) caller.
            log_event("http.error", level=logging.ERROR, outcome=500, exception=type(error).__name__)
            return plain_response(500, "internal error")


def _handle(event: bytes | str | dict[str, Any], started: float) -> dict[str, Any]:
    try:
        parsed = _load(event)
        invocation = DeferredInvocation.from_dict(parsed)
        run: DeferredRun | None = None
        if invocation is not None:
            resigned, not_run = _open_deferred(invocation)
            if resigned is None:
                return not_run
            parsed = resigned
            run = invocation.run
        elif http_method(parsed) != "POST":
            return plain_response(405, "ecs-tasks accepts Slack's POST requests only")
        body = event_body(parsed)
        headers = event_headers(parsed)
    except BadEvent as bad:
        return _rejected(bad.status, bad.reason)
    refused = _verify(body, headers)
    if refused is not None:
        return refused
    checked: Checked | None = None
    try:
        if _app is None and run is None:
            checked = _head_start(body, started)
        app = get_app()
    except ConfigurationError as error:
        return _misconfigured(error, body)
    delivery_key = invocation.seal if invocation is not None else None
    arrival = Arrival(started=started, deferred=run, event=parsed, checked=checked, delivery_key=delivery_key)
    return _dispatch(app, parsed, arrival, started)


def _open_deferred(invocation: DeferredInvocation) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """A deferred invocation's event signed afresh, when its seal is this function's and its response_url
    still lives (None, and the answer to the invocation, when not).

    Slack's own signature on the event is good for five minutes; Function Compute may deliver later. The seal
    (`bot.slack.answering.seal`, keyed from the signing secret) says the function made this invocation from a
    request it had verified, so the event is signed again now, with the signing secret, as slack_sdk signs:
    `_verify` and Bolt then check it as they check every request. (Bolt's own verification cannot be skipped
    for one request through its public API, only for the whole app.)"""
    from slack_sdk.signature import Clock, SignatureVerifier

    from bot.slack.answering.deferral import Verdict
    from bot.slack.answering.seal import Sealer

    secret = _signing_secret()
    if secret is None:
        return None, _not_configured()
    now = Clock().now()  # the clock Slack's verifier (and Bolt's) reads
    verdict = invocation.verdict(Sealer.from_signing_secret(secret), now=now)
    if verdict is Verdict.FORGED:
        return None, _rejected(401, "the deferred invocation is not sealed by this function")
    if verdict is Verdict.EXPIRED:
        # Its response_url has expired too: nobody could be answered. Not an attack, so no 401 warning.
        log_event("deferred.expired", outcome="dropped", age_s=round(now - invocation.issued_at))
        return None, plain_response(200, "")
    try:
        body = event_body(invocation.event)
        headers = {
            k: v for k, v in event_headers(invocation.event).items() if k not in (TIMESTAMP_HEADER, SIGNATURE_HEADER)
        }
    except BadEvent as bad:
        return None, _rejected(bad.status, bad.reason)
    timestamp = str(int(now))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body) or ""
    headers.update({TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature})
    return {**invocation.event, "headers": headers}, plain_response(200, "")


def _head_start(body: str, started: float) -> Checked | None:
    """A cold instance reads and checks the first request, and starts its ECS query now, loading the app
    while ECS answers; what it read goes to the listener.

    Settings that do not load are reported by get_app, as without a head start."""
    from bot.slack.answering import head_start

    deps = _instance_deps()
    try:
        return head_start.start(deps, body, started=started)
    except ConfigurationError:
        return None  # the ECS client cannot be built: the listener reads the request again, and its work says so


def _load(event: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(event, dict):
        return event
    try:
        parsed = json.loads(event)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEvent(400, "the event is not JSON") from exc
    if not isinstance(parsed, dict):
        raise BadEvent(400, "the event is not a JSON object")
    return parsed


def _signing_secret() -> str | None:
    """The signing secret: the instance's settings' once they are built (read once for the instance), else
    SLACK_SIGNING_SECRET read alone, so that requests are verified even while another setting is bad."""
    deps = _deps
    if deps is not None:
        secret = deps.settings.slack_signing_secret
    else:
        from shared.config import load_signing_secret

        secret = load_signing_secret()
    if secret is None:
        return None
    return secret.get_secret_value() or None


def _not_configured() -> dict[str, Any]:
    log_event("config.error", level=logging.ERROR, outcome=500, setting=SIGNING_SECRET_SETTING, detail="not set")
    return plain_response(500, "ecs-tasks is not configured correctly")


def _verify(body: str, headers: Mapping[str, str | Sequence[str]]) -> dict[str, Any] | None:
    """Slack's own verifier on the raw bytes: None when signed by Slack within five minutes, else the 401."""
    # Imported here, where a cold instance's start-up begins (functions.start_up); pydantic comes with the settings.
    from slack_sdk.signature import SignatureVerifier

    secret = _signing_secret()
    if secret is None:
        return _not_configured()
    timestamp, signature = _first(headers.get(TIMESTAMP_HEADER)), _first(headers.get(SIGNATURE_HEADER))
    # ASCII digits only: the verifier calls int() on it, and `²` or `abc` must be a 401, not a crash.
    if not (timestamp and timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 and signature):
        return _rejected(401, "the request is not signed by Slack")
    if not SignatureVerifier(secret).is_valid(body, timestamp, signature):
        return _rejected(401, "the request is not signed by Slack")
    return None


def _dispatch(app: App, event: dict[str, Any], arrival: Arrival, started: float) -> dict[str, Any]:
    context = arrival.as_context()
    try:
        request = to_bolt_request(event, context=context)
    except BadEvent as bad:
        return _rejected(bad.status, bad.reason)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Bolt parses the body while building the request: a malformed payload is the sender's fault.
        return _rejected(400, "the request body could not be parsed", cause=type(exc).__name__)
    parsed = request.body
    if not isinstance(parsed, dict):
        return _rejected(400, "the request body has an unexpected shape")
    if parsed.get("type") == "block_actions":
        actions = parsed.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return _rejected(400, "the click carries no action")
    with log_context(**_slack_ids(parsed), deferred=arrival.deferred is not None):
        response = app.dispatch(request)
        log_event(
            "slack.request",
            outcome=response.status,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            command=parsed.get("command"),
            action_id=_action_id(parsed),
        )
    return to_fc_response(response)


def _misconfigured(error: ConfigurationError, body: str) -> dict[str, Any]:
    """A signed request while a setting is malformed: the user is told which setting, the log says why."""
    setting = error.setting or "(see the log)"
    log_event("config.error", level=logging.ERROR, outcome="answered", setting=error.setting, detail=str(error))
    text = MISCONFIGURED.format(setting=setting)
    form = parse_qs(body)
    if "payload" not in form:  # a slash command: the answer is the acknowledgement
        answer = json.dumps({"response_type": "ephemeral", "text": text})
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": answer,
            "isBase64Encoded": False,
        }
    try:
        payload = json.loads(form["payload"][0])
        response_url = payload.get("response_url") if isinstance(payload, dict) else None
    except ValueError:
        response_url = None
    # The request is signed by Slack, so its response_url is Slack's.
    if isinstance(response_url, str) and response_url.startswith(("https://", "http://")):
        from bot.wiring.build import response_url_client

        try:
            response_url_client(response_url).send(text=text, response_type="ephemeral")
        except OSError as failed:
            log_event("slack.deliver", level=logging.WARNING, via="response_url", outcome=type(failed).__name__)
    return plain_response(200, "")


def _rejected(status: int, reason: str, *, cause: str | None = None) -> dict[str, Any]:
    """`cause`: what failed inside, for the log only (the caller gets the reason)."""
    fields = {"cause": cause} if cause else {}
    log_event("http.rejected", level=logging.WARNING, outcome=status, reason=reason, **fields)
    return plain_response(status, reason)


def _first(value: str | Sequence[str] | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value[0]) if value else None


def _slack_ids(body: dict[str, Any]) -> dict[str, str | None]:
    """The ids for the log context, from either shape of body; a field of another type is left out."""

    def nested(key: str, field: str = "id") -> str | None:
        value = body.get(key)
        inner = value.get(field) if isinstance(value, dict) else None
        return inner if isinstance(inner, str) else None

    def flat(key: str) -> str | None:
        value = body.get(key)
        return value if isinstance(value, str) else None

    return {
        "team_id": flat("team_id") or nested("team"),
        "channel_id": flat("channel_id") or nested("channel"),
        "user_id": flat("user_id") or nested("user"),
    }


def _action_id(body: dict[str, Any]) -> str | None:
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        value = actions[0].get("action_id")
        return str(value) if value is not None else None
    return None
