"""`ecs-tasks-dev`: dev tooling on the command line, never deployed.

`serve` runs the Function Compute handler behind a local HTTP server (the Function Compute stand-in), for
the Slack emulator or a real workspace through a tunnel; `emulator` runs the ECS emulator on the demo data.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK = 0
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    code: int = args.run(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecs-tasks-dev", description="ecs-tasks dev tooling (never deployed).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    emulator = commands.add_parser("emulator", help="run the ECS API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=9000)
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
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
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
    url = emulator.start(host=args.host, port=args.port)
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
    from functions.http import handler
    from shared.ecs.credentials import DefaultCredentialsProvider

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
