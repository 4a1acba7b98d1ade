"""Clearing mode's writes: each payout booked exactly once, every POST journaled.

Dolibarr records the same transfer twice (API_FACTS §10.5) and DELETE does not undo, so for
each payout, just before writing: read where its payments are (all on the clearing account,
or it is left for a person), read the lines already recorded for it, post only what is
missing (recon.payout_booking decides), stop the payout if an amount differs. An intent
line is on disk before each POST and a result line after it; a POST whose outcome is
unknown is settled by reading the lines again, never by posting again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from recon.dolibarr import DolibarrError, WriteOutcomeUnknown
from recon.fix_settings import FixSettings, money
from recon.journal import ERROR, FOUND_ON_REREAD, NOT_RECORDED, RECORDED, UNKNOWN, Journal
from recon.payout_booking import (LINE_TYPE, TRANSFER, Booking, Line, missing_postings, noon_utc,
                                  payments_filter, payments_problem, payout_filter, same_line)

BOOKING_KEY = "booking"  # journal field telling payout lines from payments


TO_BOOK, BOOKED, LEFT, STOP = "to book", "booked", "left for a person", "stops"


@dataclass(frozen=True)
class Preview:
    state: str  # TO_BOOK, BOOKED, LEFT or STOP
    to_post: tuple[Line, ...]
    why: str | None


@dataclass
class PayoutTally:
    booked: int = 0  # payouts complete after this run
    lines_posted: int = 0
    left: int = 0  # left for a person
    stopped: int = 0  # an amount differs, a POST failed, or its outcome is unknown

    def summary(self) -> str:
        return (f"Payouts: {self.booked} booked ({self.lines_posted} line(s) posted now), "
                f"{self.left} left for a person, {self.stopped} stopped.")


def lines_for(client, account_id: int, sqlfilters: str) -> list[dict]:
    """Bank lines of an account matching a filter (no paging on this endpoint: one GET)."""
    return client.get(f"/bankaccounts/{account_id}/lines", {"sqlfilters": sqlfilters}) or []


def where_payments_are(client, settings: FixSettings, booking: Booking,
                       planned: frozenset[str]) -> str | None:
    """Why the payout cannot be booked yet (its payments are not all on the clearing account);
    `planned`: payments this run will record there before booking payouts."""
    ids = booking.payment_ids
    on_clearing = lines_for(client, settings.clearing_account_id, payments_filter(ids)) if ids else []
    on_clearing += [{"num_chq": p} for p in ids if p in planned]
    elsewhere = lines_for(client, settings.bank_account_id, payments_filter(ids)) if ids else []
    return payments_problem(booking, on_clearing, elsewhere, settings.bank_account_id)


def posting(settings: FixSettings, booking: Booking, line: Line) -> tuple[str, dict]:
    """The endpoint and body of one line: amounts as 2-decimal text, dates as noon UTC."""
    stamp = noon_utc(booking.bank_date)
    if line.kind == TRANSFER:
        return "/bankaccounts/transfer", {
            "bankaccount_from_id": settings.clearing_account_id,
            "bankaccount_to_id": settings.bank_account_id, "date": stamp,
            "description": line.label, "amount": money(-line.clearing_cents),
            "cheque_number": booking.payout_id}
    return f"/bankaccounts/{settings.clearing_account_id}/lines", {
        "date": stamp, "type": LINE_TYPE, "label": line.label, "amount": money(line.clearing_cents),
        "cheque_number": booking.payout_id}


@dataclass
class PayoutWriter:
    client: object
    journal: Journal
    settings: FixSettings
    touch_written_stamp: Callable[[], None]
    out: Callable[[str], None] = print

    def __post_init__(self):
        self.tally = PayoutTally()

    def existing(self, payout_id: str) -> list[dict]:
        return lines_for(self.client, self.settings.clearing_account_id, payout_filter(payout_id))

    def preview(self, booking: Booking, planned: frozenset[str] = frozenset()) -> Preview:
        """What `book` would do now, from reads only (for the plan shown before asking, and
        by `book` itself); `planned`: payments this run records before booking payouts."""
        if booking.problem:
            return Preview(LEFT, (), booking.problem)
        why_not = where_payments_are(self.client, self.settings, booking, planned)
        if why_not:
            return Preview(LEFT, (), why_not)
        missing = missing_postings(booking, self.existing(booking.payout_id))
        if missing.stop:
            return Preview(STOP, (), missing.stop)
        return Preview(TO_BOOK if missing.to_post else BOOKED, missing.to_post, None)

    def settle_earlier_attempt(self, intent: dict) -> None:
        """An unfinished payout line: is it in Dolibarr? Read; never post it again here."""
        payout_id, label = intent.get("payout_id") or "", intent.get("label") or ""
        wanted = Line(intent.get(BOOKING_KEY) or "", label, intent.get("amount_cents") or 0)
        found = [l for l in self.existing(payout_id) if same_line(wanted, str(l.get("label") or ""))]
        if found:
            self.journal.result(intent["attempt"], FOUND_ON_REREAD, payout_id=payout_id,
                                line_id=found[0].get("id"))
            self.touch_written_stamp()
            self.out(f"  earlier attempt '{label}': found in Dolibarr (line {found[0].get('id')}); "
                     "not posted again")
        else:
            self.journal.result(intent["attempt"], NOT_RECORDED, payout_id=payout_id,
                                message="not among the clearing account's lines on re-read")
            self.out(f"  earlier attempt '{label}': not in Dolibarr; posted again only if "
                     "this run's reading finds it missing")

    def book(self, booking: Booking) -> None:
        """Read what exists for the payout (as `preview` does), post what is missing, in order."""
        preview = self.preview(booking)
        if preview.state == LEFT:
            return self.report_left(booking, preview.why)
        if preview.state == STOP:
            return self.report_stopped(booking, preview.why)
        for line in preview.to_post:
            if not self.post(booking, line):
                return
        self.tally.booked += 1
        posted = f"{len(preview.to_post)} line(s) posted" if preview.to_post else "already booked"
        self.out(f"  booked   payout {booking.payout_id:<16} net {money(booking.net_cents):>10}  "
                 f"on {booking.bank_date.isoformat()} ({posted})")

    def post(self, booking: Booking, line: Line) -> bool:
        path, body = posting(self.settings, booking, line)
        attempt = self.journal.intent(**{BOOKING_KEY: line.kind}, payout_id=booking.payout_id,
                                      label=line.label, amount_cents=line.clearing_cents,
                                      endpoint=path, bank_date=booking.bank_date.isoformat())
        try:
            answer = self.client.post(path, body)
        except WriteOutcomeUnknown as exc:
            return self.settle_unknown(attempt, booking, line, exc)
        except DolibarrError as exc:
            if exc.status is not None and exc.status < 500:  # refused: rolled back
                self.journal.result(attempt, ERROR, message=str(exc))
                self.report_stopped(booking, f"Dolibarr refused the {line.kind} line: {exc}")
                if exc.status in (401, 403):
                    raise
                return False
            return self.settle_unknown(attempt, booking, line, exc)
        self.journal.result(attempt, RECORDED, answer=answer)
        self.touch_written_stamp()
        self.tally.lines_posted += 1
        return True

    def settle_unknown(self, attempt: str, booking: Booking, line: Line, exc: Exception) -> bool:
        """Maybe written: read the payout's lines; never post it again blindly."""
        self.journal.result(attempt, UNKNOWN, message=str(exc))
        self.touch_written_stamp()
        try:
            missing = missing_postings(booking, self.existing(booking.payout_id))
        except DolibarrError:
            missing = None
        if missing is not None and missing.stop is None and line in missing.present:
            self.journal.result(attempt, FOUND_ON_REREAD, payout_id=booking.payout_id)
            self.tally.lines_posted += 1
            return True
        self.report_stopped(booking, f"the outcome of the {line.kind} line is unknown ({exc}); run "
                                     "make fix again: it reads before writing, never re-posts blindly")
        return False

    def report_left(self, booking: Booking, why: str) -> None:
        self.tally.left += 1
        self.out(f"  left     payout {booking.payout_id:<16} for a person: {why}")

    def report_stopped(self, booking: Booking, why: str) -> None:
        self.tally.stopped += 1
        self.out(f"  STOPPED  payout {booking.payout_id:<16} {why}")
