"""The figures of a window, computed once from the three passes: the terminal summary, the
HTML report and the workbook all show these, so they can never disagree with each other
or with the CSVs (which are written from the same passes, row for row).

Money stays integer cents here; each writer formats it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from recon.apply_decisions import left_alone_count
from recon.decisions import Decisions
from recon.flags import ACTIONS, FLAG_ORDER
from recon.match_common import (CHARGED_BACK, FAILED, PENDING, RECEIVED, days_text, fmt,
                                state_group)
from recon.match_payments import MULTI
from recon.review import with_hints

# Rows of each flag the terminal summary lists (the rest: in the CSV files).
LINES_PER_FLAG = 30
# Rows of each flag needing action that the HTML and the workbook carry; past it, a
# pointer to the CSV (a million-invoice month must not make a page or a sheet nobody can
# open, nor take seconds to write: xlsxwriter writes about 50,000 cells a second).
ROWS_PER_FLAG = 100
OUTCOMES = (RECEIVED, PENDING, FAILED, CHARGED_BACK)
IN_EUR = pl.col("currency").fill_null("EUR") == "EUR"  # the figures' sums are in EUR
AGE_BUCKETS = ("not yet due", "0-30", "31-60", "61-90", "> 90")
PAYOUT_IN_BANK = ("PAYOUT_MATCHED", "PAYOUT_AMOUNT_MISMATCH")
# Where an open invoice's money stands: pass 1 rows on invoices still open, pass 2's own.
PASS2_OPEN = ("DOLIBARR_OPEN_NO_GC", "PAID_BY_TRANSFER", "AMBIGUOUS")
OPEN_EXCLUDED = ("EXCLUDED_CREDIT_NOTE", "EXCLUDED_DRAFT", "EXCLUDED_ABANDONED",
                 "EXCLUDED_OTHER", "AMBIGUOUS", "GC_UNMATCHED")


@dataclass
class Figures:
    date_from: date
    date_to: date
    key: dict[str, int]  # the key figures, cents or counts (see key_figures)
    flag_totals: pl.DataFrame  # flag, count, cents: every verdict, in FLAG_ORDER
    money_in_bank: pl.DataFrame  # money_in_bank, count, cents: the window's payments
    fix_candidates: int = 0
    # (decisions file, decisions used in this window, decisions about lines not in it);
    # None without decisions.
    decisions: tuple[str, int, int] | None = None
    # What the documents draw and list; None in the summary's figures (compute(documents=False)).
    weekly: pl.DataFrame | None = None  # week (Monday), outcome, cents
    payouts: pl.DataFrame | None = None  # one row per payout, cents, with fee_rate
    ages: pl.DataFrame | None = None  # bucket, count, cents: open invoices by days past due
    # the rows needing action (ROWS_PER_FLAG per flag), see action_rows, with hint /
    # hint_note (recon/review.py with_hints)
    actions: pl.DataFrame | None = None


def compute(pass1: pl.DataFrame, pass2: pl.DataFrame, pass3: pl.DataFrame,
            date_from: date, date_to: date, decisions: Decisions | None = None,
            documents: bool = True) -> Figures:
    """The window's figures; documents=False: only those the terminal summary shows (the
    report stage then skips the charts' and tables' work, 0.4 s of CPU at a million)."""
    totals = flag_totals(pass1, pass2, pass3)
    payouts = payout_figures(pass3)
    payments = unique_payments(pass1)
    still_open = open_invoices(pass1, pass2, date_to)
    figures = Figures(
        date_from=date_from, date_to=date_to,
        key=key_figures(payments, payouts, still_open, totals),
        flag_totals=totals,
        money_in_bank=money_in_bank(payments, pass3),
        fix_candidates=pass1.filter(pl.col("flag") == "GC_PAID_DOLIBARR_OPEN").height,
        decisions=None if decisions is None or decisions.count == 0 else
        (decisions.path, *left_alone_count(decisions, pass1, pass2, pass3)),
    )
    if documents:
        figures.weekly = weekly_cash(payments)
        figures.payouts = payouts
        figures.ages = age_buckets(still_open)
        # With what to write in decisions.yaml about each (the review's hints).
        figures.actions = with_hints(action_rows(pass1, pass2, pass3, ROWS_PER_FLAG), pass3)
    return figures


# --- verdicts per flag -------------------------------------------------------------------

def verdict_cents(pass1: pl.DataFrame, pass2: pl.DataFrame,
                  pass3: pl.DataFrame) -> pl.DataFrame:
    """Every verdict as (flag, cents): payments at their share, invoices at what is left
    to pay (others at their total), payouts at their net, bank credits at their amount,
    a payout's fee verdict at gross - net - fees (what the deductions took)."""
    flag = pl.col("flag")
    invoice_cents = (pl.when(flag == "DOLIBARR_OPEN_NO_GC").then("invoice_remaining_cents")
                     .when(flag == "PAID_BY_TRANSFER").then("share_cents")
                     .otherwise("invoice_total_cents"))
    fees = pass3.filter(pl.col("fees_flag").is_not_null())
    return pl.concat([
        # The totals are in EUR: a payment in another currency is counted, not added.
        pass1.select("flag", cents=pl.when(IN_EUR).then("share_cents")),
        pass2.select("flag", cents=invoice_cents),
        pass3.select("flag", cents=pl.coalesce("net_cents", "bank_amount_cents")),
        fees.select(flag="fees_flag", cents=pl.col("deducted_cents") - pl.col("fees_cents")),
    ])


