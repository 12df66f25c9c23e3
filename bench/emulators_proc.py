"""`python -m bench.emulators_proc [--watched N]`: the ECS and Slack emulators in a process of their own, so
their CPU is never counted as the measured client's.

Prints one line of JSON (`{"ecs_url", "slack_url", "slack_api_url"}`) once both listen, then serves until its
standard input closes (the benchmark that started it closes it, or exits). The ECS emulator holds its demo
seed plus `--watched` tasks for the poller benchmark, and accepts only the benchmark's credentials.
"""

from __future__ import annotations

import argparse
import json
import sys

from bench import scaling_seed, task_index
from bench.env import ACCESS_KEY_ID, ACCESS_KEY_SECRET, BOT_TOKEN
from emulators.ecs import EcsEmulator, load_seed
from emulators.slack import SlackEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.emulators_proc", description=__doc__)
    parser.add_argument("--watched", type=int, default=0, help="extra Processing tasks over 20 regions")
    args = parser.parse_args(argv)
    if args.watched:
        task_index.install()
    ecs = EcsEmulator(
        seed=load_seed() + scaling_seed.emulator_seed(args.watched),
        credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET},
    )
    slack = SlackEmulator(bot_token=BOT_TOKEN)
    ecs_url = ecs.start()
    slack_url = slack.start()
    print(json.dumps({"ecs_url": ecs_url, "slack_url": slack_url, "slack_api_url": slack.api_url}), flush=True)
    sys.stdin.read()  # returns at EOF: the parent is done (or gone)
    ecs.stop()
    slack.stop()


if __name__ == "__main__":
    main()
