"""`python -m emulators.ecs --port 8780`: run the emulator with the demo seed until Ctrl-C."""

from __future__ import annotations

import argparse

from emulators.ecs.server import EcsEmulator


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.ecs", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    emulator = EcsEmulator()
    print(emulator.start(args.host, args.port), flush=True)
    emulator.serve_forever()


if __name__ == "__main__":
    main()
