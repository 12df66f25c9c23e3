"""Configuration from the environment (pydantic-settings): every variable the README documents, and a TOML
config file packaged with the function (ECS_TASKS_CONFIG_FILE, else `ecs-tasks.toml` beside the code when
present) for what outgrows a variable, such as accounts and channel bindings. Environment variables override
the file; channel bindings made in Slack override both, per channel (shared.policy).

Secrets are `SecretStr`, so they print as `**********` in any repr, log line or validation error.
Credentials for Alibaba Cloud are not read here: they rotate, so `shared.ecs.credentials` reads them per call.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shared.errors import ConfigurationError
from shared.log import register_secret
from shared.region_ids import REGION_ID_FORM, is_region_id

CsvSet = Annotated[frozenset[str], NoDecode]

# ECS_TASKS_EVENTS_FUNCTION's word for a deployment that left the events function out (it polls only).
NO_EVENTS_FUNCTION = "none"

DEFAULT_WATCH_TTL = timedelta(days=7)

# --- accounts: the settings' shape; shared.policy checks the names and turns them into Account values -------

ENV_ACCOUNTS = "ECS_TASKS_ACCOUNTS"
ENV_CHANNEL_ACCOUNTS = "ECS_TASKS_CHANNEL_ACCOUNTS"
ENV_DEFAULT_ACCOUNTS = "ECS_TASKS_DEFAULT_ACCOUNTS"
ENV_STS_ENDPOINT = "STS_ENDPOINT"
ENV_CONFIG_FILE = "ECS_TASKS_CONFIG_FILE"
# The config file read when ECS_TASKS_CONFIG_FILE is not set, if present: beside the code (the package's root
# on Function Compute, the project's root locally).
DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent.parent / "ecs-tasks.toml"
# The most accounts a channel may be bound to: a query covers all of them, and its card's buttons carry
# every name within Slack's 2,000-character button value (bot/language/codecs.py).
MAX_ACCOUNTS_PER_BINDING = 8
# An account name's form: a short lower-case word, so it can be typed in a command (`/ecs-tasks prod
# cn-hangzhou`) and carried in a button value without escaping. Configured names are checked against it by
# shared.policy; names read back from the store or a button value by whoever reads them.
ACCOUNT_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,19}")
# RAM role ARNs: acs:ram::<16-digit account id>:role/<role name>; RAM role names are 1-64 of [A-Za-z0-9.-].
ROLE_ARN_RE = re.compile(r"acs:ram::(?P<account_id>[0-9]{16}):role/(?P<role_name>[A-Za-z0-9.-]{1,64})")
# STS AssumeRole's ExternalId: 2-1224 characters of letters, digits and `=,.@:/-_`.
EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9=,.@:/_-]{2,1224}")
# Slack conversation ids (C..., G..., D...): upper-case letters and digits.
CHANNEL_ID_RE = re.compile(r"[A-Z0-9]{2,32}")


class AccountSetting(BaseModel):
    """One entry of ECS_TASKS_ACCOUNTS: `{"role_arn": ..., "regions": [...], "external_id": ...}`.

    Region ids are checked for their form by shared.policy (the one region rule is shared.region_ids).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    role_arn: str
    regions: tuple[str, ...] = ()
    # Not a secret in RAM's model (it guards against the confused deputy), but never worth printing.
    external_id: SecretStr | None = None

    @field_validator("role_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not ROLE_ARN_RE.fullmatch(value):
            raise ValueError(
                "role_arn is not a RAM role ARN (expected acs:ram::<16-digit account id>:role/<role name>, "
                "such as acs:ram::1111111111111111:role/ecs-tasks-read)"
            )
        return value

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not EXTERNAL_ID_RE.fullmatch(value.get_secret_value()):
            raise ValueError("external_id must be 2-1224 of letters, digits and =,.@:/-_")
        return value


def _ascii_digits(text: str) -> bool:
    # Not str.isdigit(): it accepts `²`, which int() then refuses.
    return text.isascii() and text.isdigit()


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return frozenset(item.strip() for item in value.split(",") if item.strip())
    return value


def _split_names(value: Any) -> Any:
    """Account names from `"a,b"`, `"a"` or a list, in order, without blanks or repeats."""
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, (list, tuple)):
        names = [item.strip() if isinstance(item, str) else item for item in value]
        return tuple(dict.fromkeys(name for name in names if name != ""))
    return value


