"""The write loop of `make fix`: each planned payment re-checked live, posted once, journaled.

Dolibarr protects nothing (API_FACTS.md §7: no duplicate check, no undo), so: the payment
mode and bank account are checked before the first write; unresolved journal intents of an
earlier run are settled by reading, never re-posted; each invoice is re-read just before its
POST; an intent line is on disk before each POST and a result line after it; a POST whose
outcome is unknown is settled by reading, never retried.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from recon.dolibarr import (ApiNotFoundError, AuthError, BadRequestError, DolibarrError,
                            ForbiddenError, NotFoundError, UnreachableError)
from recon.fix_settings import FixSettings, money
from recon.fixplan import Plan, PlannedPayment
from recon.journal import (ERROR, FOUND_ON_REREAD, NOT_RECORDED, RECORDED, UNKNOWN,
                           Journal)
from recon.payment_posting import Posting, find_recorded, invoice_problem, posting_for
from recon.payout_booking import Booking
from recon.payout_writes import BOOKING_KEY, PayoutWriter
from recon.plan_text import intent_refs
from recon.reference_ids import check_reference_ids

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
    payouts: object | None = None  # PayoutTally in clearing mode

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unknown or self.stopped
                    or (self.payouts is not None and self.payouts.stopped))

    def summary(self) -> str:
        text = (f"Recorded {self.recorded} ({money(self.recorded_cents)}), skipped "
                f"{self.skipped}, failed {self.failed}, outcome unknown {self.unknown}.")
        if self.payouts is not None:
            text += " " + self.payouts.summary()
        return text + (f" Stopped: {self.stopped}" if self.stopped else "")


@dataclass
class FixRun:
    client: object
    journal: Journal
    settings: FixSettings
    written_stamp: Path
    out: Callable[[str], None] = print
    tally: Tally = field(default_factory=Tally)

    def __post_init__(self):
        self.payouts = PayoutWriter(self.client, self.journal, self.settings,
                                    self.touch_written_stamp, self.out)
        if self.settings.clearing_account_id:
            self.tally.payouts = self.payouts.tally

    def run(self, plan: Plan, unresolved: list[dict], bookings: list[Booking] = ()) -> Tally:
        """Check the ids, settle the journal, record the plan payment by payment, then (in
        clearing mode) book the payouts, each once its payments are all recorded."""
        try:
            self.out(check_reference_ids(self.client, self.settings))
            for intent in unresolved:
                if intent.get(BOOKING_KEY):
                    self.payouts.settle_earlier_attempt(intent)
                else:
                    self.settle_earlier_attempt(intent)
            for payment in plan.payments:
                self.record(payment)
            if self.settings.clearing_account_id:
                for booking in bookings:
                    self.payouts.book(booking)
        except DolibarrError as exc:
            if not isinstance(exc, STOP_ERRORS):
                raise
            self.tally.stopped = str(exc)
        return self.tally

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
            problem, remaining = invoice_problem(invoice, allocation, payment.currency)
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
