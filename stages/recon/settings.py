"""Where a setting comes from: command line > environment > .env > config.yaml.

Make passes command-line variables on to the stages through the environment, so a stage
sees those two merged; `.env` only fills in what is still unset, never overrides. `.env` is
read here, by the stages, not by Make (a file included by Make would override the
environment). ENV_FILE names it (default `.env` in the current folder; empty: no file, as
the emulator wrapper runs). Standard library only: Make runs this file with the system
Python to learn the effective values it stamps (`python3 stages/recon/settings.py …`).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ENV_FILE_VARIABLE = "ENV_FILE"
LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


class DotenvError(ValueError):
    """A .env file that cannot be read or a line that is not NAME=value."""


def env_file() -> Path | None:
    name = os.environ.get(ENV_FILE_VARIABLE, ".env")
    return Path(name) if name.strip() else None


def parse_dotenv(path: Path) -> dict[str, str]:
    """NAME=value lines; `export NAME=value`, blank lines and # comments allowed; values
    may be quoted ("…" or '…', as users write them) and an unquoted value ends at ` #`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DotenvError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = LINE.match(line)
        if not match:
            raise DotenvError(f"{path}, line {number}: not a NAME=value line (the line is "
                              "not quoted here, as it may hold a key)")
        values[match.group(1)] = _unquote(match.group(2))
    return values


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return re.sub(r"\s+#.*$", "", raw)


# Names this process took from .env (to say where a setting came from).
FROM_DOTENV: set[str] = set()


def apply_dotenv(environ=None) -> dict[str, str]:
    """Fill the environment's unset (or empty) variables from .env; returns what it set."""
    environ = os.environ if environ is None else environ
    path = env_file()
    if path is None or not path.exists():
        return {}
    filled = {name: value for name, value in parse_dotenv(path).items()
              if not environ.get(name, "").strip()}
    environ.update(filled)
    FROM_DOTENV.update(filled)
    return filled


def origin(name: str) -> str:
    """Where a variable's value came from, as a user would say it."""
    if name in FROM_DOTENV:
        return f"{name} from {env_file()}"
    return f"{name} from the command line or environment"


def effective(names: list[str], given: dict[str, str]) -> dict[str, str]:
    """The value each name takes: the one Make was given (command line or environment),
    else .env's."""
    path = env_file()
    dotenv = parse_dotenv(path) if path is not None and path.exists() else {}
    return {n: given.get(n, "").strip() or dotenv.get(n, "") for n in names}


if __name__ == "__main__":
    # settings.py NAME=value …: prints the effective values, one per line (Make's stamps).
    pairs = dict(arg.split("=", 1) for arg in sys.argv[1:])
    try:
        print("\n".join(effective(list(pairs), pairs).values()))
    except DotenvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
