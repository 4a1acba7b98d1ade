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
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, TextIO

from recon import config as config_module
from recon.dolibarr import (ApiNotFoundError, AuthError, BadRequestError, DolibarrError,
                            ForbiddenError, NotFoundError, UnreachableError, client_from_env)
from recon.errors import InputError, StageError, run
from recon.fixplan import Allocation, Plan, PlannedPayment, plan_payments
from recon.io import read_parquet
from recon.journal import (ERROR, FOUND_ON_REREAD, NOT_RECORDED, RECORDED, UNKNOWN,
                           Journal)
from recon.schemas import PASS1

FULL_REMAINDER = "whole remainder"
EXACT_AMOUNT = "exact amount"
DISTRIBUTED_PATH = "/invoices/paymentsdistributed"
INVOICE_STATUS = {"0": "a draft", "1": "validated", "2": "closed", "3": "abandoned"}


# --- settings and formatting --------------------------------------------------------------

@dataclass(frozen=True)
class FixSettings:
    allow_soft: bool
    allow_multi_invoice: bool
    payment_type_id: int
    bank_account_id: int


def fix_settings(config: dict, config_path: str) -> FixSettings:
    """The `fix:` section, checked: ids are whole numbers >= 1, switches are booleans."""
    section = config.get("fix") or {}
    switches = {}
    for key in ("allow_soft", "allow_multi_invoice"):
        switches[key] = section.get(key, False)
        if not isinstance(switches[key], bool):
            raise InputError(f"fix.{key} must be true or false", file=config_path,
                             value=switches[key])
    ids = {}
    for key, variable in (("payment_type_id", "DOLIBARR_GC_PAYMENT_ID"),
                          ("bank_account_id", "DOLIBARR_BANK_ACCOUNT_ID")):
        value = section.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"fix.{key} (or {variable}) must be a Dolibarr id, a whole "
                             "number of at least 1", file=config_path, value=value)
        ids[key] = value
    return FixSettings(**switches, **ids)


def money(cents: int) -> str:
    """Cents as the decimal string Dolibarr and people read: 123456 -> '1234.56'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def to_cents(value: object) -> int | None:
    """A Dolibarr amount ('39.9', '1200.00000000', 55) as cents; None when unreadable."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def payment_date(payment: PlannedPayment) -> str:
    """Noon of the charge date: Dolibarr reads it as UTC, so any server TZ keeps the day."""
    return f"{payment.charge_date.isoformat()} 12:00:00"


def payment_comment(payment: PlannedPayment) -> str:
    payout = f"payout {payment.payout_id}" if payment.payout_id else "not yet in a payout"
    return f"GoCardless payment {payment.gc_payment_id}, {payout} (recorded by make fix)"


# --- the plan, shown before anything happens ------------------------------------------------

def render_plan(plan: Plan, settings: FixSettings, unresolved: list[dict]) -> str:
    policy = ("strong and soft matches" if settings.allow_soft
              else "strong matches only; fix.allow_soft is false")
    lines = [f"Plan: {len(plan.payments)} GoCardless payment(s) to record in Dolibarr, "
             f"total {money(plan.total_cents)} ({policy})."]
    if plan.payments:
        lines.append(f"  {'invoice':<26} {'customer':<30} {'amount':>10}  "
                     f"{'GoCardless id':<16} {'charge date':<11}  payout")
        for p in plan.payments:
            lines.append(f"  {p.invoice_refs:<26} {p.customer_name[:30]:<30} "
                         f"{money(p.amount_cents):>10}  {p.gc_payment_id:<16} "
                         f"{p.charge_date.isoformat():<11}  {p.payout_id or '-'}")
        lines.append(f"  {'total':<57} {money(plan.total_cents):>10}")
    if plan.left_out:
        lines.append(f"Left out ({len(plan.left_out)}), not written:")
        for item in plan.left_out:
            lines.append(f"  {item.invoice_ref or '-':<26} {item.gc_payment_id:<16} "
                         f"{money(item.amount_cents):>10}  {item.reason}")
    if unresolved:
        lines.append(f"The journal holds {len(unresolved)} earlier attempt(s) whose outcome is "
                     "not known; they are settled by reading Dolibarr before any write:")
        for intent in unresolved:
            lines.append(f"  {intent.get('gc_payment_id')} on "
                         f"{intent_refs(intent)} ({intent.get('at')})")
    return "\n".join(lines)


