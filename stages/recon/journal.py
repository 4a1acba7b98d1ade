"""The fix stage's journal: an append-only JSON-lines record of every write to Dolibarr.

Dolibarr has no idempotency (API_FACTS.md §7), so the journal is what lets a rerun know
what a crashed run was doing. Before each POST an `intent` line is written and flushed to
disk; after it a `result` line carrying the same attempt id. An intent whose last result
is missing (the process died between the two) or `unknown` (the connection was lost after
the request left) is *unresolved*: the next run settles it by reading the invoice's
payments (or, for a payout's line in clearing mode, marked by a `booking` field, the
clearing account's lines for that payout), never by posting again blindly.

Lines hold ids, amounts and messages only, never a key or a URL.
"""
from __future__ import annotations

import fcntl
import json
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from recon.errors import InputError, StageError

INTENT, RESULT = "intent", "result"

# Outcomes a result line may carry.
RECORDED = "recorded"  # the POST answered with a payment id
FOUND_ON_REREAD = "found on re-read"  # outcome was unknown; the payment is in Dolibarr
NOT_RECORDED = "not recorded"  # outcome was unknown; the payment is not in Dolibarr
ERROR = "error"  # the server refused the POST (rolled back: nothing recorded)
UNKNOWN = "unknown"  # the request may or may not have been recorded
OUTCOMES = (RECORDED, FOUND_ON_REREAD, NOT_RECORDED, ERROR, UNKNOWN)


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Journal:
    """One journal file: append intents and results, read them back, find unresolved ones."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def intent(self, **fields) -> str:
        """Write an intent line (flushed to disk before returning); return its attempt id."""
        attempt = uuid.uuid4().hex[:16]
        self.append({"event": INTENT, "attempt": attempt, "at": now_utc(), **fields})
        return attempt

    def result(self, attempt: str, outcome: str, **fields) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown journal outcome {outcome!r}")
        self.append({"event": RESULT, "attempt": attempt, "at": now_utc(),
                     "outcome": outcome, **fields})

    def append(self, record: dict) -> None:
        """Append one line and fsync it: an intent must be on disk before the POST leaves."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        with open(self.path, "a+b") as handle:
            if _ends_without_newline(handle):
                line = "\n" + line  # a torn last line from a killed run stays on its own
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())

    def unresolved(self) -> list[dict]:
        """Intents whose last result is missing or `unknown`, in the order they were written."""
        return unresolved_intents(read_records(self.path))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock for a whole run, so two `make fix` never interleave."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StageError(
                    f"{self.path} is locked: another `make fix` is running; wait for it to end"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _ends_without_newline(handle) -> bool:
    handle.seek(0, os.SEEK_END)
    if handle.tell() == 0:
        return False
    handle.seek(-1, os.SEEK_END)
    return handle.read(1) != b"\n"


def read_records(path: str | Path) -> list[dict]:
    """Every record of the journal (none if it does not exist yet).

    A line cut short (starts like a record, is not complete JSON) is what a kill during a
    write leaves, and the next append puts its line after it. Skipping it is safe: a torn
    intent was never followed by its POST (intents are on disk before the POST leaves),
    and a torn result leaves its intent unresolved, so it is settled by reading. Any other
    unreadable line is an error.
    """
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if line.lstrip().startswith("{"):
                continue  # torn by a kill: see above
            raise InputError("not a journal record", file=path, line=number,
                             value=line[:80], expected="one JSON object per line") from None
        if not isinstance(record, dict) or record.get("event") not in (INTENT, RESULT) \
                or not record.get("attempt"):
            raise InputError("not a journal record", file=path, line=number, value=line[:80],
                             expected='an object with "event" (intent or result) and "attempt"')
        records.append(record)
    return records


def unresolved_intents(records: list[dict]) -> list[dict]:
    """Intents without a result, or whose last result is `unknown`."""
    last_outcome: dict[str, str | None] = {}
    intents = []
    for record in records:
        if record["event"] == INTENT:
            intents.append(record)
            last_outcome.setdefault(record["attempt"], None)
        else:
            last_outcome[record["attempt"]] = record.get("outcome")
    return [i for i in intents if last_outcome[i["attempt"]] in (None, UNKNOWN)]
