"""`shared.ecs.credentials`: sources, order, rotation, error messages, and no secret ever shown."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.ecs.credentials import (
    ENV_ACCESS_KEY_ID,
    ENV_ACCESS_KEY_SECRET,
    ENV_PROFILE,
    ENV_SECURITY_TOKEN,
    Credentials,
    CredentialsProvider,
    DefaultCredentialsProvider,
    StaticCredentialsProvider,
)
from shared.errors import CredentialsNotFoundError

KEY_ID = "LTAI5tEXAMPLEID"
SECRET = "s3cr3t-VALUE-never-shown-7f3a9"
TOKEN = "sts-T0KEN-never-shown-c41d"
OTHER_SECRET = "0ther-s3cr3t-never-shown-b2e8"


def _profile(name: str, mode: str = "AK", **fields: object) -> dict[str, object]:
    # Shaped like a profile written by `aliyun configure`.
    profile: dict[str, object] = {
        "name": name,
        "mode": mode,
        "access_key_id": KEY_ID,
        "access_key_secret": SECRET,
        "sts_token": "",
        "ram_role_name": "",
        "ram_role_arn": "",
        "ram_session_name": "",
        "private_key": "",
        "key_pair_name": "",
        "expired_seconds": 0,
        "verified": "",
        "region_id": "cn-hangzhou",
        "output_format": "json",
        "language": "en",
        "site": "",
        "retry_timeout": 0,
        "retry_count": 0,
    }
    profile.update(fields)
    return profile


def _write_config(tmp_path: Path, config: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _config(*profiles: dict[str, object], current: str | None = "default") -> dict[str, object]:
    config: dict[str, object] = {"profiles": list(profiles), "meta_path": ""}
    if current is not None:
        config["current"] = current
    return config


def _not_found(provider: DefaultCredentialsProvider) -> CredentialsNotFoundError:
    with pytest.raises(CredentialsNotFoundError) as caught:
        provider.get()
    return caught.value


def _assert_no_secret(*shown: object) -> None:
    for thing in shown:
        for text in (str(thing), repr(thing)):
            for secret in (SECRET, TOKEN, OTHER_SECRET):
                assert secret not in text


def _assert_exception_hides_secrets(error: BaseException) -> None:
    _assert_no_secret(error, *error.args)
    # Nothing secret-bearing (such as a JSONDecodeError, which holds the document) is chained.
    assert error.__cause__ is None
    assert error.__context__ is None


# --- environment ------------------------------------------------------------------------------


def test_environment_access_key(tmp_path: Path) -> None:
    environ = {ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET}
    provider = DefaultCredentialsProvider(environ=environ, config_path=tmp_path / "absent.json")

    credentials = provider.get()

    assert credentials == Credentials(KEY_ID, SECRET, None, "environment")
    assert not credentials.is_sts


def test_environment_sts_token(tmp_path: Path) -> None:
    environ = {ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET, ENV_SECURITY_TOKEN: TOKEN}

    credentials = DefaultCredentialsProvider(environ, tmp_path / "absent.json").get()

    assert credentials.security_token == TOKEN
    assert credentials.is_sts


def test_empty_environment_token_means_no_token(tmp_path: Path) -> None:
    environ = {ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET, ENV_SECURITY_TOKEN: ""}

    assert DefaultCredentialsProvider(environ, tmp_path / "absent.json").get().security_token is None


def test_environment_wins_over_the_profile_file(tmp_path: Path) -> None:
    path = _write_config(tmp_path, _config(_profile("default", access_key_id="FROM-FILE")))
    environ = {ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET}

    credentials = DefaultCredentialsProvider(environ, path).get()

    assert credentials.access_key_id == KEY_ID
    assert credentials.source == "environment"


@pytest.mark.parametrize(
    ("environ", "missing", "present"),
    [
        ({ENV_ACCESS_KEY_ID: KEY_ID}, ENV_ACCESS_KEY_SECRET, ENV_ACCESS_KEY_ID),
        ({ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: ""}, ENV_ACCESS_KEY_SECRET, ENV_ACCESS_KEY_ID),
        ({ENV_ACCESS_KEY_SECRET: SECRET}, ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET),
        (
            {ENV_ACCESS_KEY_SECRET: SECRET, ENV_SECURITY_TOKEN: TOKEN},
            ENV_ACCESS_KEY_ID,
            ENV_ACCESS_KEY_SECRET,
        ),
    ],
)
def test_half_set_environment_names_the_missing_variable(
    tmp_path: Path, environ: dict[str, str], missing: str, present: str
) -> None:
    # given a usable profile file too: a half-set environment must not silently fall back to it
    path = _write_config(tmp_path, _config(_profile("default")))

    error = _not_found(DefaultCredentialsProvider(environ, path))

    assert f"{missing} is not set" in str(error)
    assert f"{present} is set" in str(error)
    _assert_exception_hides_secrets(error)


def test_rotation_in_an_explicit_environ_is_seen(tmp_path: Path) -> None:
    # given Function Compute's STS credentials, rotated between two invocations
    environ = {ENV_ACCESS_KEY_ID: "STS.first", ENV_ACCESS_KEY_SECRET: SECRET, ENV_SECURITY_TOKEN: TOKEN}
    provider = DefaultCredentialsProvider(environ, tmp_path / "absent.json")
    first = provider.get()

    environ.update({ENV_ACCESS_KEY_ID: "STS.second", ENV_ACCESS_KEY_SECRET: OTHER_SECRET})
    environ[ENV_SECURITY_TOKEN] = "rotated-token"
    second = provider.get()

    assert (first.access_key_id, first.access_key_secret) == ("STS.first", SECRET)
    assert (second.access_key_id, second.access_key_secret, second.security_token) == (
        "STS.second",
        OTHER_SECRET,
        "rotated-token",
    )


def test_default_environ_is_os_environ_read_at_each_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_ACCESS_KEY_ID, "STS.first")
    monkeypatch.setenv(ENV_ACCESS_KEY_SECRET, SECRET)
    monkeypatch.delenv(ENV_SECURITY_TOKEN, raising=False)
    provider = DefaultCredentialsProvider(config_path=tmp_path / "absent.json")
    assert provider.get().access_key_id == "STS.first"

    monkeypatch.setenv(ENV_ACCESS_KEY_ID, "STS.second")
    monkeypatch.setenv(ENV_SECURITY_TOKEN, TOKEN)

    second = provider.get()
    assert second.access_key_id == "STS.second"
    assert second.security_token == TOKEN


# --- aliyun CLI profile file ------------------------------------------------------------------


def test_current_profile_in_ak_mode(tmp_path: Path) -> None:
    path = _write_config(tmp_path, _config(_profile("other", access_key_id="OTHER"), _profile("default")))

    credentials = DefaultCredentialsProvider({}, path).get()

    assert credentials == Credentials(KEY_ID, SECRET, None, f"profile 'default' in {path}")


def test_ak_mode_ignores_a_leftover_sts_token(tmp_path: Path) -> None:
    path = _write_config(tmp_path, _config(_profile("default", sts_token=TOKEN)))

    assert DefaultCredentialsProvider({}, path).get().security_token is None


def test_sts_token_mode(tmp_path: Path) -> None:
    path = _write_config(tmp_path, _config(_profile("default", mode="StsToken", sts_token=TOKEN)))

    credentials = DefaultCredentialsProvider({}, path).get()

    assert (credentials.access_key_id, credentials.access_key_secret) == (KEY_ID, SECRET)
    assert credentials.security_token == TOKEN


def test_profile_variable_overrides_current(tmp_path: Path) -> None:
    path = _write_config(tmp_path, _config(_profile("default"), _profile("work", access_key_id="WORK-ID")))

    credentials = DefaultCredentialsProvider({ENV_PROFILE: "work"}, path).get()

    assert credentials.access_key_id == "WORK-ID"
    assert credentials.source == f"profile 'work' in {path}"


def test_missing_current_means_the_default_profile(tmp_path: Path) -> None:
    path = _write_config(tmp_path, _config(_profile("x", access_key_id="X"), _profile("default"), current=None))

    assert DefaultCredentialsProvider({}, path).get().access_key_id == KEY_ID


def test_default_config_path_is_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".aliyun").mkdir()
    config_path = tmp_path / ".aliyun" / "config.json"
    config_path.write_text(json.dumps(_config(_profile("default"))), encoding="utf-8")

    credentials = DefaultCredentialsProvider({}).get()

    assert credentials.source == f"profile 'default' in {config_path}"


def test_profile_file_changes_are_seen_without_a_new_provider(tmp_path: Path) -> None:
    path = _write_config(tmp_path, _config(_profile("default")))
    provider = DefaultCredentialsProvider({}, path)
    assert provider.get().access_key_id == KEY_ID

    _write_config(tmp_path, _config(_profile("default", access_key_id="NEW-ID")))

    assert provider.get().access_key_id == "NEW-ID"


def test_profile_region(tmp_path: Path) -> None:
    config = _config(_profile("default", region_id="cn-shanghai"), _profile("blank", region_id=""))
    path = _write_config(tmp_path, config)

    assert DefaultCredentialsProvider({}, path).profile_region() == "cn-shanghai"
    assert DefaultCredentialsProvider({ENV_PROFILE: "blank"}, path).profile_region() is None
    assert DefaultCredentialsProvider({ENV_PROFILE: "nope"}, path).profile_region() is None
    assert DefaultCredentialsProvider({}, tmp_path / "absent.json").profile_region() is None


# --- nothing found: one error that says where we looked and why each failed -----------------

# Each case: (writes the config path and returns it, environ, fragments the message must hold).
Writer = Callable[[Path], Path]


def _json_file(config: object) -> Writer:
    return lambda tmp_path: _write_config(tmp_path, config)


def _raw_file(content: bytes) -> Writer:
    def write(tmp_path: Path) -> Path:
        path = tmp_path / "config.json"
        path.write_bytes(content)
        return path

    return write


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.mkdir()
    return path


NOT_FOUND_CASES: dict[str, tuple[Writer, dict[str, str], tuple[str, ...]]] = {
    "file missing": (lambda tmp_path: tmp_path / "absent.json", {}, ("file not found",)),
    "unreadable": (_directory, {}, ("cannot read it",)),
    "not utf-8": (_raw_file(b'{"secret": "\xff\xfe' + SECRET.encode() + b'"}'), {}, ("not UTF-8 text",)),
    "invalid json": (
        _raw_file(('{"profiles": [{"access_key_secret": "' + SECRET + '", }]}').encode()),
        {},
        ("not valid JSON", "line 1"),
    ),
    "not an object": (_json_file([_profile("default")]), {}, ("not a JSON object",)),
    "no profiles list": (
        _json_file({"current": "default", "profiles": {"default": {}}}),
        {},
        ("'profiles'",),
    ),
    "current profile not found": (
        _json_file(_config(_profile("alpha"), _profile("beta"), current="gamma")),
        {},
        ("profile 'gamma'", "not found", "'alpha', 'beta'", "'current'"),
    ),
    "named profile not found": (
        _json_file(_config(_profile("default"))),
        {ENV_PROFILE: "work"},
        ("profile 'work'", "from ALIBABA_CLOUD_PROFILE", "not found", "'default'"),
    ),
    "no profiles at all": (_json_file(_config()), {}, ("profile 'default'", "available profiles: none")),
    "unsupported mode": (
        _json_file(_config(_profile("default", mode="RamRoleArn", ram_role_arn="acs:ram::1:role/r"))),
        {},
        ("mode 'RamRoleArn' is not supported", "supported modes: AK, StsToken"),
    ),
    "mode missing": (
        _json_file(_config({k: v for k, v in _profile("default").items() if k != "mode"})),
        {},
        ("mode not set is not supported", "AK, StsToken"),
    ),
    "empty key id": (
        _json_file(_config(_profile("default", access_key_id=""))),
        {},
        ("'access_key_id' is empty or missing",),
    ),
    "empty secret": (
        _json_file(_config(_profile("default", access_key_secret=""))),
        {},
        ("'access_key_secret' is empty or missing",),
    ),
    "secret not a string": (
        _json_file(_config(_profile("default", access_key_secret=12345))),
        {},
        ("'access_key_secret' is empty or missing",),
    ),
    "sts mode without token": (
        _json_file(_config(_profile("default", mode="StsToken", sts_token=""))),
        {},
        ("mode StsToken", "'sts_token' is empty or missing"),
    ),
    "token only in environment": (
        lambda tmp_path: tmp_path / "absent.json",
        {ENV_SECURITY_TOKEN: TOKEN},
        ("ALIBABA_CLOUD_SECURITY_TOKEN is set, but is unusable without them", "file not found"),
    ),
}


@pytest.mark.parametrize("case", NOT_FOUND_CASES)
def test_nothing_found_says_where_it_looked_and_why(tmp_path: Path, case: str) -> None:
    writer, environ, fragments = NOT_FOUND_CASES[case]
    path = writer(tmp_path)

    error = _not_found(DefaultCredentialsProvider(environ, path))

    message = str(error)
    assert message.startswith("No Alibaba Cloud credentials found.")
    assert f"{ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET} are not set" in message
    assert f"aliyun CLI profile file {path}:" in message
    for fragment in fragments:
        assert fragment in message
    _assert_exception_hides_secrets(error)


# --- secrets are never shown ------------------------------------------------------------------


def test_credentials_repr_and_str_hide_secret_and_token() -> None:
    credentials = Credentials(KEY_ID, SECRET, TOKEN, "environment")

    _assert_no_secret(credentials, StaticCredentialsProvider(credentials))
    assert KEY_ID in repr(credentials)
    assert "environment" in str(credentials)


def test_default_provider_repr_hides_its_environment(tmp_path: Path) -> None:
    environ = {ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET, ENV_SECURITY_TOKEN: TOKEN}
    provider = DefaultCredentialsProvider(environ, tmp_path / "config.json")

    _assert_no_secret(provider, provider.get())


def test_profile_credentials_repr_hides_secret(tmp_path: Path) -> None:
    path = _write_config(tmp_path, _config(_profile("default", mode="StsToken", sts_token=TOKEN)))

    _assert_no_secret(DefaultCredentialsProvider({}, path).get())


# --- static provider --------------------------------------------------------------------------


def test_static_provider_returns_its_credentials() -> None:
    credentials = Credentials(KEY_ID, SECRET)
    provider: CredentialsProvider = StaticCredentialsProvider(credentials)

    assert provider.get() is credentials
    assert credentials.source == "static"
    assert credentials.security_token is None