def intent_refs(intent: dict) -> str:
    return "+".join(str(i.get("invoice_ref")) for i in intent.get("invoices", []))


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


# --- live checks: pure decisions on what Dolibarr answers ----------------------------------

def by_id(items: list[dict], wanted: int) -> dict | None:
    """The Dolibarr object whose id is `wanted` (ids come back as text or numbers)."""
    return next((item for item in items if str(item.get("id")) == str(wanted)), None)


def find_recorded(payments: list, gc_payment_id: str) -> dict | None:
    """The payment in an invoice's payment list carrying this GoCardless id (num or ref_ext)."""
    wanted = gc_payment_id.strip().upper()
    for item in payments or []:
        if not isinstance(item, dict):
            continue
        for key in ("num", "ref_ext"):
            if str(item.get(key) or "").strip().upper() == wanted:
                return item
    return None


def invoice_problem(invoice: dict, allocation: Allocation) -> tuple[str | None, int | None]:
    """Why this invoice must not receive this share now (None if it may), and what remains."""
    ref = str(invoice.get("ref") or "")
    status = str(invoice.get("status", invoice.get("statut")))
    remaining = to_cents(invoice.get("remaintopay"))
    if ref.strip().upper() != allocation.invoice_ref.strip().upper():
        return f"invoice id {allocation.invoice_id} is now {ref!r}, not the planned ref", remaining
    if str(invoice.get("type")) == "2":
        return "is a credit note", remaining
    if status != "1":
        state = INVOICE_STATUS.get(status, f"in status {status}")
        return f"is {state} in Dolibarr now (status {status}), not open", remaining
    if remaining is None:
        return f"remaintopay {invoice.get('remaintopay')!r} is not an amount", remaining
    if remaining < allocation.amount_cents:
        return (f"only {money(remaining)} left to pay, less than "
                f"{money(allocation.amount_cents)}"), remaining
    return None, remaining


@dataclass(frozen=True)
class Posting:
    """What to send for one planned payment, decided from the live remainder."""
    path: str
    body: dict
    how: str


def posting_for(payment: PlannedPayment, remaining_cents: int, settings: FixSettings) -> Posting:
    """The whole-remainder endpoint when the payment pays exactly what remains, else the
    exact amounts through paymentsdistributed (the only endpoint that takes an amount)."""
    common = {
        "datepaye": payment_date(payment),
        "paymentid": settings.payment_type_id,
        "accountid": settings.bank_account_id,
        "closepaidinvoices": "yes",
        "num_payment": payment.gc_payment_id,
        "comment": payment_comment(payment),
    }
    single = payment.allocations[0] if len(payment.allocations) == 1 else None
    if single is not None and single.amount_cents == remaining_cents:
        return Posting(f"/invoices/{single.invoice_id}/payments", common, FULL_REMAINDER)
    for allocation in payment.allocations:
        if allocation.amount_cents <= 0:  # Dolibarr would accept a negative payment
            raise ValueError(f"refusing a non-positive amount for {allocation.invoice_ref}")
    amounts = {str(a.invoice_id): {"amount": money(a.amount_cents), "multicurrency_amount": ""}
               for a in payment.allocations}
    body = {"arrayofamounts": amounts, **common, "ref_ext": payment.gc_payment_id}
    return Posting(DISTRIBUTED_PATH, body, EXACT_AMOUNT)


# --- the run ----------------------------------------------------------------------------------

# Errors that end the run: the key, the permissions or the server are wrong for every
# payment alike (the client raises AuthError for every 401, ForbiddenError for every 403).
STOP_ERRORS = (AuthError, ForbiddenError, UnreachableError, ApiNotFoundError)
# Answers that say nothing was recorded (Dolibarr rolls back); anything else after a POST
# (lost connection, timeout, 5xx, a garbled answer) may have been recorded.
DEFINITE_REFUSALS = (BadRequestError, NotFoundError, AuthError, ForbiddenError)


