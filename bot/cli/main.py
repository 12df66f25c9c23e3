"""`ecs-tasks`: the command-line tool.

`query WORDS...` takes exactly what a user types after `/ecs-tasks` in Slack; `poll` runs one poller tick;
`doctor` checks the deployment.
The dev-tooling commands (`serve`, `emulator`) are `ecs-tasks-dev`, in `tools/`, never deployed.
Exit status: 0 success, 1 API, credential or configuration error, 2 usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TextIO

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
PROG = "ecs-tasks"
CLI_COMMAND = "ecs-tasks query"

_CREDENTIALS_ENV = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN, "
    "ALIBABA_CLOUD_PROFILE (else ~/.aliyun/config.json); with the `cli` extra, the official chain's every "
    "source (OIDC, RamRoleArn, EcsRamRole, CloudSSO, ALIBABA_CLOUD_CREDENTIALS_URI, ...)"
)
QUERY_ENV = (
    ("ECS_ENDPOINT", "ECS API base URL (default: https://ecs.REGION.aliyuncs.com)"),
    ("ECS_SIGNATURE_VERSION", "v1 or v3 (default v3)"),
    ("ECS_TASKS_DEFAULT_REGION", "the region used when none is named"),
    ("ECS_TASKS_REGIONS", "comma-separated regions that may be queried; `all` means these"),
    ("ECS_TASKS_ECS_DEADLINE", "seconds a query may take in all (default 20)"),
    ("ALIBABA_CLOUD_*", _CREDENTIALS_ENV),
)
POLL_ENV = (
    *QUERY_ENV,
    ("ECS_TASKS_DATABASE_URL", "the store of watches and subscriptions (default: a local SQLite file)"),
    ("ECS_TASKS_WATCH_TTL", "how long a watch lasts, e.g. 7d (default 7d)"),
    ("SLACK_BOT_TOKEN", "the bot token the poller posts with"),
    ("SLACK_API_URL", "Slack API base URL (default https://slack.com/api/)"),
    ("ECS_TASKS_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR (default INFO)"),
)
# Words that are channel commands in Slack: the CLI has no channel to post to.
_SLACK_ONLY = ("watch", "unwatch", "subscribe", "unsubscribe", "list")


def environment_epilog(variables: Sequence[tuple[str, str]]) -> str:
    """The `--help` section that names every environment variable a command reads."""
    width = max(len(name) for name, _ in variables)
    return "environment variables:\n" + "\n".join(f"  {name.ljust(width)}  {what}" for name, what in variables)


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
        prog=PROG, description="Follow Alibaba Cloud ECS asynchronous tasks from a terminal or Slack."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    query = commands.add_parser(
        "query",
        help="list tasks: the same words as /ecs-tasks in Slack",
        description="List tasks with the words of /ecs-tasks in Slack. Examples: "
        "`ecs-tasks query cn-hangzhou failed ImportImage`, `ecs-tasks query all processing`, "
        "`ecs-tasks query cn-shanghai failed since 2h`. `ecs-tasks query help` lists every word. "
        "watch, subscribe and list work in Slack only.",
        epilog=environment_epilog(QUERY_ENV),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    query.add_argument(
        "words", nargs="*", metavar="WORDS", help="region, status, action, task ids, since/from/to, page N"
    )
    query.add_argument("--json", action="store_true", help="print a JSON array of tasks (API field names)")
    query.set_defaults(run=_run_query)

    poll = commands.add_parser(
        "poll",
        help="run one poller tick now (what the timer trigger runs every minute)",
        description="Run one poller tick, as the timer trigger does, and print its report as JSON.",
        epilog=environment_epilog(POLL_ENV),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    poll.add_argument("--budget", type=float, default=50.0, help="seconds the tick may take (default 50)")
    poll.set_defaults(run=_run_poll)

    doctor = commands.add_parser(
        "doctor",
        help="check the deployment: settings, Slack token and scopes, database, accounts, STS",
        description="Check the deployment with this environment's settings, one line per check (✅ or ❌, with "
        "what to fix). Exit status 0 when every check passes, 1 when any fails. No secret is shown.",
        epilog=environment_epilog((*POLL_ENV, ("SLACK_SIGNING_SECRET", "checked to be present"))),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    doctor.set_defaults(run=_run_doctor)
    return parser


def terminal_text(message: str) -> str:
    """A message written for Slack mrkdwn, for a terminal: entities back to characters, credentials masked."""
    from shared.log import redact

    plain = message.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return redact(plain)


def _run_query(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    # The streams of the time of the call (a default argument would keep those of the time of import).
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    from bot.language.grammar import HelpCommand, QueryCommand, UsageError, parse, usage_text
    from bot.language.regions import accepted_regions
    from bot.wiring.build import build_ecs_client
    from shared.config import load_settings
    from shared.errors import ConfigurationError, CredentialsNotFoundError, EcsApiError

    def fail(message: str, code: int) -> int:
        print(f"{PROG}: {terminal_text(message)}", file=err)
        return code

    first = args.words[0].lower() if args.words else ""
    if first in _SLACK_ONLY:
        message = f"`{first}` works in Slack (/ecs-tasks {first} …), where there is a channel to post to."
        return fail(message, EXIT_USAGE)
    try:
        settings = load_settings()
    except ConfigurationError as error:
        return fail(str(error), EXIT_API_ERROR)
    known = accepted_regions(settings.allowed_regions)
    now = datetime.now(timezone.utc)
    command = parse(" ".join(args.words), default_region=settings.default_region, now=now, known_regions=known)
    usage = usage_text(CLI_COMMAND, channel_commands=False).replace("*", "").replace("`", "")
    if isinstance(command, HelpCommand):
        print(usage, file=out)
        return EXIT_OK
    if isinstance(command, UsageError):
        fail(command.message, EXIT_USAGE)
        print(usage.splitlines()[0], file=err)
        print(f"Run `{CLI_COMMAND} help` for every word and examples.", file=err)
        return EXIT_USAGE
    if not isinstance(command, QueryCommand):
        return fail("watch, subscribe and list work in Slack, where there is a channel to post to.", EXIT_USAGE)

    query = command.query
    if query.all_regions and settings.allowed_regions:
        query = dataclasses.replace(query, regions=tuple(sorted(settings.allowed_regions)))
    try:
        from bot.cli.credentials import cli_credentials

        client = build_ecs_client(settings, credentials=cli_credentials())
        result = client.query_all_pages(query, deadline=client.deadline(settings.ecs_deadline_s))
    except (CredentialsNotFoundError, EcsApiError, ConfigurationError) as error:
        return fail(str(error), EXIT_API_ERROR)
    from bot.cli.table import format_task_table, newest_first

    failed = {region.region_id for region in result.errors}
    answered = [region for region in result.regions if region.region_id not in failed]
    # Tasks only when some region answered: an empty table would claim that nothing matches.
    if answered:
        tasks = newest_first(result.tasks)
        if args.json:
            json.dump([t.to_api_dict() for t in tasks], out, indent=2, ensure_ascii=False)
            out.write("\n")
        else:
            out.write(format_task_table(tasks, now=datetime.now(timezone.utc)))
    for region in result.errors:
        print(f"{PROG}: {region.region_id} failed: {terminal_text(str(region.error))}", file=err)
    if result.errors and answered:
        shown = ", ".join(sorted(r.region_id for r in answered))
        print(f"{PROG}: the tasks above are from {shown} only.", file=err)
    return EXIT_API_ERROR if result.errors else EXIT_OK


def _run_doctor(args: argparse.Namespace) -> int:
    from bot.cli.doctor import run_doctor_command

    return run_doctor_command(args)


def _run_poll(args: argparse.Namespace) -> int:
    from bot.cli.poll import run_poll

    return run_poll(args)


if __name__ == "__main__":
    raise SystemExit(main())