def flag_totals(pass1: pl.DataFrame, pass2: pl.DataFrame, pass3: pl.DataFrame) -> pl.DataFrame:
    order = {flag: i for i, flag in enumerate(FLAG_ORDER)}
    return (
        verdict_cents(pass1, pass2, pass3).group_by("flag")
        .agg(count=pl.len(), cents=pl.col("cents").sum())
        .with_columns(rank=pl.col("flag").replace_strict(order, default=len(order),
                                                         return_dtype=pl.Int64))
        .sort("rank", "flag").drop("rank")
    )


# --- payments and money ------------------------------------------------------------------

def unique_payments(pass1: pl.DataFrame) -> pl.DataFrame:
    """One row per payment (a payment over several invoices has one row per invoice)."""
    multi = pl.col("match_type") == MULTI
    columns = ["gc_payment_id", "match_type", "payment_status", "payout_id", "charge_date"]
    # Amounts in another currency are counted, not added to the EUR sums.
    payments = pass1.select(*columns, amount_cents=pl.when(IN_EUR).then("amount_cents"))
    return pl.concat([payments.filter(~multi),
                      payments.filter(multi).unique("gc_payment_id", maintain_order=True)])


def with_money_in_bank(payments: pl.DataFrame, pass3: pl.DataFrame) -> pl.DataFrame:
    """Payments with whether their money reached the bank (yes, pending, no, unknown)."""
    payouts = pass3.filter(pl.col("payout_id").is_not_null()).select(
        "payout_id", "bank_transaction_id", "bank_date", payout_money="money_in_bank")
    state = state_group(pl.col("payment_status"))
    money_in_bank = (
        pl.when(state.is_in([FAILED, CHARGED_BACK])).then(pl.lit("no"))
        .when(pl.col("payout_id").is_not_null())
        .then(pl.col("payout_money").fill_null(pl.lit("unknown")))
        .otherwise(pl.lit("pending"))
    )
    return payments.join(payouts, on="payout_id", how="left", maintain_order="left") \
        .with_columns(money_in_bank=money_in_bank)


def money_in_bank(payments: pl.DataFrame, pass3: pl.DataFrame) -> pl.DataFrame:
    order = {"yes": 0, "pending": 1, "no": 2, "unknown": 3}
    return (
        with_money_in_bank(payments, pass3).group_by("money_in_bank")
        .agg(count=pl.len(), cents=pl.col("amount_cents").sum())
        .with_columns(rank=pl.col("money_in_bank").replace_strict(order, default=9,
                                                                   return_dtype=pl.Int64))
        .sort("rank").drop("rank")
    )