def _json_object(value: Any) -> Any:
    """A JSON object from a setting's text; the error says where the JSON broke, never quoting it."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return {}  # Serverless Devs passes an unset optional setting as ""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    if not isinstance(parsed, dict):
        raise ValueError("expected a JSON object ({...})")
    return parsed


def _checked_region(value: Any) -> Any:
    # Messages quote nothing of the value (it may be hostile or secret); load_settings names the variable.
    if isinstance(value, str) and not is_region_id(value):
        raise ValueError(f"is not a region id ({REGION_ID_FORM})")
    return value


def _http_url(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError("is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("is not a valid URL (expected http://HOST or https://HOST)")
    return value


def register_url_credentials(url: str | None) -> None:
    """Masks the user-info of `url` (raw, percent-decoded, and its password alone) in every log line."""
    if not url or "@" not in url:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    netloc = parts.netloc if parts is not None else url.partition("://")[2].partition("/")[0]
    userinfo = netloc.rpartition("@")[0]
    if not userinfo:
        return
    password = userinfo.partition(":")[2]
    for secret in (userinfo, unquote(userinfo), password, unquote(password)):
        register_secret(secret)


def _env(name: str, default: Any = None, **constraints: Any) -> Any:
    """A field read from the variable `name` (or the field's own name, for keyword construction)."""
    return Field(default=default, validation_alias=AliasChoices(name, name.lower()), **constraints)


class _SettingsBase(BaseSettings):
    # Serverless Devs passes unset optional settings as empty strings: treat those as unset. Each class's
    # schema is built when it is first used: a cold start uses two of these classes (the rest are bases, and
    # the config file's signing secret, which is read only when the environment has none).
    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, populate_by_name=True, env_ignore_empty=True, defer_build=True
    )


