"""Customer transfers `make fix` may record (config `fix.allow_transfers`, off by default).

Pass 2 flags PAID_BY_TRANSFER an open invoice that a bank credit (not a GoCardless payout)
pays: by its reference, or by amount, name and date alone when only one candidate exists.
Each such row becomes a planned payment of the invoice's share, dated the bank line's date,
with the bank line's id as payment number, so a rerun finds it and never records it twice;
the payment mode and bank account of transfers come from config. A row that cannot be
written as it stands is left out with the reason, like GoCardless payments.
"""
from __future__ import annotations

import polars as pl

from recon.fixplan import TRANSFER_KIND, Allocation, LeftOut, Plan, PlannedPayment
from recon.match_common import fmt
from recon.schemas import SOFT_MATCH_TYPE

PAID_BY_TRANSFER = "PAID_BY_TRANSFER"
# The pass-2 columns a planned transfer needs (schemas.PASS2).
PASS2_TRANSFERS = {"flag": pl.String, "match_type": pl.String, "invoice_id": pl.Int64, "invoice_ref": pl.String,
                   "invoice_customer_name": pl.String, "invoice_remaining_cents": pl.Int64,
                   "share_cents": pl.Int64, "bank_date": pl.Date, "bank_transaction_id": pl.String}


def plan_transfers(pass2: pl.DataFrame, allow_soft: bool = False) -> Plan:
    """A soft link (amount, name and date, no reference) only with config fix.allow_soft."""
    rows = pass2.filter(pl.col("flag") == PAID_BY_TRANSFER).with_columns(
        pl.len().over("bank_transaction_id").alias("_rows"))
    share, remaining = pl.col("share_cents"), pl.col("invoice_remaining_cents")
    soft = (pl.col("match_type") == SOFT_MATCH_TYPE).fill_null(False) & (not allow_soft)
    reason = (
        pl.when(pl.col("bank_transaction_id").is_null()).then(pl.lit("no bank line id"))
        .when(soft).then(pl.lit("soft match (config fix.allow_soft is false)"))
        .when(pl.col("invoice_id").is_null())
        .then(fmt("no single invoice id ({}); record it by hand", pl.col("invoice_ref").fill_null("none")))
        .when(share.is_null() | (share <= 0)).then(pl.lit("no positive amount for the invoice"))
        .when(pl.col("_rows") > 1)
        .then(pl.lit("one bank line pays several invoices; record it by hand"))
        .when((share > remaining).fill_null(True))
        .then(pl.lit("amount exceeds what the invoice had left to pay"))
        .otherwise(pl.lit(None, pl.String))
    )
    judged = rows.with_columns(reason=reason).sort("bank_date", "bank_transaction_id", nulls_last=True)
    planned = judged.filter(pl.col("reason").is_null())
    payments = [
        PlannedPayment(
            gc_payment_id=r["bank_transaction_id"], charge_date=r["bank_date"], payout_id=None,
            customer_name=r["invoice_customer_name"] or "", amount_cents=r["share_cents"],
            match_type=r["match_type"] or TRANSFER_KIND, allocations=(Allocation(r["invoice_id"], r["invoice_ref"], r["share_cents"]),),
            partial=r["share_cents"] < r["invoice_remaining_cents"], kind=TRANSFER_KIND)
        for r in planned.iter_rows(named=True)
    ]
    left = [LeftOut(r["bank_transaction_id"] or "", r["invoice_ref"] or "", r["share_cents"] or 0, r["reason"])
            for r in judged.filter(pl.col("reason").is_not_null()).iter_rows(named=True)]
    return Plan(payments, left)


def with_transfers(plan: Plan, transfers: Plan) -> Plan:
    return Plan(plan.payments + transfers.payments, plan.left_out + transfers.left_out)
