"""Stage parse_gc: GoCardless payments export(s) -> gc_payments Parquet.

Reads every *.csv of --input-dir and keeps the payments exports, recognised by their
header (the payouts and breakdown exports beside them belong to parse_payouts; any other
file is an error). Several overlapping exports give one row per payment id, the export
with the latest dates winning. Amounts become integer cents; see recon.schemas.GC_PAYMENTS.

Usage: parse_gc.py --input-dir raw/gocardless --out interim/gc_payments.parquet
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from recon import csvread
from recon.csvread import GC_PAYMENTS_EXPORT, GOCARDLESS_KINDS, Export, Field
from recon.errors import run
from recon.io import write_parquet
from recon.schemas import GC_PAYMENTS

# The API's list; the export carries the same strings (FORMATS.md §1).
PAYMENT_STATUSES = (
    "pending_customer_approval", "pending_submission", "submitted", "confirmed", "paid_out",
    "cancelled", "customer_approval_denied", "failed", "charged_back",
)


# Output column -> export column and how to read it.
PAYMENT_FIELDS = {
    "gc_payment_id": Field("id", required=True),
    "created_at": Field("created_at", "timestamp", required=True),
    "charge_date": Field("charge_date", "date", required=True),
    "amount_cents": Field("amount", "amount", required=True),
    "description": Field("description"),
    "reference": Field("reference"),
    "currency": Field("currency", required=True),
    "status": Field("status", required=True, allowed=PAYMENT_STATUSES),
    "amount_refunded_cents": Field("amount_refunded", "amount"),
    "transaction_fee_cents": Field("transaction_fee", "amount"),
    "transaction_fee_tax_cents": Field("transaction_fee_tax", "amount"),  # null if absent
    "app_fee_cents": Field("app_fee", "amount"),
    "payout_date": Field("payout_date", "date"),
    "payout_id": Field("links.payout"),
    "mandate_id": Field("links.mandate"),
    "gc_customer_id": Field("links.customer"),
    "company_name": Field("customers.company_name"),
    "given_name": Field("customers.given_name"),
    "family_name": Field("customers.family_name"),
    "customer_email": Field("customers.email"),
}


def customer_name() -> pl.Expr:
    """The company name when set, else given + family name (as GoCardless shows the payer)."""
    person = pl.concat_str(["given_name", "family_name"], separator=" ", ignore_nulls=True)
    person = person.str.strip_chars()  # stripped once, then both tested and used
    company = pl.col("company_name")
    return pl.when(company.str.strip_chars() != "").then(company).when(person != "").then(person)


def read_payments(export: Export) -> pl.DataFrame:
    df = csvread.read_fields(export, PAYMENT_FIELDS)
    return (df.with_columns(customer_name().alias("customer_name"))
            .drop("company_name", "given_name", "family_name"))


def parse_payments(input_dir: str | Path) -> pl.DataFrame:
    """Every payments export of the folder -> one row per payment, in GC_PAYMENTS's schema."""
    found = csvread.exports_in(input_dir, (GC_PAYMENTS_EXPORT,), GOCARDLESS_KINDS)
    return csvread.read_all(found[GC_PAYMENTS_EXPORT.key], read_payments, ["gc_payment_id"],
                            "payment", GC_PAYMENTS,
                            f"{input_dir}: no GoCardless payments export found; "
                            "the payments table will be empty")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Parse GoCardless payments exports into a Parquet table.")
    parser.add_argument("--input-dir", required=True, type=Path,
                        help="folder of GoCardless CSV exports (recognised by header)")
    parser.add_argument("--out", required=True, type=Path, help="Parquet file to write")
    args = parser.parse_args(argv)
    payments = parse_payments(args.input_dir)
    write_parquet(payments, args.out, GC_PAYMENTS)
    print(f"parse_gc: {payments.height} payments -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run(main)
