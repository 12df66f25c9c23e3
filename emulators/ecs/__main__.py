"""`python -m emulators.ecs --port 8780`: run the emulator with the demo seed until Ctrl-C."""

from __future__ import annotations

import argparse

from emulators.ecs.actions import LISTINGS
from emulators.ecs.server import LISTING_ENV, EcsEmulator


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.ecs", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--listing",
        choices=LISTINGS,
        default=None,
        help=f"DescribeTasks with no TaskStatus: strict (the API page, default) or lenient; env {LISTING_ENV}",
    )
    args = parser.parse_args()
    emulator = EcsEmulator(listing=args.listing)
    print(emulator.start(args.host, args.port), flush=True)
    emulator.serve_forever()


if __name__ == "__main__":
    main()
