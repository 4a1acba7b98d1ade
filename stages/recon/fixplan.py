"""Which GoCardless payments `make fix` may record in Dolibarr: the plan, from pass 1 only.

A payment is planned when pass 1 flagged it GC_PAID_DOLIBARR_OPEN on a strong match (a
soft match only when config `fix.allow_soft` is true), it is money received, and it names
exactly one invoice id. A `multi_invoice` payment (one payment naming several invoices)
is planned as one payment split across them only when pass 1 gives one row per invoice,
every row has an invoice id, and the shares (pass 1's `share_cents`, else the invoice's
open amount) add up exactly to the payment, none above what its invoice had left to pay;
otherwise the whole payment is left out with the reason. Everything else flagged
GC_PAID_DOLIBARR_OPEN is left out, with the reason, so the plan explains itself.

A received instalment (GC_PARTIAL) is planned as a partial payment of its exact amount,
unless Dolibarr already shows more paid than GoCardless received before it. A link a person
decided (match_type `decision`) is planned like a reference, and says so. Payments whose
payout is overdue and not in the bank are held back (`hold_unbanked`).

The plan is only a proposal: the fix stage re-reads each invoice live before writing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from recon.decisions import DECISION  # its evidence starts "decision: <reason>"
from recon.fix_settings import money
from recon.match_common import RECEIVED_STATES, fmt
from recon.schemas import SOFT_MATCH_TYPE, STRONG_MATCH_TYPES

FIX_FLAG = "GC_PAID_DOLIBARR_OPEN"
PARTIAL_FLAG = "GC_PARTIAL"  # a received instalment: recorded as a partial payment of its amount
NOT_IN_BANK = "PAYOUT_NOT_IN_BANK"  # overdue (not merely pending): holds its payments back
MULTI_INVOICE = "multi_invoice"
TRANSFER_KIND = "transfer"  # PlannedPayment.kind of a customer's bank transfer
# A payment+invoice decision over several invoices (decisions.yaml) is split like one.
IS_MULTI = ((pl.col("match_type") == MULTI_INVOICE)
            | ((pl.col("match_type") == DECISION) & pl.col("related_refs").is_not_null())
            ).fill_null(False)


@dataclass(frozen=True)
class Allocation:
    """The share of one payment that goes to one invoice."""
    invoice_id: int
    invoice_ref: str
    amount_cents: int


@dataclass(frozen=True)
class PlannedPayment:
    gc_payment_id: str
    charge_date: date
    payout_id: str | None
    customer_name: str
    amount_cents: int
    match_type: str
    allocations: tuple[Allocation, ...]
    partial: bool = False  # an instalment: the invoice stays open for the rest
    currency: str | None = None  # the payment's (pass 1), checked against the live invoice's
    decided: str | None = None  # the reason of a person's decision that made the link
    kind: str = "gocardless"  # or TRANSFER_KIND: a customer's bank transfer (recon.transfer_plan)

    @property
    def invoice_refs(self) -> str:
        return "+".join(a.invoice_ref for a in self.allocations)


@dataclass(frozen=True)
class LeftOut:
    gc_payment_id: str
    invoice_ref: str
    amount_cents: int
    reason: str


@dataclass(frozen=True)
class Plan:
    payments: list[PlannedPayment]
    left_out: list[LeftOut]

    @property
    def total_cents(self) -> int:
        return sum(p.amount_cents for p in self.payments)


def plan_payments(pass1: pl.DataFrame, allow_soft: bool = False,
                  allow_multi_invoice: bool = False) -> Plan:
    """The payments to record and the fix candidates left out, each with its reason."""
    # An instalment is a candidate once received, and only when pass 1 says how much
    # GoCardless received on its invoice (the guard against recording it twice).
    instalment = ((pl.col("flag") == PARTIAL_FLAG) & pl.col("payment_status").is_in(RECEIVED_STATES)
                  & pl.col("invoice_received_cents").is_not_null())
    candidates = pass1.filter((pl.col("flag") == FIX_FLAG) | instalment.fill_null(False))
    # Window results first, as plain columns: the reason expressions then stay row-wise.
    judged = candidates.with_columns(
        pl.len().over("gc_payment_id").alias("_rows"),
        pl.coalesce("share_cents", "invoice_remaining_cents").alias("_share"))
    judged = judged.with_columns(_row_reason(allow_soft, allow_multi_invoice).alias("reason"))
    judged = judged.with_columns(_group_facts()).with_columns(_group_reason().alias("reason"))
    judged = judged.sort("charge_date", "gc_payment_id", "invoice_ref", nulls_last=True)
    planned = judged.filter(pl.col("reason").is_null())
    return Plan(payments=_planned_payments(planned), left_out=_left_out(judged))


def _row_reason(allow_soft: bool, allow_multi_invoice: bool) -> pl.Expr:
    """Why one pass-1 row cannot be written as it stands (null when it can)."""
    match_type, status, multi = pl.col("match_type"), pl.col("payment_status"), IS_MULTI
    accepted = STRONG_MATCH_TYPES + ((SOFT_MATCH_TYPE,) if allow_soft else ())
    reason = pl.when(pl.col("gc_payment_id").is_null()).then(pl.lit("no GoCardless payment id"))
    if not allow_soft:
        reason = reason.when(match_type == SOFT_MATCH_TYPE).then(
            pl.lit("soft match (config fix.allow_soft is false)"))
    if not allow_multi_invoice:
        # GROUND_TRUTH keeps one payment for several invoices out of the default fix set:
        # the link is sound, but splitting one debit is a booking choice for a person.
        reason = reason.when(multi).then(
            pl.lit("one payment for several invoices (config fix.allow_multi_invoice is false)"))
    return (
        reason
        .when(~match_type.is_in(accepted).fill_null(False))
        .then(fmt("match type '{}' is not a proven match", match_type.fill_null("")))
        .when(~status.is_in(RECEIVED_STATES).fill_null(False))
        .then(fmt("payment status '{}' is not money received", status.fill_null("")))
        .when(pl.col("invoice_id").is_null())
        .then(fmt("no single invoice id (invoices named: {}); record it by hand",
                  pl.col("invoice_ref").fill_null("none")))
        .when(pl.col("invoice_ref").str.contains(";").fill_null(False))
        .then(fmt("one row names several invoices ({}); record it by hand",
                  pl.col("invoice_ref")))
        .when(pl.col("amount_cents").fill_null(0) <= 0)
        .then(pl.lit("amount is not positive"))
        .when((pl.col("flag") == PARTIAL_FLAG) & multi)
        .then(pl.lit("an instalment of a payment for several invoices; record it by hand"))
        .when((pl.col("flag") == PARTIAL_FLAG) & _dolibarr_ahead())
        .then(pl.lit("Dolibarr already shows more paid than GoCardless received before this "
                     "instalment; record it by hand"))
        .when(~multi & (pl.col("_rows") > 1))
        .then(pl.lit("the payment appears on several rows of pass 1; record it by hand"))
        .when(~multi & (pl.col("amount_cents") > pl.col("invoice_remaining_cents")).fill_null(True))
        .then(pl.lit("amount exceeds what the invoice had left to pay"))
        .when(~multi & (pl.col("share_cents") != pl.col("amount_cents")).fill_null(False))
        .then(fmt("pass 1 gives the invoice a share of {} cents, not the whole payment",
                  pl.col("share_cents")))
        .otherwise(pl.lit(None, pl.String))
    )


def _dolibarr_ahead() -> pl.Expr:
    """An instalment Dolibarr may already hold without its GoCardless id: what Dolibarr shows
    paid, plus this instalment, exceeds what GoCardless received on the invoice."""
    paid_in_dolibarr = pl.col("invoice_total_cents") - pl.col("invoice_remaining_cents")
    return (paid_in_dolibarr + pl.col("amount_cents") > pl.col("invoice_received_cents")).fill_null(True)


def _group_facts() -> list[pl.Expr]:
    """Per GoCardless id: what a multi-invoice payment's rows say together."""
    by_payment = "gc_payment_id"
    shares = pl.col("_share")
    return [
        pl.col("reason").is_not_null().any().over(by_payment).alias("_any_reason"),
        (pl.col("invoice_id").n_unique().over(by_payment) == pl.col("_rows")).alias("_distinct"),
        (pl.col("amount_cents").n_unique().over(by_payment) == 1).alias("_one_amount"),
        ((shares <= 0) | shares.is_null()).any().over(by_payment).alias("_empty_share"),
        (shares > pl.col("invoice_remaining_cents")).fill_null(True).any().over(by_payment)
        .alias("_share_too_big"),
        shares.sum().over(by_payment).alias("_shares_sum"),
    ]


