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

Usage: fix.py --pass1 interim/pass1_<W>.parquet --config config.yaml
              --journal tmp/fix_journal.jsonl --written-stamp tmp/dolibarr_written.stamp
              [--confirm yes]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, TextIO

from recon import config as config_module
from recon.dolibarr import client_from_env
from recon.errors import StageError, run
from recon.fix_settings import fix_settings
from recon.fix_writes import FixRun
from recon.fixplan import plan_payments
from recon.io import read_parquet
from recon.journal import Journal
from recon.plan_text import render_plan
from recon.schemas import PASS1


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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Record in Dolibarr the GoCardless payments pass 1 proved received "
                    "(GC_PAID_DOLIBARR_OPEN). Shows the plan; writes only when confirmed.")
    parser.add_argument("--pass1", required=True, help="interim/pass1_<FROM>_<TO>.parquet")
    parser.add_argument("--config", required=True, help="config.yaml (section fix:)")
    parser.add_argument("--journal", required=True, help="append-only journal, e.g. "
                        "tmp/fix_journal.jsonl")
    parser.add_argument("--written-stamp", required=True, help="file touched after a write, "
                        "so the next report refetches Dolibarr")
    parser.add_argument("--confirm", help="'yes' writes without asking; without it, ask at a "
                        "terminal, else only show the plan")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, stdin: TextIO | None = None) -> int:
    args = parse_args(argv)
    config = config_module.load(args.config)
    settings = fix_settings(config, args.config)
    plan = plan_payments(read_parquet(args.pass1, PASS1), allow_soft=settings.allow_soft,
                         allow_multi_invoice=settings.allow_multi_invoice)
    journal = Journal(args.journal)
    with journal.locked():
        unresolved = journal.unresolved()
        print(render_plan(plan, settings, unresolved))
        if not plan.payments and not unresolved:
            print("Nothing to record.")
            return 0
        if not confirmed(args.confirm, stdin or sys.stdin, print):
            return 0
        client = client_from_env(config, write=True)
        fix_run = FixRun(client, journal, settings, Path(args.written_stamp))
        try:
            tally = fix_run.run(plan, unresolved)
        finally:
            client.close()
            print(fix_run.tally.summary())
    if tally.stopped:
        raise StageError(f"make fix stopped: {tally.stopped}")
    return 0 if tally.ok else 1


if __name__ == "__main__":
    run(main)