class _WithConfigFile(_SettingsBase):
    """Settings read from keyword arguments first (tests, composition), then the environment, then the config
    file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _TomlFile(settings_cls, toml_file=config_file())


class Settings(_WithConfigFile):
    # ECS
    ecs_endpoint: str | None = _env("ECS_ENDPOINT")
    ecs_signature_version: Literal["v1", "v3"] = _env("ECS_SIGNATURE_VERSION", "v3")
    default_region: str | None = _env("ECS_TASKS_DEFAULT_REGION")
    ecs_deadline_s: float = _env("ECS_TASKS_ECS_DEADLINE", 20.0, gt=0)
    # Seconds from the start of an invocation within which a Slack request's ECS work is answered inline.
    inline_budget_s: float = _env("ECS_TASKS_INLINE_BUDGET", 1.5, ge=0, le=2.5)

    # Access control; empty means "no restriction" except cancel, where empty means nobody.
    allowed_team_ids: CsvSet = _env("ECS_TASKS_ALLOWED_TEAM_IDS", frozenset())
    allowed_channel_ids: CsvSet = _env("ECS_TASKS_ALLOWED_CHANNEL_IDS", frozenset())
    allowed_regions: CsvSet = _env("ECS_TASKS_REGIONS", frozenset())
    cancel_user_ids: CsvSet = _env("ECS_TASKS_CANCEL_USER_IDS", frozenset())
    # Who may run `/ecs-tasks doctor`, `bind` and `unbind`; empty means nobody.
    admin_user_ids: CsvSet = _env("ECS_TASKS_ADMIN_USER_IDS", frozenset())

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
    # At most this many seconds between polls of running watched tasks (spaced evenly across the timer's
    # minute, shared.updates.poller.pass_spacing); 0 polls once a tick.
    repoll_interval_s: float = _env("ECS_TASKS_REPOLL_INTERVAL", 12.0, ge=0)
    # Name who started (or cancelled) a task when an ActionTrail event says (the events function); off: never.
    event_attribution: bool = _env("ECS_TASKS_EVENT_ATTRIBUTION", True)
    # The Slack function's own role (the events function's template passes it): a cancel made under it in the home
    # account is ecs-tasks' own, already told in Slack.
    slack_role_arn: str | None = _env("ECS_TASKS_SLACK_ROLE_ARN")
    # The events function's name (template.yml's vars.events_function): `ecs-tasks doctor` looks up its trigger.
    # FC's function-name rule, so it can stand in an API path as it is; NO_EVENTS_FUNCTION: events not deployed.
    events_function: str = _env(
        "ECS_TASKS_EVENTS_FUNCTION", "ecs-tasks-events", pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$"
    )

    # Accounts. All unset: everything runs under the function's own role. Names: see ACCOUNT_NAME_RE.
    # NoDecode: the JSON is parsed by _json_object, so malformed JSON is a validation error like any other.
    accounts: Annotated[dict[str, AccountSetting], NoDecode] = _env(ENV_ACCOUNTS, {})
    channel_accounts: Annotated[dict[str, tuple[str, ...]], NoDecode] = _env(ENV_CHANNEL_ACCOUNTS, {})
    default_accounts: Annotated[tuple[str, ...], NoDecode] = _env(ENV_DEFAULT_ACCOUNTS, ())
    sts_endpoint: str | None = _env(ENV_STS_ENDPOINT)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _env("ECS_TASKS_LOG_LEVEL", "INFO")

    # Function Compute (set by the platform)
    fc_function_name: str | None = _env("FC_FUNCTION_NAME")
    fc_region: str | None = _env("FC_REGION")
    fc_account_id: str | None = _env("FC_ACCOUNT_ID")
    fc_endpoint: str | None = _env("FC_ENDPOINT")

    @field_validator(
        "allowed_team_ids", "allowed_channel_ids", "allowed_regions", "cancel_user_ids", "admin_user_ids", mode="before"
    )
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("default_region", mode="before")
    @classmethod
    def _region(cls, value: Any) -> Any:
        return _checked_region(value.strip().lower() or None if isinstance(value, str) else value)

    @field_validator("allowed_regions", mode="after")
    @classmethod
    def _regions(cls, value: frozenset[str]) -> frozenset[str]:
        regions = frozenset(region.lower() for region in value)
        if not all(is_region_id(region) for region in regions):
            raise ValueError(f"has an entry that is not a region id ({REGION_ID_FORM})")
        return regions

    @field_validator("ecs_endpoint", "slack_api_url", mode="before")
    @classmethod
    def _url(cls, value: Any) -> Any:
        register_url_credentials(value if isinstance(value, str) else None)  # before anything can fail
        # Empty is unset, as in the environment (Serverless Devs passes unset settings as empty strings).
        return _http_url(value.strip() or None if isinstance(value, str) else value)

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: Any) -> Any:
        register_url_credentials(value if isinstance(value, str) else None)
        if isinstance(value, str) and value.strip():
            # SQLAlchemy reads the URL only when the store opens, and a port that is not a number is a
            # ValueError there, not a ConfigurationError: it is refused here, with every other setting.
            try:
                urlsplit(value.strip()).port  # noqa: B018 - raises ValueError for a port that is not a number
            except ValueError:
                raise ValueError("is not a valid URL (its port must be a number)") from None
        return value

    @field_validator("slack_role_arn", mode="before")
    @classmethod
    def _slack_role(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not ROLE_ARN_RE.fullmatch(value):
            raise ValueError("not a RAM role ARN (expected acs:ram::<16-digit account id>:role/<role name>)")
        return value

    @model_validator(mode="after")
    def _mask_url_credentials(self) -> Settings:
        # Settings made by keyword (tests, composition) skip the before-validators' string path.
        for url in (self.ecs_endpoint, self.slack_api_url):
            register_url_credentials(url)
        if self.database_url is not None:
            register_url_credentials(self.database_url.get_secret_value())
        return self

    @field_validator("watch_ttl", mode="before")
    @classmethod
    def _ttl(cls, value: Any) -> Any:
        # Accept "7d", "12h", "30m" and plain seconds as well as ISO 8601 durations.
        if isinstance(value, str):
            text = value.strip().lower()
            units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
            if text[-1:] in units and _ascii_digits(text[:-1]):
                return timedelta(seconds=int(text[:-1]) * units[text[-1]])
            if _ascii_digits(text):
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

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts_json(cls, value: Any) -> Any:
        return _json_object(value)

    @field_validator("channel_accounts", mode="before")
    @classmethod
    def _channel_accounts(cls, value: Any) -> Any:
        # `{"C0PROD": "prod"}` is accepted as one name, as is `"prod,staging"`.
        value = _json_object(value)
        if isinstance(value, dict):
            return {channel: _split_names(names) for channel, names in value.items()}
        return value

    @field_validator("channel_accounts")
    @classmethod
    def _channel_ids(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for channel, names in value.items():
            if not CHANNEL_ID_RE.fullmatch(channel):
                raise ValueError(f"{channel[:40]!r} is not a Slack channel id (expected such as C0123ABCD)")
            if not names:
                raise ValueError(f"channel {channel} is bound to no account (name one, or leave the channel out)")
        return value

    @field_validator("default_accounts", mode="before")
    @classmethod
    def _default_accounts(cls, value: Any) -> Any:
        return _split_names(value)

    @model_validator(mode="after")
    def _bindings_name_known_accounts(self) -> Settings:
        known = set(self.accounts)
        listed = ", ".join(sorted(known)) or "none: ECS_TASKS_ACCOUNTS is not set"
        bindings = [(f"{ENV_CHANNEL_ACCOUNTS}[{channel}]", names) for channel, names in self.channel_accounts.items()]
        bindings.append((ENV_DEFAULT_ACCOUNTS, self.default_accounts))
        for where, names in bindings:
            if len(names) > MAX_ACCOUNTS_PER_BINDING:
                raise ValueError(
                    f"{where} binds {len(names)} accounts; at most {MAX_ACCOUNTS_PER_BINDING} fit in a card's "
                    "buttons (bind fewer, or split the channel's work between channels)"
                )
            for name in names:
                if name not in known:
                    raise ValueError(f"{where} names unknown account {name[:24]!r} (known accounts: {listed})")
        return self

    @property
    def on_function_compute(self) -> bool:
        return bool(self.fc_function_name)


class _TomlFile(TomlConfigSettingsSource):
    """pydantic-settings' TOML source, reading with `tomllib`, or `tomli` on Python 3.10 (which has no
    tomllib, and which pydantic-settings' own reader does not fall back to)."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        # Imported here: a deployment without a config file never loads a TOML reader.
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10 has no tomllib: the `tomli` dependency reads TOML there
            import tomli as tomllib  # type: ignore[import-not-found]

        with file_path.open(mode="rb") as handle:
            try:
                loaded: dict[str, Any] = tomllib.load(handle)
            except tomllib.TOMLDecodeError as error:
                raise ConfigurationError(
                    f"the config file is not valid TOML: {error}", setting=ENV_CONFIG_FILE
                ) from None
        return loaded


