"""Before `make report`: is the window's Dolibarr snapshot still good enough to reuse?

Dolibarr changes outside this tool (a payment recorded by hand in its screens). The
snapshot is fetched again when it is older than `dolibarr.max_age_minutes`, when one of its
files was deleted, or when a file no longer matches the SHA-256 meta.json recorded. This
script only marks it so (it writes the current time into --expire-stamp, a prerequisite of
the invoices Parquet); the fetch itself replaces the snapshot only once the new one is
complete, so a Dolibarr that is down leaves the previous snapshot in place. A saved
snapshot (DOLIBARR_SNAPSHOT) is never refetched; its age is in the summary.

Usage: snapshot_age.py --config config.yaml --snapshot-dir raw/dolibarr/<W>
                       --invoices interim/invoices_<W>.parquet --expire-stamp <stamp>
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from recon import config as config_module
from recon.errors import run
from recon.stamps import sha256_of  # standard library only: no polars before a report

META_FILE = "meta.json"


def stale_reason(folder: Path, invoices: Path, max_age_minutes: float,
                 now: datetime | None = None) -> str | None:
    """Why the snapshot must be fetched again, or None when it may be reused."""
    if not invoices.exists():
        return None  # Make fetches it anyway
    meta_path = folder / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{meta_path} is missing or unreadable"
    built = invoices.stat().st_mtime
    for name, expected in (meta.get("sha256") or {}).items():
        path = folder / name
        if not path.is_file():
            return f"{path} was deleted"
        if path.stat().st_mtime > built and sha256_of(path) != expected:
            return f"{path} was changed since it was fetched"
    try:
        fetched = datetime.fromisoformat(meta["fetched_at"])
    except (KeyError, TypeError, ValueError):
        return f"{meta_path} does not say when it was fetched"
    age = ((now or datetime.now(timezone.utc)) - fetched).total_seconds() / 60
    if age > max_age_minutes:
        return (f"it was fetched {age:.0f} minutes ago, more than dolibarr.max_age_minutes "
                f"({max_age_minutes:g})")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="config.yaml (dolibarr.max_age_minutes)")
    parser.add_argument("--snapshot-dir", required=True, type=Path)
    parser.add_argument("--invoices", required=True, type=Path)
    parser.add_argument("--expire-stamp", required=True, type=Path)
    args = parser.parse_args(argv)
    config = config_module.load(args.config)  # also fills the environment from .env
    if os.environ.get("DOLIBARR_SNAPSHOT", "").strip():
        return 0
    reason = stale_reason(args.snapshot_dir, args.invoices,
                          config["dolibarr"]["max_age_minutes"])
    if reason:
        print(f"notice: the Dolibarr snapshot {args.snapshot_dir} is fetched again: {reason}",
              file=sys.stderr)
        args.expire_stamp.parent.mkdir(parents=True, exist_ok=True)
        args.expire_stamp.write_text(datetime.now(timezone.utc).isoformat() + "\n")
    return 0


if __name__ == "__main__":
    run(main)
