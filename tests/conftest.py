"""Shared fixtures: the real emulators on loopback ports, and the environment the handlers read."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from tests.paths import FIXTURES  # reference material copied into the repository: a clone has nothing beside it

SIGNING_SECRET = "test-signing-secret-8f2d41c9"
BOT_TOKEN = "xoxb-test-token-5531"
ACCESS_KEY_ID = "test-access-key-id"
ACCESS_KEY_SECRET = "test-access-key-secret-77a1"
SLACK_PATH = "/slack/events"

# The database servers' test URLs (tests/poller_support.py reads them); under pytest-xdist each worker
# gets its own database beside the named one, as the store tests empty the tables they use.
DATABASE_URL_VARIABLES = {
    "ECS_TASKS_TEST_POSTGRES_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "ECS_TASKS_TEST_MARIADB_URL": "mysql+pymysql://root@127.0.0.1:3306/test",
}
XDIST_WORKER_VARIABLE = "PYTEST_XDIST_WORKER"  # set by pytest-xdist in each worker: gw0, gw1, ...

# Property tests check behaviour, not speed (that is measured in bench/): no per-example deadline, which a
# machine busy with two workers or other jobs would turn into flaky failures. The example counts are kept.
settings.register_profile("ecs-tasks", deadline=None)
settings.load_profile("ecs-tasks")


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get(XDIST_WORKER_VARIABLE)
    if worker is None:
        return  # a serial run uses the databases as named
    for variable, default in DATABASE_URL_VARIABLES.items():
        os.environ[variable] = worker_database(os.environ.get(variable, default), worker)


def worker_database(url: str, worker: str) -> str:
    """`<url>_<worker>`, created on the server when missing; the URL is returned even when the server is
    down, so the database tests fail there as they would in a serial run."""
    import sqlalchemy
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if base.get_backend_name() == "postgresql":
                exists = connection.execute(
                    sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
                if exists is None:
                    connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
            else:
                connection.execute(sqlalchemy.text(f"CREATE DATABASE IF NOT EXISTS `{name}`"))
    except OperationalError:
        pass  # server down: the database tests report it
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def fixed_task(
    task_id: str,
    *,
    region: str = "cn-hangzhou",
    action: str = "ImportImage",
    status: str = "Finished",
    created: datetime,
    finished: datetime | None = None,
    resource_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A task whose status stays fixed, in the emulator's seed format."""
    seed: dict[str, Any] = {
        "TaskId": task_id,
        "RegionId": region,
        "TaskAction": action,
        "TaskStatus": status,
        "CreationTime": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }
    if finished is not None:
        seed["FinishedTime"] = finished.strftime("%Y-%m-%dT%H:%M:%SZ")
    if resource_id is not None:
        seed["ResourceId"] = resource_id
    return seed


# The emulator's two readings of DescribeTasks with no TaskStatus: the API page's (strict, the default) and a
# kinder, lenient one. Query tests run under both: `@pytest.mark.parametrize("ecs", LISTINGS, indirect=True)`.
LISTINGS = ("strict", "lenient")


@pytest.fixture
def ecs(request: pytest.FixtureRequest) -> Iterator[EcsEmulator]:
    # An explicit parameter wins; then a module's `ecs_listing` mark; then the API page's strict reading.
    marker = request.node.get_closest_marker("ecs_listing")
    listing = getattr(request, "param", marker.args[0] if marker else "strict")
    emulator = EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, listing=listing)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(bot_token=BOT_TOKEN)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def app_env(
    monkeypatch: pytest.MonkeyPatch, ecs: EcsEmulator, slack: SlackEmulator, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """The environment a deployed function would have, pointing at the emulators."""
    from functions import http

    env = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "ECS_ENDPOINT": ecs.base_url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        "ECS_TASKS_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "ECS_TASKS_DEFAULT_REGION": "cn-hangzhou",
    }
    for name in (
        "ALIBABA_CLOUD_SECURITY_TOKEN",
        "ECS_TASKS_ALLOWED_TEAM_IDS",
        "ECS_TASKS_ALLOWED_CHANNEL_IDS",
        "ECS_TASKS_REGIONS",
        "ECS_TASKS_CANCEL_USER_IDS",
        "FC_FUNCTION_NAME",
        "FC_ENDPOINT",
        "ECS_SIGNATURE_VERSION",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    http.reset_app()
    yield env
    http.reset_app()


@pytest.fixture
def fc(app_env: dict[str, str]) -> Iterator[FcServer]:
    from functions.http import handler, initialize

    server = FcServer(handler=handler, initializer=initialize, credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fc_async(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FcServer]:
    """Lazy work through async InvokeFunction, exactly as on Function Compute, each delivered twice
    (Function Compute delivers at least once)."""
    from functions.http import handler, initialize, reset_app

    server = FcServer(
        handler=handler, initializer=initialize, credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, duplicate_deliveries=2
    )
    url = server.start()
    monkeypatch.setenv("FC_FUNCTION_NAME", server.function_name)
    monkeypatch.setenv("FC_ENDPOINT", url)
    monkeypatch.setenv("FC_REGION", "cn-hangzhou")
    monkeypatch.setenv("FC_ACCOUNT_ID", "1234567890123456")
    reset_app()
    yield server
    server.stop()
    reset_app()


@pytest.fixture
def sender(fc: FcServer) -> SlackSender:
    return SlackSender(signing_secret=SIGNING_SECRET, target_url=fc.base_url + SLACK_PATH)


def fc3_reference_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / "fc3-events" / "http-trigger-event.json").read_text())
    return event


def minutes_ago(now: datetime, minutes: float) -> datetime:
    return now - timedelta(minutes=minutes)