def _group_reason() -> pl.Expr:
    """A multi-invoice payment goes in whole or not at all: its rows must agree."""
    return (
        pl.when(~IS_MULTI | pl.col("reason").is_not_null()).then(pl.col("reason"))
        .when(pl.col("_any_reason"))
        .then(pl.lit("another invoice of this multi-invoice payment cannot be recorded"))
        .when(~pl.col("_distinct"))
        .then(pl.lit("the multi-invoice payment names the same invoice twice"))
        .when(~pl.col("_one_amount"))
        .then(pl.lit("the rows of this multi-invoice payment disagree on its amount"))
        .when(pl.col("_empty_share"))
        .then(pl.lit("an invoice of this multi-invoice payment gets no share"))
        .when(pl.col("_share_too_big"))
        .then(pl.lit("a share of this multi-invoice payment exceeds what its invoice had left"))
        .when(pl.col("_shares_sum") != pl.col("amount_cents"))
        .then(fmt("the invoices' shares ({} cents) do not add up to the payment",
                  pl.col("_shares_sum")))
        .otherwise(pl.lit(None, pl.String))
    )


def _planned_payments(planned: pl.DataFrame) -> list[PlannedPayment]:
    """One PlannedPayment per GoCardless id, its invoices gathered by polars."""
    grouped = planned.group_by("gc_payment_id", maintain_order=True).agg(
        pl.col("charge_date", "payout_id", "amount_cents", "match_type", "currency").first(),
        (pl.col("flag") == PARTIAL_FLAG).any().alias("partial"),
        pl.when(pl.col("match_type") == DECISION)
        .then(pl.col("evidence").str.extract(r"^decision: ([^;]*)").str.strip_chars())
        .first().alias("decided"),
        pl.coalesce("invoice_customer_name", "customer_name", pl.lit("")).first()
        .alias("customer"),
        pl.col("invoice_id", "invoice_ref"),
        pl.when(IS_MULTI).then(pl.col("_share")).otherwise(pl.col("amount_cents")).alias("shares"),
    )
    return [
        PlannedPayment(
            gc_payment_id=r["gc_payment_id"], charge_date=r["charge_date"],
            payout_id=r["payout_id"], customer_name=r["customer"],
            amount_cents=r["amount_cents"], match_type=r["match_type"],
            allocations=tuple(Allocation(*share) for share in
                              zip(r["invoice_id"], r["invoice_ref"], r["shares"])),
            partial=r["partial"], currency=r["currency"], decided=r["decided"],
        )
        for r in grouped.iter_rows(named=True)
    ]


