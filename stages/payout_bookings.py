"""Stage payout_bookings (clearing mode): is each payout of the window booked in Dolibarr?

Run by `make report` after the summary; silent when config `fix.clearing_account_id` is not
set. For each payout that reached the bank (PAYOUT_MATCHED) it reads the clearing account's
lines live, as `make fix` would before writing (recon.payout_writes.PayoutWriter.preview,
counting the payments `make fix` would record first), and says: booked, to book (what
`make fix` would post), left for a person (why), or differs (an amount in Dolibarr is not
the plan's). Writes nothing to Dolibarr; the table goes to --out as CSV. With
DOLIBARR_SNAPSHOT (offline) it says that it did not check.

Usage: payout_bookings.py --pass1 P1 --pass3 P3 --payments GC --payout-items ITEMS
                          --config config.yaml --out tmp/payout_bookings_<W>.csv
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import polars as pl

from recon import config as config_module
from recon.dolibarr import client_from_env
from recon.errors import run
from recon.fix_settings import fix_settings, money
from recon.fixplan import plan_payments
from recon.io import read_parquet, write_text
from recon.payout_booking import read_bookings
from recon.payout_writes import BOOKED, LEFT, STOP, TO_BOOK, PayoutWriter
from recon.schemas import PASS1

STATES = {BOOKED: "booked", TO_BOOK: "to book", LEFT: "left for a person", STOP: "differs"}


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


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, text in (("--pass1", "pass-1 Parquet"), ("--pass3", "pass-3 Parquet"),
                       ("--payments", "gc_payments Parquet"), ("--payout-items", "gc_payout_items Parquet"),
                       ("--config", "config.yaml"), ("--out", "the CSV to write")):
        parser.add_argument(name, required=True, help=text)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    config = config_module.load(args.config)
    settings = fix_settings(config, args.config)
    if not settings.clearing_account_id:
        return 0
    if os.environ.get("DOLIBARR_SNAPSHOT", "").strip():
        print("Payouts in Dolibarr: not checked (DOLIBARR_SNAPSHOT: offline).")
        return 0
    bookings = read_bookings(args.pass3, args.payments, args.payout_items)
    plan = plan_payments(read_parquet(args.pass1, PASS1), allow_soft=settings.allow_soft,
                         allow_multi_invoice=settings.allow_multi_invoice)
    planned = frozenset(p.gc_payment_id for p in plan.payments)
    with client_from_env(config) as client:
        writer = PayoutWriter(client, None, settings, lambda: None)
        table = booking_table([(b, writer.preview(b, planned)) for b in bookings])
    write_text(table.write_csv(), Path(args.out))
    print("\n".join(summary_lines(table, settings.clearing_account_id)))
    return 0


if __name__ == "__main__":
    run(main)
