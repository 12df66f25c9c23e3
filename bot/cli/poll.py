"""`ecs-tasks poll`: one poller tick from a terminal, exactly as the timer trigger runs it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

EXIT_OK = 0
EXIT_FAILED = 1
DEFAULT_BUDGET_S = 50.0


def run_poll(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one tick with the environment's settings; prints the tick's report as JSON (to `out` and `err`, or
    the streams sys.stdout and sys.stderr are at the time of the call)."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    from sqlalchemy.exc import SQLAlchemyError

    from bot.wiring.build import build_poller
    from shared.config import load_settings
    from shared.errors import ConfigurationError, CredentialsNotFoundError
    from shared.log import configure_logging, redact

    configure_logging()
    try:
        poller = build_poller(load_settings())
        report = poller.tick(float(getattr(args, "budget", None) or DEFAULT_BUDGET_S))
    except (ConfigurationError, CredentialsNotFoundError) as error:
        print(f"ecs-tasks: {redact(str(error))}", file=err)
        return EXIT_FAILED
    except SQLAlchemyError as error:
        # The driver's text names the server and user: the type is enough to start from.
        print(f"ecs-tasks: ECS_TASKS_DATABASE_URL: the database cannot be used ({type(error).__name__})", file=err)
        return EXIT_FAILED
    # Throttled or failing regions are not a failure of the tick: their work is carried to the next one.
    json.dump(report.as_fields(), out, indent=2)
    out.write("\n")
    return EXIT_OK