def _left_out(judged: pl.DataFrame) -> list[LeftOut]:
    rows = judged.filter(pl.col("reason").is_not_null()).select(
        "gc_payment_id", "invoice_ref", "amount_cents", "reason")
    return [LeftOut(r["gc_payment_id"] or "", r["invoice_ref"] or "", r["amount_cents"] or 0,
                    r["reason"]) for r in rows.iter_rows(named=True)]


def hold_unbanked(plan: Plan, payouts: pl.DataFrame) -> Plan:
    """Payments whose payout is overdue and not in the bank wait (config
    fix.require_payout_in_bank): money GoCardless says it paid out but the bank never showed
    is doubtful. A payout not yet due (PAYOUT_PENDING) holds nothing back."""
    overdue = {r["payout_id"]: r for r in payouts.filter(pl.col("flag") == NOT_IN_BANK)
               .select("payout_id", "net_cents", "arrival_date").iter_rows(named=True)}
    held = [p for p in plan.payments if p.payout_id in overdue]
    reasons = [LeftOut(p.gc_payment_id, p.invoice_refs, p.amount_cents, _not_in_bank(overdue[p.payout_id]))
               for p in held]
    return Plan([p for p in plan.payments if p.payout_id not in overdue], plan.left_out + reasons)


def _not_in_bank(payout: dict) -> str:
    expected = payout["arrival_date"].isoformat() if payout["arrival_date"] else "on an unknown date"
    return (f"payout {payout['payout_id']} of {money(payout['net_cents'] or 0)} expected {expected}, "
            "not in the bank (fix.require_payout_in_bank: false records it anyway)")
