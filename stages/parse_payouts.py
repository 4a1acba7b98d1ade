"""Stage parse_payouts: GoCardless payouts export(s) -> gc_payouts and gc_payout_items Parquet.

Reads every *.csv of --input-dir and keeps the payouts exports and the optional payout
breakdown ("transactions") exports, recognised by their header (the payments export beside
them belongs to parse_gc; any other file is an error). One row per payout id, and one row
per breakdown item, the export with the latest dates winning. Without a breakdown export
the items table is empty, with its full schema. See recon.schemas.GC_PAYOUTS and
GC_PAYOUT_ITEMS.

Usage: parse_payouts.py --input-dir raw/gocardless --out interim/gc_payouts.parquet
                        --items-out interim/gc_payout_items.parquet
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from recon import csvread
from recon.csvread import GC_BREAKDOWN_EXPORT, GC_PAYOUTS_EXPORT, GOCARDLESS_KINDS, Export, Field
from recon.errors import run
from recon.io import atomic_path, write_parquet
from recon.schemas import GC_PAYOUT_ITEMS, GC_PAYOUTS

PAYOUT_STATUSES = ("pending", "paid", "bounced")

PAYOUT_FIELDS = {
    "payout_id": Field("id", required=True),
    "amount_cents": Field("amount", "amount", required=True),
    "currency": Field("currency", required=True),
    "created_at": Field("created_at", "timestamp", required=True),
    "reference": Field("reference"),
    "status": Field("status", required=True, allowed=PAYOUT_STATUSES),
    "arrival_date": Field("arrival_date", "date"),  # empty while pending
    "transaction_fee_debit_cents": Field("transaction_fee_debit", "amount"),
    "transaction_fee_credit_cents": Field("transaction_fee_credit", "amount"),
    "app_fee_debit_cents": Field("app_fee_debit", "amount"),
    "app_fee_credit_cents": Field("app_fee_credit", "amount"),
    "total_payment_amount_cents": Field("total_payment_amount", "amount"),
}

ITEM_FIELDS = {
    "payout_id": Field("payouts.id", required=True),
    "resource_type": Field("resources.type", required=True),
    "gc_payment_id": Field("payments.id"),
    "refund_id": Field("refunds.id"),
    "description": Field("resources.description"),
    "charge_date": Field("resources.charge_date", "date"),  # empty on refund rows
    "status": Field("resources.status"),
    "gross_cents": Field("gross_amount", "amount", required=True),
    "net_cents": Field("net_amount", "amount", required=True),
    "currency": Field("currency", required=True),
}
# A payment may be credited in one payout and debited (charged back) in a later one, so an
# item is a payment or refund *in a payout*, in one direction.
ITEM_KEY = ["payout_id", "resource_type", "gc_payment_id", "refund_id", "item_direction"]


def read_payouts(export: Export) -> pl.DataFrame:
    return csvread.read_fields(export, PAYOUT_FIELDS)


def read_items(export: Export) -> pl.DataFrame:
    df = csvread.read_fields(export, ITEM_FIELDS)
    # The sign of the fee column is undocumented (FORMATS.md §3): the fee is gross - net.
    return df.with_columns(
        (pl.col("gross_cents") - pl.col("net_cents")).alias("fees_cents"),
        pl.when(pl.col("gross_cents") < 0).then(pl.lit("debit")).otherwise(pl.lit("credit"))
        .alias("item_direction"))


def parse_payouts(input_dir: str | Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every payouts and breakdown export of the folder -> (payouts, payout items)."""
    found = csvread.exports_in(input_dir, (GC_PAYOUTS_EXPORT, GC_BREAKDOWN_EXPORT),
                               GOCARDLESS_KINDS)
    payouts = csvread.read_all(found[GC_PAYOUTS_EXPORT.key], read_payouts, ["payout_id"],
                               "payout", GC_PAYOUTS,
                               f"{input_dir}: no GoCardless payouts export found; "
                               "the payouts table will be empty")
    items = csvread.read_all(found[GC_BREAKDOWN_EXPORT.key], read_items, ITEM_KEY,
                             "payout item", GC_PAYOUT_ITEMS,
                             f"{input_dir}: no payout breakdown export (optional); "
                             "the payout items table will be empty")
    return payouts, items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Parse GoCardless payouts (and payout breakdown) exports into Parquet.")
    parser.add_argument("--input-dir", required=True, type=Path,
                        help="folder of GoCardless CSV exports (recognised by header)")
    parser.add_argument("--out", required=True, type=Path, help="payouts Parquet file to write")
    parser.add_argument("--items-out", required=True, type=Path,
                        help="payout items (breakdown) Parquet file to write")
    args = parser.parse_args(argv)
    payouts, items = parse_payouts(args.input_dir)
    # Both files or neither: the items file is renamed into place only if payouts succeed.
    with atomic_path(args.items_out) as items_tmp:
        write_parquet(items, items_tmp, GC_PAYOUT_ITEMS)
        write_parquet(payouts, args.out, GC_PAYOUTS)
    print(f"parse_payouts: {payouts.height} payouts -> {args.out}; "
          f"{items.height} payout items -> {args.items_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run(main)
