"""Run the Slack emulator in the foreground: `python -m emulators.slack --port 3001`."""

from __future__ import annotations

import argparse
import contextlib
import logging
from typing import cast

from emulators.slack.channels import CHANNEL_STATES, ChannelState
from emulators.slack.server import SlackEmulator


def _channel(spec: str) -> tuple[str, ChannelState]:
    channel_id, _, state = spec.partition("=")
    if state not in CHANNEL_STATES:
        raise argparse.ArgumentTypeError(f"expected CHANNEL=STATE with STATE in {sorted(CHANNEL_STATES)}")
    return channel_id, cast(ChannelState, state)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="xoxb-demo-token", help="the bot token clients must present")
    parser.add_argument("--channel", type=_channel, action="append", default=[], metavar="CHANNEL=STATE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    emulator = SlackEmulator(bot_token=args.token, channels=dict(args.channel))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the demo stops it
        emulator.serve_forever(args.host, args.port, ready=_announce)


def _announce(base_url: str) -> None:
    print(f"Slack emulator: Web API at {base_url}/api/  (inspection at {base_url}/_emulator/)", flush=True)


if __name__ == "__main__":
    main()
