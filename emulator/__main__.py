"""Command line: serve a dataset folder, or run one command against it.

    python -m emulator --data demo/dolibarr [--api-key KEY] [--port 0] [--timezone Europe/Paris]
                       [--legacy] [--production] [--delay SECONDS] [-- COMMAND ARGS...]

With a command: start, export DOLIBARR_URL and DOLIBARR_API_KEY (and the write key) into
the command's environment, with .env and DOLIBARR_SNAPSHOT switched off, run it, stop,
and exit with its exit status (this is how `make demo` runs).
Without one: print the URL and serve until Ctrl-C.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from zoneinfo import ZoneInfoNotFoundError

from . import DatasetError, DolibarrEmulator


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    own, command = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.split("\n\n")[0],
                                     epilog="Anything after -- is a command to run against the emulator.")
    parser.add_argument("--data", required=True, help="dataset folder (invoices.json, thirdparties.json, ...)")
    parser.add_argument("--api-key", default="demo-key", help="the accepted DOLAPIKEY (default: demo-key)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--timezone", default="UTC", help="the server's PHP timezone (default: UTC)")
    parser.add_argument("--legacy", action="store_true", help="behave like Dolibarr <= 17 (404 on empty lists)")
    parser.add_argument("--production", action="store_true", help="API_PRODUCTION_MODE: compact JSON, no debug")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds slept per request")
    return parser.parse_args(own), command


def main(argv: list[str] | None = None) -> int:
    args, command = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        emulator = DolibarrEmulator(args.data, api_key=args.api_key, timezone=args.timezone,
                                    legacy=args.legacy, delay=args.delay, production=args.production)
    except (DatasetError, ZoneInfoNotFoundError, ValueError) as exc:
        print(f"error: cannot start the Dolibarr emulator: {exc}", file=sys.stderr)
        return 2
    url = emulator.start(args.port)
    try:
        if command:
            print(f"Dolibarr emulator on {url} serving {args.data}", file=sys.stderr)
            # The command reaches this emulator whatever .env or the shell say: no .env
            # (ENV_FILE empty), no saved snapshot, and the emulator's key for writes too.
            env = dict(os.environ, DOLIBARR_URL=url, DOLIBARR_API_KEY=args.api_key,
                       DOLIBARR_WRITE_API_KEY=args.api_key, DOLIBARR_SNAPSHOT="", ENV_FILE="")
            try:
                return subprocess.call(command, env=env)
            except OSError as exc:
                print(f"error: cannot run {command[0]!r}: {exc}", file=sys.stderr)
                return 127
        print(url, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 130
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
