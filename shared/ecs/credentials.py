"""Alibaba Cloud credentials: where they come from, read at call time, never leaked.

Order: the environment variables Function Compute 3.0 sets from the function's role, then the aliyun CLI
profile file (`~/.aliyun/config.json`). Function Compute rotates its STS credentials, so
`DefaultCredentialsProvider.get()` reads its sources on every call.

A secret or token never appears in a repr, a str or an error message; error messages are built
only from names, paths and the reasons a source failed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shared.errors import CredentialsNotFoundError

ENV_ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"

SOURCE_STATIC = "static"
SOURCE_ENVIRONMENT = "environment"

# The aliyun CLI's file: {"current": "<name>", "profiles": [{"name", "mode", "access_key_id",
# "access_key_secret", "sts_token", "region_id", ...}]}.
CLI_CONFIG_RELATIVE_PATH = Path(".aliyun") / "config.json"
CLI_DEFAULT_PROFILE = "default"  # what the CLI uses when `current` is unset
KEY_CURRENT = "current"
KEY_PROFILES = "profiles"
KEY_NAME = "name"
KEY_MODE = "mode"
KEY_ACCESS_KEY_ID = "access_key_id"
KEY_ACCESS_KEY_SECRET = "access_key_secret"
KEY_STS_TOKEN = "sts_token"
KEY_REGION_ID = "region_id"
MODE_AK = "AK"
MODE_STS_TOKEN = "StsToken"
SUPPORTED_MODES = (MODE_AK, MODE_STS_TOKEN)


@dataclass(frozen=True)
class Credentials:
    """One set of credentials. `source` says where they came from, for messages."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    source: str = SOURCE_STATIC

    @property
    def is_sts(self) -> bool:
        return bool(self.security_token)


class CredentialsProvider(Protocol):
    def get(self) -> Credentials: ...


class StaticCredentialsProvider:
    """Always the same credentials (tests, explicit configuration)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def get(self) -> Credentials:
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticCredentialsProvider({self._credentials!r})"


@dataclass(frozen=True)
class _Miss:
    """A source that had nothing to offer, and why (never containing a secret)."""

    reason: str


class DefaultCredentialsProvider:
    """Environment variables first, then the aliyun CLI profile file; read on every `get()`.

    `environ=None` means `os.environ` as it is at each call; `config_path=None` means
    `~/.aliyun/config.json`.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, config_path: Path | None = None) -> None:
        self._environ = environ
        self._config_path = config_path

    def __repr__(self) -> str:
        # Never show the environment: it holds the secret.
        return f"DefaultCredentialsProvider(config_path={self._config_path!r})"

    def get(self) -> Credentials:
        environ = self._current_environ()
        from_env = _from_environment(environ)
        if isinstance(from_env, Credentials):
            return from_env
        path = self._current_config_path()
        from_profile = _from_cli_profile(path, environ)
        if isinstance(from_profile, Credentials):
            return from_profile
        raise CredentialsNotFoundError(
            "No Alibaba Cloud credentials found. Looked in:\n"
            f"  - environment: {from_env.reason}\n"
            f"  - aliyun CLI profile file {path}: {from_profile.reason}"
        )

    def profile_region(self) -> str | None:
        """The `region_id` of the selected CLI profile, if there is one."""
        environ = self._current_environ()
        selected = _select_profile(self._current_config_path(), environ)
        if isinstance(selected, _Miss):
            return None
        region = selected.profile.get(KEY_REGION_ID)
        return region if isinstance(region, str) and region else None

    def _current_environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _current_config_path(self) -> Path:
        return self._config_path if self._config_path is not None else default_cli_config_path()


def default_cli_config_path() -> Path:
    return Path.home() / CLI_CONFIG_RELATIVE_PATH


# --- environment ------------------------------------------------------------------------------