@dataclass
class Tally:
    recorded: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: int = 0
    recorded_cents: int = 0
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unknown or self.stopped)

    def summary(self) -> str:
        text = (f"Recorded {self.recorded} ({money(self.recorded_cents)}), skipped "
                f"{self.skipped}, failed {self.failed}, outcome unknown {self.unknown}.")
        return text + (f" Stopped: {self.stopped}" if self.stopped else "")


@dataclass
class FixRun:
    client: object
    journal: Journal
    settings: FixSettings
    written_stamp: Path
    out: Callable[[str], None] = print
    tally: Tally = field(default_factory=Tally)

    def run(self, plan: Plan, unresolved: list[dict]) -> Tally:
        """Check the ids, settle the journal, then record the plan payment by payment."""
        try:
            self.check_reference_ids()
            for intent in unresolved:
                self.settle_earlier_attempt(intent)
            for payment in plan.payments:
                self.record(payment)
        except DolibarrError as exc:
            if not isinstance(exc, STOP_ERRORS):
                raise
            self.tally.stopped = str(exc)
        return self.tally

    def check_reference_ids(self) -> None:
        """The payment mode and bank account must exist before the first write."""
        modes = self.client.list_all("/setup/dictionary/payment_types", {})
        mode = by_id(modes, self.settings.payment_type_id)
        if mode is None:
            known = ", ".join(f"{m.get('id')} {m.get('code')}" for m in modes)
            raise StageError(f"payment mode id {self.settings.payment_type_id} (config "
                             "fix.payment_type_id or DOLIBARR_GC_PAYMENT_ID) is not an active "
                             f"payment type in Dolibarr (active: {known or 'none'})")
        accounts = self.client.list_all("/bankaccounts", {})
        account = by_id(accounts, self.settings.bank_account_id)
        if account is None:
            known = ", ".join(f"{a.get('id')} {a.get('ref')}" for a in accounts)
            raise StageError(f"bank account id {self.settings.bank_account_id} (config "
                             "fix.bank_account_id or DOLIBARR_BANK_ACCOUNT_ID) does not exist "
                             f"in Dolibarr (accounts: {known or 'none'})")
        if str(account.get("clos")) == "1":
            raise StageError(f"bank account id {self.settings.bank_account_id} "
                             f"({account.get('ref')}) is closed in Dolibarr")
        self.out(f"Payment mode {mode.get('id')} ({mode.get('code')}, {mode.get('label')}); "
                 f"bank account {account.get('id')} ({account.get('ref')}, "
                 f"{account.get('label')}).")

    # -- settling what an earlier run left unknown --

    def settle_earlier_attempt(self, intent: dict) -> None:
        """An intent without a known result: read the invoices' payments, never re-post."""
        gc_id = intent.get("gc_payment_id") or ""
        found = self.recorded_payment(gc_id, [i["invoice_id"] for i in intent.get("invoices", [])])
        where = f"{gc_id} on {intent_refs(intent)}"
        if found is not None:
            self.journal.result(intent["attempt"], FOUND_ON_REREAD, gc_payment_id=gc_id,
                                payment_ref=found.get("ref"))
            self.touch_written_stamp()
            self.out(f"  earlier attempt {where}: found in Dolibarr ({found.get('ref')}); "
                     "not posted again")
        else:
            self.journal.result(intent["attempt"], NOT_RECORDED, gc_payment_id=gc_id,
                                message="not among the invoice payments on re-read")
            self.out(f"  earlier attempt {where}: not in Dolibarr; it is planned again "
                     "if pass 1 still proposes it")

    def recorded_payment(self, gc_id: str, invoice_ids: list[int]) -> dict | None:
        for invoice_id in invoice_ids:
            try:
                payments = self.client.get(f"/invoices/{invoice_id}/payments")
            except NotFoundError:
                continue  # the invoice is gone, and its payments with it
            found = find_recorded(payments, gc_id)
            if found is not None:
                return found
        return None

    # -- one planned payment --

    def record(self, payment: PlannedPayment) -> None:
        try:
            reason, remaining = self.live_check(payment)
        except NotFoundError as exc:
            return self.report("skipped", payment, f"invoice not found in Dolibarr ({exc})")
        except DolibarrError as exc:
            if isinstance(exc, STOP_ERRORS):
                raise
            return self.report("failed", payment, f"could not re-read the invoice: {exc}")
        if reason is not None:
            return self.report("skipped", payment, reason)
        self.post(payment, posting_for(payment, remaining, self.settings))

    def live_check(self, payment: PlannedPayment) -> tuple[str | None, int | None]:
        """Re-read each invoice and its payments; a reason to skip, or None and the remainder."""
        remaining = None
        problems = []
        for allocation in payment.allocations:
            invoice = self.client.get(f"/invoices/{allocation.invoice_id}")
            payments = self.client.get(f"/invoices/{allocation.invoice_id}/payments")
            existing = find_recorded(payments, payment.gc_payment_id)
            if existing is not None:
                return (f"already recorded in Dolibarr on {allocation.invoice_ref} "
                        f"(payment {existing.get('ref')})"), None
            problem, remaining = invoice_problem(invoice, allocation)
            if problem:
                problems.append(f"{allocation.invoice_ref} {problem}")
        return ("; ".join(problems) or None), remaining

    def post(self, payment: PlannedPayment, posting: Posting) -> None:
        attempt = self.journal.intent(
            gc_payment_id=payment.gc_payment_id, amount_cents=payment.amount_cents,
            invoices=[{"invoice_id": a.invoice_id, "invoice_ref": a.invoice_ref,
                       "amount_cents": a.amount_cents} for a in payment.allocations],
            endpoint=posting.path, datepaye=posting.body["datepaye"],
            payout_id=payment.payout_id)
        try:
            payment_id = self.client.post(posting.path, posting.body)
        except DEFINITE_REFUSALS as exc:
            self.journal.result(attempt, ERROR, message=str(exc))
            self.report("failed", payment, f"Dolibarr refused it: {exc}")
            if isinstance(exc, STOP_ERRORS):
                raise
            return
        except DolibarrError as exc:  # lost connection, timeout, 5xx: maybe recorded
            self.journal.result(attempt, UNKNOWN, message=str(exc))
            self.touch_written_stamp()
            return self.settle_unknown(attempt, payment, exc)
        self.journal.result(attempt, RECORDED, payment_id=payment_id)
        self.touch_written_stamp()
        self.report("recorded", payment,
                    f"payment {payment_id} ({posting.how}, POST {posting.path})")

    def settle_unknown(self, attempt: str, payment: PlannedPayment, exc: Exception) -> None:
        """Read, do not retry: found -> recorded; not visible (yet) -> left unknown for the
        next run, which reads again before doing anything."""
        try:
            found = self.recorded_payment(payment.gc_payment_id,
                                          [a.invoice_id for a in payment.allocations])
        except DolibarrError as read_exc:
            if isinstance(read_exc, STOP_ERRORS):
                raise
            found = None
        if found is not None:
            self.journal.result(attempt, FOUND_ON_REREAD, gc_payment_id=payment.gc_payment_id,
                                payment_ref=found.get("ref"))
            return self.report("recorded", payment,
                               f"payment {found.get('ref')} (the answer was lost: {exc}; "
                               "found on re-read)")
        self.report("unknown", payment,
                    f"outcome unknown ({exc}) and not visible in Dolibarr; run make fix again "
                    "to settle it (it reads before writing, never re-posts blindly)")

    def report(self, outcome: str, payment: PlannedPayment, detail: str) -> None:
        if outcome == "recorded":
            self.tally.recorded += 1
            self.tally.recorded_cents += payment.amount_cents
        else:
            setattr(self.tally, outcome, getattr(self.tally, outcome) + 1)
        self.out(f"  {outcome:<8} {payment.invoice_refs:<26} {money(payment.amount_cents):>10}  "
                 f"{payment.gc_payment_id:<16} {detail}")

    def touch_written_stamp(self) -> None:
        """Every Dolibarr snapshot depends on this file: the next report refetches."""
        self.written_stamp.parent.mkdir(parents=True, exist_ok=True)
        self.written_stamp.touch()


# --- the script ---------------------------------------------------------------------------

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