def weekly_cash(payments: pl.DataFrame) -> pl.DataFrame:
    """Cash per week of charge date (Monday), by outcome."""
    return (
        payments.filter(pl.col("charge_date").is_not_null())
        .with_columns(week=pl.col("charge_date").dt.truncate("1w"),
                      outcome=state_group(pl.col("payment_status")))
        .group_by("week", "outcome").agg(cents=pl.col("amount_cents").sum())
        .sort("week", "outcome")
    )


# --- payouts -----------------------------------------------------------------------------

def payout_figures(pass3: pl.DataFrame) -> pl.DataFrame:
    """One row per payout: money in cents, its flags, and its fee rate (fees / gross)."""
    return pass3.filter(pl.col("payout_id").is_not_null()).select(
        "payout_id", "reference", "payout_status", "arrival_date", "bank_date", "flag",
        "fees_flag", "money_in_bank", "gross_cents", "fees_cents", "fees_ht_cents",
        "fees_tva_cents", "chargebacks_cents", "refunds_cents", "fees_refunded_cents",
        "net_cents", "bank_amount_cents", "explanation",
        fee_rate=pl.when(pl.col("gross_cents") > 0)
        .then(pl.col("fees_cents") / pl.col("gross_cents")),
    )


# --- open invoices -----------------------------------------------------------------------

def open_invoices(pass1: pl.DataFrame, pass2: pl.DataFrame, date_to: date) -> pl.DataFrame:
    """The invoices Dolibarr still shows open, once each, with what is left to pay and
    their days past due at TO."""
    from_pass1 = pass1.filter(
        ~pl.col("invoice_settled").fill_null(True) & pl.col("invoice_id").is_not_null()
        & ~pl.col("flag").is_in(OPEN_EXCLUDED)
    ).select("invoice_id", "invoice_ref", cents="invoice_remaining_cents",
             due="invoice_due_date")
    # Pass 2's rows are about open invoices (no payment found, paid by a transfer Dolibarr
    # does not know yet, or a transfer that fits several); the excluded ones are not open.
    from_pass2 = pass2.filter(pl.col("flag").is_in(PASS2_OPEN)).select(
        "invoice_id", "invoice_ref", cents="invoice_remaining_cents", due="invoice_due_date")
    return (
        pl.concat([from_pass1, from_pass2]).unique("invoice_id", keep="first", maintain_order=True)
        .filter(pl.col("cents") > 0)
        .with_columns(days_past_due=(pl.lit(date_to) - pl.col("due")).dt.total_days())
    )


def age_buckets(invoices: pl.DataFrame) -> pl.DataFrame:
    days = pl.col("days_past_due")
    bucket = (pl.when(days.is_null() | (days < 0)).then(pl.lit(AGE_BUCKETS[0]))
              .when(days <= 30).then(pl.lit(AGE_BUCKETS[1]))
              .when(days <= 60).then(pl.lit(AGE_BUCKETS[2]))
              .when(days <= 90).then(pl.lit(AGE_BUCKETS[3]))
              .otherwise(pl.lit(AGE_BUCKETS[4])))
    counted = invoices.group_by(bucket.alias("bucket")).agg(count=pl.len(),
                                                            cents=pl.col("cents").sum())
    every = pl.DataFrame({"bucket": AGE_BUCKETS})
    return every.join(counted, on="bucket", how="left").with_columns(
        pl.col("count").fill_null(0).cast(pl.Int64), pl.col("cents").fill_null(0))


# --- the key figures ---------------------------------------------------------------------

