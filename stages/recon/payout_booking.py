"""Clearing mode: what to book in Dolibarr for each GoCardless payout that reached the bank.

Accountants book a payment provider through a clearing account (Dolibarr's own Stripe module
does): customer payments land on the clearing account at their gross amount, and each payout
empties it again with
- a transfer of the payout's net amount from the clearing account to the bank account, dated
  the bank line's date, so Dolibarr's bank account shows the statement's payout line;
- one line for GoCardless's fees of the payout (fees + VAT, negative), its label giving HT
  and TVA, for the accountant's deductible VAT;
- one line per chargeback or refund netted in the payout (from the breakdown export), and
  one for fees given back, if any.
The lines of one payout add up to its gross (the payments it carries), so the clearing
account holds exactly the money GoCardless still holds.

Everything here is pure but `read_bookings`, which reads the files for `plan_bookings`:
that turns pass 3 (and the payments and breakdown exports) into bookings;
`missing_postings` says, given the lines Dolibarr already holds for a payout, what is left
to post, or why that payout must stop; `payments_problem` says whether every payment of a
payout is on the clearing account. API_FACTS.md §10.10 is the recipe: payout id in the
transfer's `cheque_number` (hidden column `emetteur`) and in the other lines' `num_chq`,
the kind of line told apart by its label, amounts compared.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timezone

import polars as pl

from recon.fix_settings import money, to_cents
from recon.io import read_columns, scan_parquet
from recon.schemas import GC_PAYMENTS, GC_PAYOUT_ITEMS

PAYOUT_MATCHED = "PAYOUT_MATCHED"
LINE_TYPE = "PRE"  # a payment-mode code (API_FACTS §10.6: at most 6 characters)
TRANSFER, FEES, DEDUCTION = "transfer", "fees", "deduction"
# The pass-3 columns a booking needs (the fee split and deductions are pass 3's fee
# accounting); the payments and breakdown columns it reads.
PASS3_BOOKING = {"flag": pl.String, "payout_id": pl.String, "gross_cents": pl.Int64,
                 "fees_ht_cents": pl.Int64, "fees_tva_cents": pl.Int64,
                 "chargebacks_cents": pl.Int64, "refunds_cents": pl.Int64,
                 "fees_refunded_cents": pl.Int64, "net_cents": pl.Int64, "bank_date": pl.Date,
                 "bank_transaction_id": pl.String}
PAYMENT_COLUMNS = ("gc_payment_id", "payout_id", "amount_cents")
ITEM_COLUMNS = ("payout_id", "resource_type", "gc_payment_id", "status", "gross_cents", "fees_cents")


@dataclass(frozen=True)
class Line:
    """One thing to write for a payout; `clearing_cents` is its signed amount on the clearing
    account (the transfer's source side included)."""
    kind: str  # TRANSFER, FEES or DEDUCTION
    label: str
    clearing_cents: int


@dataclass(frozen=True)
class Booking:
    payout_id: str
    bank_date: date
    bank_transaction_id: str
    gross_cents: int
    net_cents: int
    payment_ids: tuple[str, ...]
    lines: tuple[Line, ...]
    problem: str | None  # why a person must book it (nothing is written for it)

    @property
    def clearing_cents(self) -> int:
        return sum(line.clearing_cents for line in self.lines)


def transfer_label(payout_id: str) -> str:
    """Letters, digits, spaces and '-' only: Dolibarr strips the rest (API_FACTS §10.5)."""
    return f"GoCardless payout {payout_id}"


def fee_label(payout_id: str, ht_cents: int, tva_cents: int) -> str:
    vat = f"TVA {money(tva_cents)}" if tva_cents else "no TVA"
    return f"GoCardless fees {payout_id} (HT {money(ht_cents)}, {vat})"


def deduction_label(payout_id: str, kind: str, gc_payment_id: str) -> str:
    return f"GoCardless {kind} {gc_payment_id} in payout {payout_id}"


def noon_utc(day: date) -> int:
    """Bank endpoints take Unix timestamps only; noon UTC keeps the day on any server
    between UTC-11 and UTC+11 (API_FACTS §10.5)."""
    return int(datetime.combine(day, time(12), tzinfo=timezone.utc).timestamp())


# --- from the frames to bookings -----------------------------------------------------------

def deduction_items(items: pl.DataFrame) -> pl.DataFrame:
    """The breakdown's debits and fees given back, one row per line to book."""
    kind = (pl.when(pl.col("resource_type") == "refund").then(pl.lit("refund"))
            .when(pl.col("status") == "charged_back").then(pl.lit("chargeback"))
            .when(pl.col("status") == "failed").then(pl.lit("late failure"))
            .otherwise(pl.col("resource_type")))
    debits = items.filter(pl.col("gross_cents") < 0).select(
        "payout_id", "gc_payment_id", kind=kind, clearing_cents=pl.col("gross_cents"))
    fees_back = items.filter(pl.col("fees_cents") < 0).select(
        "payout_id", "gc_payment_id", kind=pl.lit("fees given back on"),
        clearing_cents=-pl.col("fees_cents"))
    return pl.concat([debits, fees_back]).sort("payout_id", "kind", "gc_payment_id")


def read_bookings(pass3: str, payments: str, items: str) -> list[Booking]:
    """plan_bookings() of the window's pass 3, payments and breakdown Parquet files."""
    return plan_bookings(scan_parquet(pass3, PASS3_BOOKING).collect(),
                         read_columns(payments, GC_PAYMENTS, PAYMENT_COLUMNS),
                         read_columns(items, GC_PAYOUT_ITEMS, ITEM_COLUMNS))


def plan_bookings(pass3: pl.DataFrame, payments: pl.DataFrame, items: pl.DataFrame) -> list[Booking]:
    """One booking per PAYOUT_MATCHED payout; one whose figures do not add up carries its problem."""
    payouts = pass3.filter(pl.col("flag") == PAYOUT_MATCHED).sort("bank_date", "payout_id")
    carried = payments.filter(pl.col("payout_id").is_in(payouts["payout_id"].implode())).group_by(
        "payout_id").agg(pl.col("gc_payment_id").sort(), carried_cents=pl.col("amount_cents").sum())
    deductions = deduction_items(items).group_by("payout_id").agg(
        "kind", "gc_payment_id", "clearing_cents")
    rows = (payouts.join(carried, on="payout_id", how="left")
            .join(deductions.rename({"gc_payment_id": "deducted_ids"}), on="payout_id", how="left"))
    return [_booking(row) for row in rows.iter_rows(named=True)]


def _booking(row: dict) -> Booking:
    payout = row["payout_id"]
    zero = lambda name: row.get(name) or 0  # noqa: E731
    ht, tva = zero("fees_ht_cents"), zero("fees_tva_cents")
    lines = [Line(TRANSFER, transfer_label(payout), -zero("net_cents"))]
    if ht or tva:
        lines.append(Line(FEES, fee_label(payout, ht, tva), -(ht + tva)))
    for kind, payment, cents in zip(row["kind"] or [], row["deducted_ids"] or [], row["clearing_cents"] or []):
        lines.append(Line(DEDUCTION, deduction_label(payout, kind, payment), cents))
    booking = Booking(payout, row["bank_date"], row["bank_transaction_id"] or "", zero("gross_cents"),
                      zero("net_cents"), tuple(row["gc_payment_id"] or ()), tuple(lines), None)
    return _with_problem(booking, row)


def _with_problem(booking: Booking, row: dict) -> Booking:
    """The lines must give back exactly the payout's gross (what its payments brought to the
    clearing account), else the account would keep or lack money. Sign conventions of the
    deduction columns do not matter: the breakdown's lines are compared by size."""
    debits = sum(-l.clearing_cents for l in booking.lines if l.kind == DEDUCTION and l.clearing_cents < 0)
    given_back = sum(l.clearing_cents for l in booking.lines if l.kind == DEDUCTION and l.clearing_cents > 0)
    pass3_debits = abs(row.get("chargebacks_cents") or 0) + abs(row.get("refunds_cents") or 0)
    pass3_given_back = abs(row.get("fees_refunded_cents") or 0)
    problem = None
    if row.get("fees_ht_cents") is None or row.get("fees_tva_cents") is None:
        problem = "the payments export gives no fee columns: HT and TVA of its fees are unknown"
    elif booking.net_cents <= 0:
        problem = f"its net amount {money(booking.net_cents)} is not positive"
    elif (debits, given_back) != (pass3_debits, pass3_given_back):
        problem = (f"the breakdown's lines (debits {money(debits)}, fees given back {money(given_back)}) "
                   f"are not pass 3's (chargebacks and refunds {money(pass3_debits)}, fees given back "
                   f"{money(pass3_given_back)}); download the breakdown export")
    elif -booking.clearing_cents != booking.gross_cents:
        problem = (f"net + fees + deductions ({money(-booking.clearing_cents)}) is not the gross "
                   f"{money(booking.gross_cents)}")
    elif (row.get("carried_cents") or 0) != booking.gross_cents:
        problem = (f"its payments in the payments export add up to {money(row.get('carried_cents') or 0)}, "
                   f"not its gross {money(booking.gross_cents)}")
    return booking if problem is None else replace(booking, problem=problem)


# --- given what Dolibarr holds ---------------------------------------------------------------

def payout_filter(payout_id: str) -> str:
    """Everything recorded for the payout on an account (API_FACTS §10.10): the transfer by its
    hidden `emetteur`, the other lines by `num_chq`, and by label for versions without either."""
    return f"(num_chq:=:'{payout_id}') or (emetteur:=:'{payout_id}') or (label:like:'%{payout_id}%')"


def payments_filter(payment_ids: tuple[str, ...]) -> str:
    return "(num_chq:in:" + ",".join(f"'{p}'" for p in payment_ids) + ")"


@dataclass(frozen=True)
class Missing:
    """What is left to post for a payout, what is there already, or why it stops."""
    to_post: tuple[Line, ...]
    present: tuple[Line, ...]
    stop: str | None


def missing_postings(booking: Booking, existing: list[dict]) -> Missing:
    """Match the booking's lines to the clearing account's lines for the payout, by label
    (the transfer's exactly, the others by their start) and compare amounts. Post only what
    is missing; any amount that differs, or a line found twice, stops the payout."""
    to_post, present, problems = [], [], []
    for line in booking.lines:
        found = [e for e in existing if same_line(line, str(e.get("label") or ""))]
        if not found:
            to_post.append(line)
            continue
        amounts = [to_cents(e.get("amount")) for e in found]
        if len(found) > 1:
            problems.append(f"the {line.kind} line '{line.label}' is there {len(found)} times "
                            f"(lines {', '.join(str(e.get('id')) for e in found)})")
        elif amounts[0] != line.clearing_cents:
            problems.append(f"the {line.kind} line '{line.label}' (line {found[0].get('id')}) is "
                            f"{money(amounts[0] or 0)} in Dolibarr, the plan says {money(line.clearing_cents)}")
        else:
            present.append(line)
    stop = "; ".join(problems) or None
    return Missing(tuple(to_post) if stop is None else (), tuple(present), stop)


def same_line(line: Line, label: str) -> bool:
    """Is the Dolibarr line with this label the booking's `line`? The transfer by its exact
    label, the fee line by its start (its amounts in brackets may be written otherwise)."""
    if line.kind == TRANSFER:
        return label == line.label
    if line.kind == FEES:
        return label.startswith(line.label.split(" (")[0] + " ")
    return label == line.label


def payments_problem(booking: Booking, on_clearing: list[dict], elsewhere: list[dict],
                     bank_account_id: int) -> str | None:
    """None when every payment of the payout is on the clearing account, else which are not
    (read from the clearing account's and the bank account's lines by payment id)."""
    found = {str(l.get("num_chq") or "").upper() for l in on_clearing}
    other = {str(l.get("num_chq") or "").upper(): l for l in elsewhere}
    missing = [p for p in booking.payment_ids if p.upper() not in found]
    if not booking.payment_ids:
        return "no payment of the payments export is in this payout"
    if not missing:
        return None
    where = [f"{p} on bank account {bank_account_id}" if p.upper() in other else f"{p} on neither account"
             for p in missing]
    return (f"{len(missing)} of its {len(booking.payment_ids)} payments are not on the clearing "
            f"account: {', '.join(where)}")
