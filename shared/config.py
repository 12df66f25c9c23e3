"""Configuration from the environment (pydantic-settings): every variable the README documents.

Secrets are `SecretStr`, so they print as `**********` in any repr, log line or validation error.
Credentials for Alibaba Cloud are not read here: they rotate, so `shared.ecs.credentials` reads them per call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.errors import ConfigurationError

CsvSet = Annotated[frozenset[str], NoDecode]

DEFAULT_WATCH_TTL = timedelta(days=7)


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return frozenset(item.strip() for item in value.split(",") if item.strip())
    return value


def _env(name: str, default: Any = None, **constraints: Any) -> Any:
    """A field read from the variable `name` (or the field's own name, for keyword construction)."""
    return Field(default=default, validation_alias=AliasChoices(name, name.lower()), **constraints)


class Settings(BaseSettings):
    # Serverless Devs passes unset optional settings as empty strings: treat those as unset.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True, env_ignore_empty=True)

    # ECS
    ecs_endpoint: str | None = _env("ECS_ENDPOINT")
    ecs_signature_version: Literal["v1", "v3"] = _env("ECS_SIGNATURE_VERSION", "v3")
    default_region: str | None = _env("ECS_TASKS_DEFAULT_REGION")
    ecs_deadline_s: float = _env("ECS_TASKS_ECS_DEADLINE", 20.0, gt=0)

    # Access control; empty means "no restriction" except cancel, where empty means nobody.
    allowed_team_ids: CsvSet = _env("ECS_TASKS_ALLOWED_TEAM_IDS", frozenset())
    allowed_channel_ids: CsvSet = _env("ECS_TASKS_ALLOWED_CHANNEL_IDS", frozenset())
    allowed_regions: CsvSet = _env("ECS_TASKS_REGIONS", frozenset())
    cancel_user_ids: CsvSet = _env("ECS_TASKS_CANCEL_USER_IDS", frozenset())

    # Slack
    slack_signing_secret: SecretStr | None = _env("SLACK_SIGNING_SECRET")
    slack_bot_token: SecretStr | None = _env("SLACK_BOT_TOKEN")
    slack_api_url: str | None = _env("SLACK_API_URL")

    # Store and poller
    database_url: SecretStr | None = _env("ECS_TASKS_DATABASE_URL")  # may hold a password
    watch_ttl: timedelta = _env("ECS_TASKS_WATCH_TTL", DEFAULT_WATCH_TTL)
    # Bounds on channel updates: per channel, and channel-update commands per person per minute (counted in
    # the store, so across every instance).
    max_watches_per_channel: int = _env("ECS_TASKS_MAX_WATCHES_PER_CHANNEL", 500, ge=1)
    max_subscriptions_per_channel: int = _env("ECS_TASKS_MAX_SUBSCRIPTIONS_PER_CHANNEL", 20, ge=1)
    max_update_commands_per_minute: int = _env("ECS_TASKS_MAX_UPDATE_COMMANDS_PER_MINUTE", 30, ge=1)
    # Seconds between polls of running watched tasks within one tick; 0 polls once a tick.
    repoll_interval_s: float = _env("ECS_TASKS_REPOLL_INTERVAL", 15.0, ge=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _env("ECS_TASKS_LOG_LEVEL", "INFO")

    # Function Compute (set by the platform)
    fc_function_name: str | None = _env("FC_FUNCTION_NAME")
    fc_region: str | None = _env("FC_REGION")
    fc_account_id: str | None = _env("FC_ACCOUNT_ID")
    fc_endpoint: str | None = _env("FC_ENDPOINT")

    @field_validator("allowed_team_ids", "allowed_channel_ids", "allowed_regions", "cancel_user_ids", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("watch_ttl", mode="before")
    @classmethod
    def _ttl(cls, value: Any) -> Any:
        # Accept "7d", "12h", "30m" and plain seconds as well as ISO 8601 durations.
        if isinstance(value, str):
            text = value.strip().lower()
            units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
            if text[-1:] in units and text[:-1].isdigit():
                return timedelta(seconds=int(text[:-1]) * units[text[-1]])
            if text.isdigit():
                return timedelta(seconds=int(text))
        return value

    @field_validator("ecs_signature_version", mode="before")
    @classmethod
    def _sigver(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @property
    def on_function_compute(self) -> bool:
        return bool(self.fc_function_name)


def load_settings() -> Settings:
    """Settings from the environment; a malformed value is a ConfigurationError naming the variable and the
    problem, never the value (it may be a secret)."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
