"""Clearing mode: is each payout of the window booked in Dolibarr? Read live, as `make fix`
would before writing (recon.payout_writes.PayoutWriter.preview), written to nothing."""
from __future__ import annotations

import polars as pl

from recon.dolibarr import client_from_env
from recon.fix_settings import FixSettings, money
from recon.fixplan import plan_payments
from recon.io import read_parquet
from recon.payout_booking import read_bookings
from recon.payout_writes import BOOKED, LEFT, STOP, TO_BOOK, PayoutWriter
from recon.schemas import PASS1

STATES = {BOOKED: "booked", TO_BOOK: "to book", LEFT: "left for a person", STOP: "differs"}


def payout_status(config: dict, settings: FixSettings, pass1: str, pass3: str, payments: str,
                  payout_items: str) -> pl.DataFrame:
    """One row per payout that reached the bank: booked, to book, left, or differs, counting
    the payments `make fix` would record first."""
    bookings = read_bookings(pass3, payments, payout_items)
    plan = plan_payments(read_parquet(pass1, PASS1), allow_soft=settings.allow_soft,
                         allow_multi_invoice=settings.allow_multi_invoice)
    planned = frozenset(p.gc_payment_id for p in plan.payments)
    with client_from_env(config) as client:
        writer = PayoutWriter(client, None, settings, lambda: None)
        return booking_table([(b, writer.preview(b, planned)) for b in bookings])


def booking_table(previews: list) -> pl.DataFrame:
    """One row per payout: its state in Dolibarr and what make fix would do about it."""
    return pl.DataFrame([{
        "payout_id": b.payout_id, "bank_date": b.bank_date, "net_eur": money(b.net_cents),
        "booked_in_dolibarr": STATES[p.state],
        "make_fix_would": "; ".join(f"{l.kind} {money(l.clearing_cents)}" for l in p.to_post)
        or ("nothing" if p.state == BOOKED else "write nothing"),
        "why": p.why or "",
    } for b, p in previews], schema={"payout_id": pl.String, "bank_date": pl.Date, "net_eur": pl.String,
                                     "booked_in_dolibarr": pl.String, "make_fix_would": pl.String,
                                     "why": pl.String})


def summary_lines(table: pl.DataFrame, clearing_id: int) -> list[str]:
    counts = table.group_by("booked_in_dolibarr").len().sort("booked_in_dolibarr")
    said = ", ".join(f"{n} {state}" for state, n in counts.iter_rows()) or "no payout reached the bank"
    lines = [f"Payouts in Dolibarr (clearing account {clearing_id}): {said}."]
    for r in table.filter(pl.col("booked_in_dolibarr") != "booked").iter_rows(named=True):
        detail = r["why"] or f"make fix would post {r['make_fix_would']}"
        lines.append(f"  {r['payout_id']:<16} {r['bank_date']} {r['net_eur']:>10}  "
                     f"{r['booked_in_dolibarr']}: {detail}")
    return lines
