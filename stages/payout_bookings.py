"""Stage payout_bookings (clearing mode): is each payout of the window booked in Dolibarr?

Run by every `make report` after the summary (the clearing account may be set in
config.yaml, the environment or .env); silent, and as quick as reading the config, when
`fix.clearing_account_id` is not set. For each payout that reached the bank (PAYOUT_MATCHED) it reads the clearing account's
lines live, as `make fix` would before writing (recon.payout_writes.PayoutWriter.preview,
counting the payments `make fix` would record first), and says: booked, to book (what
`make fix` would post), left for a person (why), or differs (an amount in Dolibarr is not
the plan's). Writes nothing to Dolibarr; the table goes to --out as CSV. With
DOLIBARR_SNAPSHOT (offline) it says that it did not check.

Usage: payout_bookings.py --pass1 P1 --pass3 P3 --payments GC --payout-items ITEMS
                          --config config.yaml --out tmp/payout_bookings_<W>.csv
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from recon import config as config_module
from recon.errors import run
from recon.fix_settings import fix_settings


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, text in (("--pass1", "pass-1 Parquet"), ("--pass3", "pass-3 Parquet"),
                       ("--payments", "gc_payments Parquet"), ("--payout-items", "gc_payout_items Parquet"),
                       ("--config", "config.yaml"), ("--out", "the CSV to write")):
        parser.add_argument(name, required=True, help=text)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    config = config_module.load(args.config)
    settings = fix_settings(config, args.config)
    if not settings.clearing_account_id:
        return 0
    if os.environ.get("DOLIBARR_SNAPSHOT", "").strip():
        print("Payouts in Dolibarr: not checked (DOLIBARR_SNAPSHOT: offline).")
        return 0
    # Only now: polars and the client are what a report without clearing mode must not pay.
    from recon.io import write_text
    from recon.payout_status import payout_status, summary_lines
    table = payout_status(config, settings, args.pass1, args.pass3, args.payments,
                          args.payout_items)
    write_text(table.write_csv(), Path(args.out))
    print("\n".join(summary_lines(table, settings.clearing_account_id)))
    return 0


if __name__ == "__main__":
    run(main)
