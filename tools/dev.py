"""`ecs-tasks-dev`: dev tooling on the command line, never deployed.

`serve` runs the Function Compute handler behind a local HTTP server (the Function Compute stand-in), for
the Slack emulator or a real workspace through a tunnel; `emulator` runs the ECS emulator on the demo data.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.cli.main import POLL_ENV, environment_epilog

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
PROG = "ecs-tasks-dev"

SERVE_ENV = (
    ("SLACK_SIGNING_SECRET", "verifies Slack's requests"),
    *POLL_ENV,
    ("ECS_TASKS_ALLOWED_TEAM_IDS", "comma-separated Slack workspaces that may use the bot"),
    ("ECS_TASKS_ALLOWED_CHANNEL_IDS", "comma-separated channels that may use the bot"),
    ("ECS_TASKS_CANCEL_USER_IDS", "comma-separated Slack users who may cancel tasks"),
)
EMULATOR_ENV = (("(none)", "the emulator reads no environment variable; --seed chooses its tasks"),)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    code: int = args.run(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="ecs-tasks dev tooling (never deployed).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    emulator = commands.add_parser(
        "emulator",
        help="run the ECS API emulator",
        description="Run the ECS API emulator on the demo data (or --seed), until Ctrl-C.",
        epilog=environment_epilog(EMULATOR_ENV),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=9000, help="port to listen on (default 9000)")
    emulator.add_argument("--seed", help="JSON file of tasks (default: the bundled demo data)")
    emulator.add_argument(
        "--listing",
        choices=("strict", "lenient"),
        default=None,
        help="DescribeTasks with no TaskStatus: strict (as the API page says; default) or lenient (lists every "
        "task); env ECS_EMULATOR_LISTING",
    )
    emulator.set_defaults(run=_run_emulator)

    serve = commands.add_parser(
        "serve",
        help="serve the Function Compute HTTP handler locally (for Slack through a tunnel, or the Slack emulator)",
        description="Serve the Function Compute HTTP handler on a local port, until Ctrl-C.",
        epilog=environment_epilog(SERVE_ENV),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    serve.add_argument(
        "--fc-async",
        action="store_true",
        help="run deferred work through a local InvokeFunction endpoint, exactly as on Function Compute",
    )
    serve.set_defaults(run=_run_serve)
    return parser


def _run_emulator(args: argparse.Namespace) -> int:
    from emulators.ecs import EcsEmulator

    emulator = EcsEmulator(seed_file=Path(args.seed) if args.seed else None, listing=args.listing)
    url = _listen(lambda: emulator.start(host=args.host, port=args.port), args.port)
    if url is None:
        return EXIT_FAILED
    print(f"ECS emulator listening on {url} (set ECS_ENDPOINT={url})", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return EXIT_OK


def _run_serve(args: argparse.Namespace) -> int:
    from emulators.fc_server import FcServer
    from functions.http import handler, initialize
    from shared.ecs.credentials import DefaultCredentialsProvider

    server = FcServer(handler=handler, initializer=initialize)
    url = _listen(lambda: server.start(host=args.host, port=args.port), args.port)
    if url is None:
        return EXIT_FAILED
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


def _listen(start: Callable[[], str], port: int) -> str | None:
    """The server's URL; None, after one line on stderr, when the port cannot be had."""
    try:
        return start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            print(f"{PROG}: port {port} is in use; choose another with --port", file=sys.stderr)
        elif error.errno == errno.EACCES:
            print(f"{PROG}: port {port} needs privileges; choose another with --port", file=sys.stderr)
        else:
            print(f"{PROG}: cannot listen on port {port}: {error.strerror}", file=sys.stderr)
        return None


if __name__ == "__main__":
    raise SystemExit(main())
