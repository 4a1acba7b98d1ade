"""What to send Dolibarr for one planned payment, decided from what Dolibarr answers now.

Pure functions over the live invoice and its payments: is a payment carrying the GoCardless
id already there, may the invoice still take this share, and which endpoint and body record
it (the whole-remainder endpoint, or paymentsdistributed for an exact amount).
"""
from __future__ import annotations

from dataclasses import dataclass

from recon.fix_settings import FixSettings, money, to_cents
from recon.fixplan import TRANSFER_KIND, Allocation, PlannedPayment

FULL_REMAINDER = "whole remainder"
EXACT_AMOUNT = "exact amount"
DISTRIBUTED_PATH = "/invoices/paymentsdistributed"
INVOICE_STATUS = {"0": "a draft", "1": "validated", "2": "closed", "3": "abandoned"}

def payment_date(payment: PlannedPayment) -> str:
    """Noon of the charge date: Dolibarr reads it as UTC, so any server TZ keeps the day."""
    return f"{payment.charge_date.isoformat()} 12:00:00"


def payment_comment(payment: PlannedPayment) -> str:
    if payment.kind == TRANSFER_KIND:
        return f"bank transfer, bank line {payment.gc_payment_id} (recorded by make fix)"
    payout = f"payout {payment.payout_id}" if payment.payout_id else "not yet in a payout"
    return f"GoCardless payment {payment.gc_payment_id}, {payout} (recorded by make fix)"


def mode_and_account(payment: PlannedPayment, settings: FixSettings) -> tuple[int, int]:
    """A transfer reached the bank itself: its own mode and account, never the clearing one."""
    if payment.kind == TRANSFER_KIND:
        return settings.transfer_payment_type_id, settings.transfers_account_id
    return settings.payment_type_id, settings.payments_account_id

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


def invoice_currency(invoice: dict) -> str:
    """The invoice's currency: multicurrency_code, else the company's EUR."""
    return str(invoice.get("multicurrency_code") or "").strip().upper() or "EUR"


def invoice_problem(invoice: dict, allocation: Allocation,
                    currency: str | None = None) -> tuple[str | None, int | None]:
    """Why this invoice must not receive this share now (None if it may), and what remains.
    `currency`: the payment's (None: unknown, then only a EUR invoice may receive it)."""
    ref = str(invoice.get("ref") or "")
    status = str(invoice.get("status", invoice.get("statut")))
    remaining = to_cents(invoice.get("remaintopay"))
    if ref.strip().upper() != allocation.invoice_ref.strip().upper():
        return f"invoice id {allocation.invoice_id} is now {ref!r}, not the planned ref", remaining
    if str(invoice.get("type")) == "2":
        return "is a credit note", remaining
    paid_in = (currency or "").strip().upper() or None
    if paid_in != invoice_currency(invoice) and (paid_in or invoice_currency(invoice) != "EUR"):
        return (f"is in {invoice_currency(invoice)} and the payment in {paid_in or 'an unknown currency'}: "
                "amounts in different currencies are never compared"), remaining
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
    mode, account = mode_and_account(payment, settings)
    common = {
        "datepaye": payment_date(payment),
        "paymentid": mode,
        "accountid": account,
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
