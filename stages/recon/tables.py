"""The two CSV files of a window (DESIGN's contract, for machines): one row per verdict,
and one row per payout. Amounts are euros as text with two decimals made from the
integer cents (columns *_eur); several values in one cell are joined with ';'."""
from __future__ import annotations

from datetime import date

import polars as pl

from recon.figures import with_money_in_bank
from recon.match_common import eur, fmt

RECONCILIATION_COLUMNS = [
    "flag", "match_type", "invoice_ref", "gc_payment_id", "row_kind", "payment_status",
    "payment_amount_eur", "payment_currency", "share_eur", "refunded_eur", "invoice_total_eur",
    "invoice_remaining_eur", "charge_date", "invoice_date", "due_date", "days_past_due",
    "customer_name", "invoice_customer_name", "payout_id", "bank_transaction_id",
    "bank_date", "money_in_bank", "related_payment_ids", "evidence",
]
PAYOUTS_COLUMNS = [
    "payout_id", "reference", "gross_eur", "fees_eur", "net_eur", "arrival_date",
    "bank_transaction_id", "bank_date", "bank_label", "bank_amount_eur", "match_type",
    "flag", "explanation",
    # gross - fees - chargebacks - refunds - fees_refunded = net (unless FEES_MISMATCH)
    "fees_flag", "fees_ht_eur", "fees_tva_eur", "chargebacks_eur", "refunds_eur",
    "fees_refunded_eur",
]


def date_text(name: str) -> pl.Expr:
    """A date column as its ISO text, each day of its range formatted once then looked up:
    the CSV writer formats every date, at several times the cost (same text)."""
    dates = pl.col(name)
    first, last = (bound.fill_null(date(1970, 1, 1)) for bound in (dates.min(), dates.max()))
    return pl.date_range(first, last).cast(pl.String).gather((dates - first).dt.total_days())


def reconciliation_frame(pass1: pl.DataFrame, pass2: pl.DataFrame,
                         pass3: pl.DataFrame) -> pl.DataFrame:
    """One row per payment verdict then per invoice verdict, amounts in cents and dates as
    dates (the workbook's sheet); reconciliation_table() makes the CSV of it."""
    payments = with_money_in_bank(pass1, pass3).select(
        "flag", "match_type", "invoice_ref", "gc_payment_id", "payment_status", "charge_date",
        "invoice_date", "customer_name", "invoice_customer_name", "payout_id",
        "bank_transaction_id", "bank_date", "related_payment_ids", "evidence", "money_in_bank",
        "share_cents", "invoice_total_cents", "invoice_remaining_cents",
        row_kind=pl.lit("payment"),
        payment_currency="currency",
        payment_amount_cents="amount_cents",
        refunded_cents="amount_refunded_cents",
        due_date="invoice_due_date",
        days_past_due=pl.lit(None, pl.Int64),
    )
    invoices = pass2.select(
        "flag", "match_type", "invoice_ref", "invoice_date", "invoice_customer_name",
        "days_past_due", "evidence", "bank_transaction_id", "bank_date", "share_cents",
        "invoice_total_cents", "invoice_remaining_cents",
        row_kind=pl.lit("invoice"),
        due_date="invoice_due_date",
        money_in_bank=pl.when(pl.col("flag") == "DOLIBARR_OPEN_NO_GC").then(pl.lit("no"))
        .when(pl.col("flag") == "PAID_BY_TRANSFER").then(pl.lit("yes")),
    )
    columns = [c.replace("_eur", "_cents") for c in RECONCILIATION_COLUMNS]
    return pl.concat([payments, invoices], how="diagonal_relaxed").select(columns)


def reconciliation_table(pass1: pl.DataFrame, pass2: pl.DataFrame,
                         pass3: pl.DataFrame) -> pl.DataFrame:
    """The reconciliation CSV: every amount as euro text, every date as date_text()."""
    cents = [c for c in RECONCILIATION_COLUMNS if c.endswith("_eur")]
    return reconciliation_frame(pass1, pass2, pass3).with_columns(
        *(eur(pl.col(c.replace("_eur", "_cents"))).alias(c) for c in cents),
        *(date_text(name) for name in ("charge_date", "invoice_date", "due_date", "bank_date")),
    ).select(RECONCILIATION_COLUMNS)


def payouts_table(pass3: pl.DataFrame) -> pl.DataFrame:
    """One row per payout or unexplained bank credit; the fee verdict in its own column."""
    money = ("gross", "fees", "net", "bank_amount", "fees_ht", "fees_tva", "chargebacks",
             "refunds", "fees_refunded")
    return pass3.select(
        "payout_id", "reference", "arrival_date", "bank_transaction_id", "bank_date",
        "bank_label", "match_type", "flag", "fees_flag",
        *(eur(pl.col(f"{name}_cents")).alias(f"{name}_eur") for name in money),
        explanation=pl.concat_str(
            ["evidence", pl.when(pl.col("explanation").is_not_null())
             .then(fmt("fees: {}", pl.col("explanation")))],
            separator="; ", ignore_nulls=True),
    ).select(PAYOUTS_COLUMNS)
