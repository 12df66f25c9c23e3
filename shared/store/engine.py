"""Engine creation and the default database location."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError

from shared.errors import ConfigurationError
from shared.store.sql_store import SqlStore

APP_NAME = "ecs-tasks"
CONNECT_TIMEOUT_S = 5


def default_database_url() -> str:
    """A SQLite file in the user's data directory: for local use and the demo only."""
    import platformdirs

    directory = Path(platformdirs.user_data_dir(APP_NAME))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'ecs-tasks.sqlite3'}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # pool_pre_ping: Function Compute freezes instances; a connection idle across a freeze may be dead.
    # connect_timeout (psycopg and PyMySQL alike): a security group that drops packets must fail in seconds,
    # well inside the function's timeout, not after the operating system's TCP timeout.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=8,
        pool_recycle=300,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )


def _sqlite_pragmas(connection: object, _record: object) -> None:
    # The driver's own transaction handling starts transactions late (at the first write) and not at all
    # for reads; SQLAlchemy's documented recipe: turn it off and begin explicitly (see _sqlite_begin).
    connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the poller and the bot (separate processes) read while one writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN (waiting up to busy_timeout), so a transaction never fails
    # half-way when it upgrades from reading to writing while another process writes.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_store(url: str | None = None) -> SqlStore:
    """Open (and create or upgrade, idempotently) the store at `url`, or the default SQLite file.

    A URL that cannot work (unknown dialect, driver not installed) is a ConfigurationError whose message
    leaves the URL out: it may hold a password.
    """
    try:
        engine = make_engine(url or default_database_url())
    except (ArgumentError, ImportError) as error:
        raise ConfigurationError(
            f"ECS_TASKS_DATABASE_URL cannot be used ({type(error).__name__}): check its scheme, e.g. "
            "postgresql+psycopg://… or mysql+pymysql://…, and that the package holds that driver.",
            setting="ECS_TASKS_DATABASE_URL",
        ) from None
    store = SqlStore(engine)
    store.migrate()
    return store
