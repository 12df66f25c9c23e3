"""`ecs-tasks`: the command-line tool.

`query WORDS...` takes exactly what a user types after `/ecs-tasks` in Slack; `poll` runs one poller tick.
The dev-tooling commands (`serve`, `emulator`) are `ecs-tasks-dev`, in `tools/`, never deployed.
Exit status: 0 success, 1 API or credential error, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TextIO

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
CLI_COMMAND = "ecs-tasks query"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    code: int = args.run(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecs-tasks", description="Follow Alibaba Cloud ECS asynchronous tasks from a terminal or Slack."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    query = commands.add_parser(
        "query",
        help="list tasks: the same words as /ecs-tasks in Slack",
        description="Examples: `ecs-tasks query cn-hangzhou failed ImportImage`, "
        "`ecs-tasks query all processing`, `ecs-tasks query cn-shanghai failed since 2h`.",
    )
    query.add_argument("words", nargs="*", help="region, status, action, task ids, since/from/to")
    query.add_argument("--json", action="store_true", help="print a JSON array of tasks (API field names)")
    query.set_defaults(run=_run_query)

    poll = commands.add_parser("poll", help="run one poller tick now (what the timer trigger runs every minute)")
    poll.add_argument("--budget", type=float, default=50.0, help="seconds the tick may take (default 50)")
    poll.set_defaults(run=_run_poll)
    return parser


def _run_query(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from bot.compose import build_ecs_client
    from bot.grammar import HelpCommand, QueryCommand, UsageError, parse, usage_text
    from shared.config import load_settings
    from shared.errors import ConfigurationError, CredentialsNotFoundError, EcsApiError

    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(f"ecs-tasks: {error}", file=err)
        return EXIT_API_ERROR
    command = parse(" ".join(args.words), default_region=settings.default_region, now=datetime.now(timezone.utc))
    usage = usage_text(CLI_COMMAND, channel_commands=False).replace("*", "").replace("`", "")
    if isinstance(command, HelpCommand):
        print(usage, file=out)
        return EXIT_OK
    if isinstance(command, UsageError):
        print(f"ecs-tasks: {command.message}", file=err)
        print(usage.splitlines()[0], file=err)
        print(f"Run `{CLI_COMMAND} help` for every word and examples.", file=err)
        return EXIT_USAGE
    if not isinstance(command, QueryCommand):
        print(
            "ecs-tasks: watch, subscribe and list work in Slack, where there is a channel to post to.",
            file=err,
        )
        return EXIT_USAGE

    client = build_ecs_client(settings)
    try:
        result = client.query_all_pages(command.query, deadline=client.deadline(settings.ecs_deadline_s))
    except (CredentialsNotFoundError, EcsApiError) as error:
        print(f"ecs-tasks: {error}", file=err)
        return EXIT_API_ERROR
    from bot.table import format_task_table, newest_first

    tasks = newest_first(result.tasks)
    if args.json:
        json.dump([t.to_api_dict() for t in tasks], out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(format_task_table(tasks, now=datetime.now(timezone.utc)))
    for region in result.errors:
        print(f"ecs-tasks: {region.region_id}: {region.error}", file=err)
    return EXIT_API_ERROR if result.errors else EXIT_OK


def _run_poll(args: argparse.Namespace) -> int:
    from bot.poll_command import run_poll

    return run_poll(args)


if __name__ == "__main__":
    raise SystemExit(main())
