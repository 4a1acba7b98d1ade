"""Pass 2: audit the open Dolibarr invoices that no GoCardless payment explains.

    python stages/pass2.py --invoices interim/invoices_<FROM>_<TO>.parquet \
        --pass1 interim/pass1_<FROM>_<TO>.parquet --bank interim/bank.parquet \
        --pass3 interim/pass3_<FROM>_<TO>.parquet --from FROM --to TO \
        --config config.yaml [--decisions decisions.yaml] --out interim/pass2_<FROM>_<TO>.parquet

The open invoices are matched to the customer transfers in the bank first; pass 3 says
which bank lines are payouts (never a customer's transfer). Rules and the product choices
are in recon/match_invoices.py and recon/match_transfers.py.
"""
from __future__ import annotations

import argparse
import sys

import polars as pl

from recon import decisions as decisions_file
from recon.errors import run
from recon.io import read_columns, scan_parquet, write_parquet
from recon.match_common import add_window_arguments, window_and_settings
from recon.match_invoices import INVOICE_INPUT_COLUMNS, audit_invoices
from recon.match_transfers import BANK_COLUMNS, receipts
from recon.schemas import BANK, INVOICES, PASS1, PASS2, PASS3


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", required=True, help="invoices Parquet (fetch_dolibarr)")
    parser.add_argument("--pass1", required=True, help="pass-1 Parquet")
    parser.add_argument("--bank", required=True, help="bank Parquet (parse_shine)")
    parser.add_argument("--pass3", required=True,
                        help="pass-3 Parquet: its bank lines are payouts, not transfers")
    add_window_arguments(parser)
    decisions_file.add_argument(parser)
    parser.add_argument("--out", required=True, help="pass-2 Parquet to write")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    date_from, date_to, settings = window_and_settings(args)
    decisions = decisions_file.load(args.decisions)
    invoices = read_columns(args.invoices, INVOICES, INVOICE_INPUT_COLUMNS)
    pass1 = read_columns(args.pass1, PASS1, ("flag", "invoice_id", "invoice_ref"))
    columns = {name: BANK[name] for name in BANK_COLUMNS}
    # Only the receipts are kept as the file is read (a third of the lines, less memory).
    bank = scan_parquet(args.bank, columns).filter(receipts(date_to)).collect()
    payout_lines = read_columns(args.pass3, PASS3, ("bank_transaction_id",))[
        "bank_transaction_id"].str.split(";").explode()
    rows = audit_invoices(invoices, pass1, date_from, date_to, decisions, bank=bank,
                          settings=settings, payout_bank_ids=payout_lines)
    write_parquet(rows, args.out, PASS2)
    transfers = rows.filter(pl.col("flag") == "PAID_BY_TRANSFER").height
    print(f"pass2: {rows.height} invoice rows ({transfers} paid by transfer) -> {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    run(main)
