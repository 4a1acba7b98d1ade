"""Pass 1: match GoCardless payments to Dolibarr invoices (rules in recon/match_payments.py).

    python stages/pass1.py --invoices interim/invoices_<FROM>_<TO>.parquet \
        --payments interim/gc_payments.parquet --from FROM --to TO \
        --config config.yaml [--decisions decisions.yaml] --out interim/pass1_<FROM>_<TO>.parquet
"""
from __future__ import annotations

import argparse
import sys

from recon import decisions as decisions_file
from recon.errors import run
from recon.io import read_columns, write_parquet
from recon.match_common import add_window_arguments, window_and_settings
from recon.match_payments import INVOICE_INPUT_COLUMNS, PAYMENT_INPUT_COLUMNS, match_payments
from recon.schemas import GC_PAYMENTS, INVOICES, PASS1


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", required=True, help="invoices Parquet (fetch_dolibarr)")
    parser.add_argument("--payments", required=True, help="GoCardless payments Parquet (parse_gc)")
    add_window_arguments(parser)
    decisions_file.add_argument(parser)
    parser.add_argument("--out", required=True, help="pass-1 Parquet to write")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    date_from, date_to, settings = window_and_settings(args)
    decisions = decisions_file.load(args.decisions)
    invoices = read_columns(args.invoices, INVOICES, INVOICE_INPUT_COLUMNS)
    payments = read_columns(args.payments, GC_PAYMENTS, PAYMENT_INPUT_COLUMNS)
    verdicts = match_payments(payments, invoices, settings, date_from, date_to, decisions)
    write_parquet(verdicts, args.out, PASS1)
    print(f"pass1: {verdicts.height} payment verdicts -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    run(main)
