"""`ecs-tasks`: the command-line tool.

`query WORDS...` takes exactly what a user types after `/ecs-tasks` in Slack. The dev-tooling commands
(`emulator`, `serve`, ...) import the emulators lazily, so the deployed package need not hold them.
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

    emulator = commands.add_parser("emulator", help="run the ECS API emulator (dev tooling)")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=9000)
    emulator.add_argument("--seed", help="JSON file of tasks (default: the bundled demo data)")
    emulator.set_defaults(run=_run_emulator)

    serve = commands.add_parser(
        "serve",
        help="serve the Function Compute HTTP handler locally (for Slack through a tunnel, or the Slack emulator)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument(
        "--fc-async",
        action="store_true",
        help="run lazy work through a local InvokeFunction endpoint, exactly as on Function Compute",
    )
    serve.set_defaults(run=_run_serve)

    poll = commands.add_parser("poll", help="run one poller tick now (what the timer trigger runs every minute)")
    poll.add_argument("--budget", type=float, default=50.0, help="seconds the tick may take (default 50)")
    poll.set_defaults(run=_run_poll)
    return parser


def _run_query(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from bot.grammar import HelpCommand, QueryCommand, UsageError, parse, usage_text
    from shared.config import load_settings
    from shared.errors import ConfigurationError, CredentialsNotFoundError, EcsApiError
    from shared.wiring import build_ecs_client

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


def _run_emulator(args: argparse.Namespace) -> int:
    from pathlib import Path

    from emulators.ecs import EcsEmulator

    emulator = EcsEmulator(seed_file=Path(args.seed) if args.seed else None)
    url = emulator.start(host=args.host, port=args.port)
    print(f"ECS emulator listening on {url} (set ECS_ENDPOINT={url})", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return EXIT_OK


def _run_poll(args: argparse.Namespace) -> int:
    from bot.poll_command import run_poll

    return run_poll(args)


def _run_serve(args: argparse.Namespace) -> int:
    import os

    from emulators.fc_server import FcServer
    from functions.http import handler
    from shared.credentials import DefaultCredentialsProvider

    server = FcServer(handler=handler)
    url = server.start(host=args.host, port=args.port)
    if args.fc_async:
        # The app is built on the first request, after these are set: it will invoke this server.
        creds = DefaultCredentialsProvider().get()
        server.credentials = {creds.access_key_id: creds.access_key_secret}
        os.environ.update(FC_FUNCTION_NAME=server.function_name, FC_ENDPOINT=url)
    print(f"ecs-tasks handler listening on {url} (Slack request URL: {url}/slack/events)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
