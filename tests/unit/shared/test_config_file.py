"""The config file (TOML, through pydantic-settings' TomlConfigSettingsSource): it holds accounts and channel
bindings, environment variables override it, and a missing or malformed file is a ConfigurationError naming
ECS_TASKS_CONFIG_FILE without quoting the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config import ENV_CONFIG_FILE, load_settings, load_signing_secret
from shared.errors import ConfigurationError
from tools.build_package import CONFIG_FILE, copy_config_file

PROD_ROLE = "acs:ram::1111111111111111:role/ecs-tasks-read"
STAGING_ROLE = "acs:ram::2222222222222222:role/ecs-tasks-read"
FILE = f"""
default_accounts = ["prod"]
default_region = "cn-shanghai"

[accounts.prod]
role_arn = "{PROD_ROLE}"
regions = ["cn-hangzhou"]
external_id = "prod-external-id"

[accounts.staging]
role_arn = "{STAGING_ROLE}"

[channel_accounts]
C0OPS = ["prod", "staging"]
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ECS_TASKS_ACCOUNTS", "ECS_TASKS_CHANNEL_ACCOUNTS", "ECS_TASKS_DEFAULT_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ECS_TASKS_DEFAULT_REGION", raising=False)
    path = tmp_path / "ecs-tasks.toml"
    path.write_text(FILE)
    monkeypatch.setenv(ENV_CONFIG_FILE, str(path))
    return path


@pytest.mark.usefixtures("config")
def test_the_file_holds_accounts_and_bindings() -> None:
    settings = load_settings()
    assert set(settings.accounts) == {"prod", "staging"}
    assert settings.accounts["prod"].regions == ("cn-hangzhou",)
    assert settings.channel_accounts == {"C0OPS": ("prod", "staging")}
    assert settings.default_accounts == ("prod",) and settings.default_region == "cn-shanghai"


@pytest.mark.usefixtures("config")
def test_environment_variables_override_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps({"qa": {"role_arn": STAGING_ROLE}}))
    monkeypatch.setenv("ECS_TASKS_CHANNEL_ACCOUNTS", json.dumps({"C0QA": ["qa"]}))
    monkeypatch.setenv("ECS_TASKS_DEFAULT_ACCOUNTS", "qa")
    monkeypatch.setenv("ECS_TASKS_DEFAULT_REGION", "cn-beijing")
    settings = load_settings()
    assert set(settings.accounts) == {"qa"} and settings.channel_accounts == {"C0QA": ("qa",)}
    assert settings.default_region == "cn-beijing"


def test_a_named_file_that_is_missing_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CONFIG_FILE, str(tmp_path / "nowhere.toml"))
    with pytest.raises(ConfigurationError, match=f"{ENV_CONFIG_FILE} names a file that does not exist"):
        load_settings()


def test_a_malformed_file_is_named_without_its_content(config: Path) -> None:
    config.write_text('default_region = "cn-hangzhou\nsecret-looking = xoxb-1234\n')
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "the config file is not valid TOML" in str(raised.value) and "xoxb-1234" not in str(raised.value)


def test_a_bad_value_in_the_file_names_its_key(config: Path) -> None:
    config.write_text(FILE.replace(PROD_ROLE, "not-an-arn"))
    with pytest.raises(ConfigurationError, match=r"ECS_TASKS_ACCOUNTS\.prod\.role_arn") as raised:
        load_settings()
    assert "not-an-arn" not in str(raised.value)


def test_the_package_carries_the_projects_config_file(tmp_path: Path) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    root.mkdir()
    out.mkdir()
    assert copy_config_file(root, out) is False and not (out / CONFIG_FILE).exists()
    (root / CONFIG_FILE).write_text(FILE)
    assert copy_config_file(root, out) is True and (out / CONFIG_FILE).read_text() == FILE


def test_the_signing_secret_is_read_from_the_file_when_the_environment_has_none(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a config file holding the signing secret, and none in the environment
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    config.write_text('slack_signing_secret = "from-the-file-5e2c"\n' + FILE)
    # When the function reads it to verify a request, and the settings read it
    secret = load_signing_secret()
    # Then both read the file's value
    assert secret is not None and secret.get_secret_value() == "from-the-file-5e2c"
    settings_secret = load_settings().slack_signing_secret
    assert settings_secret is not None and settings_secret.get_secret_value() == "from-the-file-5e2c"
    # And the environment's value wins over the file's, as for every setting
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "from-the-environment-7d1a")
    assert load_signing_secret().get_secret_value() == "from-the-environment-7d1a"  # type: ignore[union-attr]
    # And a file that cannot be read gives no secret (load_settings names the file's problem)
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    config.write_text('slack_signing_secret = "unterminated\n')
    assert load_signing_secret() is None
