"""`make review`: a decisions.yaml draft, one commented-out entry per line needing action.

Each line needing action (recon/flags.py ACTIONS) gets a comment block (what the line is,
its evidence) and the entries a person could decide, commented out, ready to uncomment
and copy into decisions.yaml: an AMBIGUOUS payment lists each candidate invoice as its
own line (keep one); where two forms fit, both are given ("or"). The reason is left
empty on purpose: an entry copied without one is refused by decisions.py.
Lines already decided, and those `make fix` records without help, get no entry.

What to write about one line is hint() (a Hint): the review YAML and the HTML report
(recon/html_report.py, via with_hints) both show it, so they cannot differ.
"""
from __future__ import annotations

from dataclasses import dataclass
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
UNDECIDED = pl.col("match_type").fill_null("") != DECISION
FIX_RECORDS = "`make fix` records it: nothing to decide"
# Candidate payouts / bank lines a report's hint lists (a month can have hundreds of each,
# and every unexplained bank credit would list them all).
HINT_CANDIDATES = 20


@dataclass(frozen=True)
class Hint:
    """What a person could write into decisions.yaml about one line: the entries that fit
    (alternatives, each its lines 'key: value' with the reason left empty), or, when
    there is nothing to write, why (note)."""
    entries: tuple[tuple[str, ...], ...] = ()
    note: str = ""

    def lines(self, commented: bool = True) -> list[str]:
        """The review's lines ('# - payment: …', '# or:'), or, not commented, the YAML
        to paste into decisions.yaml as it is; a note is a YAML comment either way."""
        if not self.entries:
            return _comment(self.note)
        prefix, out = "# " if commented else "", []
        for i, entry in enumerate(self.entries):
            out += _or() if i else []
            out += [f"{prefix}{'- ' if j == 0 else '  '}{line}".rstrip()
                    for j, line in enumerate(entry)]
        return out

    def text(self, commented: bool = True) -> str:
        return "\n".join(self.lines(commented))


@dataclass(frozen=True)
class Candidates:
    """The other side of a payout / bank line question, as entry lines: the undecided
    payouts no bank line took, the undecided bank credits no payout explains; with
    `limit`, the first ones and how many more (`make review` lists them all)."""
    payouts: tuple[str, ...]
    credits: tuple[str, ...]
    more_payouts: int = 0
    more_credits: int = 0

    @classmethod
    def of(cls, pass3: pl.DataFrame, limit: int | None = None) -> "Candidates":
        p3 = pass3.filter(UNDECIDED & pl.col("flag").is_in(
            ["PAYOUT_NOT_IN_BANK", "BANK_CREDIT_UNMATCHED"]))
        amount = eur(pl.coalesce("net_cents", "bank_amount_cents"))
        payouts = p3.filter(pl.col("flag") == "PAYOUT_NOT_IN_BANK")
        credits = p3.filter(pl.col("flag") == "BANK_CREDIT_UNMATCHED")
        more_payouts = max(0, payouts.height - limit) if limit else 0
        more_credits = max(0, credits.height - limit) if limit else 0
        if limit:
            payouts, credits = payouts.head(limit), credits.head(limit)
        # Selected only when there are some: a frame of other lines may lack the columns.
        return cls(
            more_payouts=more_payouts, more_credits=more_credits,
            payouts=tuple(f"payout: {p}    # {ref}, net {eur_} EUR" for p, ref, eur_ in
                          payouts.select("payout_id", "reference", amount).iter_rows())
            if payouts.height else (),
            credits=tuple(f"bank: {b}    # {d} {a} EUR '{label}'" for b, d, a, label in
                          credits.select("bank_transaction_id", "bank_date", amount,
                                         "bank_label").iter_rows())
            if credits.height else ())


