"""`ecs-tasks doctor [--json]`: the deployment's checks with the settings of this environment (the deployed
ones, when run with the function's variables). Exit status 0 when every check passes, 1 when any fails."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

EXIT_OK = 0
EXIT_FAILED = 1


def run_doctor_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from bot.usecases.doctor import report_json, report_text, settings_failed
    from bot.wiring.build import run_doctor
    from shared.config import load_settings
    from shared.errors import ConfigurationError
    from shared.health import all_passed
    from shared.log import redact

    try:
        checks = run_doctor(load_settings())
    except ConfigurationError as error:
        checks = settings_failed(str(error))
    text = report_json(checks) if args.json else report_text(checks)
    print(redact(text), file=out or sys.stdout)  # masks any registered secret a message might carry
    return EXIT_OK if all_passed(checks) else EXIT_FAILED
