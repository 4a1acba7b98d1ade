"""Pass 2: the open-invoice audit, the Dolibarr side of what pass 1 did not explain.

- Open invoices: validated, something left to pay, dated up to TO, that no pass-1 row of
  the window links to, with their days past due at TO (from the due date, else the
  invoice date; negative while not yet due). They are first matched to the customer
  transfers in the bank (recon/match_transfers.py): PAID_BY_TRANSFER with the bank line
  as evidence (one row per transfer), or AMBIGUOUS / AMOUNT_MISMATCH / CURRENCY_MISMATCH
  showing the candidate lines; the others are DOLIBARR_OPEN_NO_GC.
- EXCLUDED_CREDIT_NOTE / EXCLUDED_DRAFT / EXCLUDED_ABANDONED / EXCLUDED_OTHER: invoices
  dated in the window that matching never considers, counted apart.

Product choice: an open invoice that is only a candidate of an AMBIGUOUS payment (FA2601-0011
and FA2601-0012 in the sample) is NOT reported here. A GoCardless payment may well be
its money, so "no GoCardless" would be wrong; it is reported once, under the AMBIGUOUS
row of pass 1 that names it, and comes back here on a later run if the ambiguity is
resolved in favour of another invoice.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from recon.apply_decisions import decided_bank_ids, settle_invoices
from recon.decisions import DECISION, SETTLED_OUTSIDE, Decisions
from recon.match_common import Settings, days_text, eur, fmt, ref_key
from recon.match_payments import AMBIGUOUS, prepare_invoices
from recon.match_payments import INVOICE_INPUT_COLUMNS as MATCHED_COLUMNS
from recon.match_transfers import VERDICT_COLUMNS, match_transfers
from recon.schemas import PASS2

OPEN_NO_GC = "DOLIBARR_OPEN_NO_GC"
EXCLUDED_FLAGS = {
    "credit note": "EXCLUDED_CREDIT_NOTE",
    "draft": "EXCLUDED_DRAFT",
    "abandoned invoice": "EXCLUDED_ABANDONED",
}
EXCLUDED_OTHER = "EXCLUDED_OTHER"
# What the audit reads of the invoices: what pass 1 reads, and why an invoice was closed.
INVOICE_INPUT_COLUMNS = (*MATCHED_COLUMNS, "close_code", "currency")


def audit_invoices(invoices: pl.DataFrame, pass1: pl.DataFrame, date_from: date,
                   date_to: date, decisions: Decisions | None = None,
                   bank: pl.DataFrame | None = None, settings: Settings | None = None,
                   payout_bank_ids: pl.Series | None = None) -> pl.DataFrame:
    """The pass-2 rows (schema PASS2); invoices `decisions` settle are SETTLED_OUTSIDE.

    `bank`: the bank lines (match_transfers.BANK_COLUMNS); without it no transfer is
    looked for. `payout_bank_ids`: the lines pass 3 gives (or may give) a payout. Neither
    they nor the bank lines `decisions` decide about are ever a customer transfer.
    """
    invoices = prepare_invoices(invoices)
    linked = pass1.select("invoice_id").drop_nulls().unique()
    candidates = (
        pass1.filter(pl.col("flag") == AMBIGUOUS)
        .select(ref_key=ref_key(pl.col("invoice_ref").str.split(";").explode()))
        .drop_nulls().unique()
    )
    open_rows = _open_without_gc(invoices, linked, candidates, date_to, bank is not None)
    excluded_rows = _excluded(invoices, date_from, date_to)
    rows = pl.concat([open_rows, excluded_rows], how="diagonal_relaxed")
    rows = settle_invoices(rows, invoices, linked, decisions, date_to)
    if bank is not None:  # the invoices still open, after the decisions
        rows = _with_transfers(rows, match_transfers(
            rows.filter(pl.col("flag") == OPEN_NO_GC), bank, settings or Settings(), date_to,
            payout_bank_ids, decided_bank_ids(decisions)))
    rows = rows.with_columns(
        pl.lit(None, dtype).alias(name) for name, dtype in VERDICT_COLUMNS.items()
        if name not in rows.columns)
    return rows.sort("flag", "invoice_date", "invoice_ref", "bank_date", "bank_transaction_id",
                     nulls_last=True).select(
        "flag", "invoice_id", "invoice_ref", "invoice_date", "evidence",
        "days_past_due",
        match_type=pl.when(pl.col("flag") == SETTLED_OUTSIDE).then(pl.lit(DECISION))
        .otherwise(pl.col("match_type").fill_null("none")),
        invoice_customer_name="customer_name",
        invoice_type="type",
        invoice_status="status",
        invoice_total_cents="total_cents",
        invoice_remaining_cents="remaining_cents",
        invoice_due_date="due_date",
        bank_transaction_id="bank_transaction_id", bank_date="bank_date",
        bank_amount_cents="bank_amount_cents", bank_label="bank_label",
        share_cents="share_cents",
    ).select(list(PASS2)).cast(PASS2)


def _open_without_gc(invoices: pl.DataFrame, linked: pl.DataFrame, candidates: pl.DataFrame,
                     date_to: date, with_bank: bool) -> pl.DataFrame:
    due = pl.coalesce("due_date", "invoice_date")
    days = (pl.lit(date_to) - due).dt.total_days()
    lateness = (
        pl.when(days > 0).then(fmt("{} past due on {}", days_text(days), pl.lit(date_to)))
        .when(days == 0).then(fmt("due on {}", pl.lit(date_to)))
        .otherwise(fmt("not yet due on {} (due in {})", pl.lit(date_to), days_text(-days)))
    )
    rows = (
        invoices.filter(pl.col("eligible") & ~pl.col("settled")
                        & (pl.col("invoice_date") <= date_to).fill_null(True))
        .join(linked, on="invoice_id", how="anti")
        .with_columns(ref_key=ref_key(pl.col("invoice_ref")))  # on the few rows left
        .join(candidates, on="ref_key", how="anti")
    )
    nor_bank = ", nor any bank transfer" if with_bank else ""
    return rows.with_columns(
        flag=pl.lit(OPEN_NO_GC),
        match_type=pl.lit("none"),
        days_past_due=days,
        dolibarr_state=fmt("Dolibarr: open, {} of {} left to pay, due {}: {}",
                           eur(pl.col("remaining_cents")), eur(pl.col("total_cents")), due,
                           lateness),
    ).with_columns(evidence=fmt("{}; no GoCardless payment of the window names it or matches "
                                "it{}", pl.col("dolibarr_state"), nor_bank))


def _with_transfers(rows: pl.DataFrame, verdicts: pl.DataFrame) -> pl.DataFrame:
    """The audit's rows, each invoice a transfer concerns replaced by its transfer rows."""
    judged = rows.drop("flag", "match_type").join(verdicts, on="invoice_id", how="inner")
    judged = judged.with_columns(
        evidence=fmt("{}; {}", pl.col("transfer_evidence"), pl.col("dolibarr_state")))
    rest = rows.join(verdicts.select("invoice_id"), on="invoice_id", how="anti")
    return pl.concat([rest, judged.drop("transfer_evidence")], how="diagonal_relaxed")


def _excluded(invoices: pl.DataFrame, date_from: date, date_to: date) -> pl.DataFrame:
    in_window = pl.col("invoice_date").is_between(date_from, date_to).fill_null(True)
    rows = invoices.filter(~pl.col("eligible") & in_window)
    flag = pl.col("excluded_why").replace_strict(EXCLUDED_FLAGS, default=EXCLUDED_OTHER)
    close = pl.when(pl.col("close_code").is_not_null()).then(
        fmt(" (close code {})", pl.col("close_code"))).otherwise(pl.lit(""))
    return rows.with_columns(
        flag=flag,
        match_type=pl.lit("none"),
        days_past_due=pl.lit(None, pl.Int64),
        evidence=fmt("{} of {}{}, Dolibarr status {}: excluded from matching",
                           pl.col("excluded_why"), eur(pl.col("total_cents")), close,
                           pl.col("status")),
    )