def config_file() -> Path | None:
    """The config file to read: ECS_TASKS_CONFIG_FILE (which must exist), else the default one if present.
    ConfigurationError for a named file that is not there."""
    named = os.environ.get(ENV_CONFIG_FILE, "").strip()
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigurationError(
                f"{ENV_CONFIG_FILE} names a file that does not exist: {str(path)[:200]}", setting=ENV_CONFIG_FILE
            )
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings() -> Settings:
    """Settings from the environment and the config file; a malformed value is a ConfigurationError naming the
    variable (or the file's key) and the problem, never the value (it may be a secret)."""
    try:
        return Settings()
    except ValidationError as error:
        items = error.errors(include_input=False, include_url=False)
        problems = [_problem(item["loc"], item["msg"]) for item in items]
        setting = ".".join(str(part) for part in items[0]["loc"]) if items else None
        raise ConfigurationError("; ".join(problems), setting=setting) from None


def _problem(loc: tuple[int | str, ...], msg: str) -> str:
    """`ECS_ENDPOINT is not a valid URL (...)`: our validators' messages read on from the variable's name."""
    name = ".".join(str(part) for part in loc)
    msg = msg.removeprefix("Value error, ")
    return f"{name} {msg}" if msg.startswith(("is ", "has ")) else f"{name}: {msg}"


class _SigningSettings(_SettingsBase):
    slack_signing_secret: SecretStr | None = _env("SLACK_SIGNING_SECRET")


class _SigningSettingsWithFile(_SigningSettings, _WithConfigFile):
    pass


def load_signing_secret() -> SecretStr | None:
    """SLACK_SIGNING_SECRET alone: requests are verified, and told of a bad setting, even when another
    setting is malformed. The environment first, as for every setting; then the config file, which is read
    only when the environment has no secret. A file that cannot be read gives none: `load_settings` names
    its problem."""
    secret = _SigningSettings().slack_signing_secret
    if secret is not None:
        return secret
    try:
        return _SigningSettingsWithFile().slack_signing_secret
    except ConfigurationError:
        return None
