"""Pass 2: audit the open Dolibarr invoices that no GoCardless payment explains.

    python stages/pass2.py --invoices interim/invoices_<FROM>_<TO>.parquet \
        --pass1 interim/pass1_<FROM>_<TO>.parquet --from FROM --to TO \
        --config config.yaml [--decisions decisions.yaml] --out interim/pass2_<FROM>_<TO>.parquet

Rules and the product choices are in recon/match_invoices.py.
"""
from __future__ import annotations

import argparse
import sys

from recon import decisions as decisions_file
from recon.errors import run
from recon.io import read_columns, write_parquet
from recon.match_common import add_window_arguments, window_and_settings
from recon.match_invoices import INVOICE_INPUT_COLUMNS, audit_invoices
from recon.schemas import INVOICES, PASS1, PASS2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", required=True, help="invoices Parquet (fetch_dolibarr)")
    parser.add_argument("--pass1", required=True, help="pass-1 Parquet")
    add_window_arguments(parser)
    decisions_file.add_argument(parser)
    parser.add_argument("--out", required=True, help="pass-2 Parquet to write")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    date_from, date_to, _ = window_and_settings(args)  # the settings are checked, not used
    decisions = decisions_file.load(args.decisions)
    invoices = read_columns(args.invoices, INVOICES, INVOICE_INPUT_COLUMNS)
    pass1 = read_columns(args.pass1, PASS1, ("flag", "invoice_id", "invoice_ref"))
    rows = audit_invoices(invoices, pass1, date_from, date_to, decisions)
    write_parquet(rows, args.out, PASS2)
    print(f"pass2: {rows.height} invoice rows -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    run(main)