def _from_environment(environ: Mapping[str, str]) -> Credentials | _Miss:
    """Credentials from the environment; a miss when neither key variable is set.

    Raises CredentialsNotFoundError when only one of the id and the secret is set: that is a
    broken configuration, and falling back to another source would hide it.
    """
    key_id = environ.get(ENV_ACCESS_KEY_ID, "")
    secret = environ.get(ENV_ACCESS_KEY_SECRET, "")
    token = environ.get(ENV_SECURITY_TOKEN, "")
    if key_id and secret:
        return Credentials(key_id, secret, token or None, SOURCE_ENVIRONMENT)
    if key_id or secret:
        present, missing = ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET
        if not key_id:
            present, missing = missing, present
        raise CredentialsNotFoundError(
            f"Incomplete Alibaba Cloud credentials in the environment: {present} is set "
            f"but {missing} is not set or empty; set both, or neither to use the aliyun CLI profile."
        )
    reason = f"{ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET} are not set"
    if token:
        reason += f" ({ENV_SECURITY_TOKEN} is set, but is unusable without them)"
    return _Miss(reason)


# --- aliyun CLI profile file ------------------------------------------------------------------


@dataclass(frozen=True)
class _SelectedProfile:
    name: str
    profile: Mapping[str, object]


def _from_cli_profile(path: Path, environ: Mapping[str, str]) -> Credentials | _Miss:
    """Credentials from the profile `ALIBABA_CLOUD_PROFILE` names, else the file's `current`."""
    selected = _select_profile(path, environ)
    if isinstance(selected, _Miss):
        return selected
    return _credentials_from_profile(selected, path)


def _select_profile(path: Path, environ: Mapping[str, str]) -> _SelectedProfile | _Miss:
    config = _read_json_object(path)
    if isinstance(config, _Miss):
        return config
    profiles = config.get(KEY_PROFILES)
    if not isinstance(profiles, list):
        return _Miss(f"no '{KEY_PROFILES}' list")
    by_name = {
        entry[KEY_NAME]: entry for entry in profiles if isinstance(entry, dict) and isinstance(entry.get(KEY_NAME), str)
    }
    name, chosen_by = _wanted_profile_name(config, environ)
    profile = by_name.get(name)
    if profile is None:
        available = ", ".join(repr(n) for n in by_name) or "none"
        return _Miss(f"profile {name!r} ({chosen_by}) not found; available profiles: {available}")
    return _SelectedProfile(name, profile)


def _wanted_profile_name(config: Mapping[str, object], environ: Mapping[str, str]) -> tuple[str, str]:
    """The profile name and what chose it, for messages."""
    from_env = environ.get(ENV_PROFILE, "")
    if from_env:
        return from_env, f"from {ENV_PROFILE}"
    current = config.get(KEY_CURRENT)
    if isinstance(current, str) and current:
        return current, f"the file's '{KEY_CURRENT}'"
    return CLI_DEFAULT_PROFILE, f"the default, as '{KEY_CURRENT}' is not set"


def _credentials_from_profile(selected: _SelectedProfile, path: Path) -> Credentials | _Miss:
    profile = selected.profile
    label = f"profile {selected.name!r}"
    mode = profile.get(KEY_MODE)
    if mode not in SUPPORTED_MODES:
        shown = repr(mode) if isinstance(mode, str) and mode else "not set"
        supported = ", ".join(SUPPORTED_MODES)
        return _Miss(f"{label}: mode {shown} is not supported (supported modes: {supported})")
    required = [KEY_ACCESS_KEY_ID, KEY_ACCESS_KEY_SECRET]
    if mode == MODE_STS_TOKEN:
        required.append(KEY_STS_TOKEN)
    values: dict[str, str] = {}
    for key in required:
        value = profile.get(key)
        if not isinstance(value, str) or not value:
            return _Miss(f"{label} (mode {mode}): '{key}' is empty or missing")
        values[key] = value
    return Credentials(
        access_key_id=values[KEY_ACCESS_KEY_ID],
        access_key_secret=values[KEY_ACCESS_KEY_SECRET],
        security_token=values.get(KEY_STS_TOKEN),
        source=f"{label} in {path}",
    )


def _read_json_object(path: Path) -> dict[str, object] | _Miss:
    # Reasons are built from the error kind and position only: a JSONDecodeError carries the
    # whole document (secrets included), so it is never chained or quoted.
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _Miss("file not found")
    except UnicodeDecodeError:
        return _Miss("not UTF-8 text")
    except OSError as exc:
        return _Miss(f"cannot read it ({exc.strerror or type(exc).__name__})")
    try:
        parsed: object = json.loads(text)
    except json.JSONDecodeError as exc:
        return _Miss(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")
    if not isinstance(parsed, dict):
        return _Miss("not a JSON object")
    return parsed
