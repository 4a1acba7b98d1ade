"""Expected failures and the one place that turns them into a clean exit.

An InputError is a problem with what the user gave us (a file, a value, a setting); it
is printed as one paragraph, without a traceback, and the stage exits non-zero. Anything
else is a bug and keeps its traceback.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable


class InputError(Exception):
    """Bad input: says which file, which line, which column, what was found and expected."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
        expected: str | None = None,
    ):
        self.file, self.line, self.column = file, line, column
        self.value, self.expected = value, expected
        where = []
        if file is not None:
            where.append(f"{file}")
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        text = ", ".join(where) + ": " if where else ""
        text += message.rstrip(".")
        if value is not None:
            text += f"; found {_quoted(value)}"
        if expected:
            text += f"; expected {expected}"
        super().__init__(text + ".")


def _quoted(value: object, limit: int = 200) -> str:
    """A value as quoted in a message; a huge one (a runaway field) cut, its size said."""
    shown = repr(value)
    if len(shown) <= limit:
        return shown
    return f"{shown[:limit]}… ({len(str(value)):,} characters)"


class StageError(Exception):
    """A failure outside the input files (network, remote server, configuration)."""


def os_error_text(exc: OSError) -> str:
    """'<path>: <reason>.' for an OSError the system raised on a file or folder."""
    reason = exc.strerror or type(exc).__name__
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(paths) + ": " if paths else ""
    return f"{where}{reason[0].lower() + reason[1:]} ({type(exc).__name__})."


def run(main: Callable[[], int | None]) -> None:
    """Call a stage's main(); expected errors become one line on stderr and exit status 2."""
    try:
        code = main()
    except (InputError, StageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:  # a file or folder the system refused: name it, no traceback
        print(f"error: {os_error_text(exc)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
