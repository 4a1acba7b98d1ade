"""Pass 3: match GoCardless payouts to Shine bank credits and check each payout's fees.

    python stages/pass3.py --payouts interim/gc_payouts.parquet \
        --payout-items interim/gc_payout_items.parquet --payments interim/gc_payments.parquet \
        --bank interim/bank.parquet --from FROM --to TO --config config.yaml \
        [--decisions decisions.yaml] \
        --out interim/pass3_<FROM>_<TO>.parquet

One output file: one row per payout, plus one row per GoCardless-looking bank credit no
payout explains (flag BANK_CREDIT_UNMATCHED, payout columns null). Rules in
recon/match_payouts.py. It does not read pass 1, so it runs beside it.
"""
from __future__ import annotations

import argparse
import sys

from recon import decisions as decisions_file
from recon.errors import run
from recon.io import read_columns, read_parquet, scan_parquet, write_parquet
from recon.match_common import add_window_arguments, window_and_settings
from recon.match_payouts import (BANK_COLUMNS, BREAKDOWN_LINE, ITEM_COLUMNS, PAYMENT_COLUMNS,
                                 match_payouts)
from recon.schemas import BANK, GC_PAYMENTS, GC_PAYOUT_ITEMS, GC_PAYOUTS, PASS3


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payouts", required=True, help="GoCardless payouts Parquet")
    parser.add_argument("--payout-items", required=True,
                        help="payout breakdown Parquet (may be empty)")
    parser.add_argument("--payments", required=True, help="GoCardless payments Parquet")
    parser.add_argument("--bank", required=True, help="Shine bank lines Parquet")
    add_window_arguments(parser)
    decisions_file.add_argument(parser)
    parser.add_argument("--out", required=True, help="pass-3 Parquet to write")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    date_from, date_to, settings = window_and_settings(args)
    decisions = decisions_file.load(args.decisions)
    rows = match_payouts(
        payouts=read_parquet(args.payouts, GC_PAYOUTS),
        items=scan_parquet(args.payout_items, {c: GC_PAYOUT_ITEMS[c] for c in ITEM_COLUMNS})
        .filter(BREAKDOWN_LINE).collect(),
        payments=read_columns(args.payments, GC_PAYMENTS, PAYMENT_COLUMNS),
        bank=read_columns(args.bank, BANK, BANK_COLUMNS),
        settings=settings, date_from=date_from, date_to=date_to, decisions=decisions,
    )
    write_parquet(rows, args.out, PASS3)
    print(f"pass3: {rows.height} payout and bank rows -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    run(main)