def review_text(pass1: pl.DataFrame, pass2: pl.DataFrame, pass3: pl.DataFrame,
                date_from: date, date_to: date) -> str:
    out = [HEADER.format(date_from=date_from, date_to=date_to)]
    needing = pl.col("flag").is_in(list(ACTIONS)) & UNDECIDED
    p1 = pass1.filter(needing).with_columns(eur_amount=eur(pl.col("share_cents")))
    p2 = pass2.filter(needing).with_columns(eur_amount=eur(pl.col("invoice_remaining_cents")))
    p3 = pass3.filter(UNDECIDED).with_columns(
        eur_amount=eur(pl.coalesce("net_cents", "bank_amount_cents")))
    candidates = Candidates.of(pass3)
    count = 0
    for flag, action in ACTIONS.items():
        blocks = ([_payment_block(r) for r in p1.filter(pl.col("flag") == flag).iter_rows(named=True)]
                  + [_invoice_block(r) for r in p2.filter(pl.col("flag") == flag).iter_rows(named=True)]
                  + [_payout_block(r, candidates)
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


# --- what to decide about one line ---------------------------------------------------------

def hint(kind: str, r: dict, candidates: Candidates) -> Hint | None:
    """The hint of one line needing action, `kind` as recon/figures.py's action rows say
    it (payment, invoice, payout, bank credit, payout fees); None for a decided line."""
    if r.get("match_type") == DECISION:
        return None  # its evidence says the decision
    if kind in ("payout", "bank credit") and r["payout_id"] is None \
            and r["bank_transaction_id"] is None:
        return None
    if kind == "payment":
        return payment_hint(r)
    if kind == "invoice":
        return invoice_hint(r)
    if kind in ("payout", "bank credit"):
        return payout_hint(r, candidates)
    return fees_hint()


def payment_hint(r: dict) -> Hint:
    pid, refs = r["gc_payment_id"], [x for x in (r["invoice_ref"] or "").split(";") if x]
    ignore = (f"payment: {pid}", "ignore:")
    if r["flag"] == "GC_PAID_DOLIBARR_OPEN":
        if r["match_type"] in STRONG_MATCH_TYPES:
            return Hint(note=FIX_RECORDS)
        # A soft or multi-invoice link a person confirms becomes a decided, strong one.
        return Hint(((f"payment: {pid}", *_invoice_lines(refs), "note:"),))
    if r["flag"] in ("AMBIGUOUS", "GC_UNMATCHED"):
        link = (f"payment: {pid}", *_invoice_lines(refs or ["<the invoice ref>"]), "note:")
        return Hint((link, ignore))
    return Hint((ignore,))


def _invoice_lines(refs: list[str]) -> list[str]:
    if len(refs) <= 1:
        return [f"invoice: {ref}" for ref in refs]
    return [f"invoice: {ref}    # candidate: keep one" for ref in refs]


def invoice_hint(r: dict) -> Hint:
    if r["flag"] == "PAID_BY_TRANSFER":  # the bank shows the money: nothing to decide
        return Hint(note="`make fix` records it (with fix.allow_transfers: true): "
                         "nothing to decide")
    return Hint(((f"invoice: {r['invoice_ref']}", "settled:"),))


def payout_hint(r: dict, candidates: Candidates) -> Hint:
    if r["payout_id"] is None:  # a bank credit no payout explains
        bank = r["bank_transaction_id"]
        payouts = list(candidates.payouts) or ["payout: <the payout id>"]
        if len(payouts) > 1:
            payouts = [f"{line}, candidate: keep one" for line in payouts]
        payouts += _more(candidates.more_payouts)
        return Hint(((f"bank: {bank}", *payouts, "note:"), (f"bank: {bank}", "ignore:")))
    lines = [f"bank: {x}" for x in (r["bank_transaction_id"] or "").split(";") if x]
    more: list[str] = []
    if not lines:
        lines, more = list(candidates.credits), _more(candidates.more_credits)
    if not lines:
        return Hint(note="no bank line to tie it to in this window")
    if len(lines) > 1:
        lines = [f"{line}    # candidate: keep one" for line in lines]
    # The payout first: the candidate bank lines are then lines to keep or drop.
    return Hint(((f"payout: {r['payout_id']}", *lines, *more, "note:"),))


def _more(count: int) -> list[str]:
    return [f"# ... and {count} more candidates: `make review` lists them all"] if count else []


def fees_hint() -> Hint:
    return Hint(note="no decision form: check the payout's fees in GoCardless")


def with_hints(actions: pl.DataFrame, pass3: pl.DataFrame) -> pl.DataFrame:
    """recon/figures.py's action rows with their hint: `hint` the YAML to paste into
    decisions.yaml (entries not commented out, '# or:' between them), or `hint_note`
    why there is nothing to write; both null for a decided line. One Python call per
    row: for the rows a report shows (ROWS_PER_FLAG a flag), not a month's; each lists
    at most HINT_CANDIDATES candidate payouts or bank lines, as the rows are cut."""
    candidates = Candidates.of(pass3, HINT_CANDIDATES)
    hints = [hint(r["kind"], r, candidates) for r in actions.iter_rows(named=True)]
    return actions.with_columns(
        hint=pl.Series([h.text(commented=False) if h and h.entries else None for h in hints],
                       dtype=pl.String),
        hint_note=pl.Series([h.note if h and not h.entries else None for h in hints],
                            dtype=pl.String))


# --- the review's blocks -------------------------------------------------------------------

def _comment(*lines: str) -> list[str]:
    return [f"# {line}".rstrip() for line in lines]


def _entry(*lines: str) -> list[str]:
    """Entry lines, commented out: '# - key: value', '#   key: value'."""
    return [f"# {'- ' if i == 0 else '  '}{line}".rstrip() for i, line in enumerate(lines)]


def _or() -> list[str]:
    return ["# or:"]


def _payment_block(r: dict) -> str:
    refs = [x for x in (r["invoice_ref"] or "").split(";") if x]
    head = _comment(
        f"{r['flag']} payment {r['gc_payment_id']} {r['eur_amount']} EUR "
        f"{r['payment_status']}, charged {r['charge_date']}, {r['customer_name'] or '?'}"
        + (f" -> {' or '.join(refs)}" if refs else ""),
        f"evidence: {r['evidence']}")
    return "\n".join(head + payment_hint(r).lines())


def _invoice_block(r: dict) -> str:
    head = _comment(
        f"{r['flag']} invoice {r['invoice_ref']} {r['eur_amount']} EUR left to pay, "
        f"{r['invoice_customer_name'] or '?'}, due {r['invoice_due_date']}",
        f"evidence: {r['evidence']}")
    return "\n".join(head + invoice_hint(r).lines())


def _payout_block(r: dict, candidates: Candidates) -> str:
    if r["payout_id"] is None:
        head = _comment(
            f"{r['flag']} bank line {r['bank_transaction_id']} {r['eur_amount']} EUR on "
            f"{r['bank_date']}: '{r['bank_label']}'", f"evidence: {r['evidence']}")
    else:
        head = _comment(
            f"{r['flag']} payout {r['payout_id']} {r['reference']} net {r['eur_amount']} EUR, "
            f"arrival {r['arrival_date'] or 'not yet known'}", f"evidence: {r['evidence']}")
    return "\n".join(head + payout_hint(r, candidates).lines())


def _fees_block(r: dict) -> str:
    return "\n".join(_comment(
        f"{r['fees_flag']} payout {r['payout_id']} {r['reference']}: {r['explanation']}")
        + fees_hint().lines())
