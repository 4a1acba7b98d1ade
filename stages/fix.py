"""Stage fix: record in Dolibarr the GoCardless payments that pass 1 proved received.

The only stage that writes outside the project, and Dolibarr protects nothing (API_FACTS.md
§7: no duplicate check, drafts and abandoned invoices accept payments, no undo), so every
safeguard lives here:

1. the plan comes from pass 1 only (recon.fixplan) and is printed with its total;
2. nothing is written without confirmation (`--confirm yes`, or "yes" typed at a terminal);
3. the payment mode and bank account ids are checked to exist before the first write;
4. unresolved journal intents from an earlier run are settled by reading, never re-posted;
5. just before each POST the invoice is re-read live (validated, not a credit note, enough
   left to pay, no payment already carrying the GoCardless id); any difference: skip;
6. an intent line is on disk before each POST and a result line after it; a POST whose
   outcome is unknown is settled by reading, never retried.

In clearing mode (config fix.clearing_account_id) payments go to the clearing account and
each payout that reached the bank is then booked (recon.payout_booking decides what,
recon.payout_writes writes it, exactly once), only when all its payments are there.

Usage: fix.py --pass1 interim/pass1_<W>.parquet --config config.yaml
              --journal journal/fix_journal.jsonl --written-stamp tmp/dolibarr_written.stamp
              [--pass2 interim/pass2_<W>.parquet] [--pass3 interim/pass3_<W>.parquet
               --payments interim/gc_payments.parquet
               --payout-items interim/gc_payout_items.parquet] [--confirm yes]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, TextIO

from recon import config as config_module
from recon.dolibarr import client_from_env
from recon.errors import StageError, run
from recon.fix_settings import FixSettings, fix_settings, to_cents
from recon.fix_writes import FixRun
from recon.fixplan import TRANSFER_KIND, Plan, hold_unbanked, plan_payments
from recon.io import read_columns, read_parquet, scan_parquet
from recon.journal import Journal
from recon.payout_booking import Booking, payments_filter, read_bookings
from recon.payout_writes import TO_BOOK, PayoutWriter, lines_for
from recon.plan_text import render_bookings, render_plan
from recon.schemas import PASS1, PASS3
from recon.transfer_plan import PASS2_TRANSFERS, plan_transfers, with_transfers

PAYOUT_STATE_COLUMNS = ("payout_id", "flag", "net_cents", "arrival_date")


def confirmed(answer: str | None, stdin: TextIO, out: Callable[[str], None]) -> bool:
    """`--confirm yes`, or "yes" typed at a terminal; with no terminal and no answer: no."""
    if answer is not None:
        if answer.strip() == "yes":
            return True
        out(f"Not confirmed (--confirm {answer!r}; only 'yes' writes). Nothing written.")
        return False
    if not stdin.isatty():
        out("No confirmation and no terminal: nothing written. "
            "To write, run `make fix CONFIRM=yes` (or pass --confirm yes).")
        return False
    print("Record these payments in Dolibarr? Type yes to go on: ", end="", flush=True)
    if stdin.readline().strip() == "yes":
        return True
    out("Not confirmed. Nothing written.")
    return False


def writer_line(client) -> str:
    """Which Dolibarr, and whose key, the writes will use (GET /users/info; never the key)."""
    user = client.get("/users/info")
    user = user if isinstance(user, dict) else {}
    return (f"Writes go to Dolibarr at {client.display_url} as user '{user.get('login')}' "
            f"(id {user.get('id')}), key {client.key_name}.")


def clearing_bookings(args: argparse.Namespace) -> list[Booking]:
    """Clearing mode: the payouts to book, from pass 3, the payments and the breakdown."""
    for name in ("pass3", "payments", "payout_items"):
        if not getattr(args, name):
            raise StageError(f"clearing mode (fix.clearing_account_id) needs --{name.replace('_', '-')}")
    return read_bookings(args.pass3, args.payments, args.payout_items)


def show_bookings(client, journal: Journal, settings: FixSettings, plan: Plan,
                  bookings: list[Booking]) -> int:
    """Print what the payouts need (read live, nothing written); how many have lines to post."""
    writer = PayoutWriter(client, journal, settings, lambda: None)
    planned = frozenset(p.gc_payment_id for p in plan.payments)
    previews = [(b, writer.preview(b, planned)) for b in bookings]
    balance = to_cents(client.get(f"/bankaccounts/{settings.clearing_account_id}/balance"))
    there = {str(l.get("num_chq") or "").upper() for l in lines_for(
        client, settings.clearing_account_id, payments_filter(tuple(sorted(planned))))} if planned else set()
    coming = sum(p.amount_cents for p in plan.payments
                 if p.gc_payment_id.upper() not in there and p.kind != TRANSFER_KIND)
    print(render_bookings(previews, settings, balance, coming))
    return sum(1 for _, p in previews if p.state == TO_BOOK)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Record in Dolibarr the GoCardless payments pass 1 proved received "
                    "(GC_PAID_DOLIBARR_OPEN). Shows the plan; writes only when confirmed.")
    parser.add_argument("--pass1", required=True, help="interim/pass1_<FROM>_<TO>.parquet")
    parser.add_argument("--config", required=True, help="config.yaml (section fix:)")
    parser.add_argument("--journal", required=True, help="append-only journal, e.g. "
                        "journal/fix_journal.jsonl")
    parser.add_argument("--written-stamp", required=True, help="file touched after a write, "
                        "so the next report refetches Dolibarr")
    parser.add_argument("--pass2", help="interim/pass2_<FROM>_<TO>.parquet (fix.allow_transfers)")
    parser.add_argument("--pass3", help="interim/pass3_<FROM>_<TO>.parquet (payouts not in the "
                        "bank: fix.require_payout_in_bank; clearing mode)")
    parser.add_argument("--payments", help="interim/gc_payments.parquet (clearing mode)")
    parser.add_argument("--payout-items", help="interim/gc_payout_items.parquet (clearing mode)")
    parser.add_argument("--confirm", help="'yes' writes without asking; without it, ask at a "
                        "terminal, else only show the plan")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, stdin: TextIO | None = None) -> int:
    args = parse_args(argv)
    config = config_module.load(args.config)
    settings = fix_settings(config, args.config)
    plan = plan_payments(read_parquet(args.pass1, PASS1), allow_soft=settings.allow_soft,
                         allow_multi_invoice=settings.allow_multi_invoice)
    if settings.allow_transfers:
        if not args.pass2:
            raise StageError("fix.allow_transfers needs --pass2 (interim/pass2_<W>.parquet)")
        plan = with_transfers(plan, plan_transfers(scan_parquet(args.pass2, PASS2_TRANSFERS).collect(),
                                                   allow_soft=settings.allow_soft))
    if settings.require_payout_in_bank and args.pass3:
        plan = hold_unbanked(plan, read_columns(args.pass3, PASS3, PAYOUT_STATE_COLUMNS))
    bookings = clearing_bookings(args) if settings.clearing_account_id else []
    journal = Journal(args.journal)
    with journal.locked():
        unresolved = journal.unresolved()
        print(render_plan(plan, settings, unresolved))
        answer = stdin or sys.stdin
        may_ask = args.confirm == "yes" or (args.confirm is None and answer.isatty())
        needed = settings.clearing_account_id or (may_ask and (plan.payments or unresolved))
        client = client_from_env(config, write=True) if needed else None
        try:
            if client is not None:
                print(writer_line(client))
            to_book = (show_bookings(client, journal, settings, plan, bookings)
                       if settings.clearing_account_id else 0)
            if not plan.payments and not unresolved and not to_book:
                print("Nothing to record.")
                return 0
            if not confirmed(args.confirm, answer, print):
                return 0
            client = client or client_from_env(config, write=True)
            fix_run = FixRun(client, journal, settings, Path(args.written_stamp))
            try:
                tally = fix_run.run(plan, unresolved, bookings)
            finally:
                print(fix_run.tally.summary())
        finally:
            if client is not None:
                client.close()
    if tally.stopped:
        raise StageError(f"make fix stopped: {tally.stopped}")
    return 0 if tally.ok else 1


if __name__ == "__main__":
    run(main)
