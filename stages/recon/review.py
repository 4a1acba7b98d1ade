"""`make review`: a decisions.yaml draft, one commented-out entry per line needing action.

Each line needing action (recon/flags.py ACTIONS) gets a comment block (what the line is,
its evidence) and the entries a person could decide, commented out, ready to uncomment
and copy into decisions.yaml: an AMBIGUOUS payment lists each candidate invoice as its
own line (keep one); where two forms fit, both are given ("or"). The reason is left
empty on purpose: an entry copied without one is refused by decisions.py.
Lines already decided, and those `make fix` records without help, get no entry.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from recon.decisions import DECISION
from recon.flags import ACTIONS
from recon.match_common import eur
from recon.schemas import STRONG_MATCH_TYPES

HEADER = """\
# Review of {date_from} .. {date_to}: what `make review` proposes for each line needing action.
# For each line you settle: uncomment ONE of its entries (remove the leading "# "), keep
# one candidate where several are listed, write the reason (note, ignore or settled; an
# empty reason is refused), optionally `by:` and `on: YYYY-MM-DD`, and copy the entry
# into decisions.yaml. This file is rewritten by every `make review`; decisions.yaml is
# yours and is never written by the pipeline.
"""


def review_text(pass1: pl.DataFrame, pass2: pl.DataFrame, pass3: pl.DataFrame,
                date_from: date, date_to: date) -> str:
    out = [HEADER.format(date_from=date_from, date_to=date_to)]
    undecided = pl.col("match_type").fill_null("") != DECISION
    needing = pl.col("flag").is_in(list(ACTIONS)) & undecided
    p1 = pass1.filter(needing).with_columns(eur_amount=eur(pl.col("share_cents")))
    p2 = pass2.filter(needing).with_columns(eur_amount=eur(pl.col("invoice_remaining_cents")))
    p3 = pass3.filter(undecided).with_columns(
        eur_amount=eur(pl.coalesce("net_cents", "bank_amount_cents")))
    # Candidates on the other side of a payout / bank line question.
    lost_payouts = p3.filter(pl.col("flag") == "PAYOUT_NOT_IN_BANK")
    lone_credits = p3.filter(pl.col("flag") == "BANK_CREDIT_UNMATCHED")
    count = 0
    for flag, action in ACTIONS.items():
        blocks = ([_payment_block(r) for r in p1.filter(pl.col("flag") == flag).iter_rows(named=True)]
                  + [_invoice_block(r) for r in p2.filter(pl.col("flag") == flag).iter_rows(named=True)]
                  + [_payout_block(r, lost_payouts, lone_credits)
                     for r in p3.filter(pl.col("flag") == flag).iter_rows(named=True)
                     if r["payout_id"] is not None or r["bank_transaction_id"] is not None]
                  + [_fees_block(r) for r in p3.filter(pl.col("fees_flag") == flag)
                     .iter_rows(named=True)])
        if not blocks:
            continue
        count += len(blocks)
        out += [f"# === {flag} ({len(blocks)}): {action}", ""]
        out += [block + "\n" for block in blocks]
    if count == 0:
        out.append("# Nothing needs action in this window.\n")
    return "\n".join(out)


def _comment(*lines: str) -> list[str]:
    return [f"# {line}".rstrip() for line in lines]


def _entry(*lines: str) -> list[str]:
    """Entry lines, commented out: '# - key: value', '#   key: value'."""
    return [f"# {'- ' if i == 0 else '  '}{line}".rstrip() for i, line in enumerate(lines)]


def _or() -> list[str]:
    return ["# or:"]


def _payment_block(r: dict) -> str:
    pid, refs = r["gc_payment_id"], (r["invoice_ref"] or "").split(";")
    refs = [x for x in refs if x]
    head = _comment(
        f"{r['flag']} payment {pid} {r['eur_amount']} EUR {r['payment_status']}, charged "
        f"{r['charge_date']}, {r['customer_name'] or '?'}"
        + (f" -> {' or '.join(refs)}" if refs else ""),
        f"evidence: {r['evidence']}")
    ignore = _entry(f"payment: {pid}", "ignore:")
    if r["flag"] == "GC_PAID_DOLIBARR_OPEN":
        if r["match_type"] in STRONG_MATCH_TYPES:
            return "\n".join(head + _comment("`make fix` records it: nothing to decide"))
        # A soft or multi-invoice link a person confirms becomes a decided, strong one.
        return "\n".join(head + _entry(f"payment: {pid}", *_invoice_lines(refs), "note:"))
    if r["flag"] in ("AMBIGUOUS", "GC_UNMATCHED"):
        link = _entry(f"payment: {pid}", *_invoice_lines(refs or ["<the invoice ref>"]), "note:")
        return "\n".join(head + link + _or() + ignore)
    return "\n".join(head + ignore)


def _invoice_lines(refs: list[str]) -> list[str]:
    if len(refs) <= 1:
        return [f"invoice: {ref}" for ref in refs]
    return [f"invoice: {ref}    # candidate: keep one" for ref in refs]


def _invoice_block(r: dict) -> str:
    head = _comment(
        f"{r['flag']} invoice {r['invoice_ref']} {r['eur_amount']} EUR left to pay, "
        f"{r['invoice_customer_name'] or '?'}, due {r['invoice_due_date']}",
        f"evidence: {r['evidence']}")
    if r["flag"] == "PAID_BY_TRANSFER":  # the bank shows the money: nothing to decide
        return "\n".join(head + _comment(
            "`make fix` records it (with fix.allow_transfers: true): nothing to decide"))
    return "\n".join(head + _entry(f"invoice: {r['invoice_ref']}", "settled:"))


def _payout_block(r: dict, lost_payouts: pl.DataFrame, lone_credits: pl.DataFrame) -> str:
    if r["payout_id"] is None:  # a bank credit no payout explains
        head = _comment(
            f"{r['flag']} bank line {r['bank_transaction_id']} {r['eur_amount']} EUR on "
            f"{r['bank_date']}: '{r['bank_label']}'", f"evidence: {r['evidence']}")
        payouts = [f"payout: {p}    # {ref}, net {eur_} EUR"
                   for p, ref, eur_ in lost_payouts.select("payout_id", "reference", "eur_amount")
                   .iter_rows()] or ["payout: <the payout id>"]
        if len(payouts) > 1:
            payouts = [f"{line}, candidate: keep one" for line in payouts]
        link = _entry(f"bank: {r['bank_transaction_id']}", *payouts, "note:")
        ignore = _entry(f"bank: {r['bank_transaction_id']}", "ignore:")
        return "\n".join(head + link + _or() + ignore)
    head = _comment(
        f"{r['flag']} payout {r['payout_id']} {r['reference']} net {r['eur_amount']} EUR, "
        f"arrival {r['arrival_date'] or 'not yet known'}", f"evidence: {r['evidence']}")
    lines = [f"bank: {x}" for x in (r["bank_transaction_id"] or "").split(";") if x]
    if not lines:
        lines = [f"bank: {b}    # {d} {a} EUR '{label}'" for b, d, a, label in
                 lone_credits.select("bank_transaction_id", "bank_date", "eur_amount",
                                     "bank_label").iter_rows()]
    if not lines:
        return "\n".join(head + _comment("no bank line to tie it to in this window"))
    if len(lines) > 1:
        lines = [f"{line}    # candidate: keep one" for line in lines]
    # The payout first: the candidate bank lines are then lines to keep or drop.
    return "\n".join(head + _entry(f"payout: {r['payout_id']}", *lines, "note:"))


def _fees_block(r: dict) -> str:
    return "\n".join(_comment(
        f"{r['fees_flag']} payout {r['payout_id']} {r['reference']}: {r['explanation']}",
        "no decision form: check the payout's fees in GoCardless"))
