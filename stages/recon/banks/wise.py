"""Wise's account statement CSV, one currency per statement (docs/formats.md §8).

`,`, decimal point, dates `DD-MM-YYYY`, signed amounts, one row per completed movement
of the balance with Wise's id (`TRANSFER-…`, `CARD-…`, `BALANCE-…`): a statement holds no
pending line. The file names no account: its lines are kept whatever `bank.iban` says.
"""
from __future__ import annotations

import polars as pl

from recon.banks.common import as_text, in_bank_schema, required, typed
from recon.csvread import Export, amount_cents

AMOUNT = "an amount such as -12.50 or 2291.47"
NAMES = {"bank_transaction_id": "TransferWise ID", "operation_date": "Date",
         "amount_cents": "Amount", "currency": "Currency", "description": "Description",
         "reference": "Payment Reference", "balance_cents": "Running Balance",
         "payer": "Payer Name", "payee": "Payee Name", "merchant": "Merchant", "comment": "Note",
         "details_type": "Transaction Details Type"}


def _day(text: pl.Expr) -> pl.Expr:
    return text.str.strptime(pl.Date, "%d-%m-%Y", strict=False)


def read(export: Export) -> pl.DataFrame:
    lines = as_text(export, NAMES)
    lines = typed(lines, {
        "operation_date": (_day, "a date DD-MM-YYYY", "Date"),
        "amount_cents": (amount_cents, AMOUNT, "Amount"),
        "balance_cents": (amount_cents, AMOUNT, "Running Balance")}, export)
    required(lines, {c: NAMES[c] for c in ("bank_transaction_id", "operation_date",
                                           "amount_cents", "currency")}, export)
    credit = pl.col("amount_cents") > 0
    lines = lines.with_columns(
        value_date=pl.col("operation_date"),
        # The description already names the sender or the card merchant; the payer's own
        # reference (a payout reference, an invoice number) follows it.
        label=pl.when(pl.col("description").str.contains(pl.col("reference"), literal=True))
        .then(pl.col("description"))
        .otherwise(pl.concat_str(["description", "reference"], separator=" - ",
                                 ignore_nulls=True)),
        counterparty=pl.when(credit).then(pl.col("payer"))
        .otherwise(pl.coalesce("payee", "merchant")),
        transaction_type=pl.coalesce("details_type", pl.col("bank_transaction_id")
                                     .str.extract(r"^([A-Z_]+)-", 1)),
        currency=pl.col("currency").str.strip_chars().str.to_uppercase())
    return in_bank_schema(lines, "wise")