def key_figures(payments: pl.DataFrame, payouts: pl.DataFrame, open_inv: pl.DataFrame,
                totals: pl.DataFrame) -> dict[str, int]:
    """Cents and counts: what the header of every report shows."""
    received = payments.filter(state_group(pl.col("payment_status")) == RECEIVED)
    needs = totals.filter(pl.col("flag").is_in(list(ACTIONS)))
    in_bank = payouts.filter(pl.col("flag").is_in(PAYOUT_IN_BANK))
    return {
        "collected_cents": received["amount_cents"].sum(),
        "collected_count": received.height,
        "paid_out_cents": payouts["net_cents"].sum(),
        "paid_out_count": payouts.height,
        "in_bank_cents": in_bank["bank_amount_cents"].sum(),
        "in_bank_count": in_bank.height,
        "fees_ht_cents": payouts["fees_ht_cents"].sum(),
        "fees_tva_cents": payouts["fees_tva_cents"].sum(),
        "fees_cents": payouts["fees_cents"].sum(),
        "fees_unsplit_count": payouts["fees_ht_cents"].null_count(),
        "gross_cents": payouts["gross_cents"].sum(),
        "chargebacks_cents": payouts["chargebacks_cents"].sum(),
        "refunds_cents": payouts["refunds_cents"].sum(),
        "fees_refunded_cents": payouts["fees_refunded_cents"].sum(),
        "open_cents": open_inv["cents"].sum(),
        "open_count": open_inv.height,
        "action_count": needs["count"].sum(),
        "action_cents": needs["cents"].sum(),
    }


# --- what needs action -------------------------------------------------------------------

ACTION_COLUMNS = ("flag", "kind", "invoice_ref", "invoice_id", "gc_payment_id", "payout_id",
                  "bank_transaction_id", "customer", "day", "cents", "line", "evidence",
                  "match_type")


def _needing_action(frame: pl.DataFrame, per_flag: int | None, flag: str = "flag") -> pl.DataFrame:
    rows = frame.filter(pl.col(flag).is_in(list(ACTIONS)))
    return rows.group_by(flag, maintain_order=True).head(per_flag) if per_flag else rows


