"""The plan of `make fix` as text, shown before anything is written."""
from __future__ import annotations

from recon.fix_settings import FixSettings, money
from recon.fixplan import Plan

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
