"""The plan of `make fix` as text, shown before anything is written."""
from __future__ import annotations

from recon.fix_settings import FixSettings, money
from recon.fixplan import TRANSFER_KIND, Plan


def render_plan(plan: Plan, settings: FixSettings, unresolved: list[dict]) -> str:
    policy = ("strong and soft matches" if settings.allow_soft
              else "strong matches only; fix.allow_soft is false")
    lines = [f"Plan: {len(plan.payments)} GoCardless payment(s) to record in Dolibarr, "
             f"total {money(plan.total_cents)} ({policy})."]
    if plan.payments:
        lines.append("  Invoice and customer are Dolibarr's; the payment id, its charge date and "
                     "payout are GoCardless's.")
        lines.append(f"  {'invoice':<26} {'customer':<30} {'amount':>10}  "
                     f"{'GoCardless id':<16} {'charge date':<11}  payout")
        for p in plan.payments:
            lines.append(f"  {p.invoice_refs:<26} {p.customer_name[:30]:<30} "
                         f"{money(p.amount_cents):>10}  {p.gc_payment_id:<16} "
                         f"{p.charge_date.isoformat():<11}  {p.payout_id or '-'}")
            lines += [f"      {a.invoice_ref:<22} {'':<30} {money(a.amount_cents):>10}  "
                      "its share of the payment" for a in p.allocations if len(p.allocations) > 1]
            if p.partial:
                lines.append(f"      an instalment: recorded as a partial payment of {money(p.amount_cents)}; "
                             "the invoice stays open for the rest")
            if p.decided:
                lines.append(f"      decided: {p.decided}")
            if p.kind == TRANSFER_KIND:
                lines.append(f"      a customer transfer: bank line {p.gc_payment_id}, recorded with payment "
                             f"mode {settings.transfer_payment_type_id} on bank account "
                             f"{settings.transfers_account_id}")
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
            what = (f"payout {intent.get('payout_id')} {intent.get('booking')} line"
                    if intent.get("booking") else f"{intent.get('gc_payment_id')} on {intent_refs(intent)}")
            lines.append(f"  {what} ({intent.get('at')})")
    return "\n".join(lines)


def intent_refs(intent: dict) -> str:
    return "+".join(str(i.get("invoice_ref")) for i in intent.get("invoices", []))


def render_bookings(previews: list, settings: FixSettings, balance_cents: int | None,
                    payments_cents: int) -> str:
    """Clearing mode's part of the plan: per payout what would be posted (or why not), and the
    clearing account's balance before and after. `previews`: (Booking, Preview) pairs;
    `payments_cents`: the planned payments not on the clearing account yet."""
    lines = [f"Clearing mode: payments go to clearing account {settings.clearing_account_id}; each "
             f"payout that reached the bank becomes a transfer to bank account "
             f"{settings.bank_account_id} plus its fee line ({len(previews)} payout(s)):"]
    for booking, preview in previews:
        lines.append(f"  payout {booking.payout_id:<16} bank line {booking.bank_date.isoformat()} "
                     f"net {money(booking.net_cents):>10}  {preview.state}"
                     + (f": {preview.why}" if preview.why else ""))
        for line in preview.to_post:
            lines.append(f"      {line.kind:<9} {money(line.clearing_cents):>10}  {line.label}")
    booked = sum(l.clearing_cents for _, p in previews for l in p.to_post)
    if balance_cents is None:
        lines.append(f"Clearing account: payments {money(payments_cents)}, payouts {money(booked)} "
                     "(balance not read).")
    else:
        after = balance_cents + payments_cents + booked
        lines.append(f"Clearing account balance: {money(balance_cents)} now, payments "
                     f"+{money(payments_cents)}, payouts {money(booked)}, {money(after)} after.")
    return "\n".join(lines)