def action_rows(pass1: pl.DataFrame, pass2: pl.DataFrame, pass3: pl.DataFrame,
                per_flag: int | None = LINES_PER_FLAG) -> pl.DataFrame:
    """The first rows of each flag needing action, in ACTIONS order, as one table: what
    it is about (ids and links), its amount, a one-line summary and the evidence."""
    null = pl.lit(None, pl.String)
    payment_line = pl.concat_str([
        pl.col("invoice_ref").fill_null("(no invoice)"),
        pl.lit(" <- "), pl.col("gc_payment_id"),
        fmt(" {} {} {}", money_expr(pl.col("share_cents")), pl.col("currency").fill_null("EUR"),
            pl.col("payment_status")),
        fmt(" ({})", pl.col("customer_name").fill_null("?")),
        pl.when(pl.col("flag") == "AMOUNT_MISMATCH").then(fmt(
            ": invoice {} EUR, {} EUR left to pay", money_expr(pl.col("invoice_total_cents")),
            money_expr(pl.col("invoice_remaining_cents")))),
        pl.when(pl.col("flag") == "GC_PAID_DOLIBARR_OPEN").then(
            fmt(" [{}]", pl.col("match_type"))),
    ], ignore_nulls=True)
    payments = _needing_action(pass1, per_flag).select(
        "flag", "invoice_ref", "invoice_id", "gc_payment_id", "payout_id", "match_type",
        kind=pl.lit("payment"), bank_transaction_id=null,
        customer=pl.coalesce("customer_name", "invoice_customer_name"),
        day=pl.col("charge_date"), cents=pl.col("share_cents"), line=payment_line,
        evidence="evidence")
    past_due = pl.col("days_past_due")
    transfer = pl.col("flag") == "PAID_BY_TRANSFER"
    invoice_line = fmt(
        "{} {} EUR ({}){}{}", pl.col("invoice_ref"),
        money_expr(pl.col("invoice_remaining_cents")),
        pl.col("invoice_customer_name").fill_null("?"),
        pl.when(past_due > 0).then(fmt(", {} past due", days_text(past_due)))
        .otherwise(pl.lit("")),
        pl.when(transfer).then(fmt(
            " <- transfer of {} EUR on {} '{}' [{}]", money_expr(pl.col("share_cents")),
            pl.col("bank_date"), pl.col("bank_label"), pl.col("match_type"))))
    invoices = _needing_action(pass2, per_flag).select(
        "flag", "invoice_ref", "invoice_id", "bank_transaction_id", "match_type",
        kind=pl.lit("invoice"),
        gc_payment_id=null, payout_id=null, customer="invoice_customer_name",
        day=pl.when(transfer).then("bank_date").otherwise("invoice_due_date"),
        cents=pl.when(transfer).then("share_cents").otherwise("invoice_remaining_cents"),
        line=invoice_line, evidence="evidence")
    payout_line = fmt("{} {} net {} EUR: {}", pl.col("payout_id"), pl.col("reference"),
                      money_expr(pl.col("net_cents")), pl.col("evidence"))
    credit_line = fmt("{} {} EUR '{}' ({})", pl.col("bank_date"),
                      money_expr(pl.col("bank_amount_cents")), pl.col("bank_label"),
                      pl.col("bank_transaction_id"))
    is_credit = pl.col("payout_id").is_null()
    payouts = _needing_action(pass3, per_flag).select(
        "flag", "payout_id", "bank_transaction_id", "match_type",
        kind=pl.when(is_credit).then(pl.lit("bank credit")).otherwise(pl.lit("payout")),
        invoice_ref=null, invoice_id=pl.lit(None, pl.Int64), gc_payment_id=null,
        customer=pl.when(is_credit).then("bank_label").otherwise("reference"),
        day=pl.coalesce("arrival_date", "bank_date"),
        cents=pl.coalesce("net_cents", "bank_amount_cents"),
        line=pl.when(is_credit).then(credit_line).otherwise(payout_line), evidence="evidence")
    fees = _needing_action(pass3.filter(pl.col("fees_flag").is_not_null()), per_flag,
                           "fees_flag").select(
        "payout_id", "match_type", flag="fees_flag", kind=pl.lit("payout fees"), invoice_ref=null,
        invoice_id=pl.lit(None, pl.Int64), gc_payment_id=null, bank_transaction_id=null,
        customer="reference", day="arrival_date",
        cents=pl.col("deducted_cents") - pl.col("fees_cents"),
        line=fmt("{} {}: {}", pl.col("payout_id"), pl.col("reference"), pl.col("explanation")),
        evidence="explanation")
    rows = pl.concat([frame.select(ACTION_COLUMNS)
                      for frame in (payments, invoices, payouts, fees)])
    order = {flag: i for i, flag in enumerate(ACTIONS)}
    return rows.with_columns(
        rank=pl.col("flag").replace_strict(order, default=len(order), return_dtype=pl.Int64)
    ).sort("rank", maintain_order=True).drop("rank")


# --- money as text -----------------------------------------------------------------------

def money(cents: int | None, language: str = "en", unit: bool = False) -> str:
    """Cents as text, from integers only: '1 234.56' (en, the terminal: thin grouping,
    point) or '1 234,56' (fr, narrow no-break spaces, comma); unit adds ' EUR' / ' €'."""
    cents = cents or 0
    sign = "-" if cents < 0 else ""
    units, hundredths = divmod(abs(cents), 100)
    grouped = f"{units:,}"
    if language == "fr":
        text = f"{sign}{grouped.replace(',', chr(0x202F))},{hundredths:02d}"
        return f"{text}{chr(0xA0)}€" if unit else text
    text = f"{sign}{grouped.replace(',', ' ')}.{hundredths:02d}"
    return f"{text} EUR" if unit else text


def money_expr(cents: pl.Expr) -> pl.Expr:
    """money() as a polars expression ('1 234.56'), for texts built over many rows."""
    units = (cents.abs() // 100).cast(pl.String)
    # Group the digits by threes from the right: reverse, split in chunks, join, reverse.
    grouped = units.str.reverse().str.replace_all(r"(\d{3})", "$1 ").str.strip_chars_end() \
        .str.reverse()
    return pl.concat_str([pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")), grouped,
                          pl.lit("."), (cents.abs() % 100).cast(pl.String).str.zfill(2)])

