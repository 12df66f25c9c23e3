"""Settings are checked where they enter: regions in region-id form, URLs that are http(s) URLs, and a
ConfigurationError that names the variable and never quotes its value."""

from __future__ import annotations

import io
import json
import logging

import pytest

from shared.config import Settings, load_settings
from shared.errors import ConfigurationError
from shared.log import configure_logging, log_event, redact
from shared.region_ids import InvalidRegionError, checked_region_id

HOSTILE = "x@127.0.0.1:9/#"


def settings_error(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    return str(raised.value)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("ECS_TASKS_DEFAULT_REGION", HOSTILE, "is not a region id"),
        ("ECS_TASKS_DEFAULT_REGION", "cn-hangzhou.evil.example", "is not a region id"),
        ("ECS_TASKS_REGIONS", f"cn-hangzhou,{HOSTILE}", "has an entry that is not a region id"),
        ("ECS_TASKS_REGIONS", "cn-hangzhou,ecs.example.com", "has an entry that is not a region id"),
        ("ECS_ENDPOINT", "ftp://ecs.example.com", "is not a valid URL"),
        ("ECS_ENDPOINT", "ecs.example.com", "is not a valid URL"),
        ("ECS_ENDPOINT", "http://[::1", "is not a valid URL"),
        ("ECS_ENDPOINT", "http://ecs.example.com:port", "is not a valid URL"),
        ("SLACK_API_URL", "slack.com/api", "is not a valid URL"),
        ("SLACK_API_URL", "javascript:alert(1)", "is not a valid URL"),
        ("ECS_TASKS_WATCH_TTL", "²d", "ECS_TASKS_WATCH_TTL"),
        ("ECS_TASKS_WATCH_TTL", "²", "ECS_TASKS_WATCH_TTL"),
        ("ECS_TASKS_SLACK_ROLE_ARN", "acs:ram::1:role/x", "not a RAM role ARN"),
        ("ECS_TASKS_EVENT_ATTRIBUTION", "perhaps", "ECS_TASKS_EVENT_ATTRIBUTION"),
    ],
)
def test_a_malformed_setting_is_a_configuration_error_naming_it_not_quoting_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    # Given a malformed value, when the settings load
    message = settings_error(monkeypatch, name, value)
    # Then the message names the variable and what is wrong, and quotes none of the value
    assert message.startswith(name) and says in message
    assert value not in message and "²" not in message


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("ECS_TASKS_DEFAULT_REGION", " CN-Hangzhou ", "default_region", "cn-hangzhou"),
        ("ECS_TASKS_REGIONS", "cn-hangzhou, AP-SOUTHEAST-1", "allowed_regions", {"cn-hangzhou", "ap-southeast-1"}),
        ("ECS_ENDPOINT", "http://127.0.0.1:9000", "ecs_endpoint", "http://127.0.0.1:9000"),
        ("SLACK_API_URL", "https://slack.com/api/", "slack_api_url", "https://slack.com/api/"),
        ("ECS_TASKS_EVENT_ATTRIBUTION", "false", "event_attribution", False),
        ("ECS_TASKS_SLACK_ROLE_ARN", "", "slack_role_arn", None),
        ("ECS_TASKS_REPOLL_INTERVAL", "12", "repoll_interval_s", 12.0),
    ],
)
def test_well_formed_settings_load(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(name, value)
    assert getattr(load_settings(), field) == expected


@pytest.mark.parametrize(
    "region",
    ["cn-hangzhou", "cn-shanghai-finance-1", "ap-southeast-9", "a-" + "b" * 38, "a-" + "b" * 39, "cn", "cn-", "1a-b"],
)
@pytest.mark.parametrize(
    ("name", "field"), [("ECS_TASKS_DEFAULT_REGION", "default_region"), ("ECS_TASKS_REGIONS", "allowed_regions")]
)
def test_a_region_setting_is_accepted_exactly_when_the_transport_would_sign_for_it(
    monkeypatch: pytest.MonkeyPatch, region: str, name: str, field: str
) -> None:
    # Given a region the one region-id check (shared.region_ids, which builds every host name) says yes or no to
    signed_for = True
    try:
        checked_region_id(region)
    except InvalidRegionError:
        signed_for = False
    # When a region setting names it
    monkeypatch.setenv(name, region)
    try:
        value = getattr(load_settings(), field)
    except ConfigurationError:
        accepted = False
    else:
        accepted = value in (region, frozenset({region}))
    # Then the settings take it exactly when the transport would sign for it
    assert accepted is signed_for


@pytest.mark.parametrize("name", ["ECS_ENDPOINT", "SLACK_API_URL", "ECS_TASKS_DATABASE_URL"])
def test_the_user_info_of_a_url_setting_is_masked_in_logs_once_settings_load(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # Given a URL setting with credentials in it
    scheme = "postgresql+psycopg" if name == "ECS_TASKS_DATABASE_URL" else "https"
    monkeypatch.setenv(name, f"{scheme}://svc-user:pa%40ss-w0rd-1@db.example.com:5432/x")
    Settings()
    # When anything logs the URL, its user-info or the password alone (raw or percent-decoded)
    stream = io.StringIO()
    configure_logging(stream=stream)
    log_event(
        "probe", level=logging.WARNING, a="could not reach svc-user:pa%40ss-w0rd-1@db.example.com", b="pa@ss-w0rd-1"
    )
    # Then none of it shows
    line = json.loads(stream.getvalue())
    assert "svc-user" not in stream.getvalue() and "pa%40ss" not in stream.getvalue()
    assert "pa@ss-w0rd-1" not in stream.getvalue()
    assert line["a"].startswith("could not reach [redacted]")


def test_any_url_user_info_is_masked_even_when_never_registered() -> None:
    text = "GET https://someone:hunter2@ecs.example.com/ failed; mysql+pymysql://root:pw@db/x too"
    masked = redact(text)
    assert "hunter2" not in masked and "someone" not in masked and "root:pw" not in masked
    assert "https://[redacted]@ecs.example.com/" in masked


def test_a_log_line_before_logging_is_configured_is_json_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no handler on our logger yet (a setting failed before the app configured logging)
    logger = logging.getLogger("ecs_tasks")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)
    message = settings_error(monkeypatch, "ECS_ENDPOINT", "ecs.example.com")
    # When the failure is logged as the HTTP handler logs it
    log_event("config.error", level=logging.ERROR, outcome=500, detail=message)
    # Then stderr holds one JSON line that names the setting, not Python's bare `config.error`
    (line,) = capsys.readouterr().err.strip().splitlines()
    record = json.loads(line)
    assert record["event"] == "config.error" and "ECS_ENDPOINT" in record["detail"]
