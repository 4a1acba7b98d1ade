"""The terminal summary of a window (also written to summary_<FROM>_<TO>.txt), from the
figures every report shares (recon/figures.py). One money format throughout: '1 234.56'."""
from __future__ import annotations

import polars as pl

from recon.figures import LINES_PER_FLAG, Figures, money
from recon.flags import ACTIONS

TOTALS_NOTE = ("Totals: payments at their amount (share of a multi-invoice payment), invoices "
               "at what is left to pay (credit notes and drafts at their total), payouts at "
               "their net, bank credits at their amount, FEES_EXPLAINED and FEES_MISMATCH at "
               "gross - net - fees.")


def summary_text(figures: Figures, lines: pl.DataFrame, extra: list[str] | None = None) -> str:
    """Counts and totals per flag, where the money is, the fees, the decisions used,
    `extra` lines, then what needs action (`lines`: action_rows(), LINES_PER_FLAG a flag)."""
    out = [f"Reconciliation {figures.date_from} .. {figures.date_to}", "",
           f"{'flag':<26}{'count':>8}{'total EUR':>16}"]
    for flag, count, cents in figures.flag_totals.select("flag", "count", "cents").iter_rows():
        out.append(f"{flag:<26}{count:>8}{money(cents):>16}")
    out += ["", TOTALS_NOTE, ""]
    parts = [f"{value} {count} ({money(cents, unit=True)})"
             for value, count, cents in figures.money_in_bank.iter_rows()]
    out += [f"Payments whose money reached the bank: {', '.join(parts) or 'none'}", ""]
    out += fee_lines(figures.key)
    out += decisions_lines(figures)
    out += extra or []
    out += action_lines(figures.flag_totals, lines)
    out += next_step_lines(figures)
    return "\n".join(out) + "\n"


def fee_lines(key: dict) -> list[str]:
    """The window's GoCardless fees, HT + TVA = TTC (the TVA is deductible)."""
    unsplit = key["fees_unsplit_count"]
    note = f" (no HT/TVA split for {unsplit} payout{'s' * (unsplit != 1)})" if unsplit else ""
    return [f"GoCardless fees of the payouts: HT {money(key['fees_ht_cents'], unit=True)} + "
            f"TVA {money(key['fees_tva_cents'], unit=True)} = TTC "
            f"{money(key['fees_cents'], unit=True)}{note}", ""]


def decisions_lines(figures: Figures) -> list[str]:
    """One line: the decisions of decisions.yaml this window used, and those left alone."""
    if figures.decisions is None:
        return []
    path, used, alone = figures.decisions
    return [f"Decisions ({path}): {used} used in this window, {alone} about lines not in it "
            "(left alone)", ""]


def action_lines(totals: pl.DataFrame, shown: pl.DataFrame) -> list[str]:
    """Per flag that needs action: its count and total, why, and its first lines."""
    per_flag = {flag: (count, cents) for flag, count, cents in
                totals.select("flag", "count", "cents").iter_rows()}
    if not set(per_flag) & set(ACTIONS):
        return ["Nothing needs action."]
    out = ["Needs action:"]
    for flag, why in ACTIONS.items():
        if flag not in per_flag:
            continue
        count, cents = per_flag[flag]
        lines = shown.filter(pl.col("flag") == flag)["line"].head(LINES_PER_FLAG).to_list()
        out += ["", f"{flag} ({count}, {money(cents, unit=True)}): {why}"]
        out += [f"  {line}" for line in lines]
        if count > len(lines):
            out.append(f"  ... and {count - len(lines)} more in the CSV files")
    return out


def next_step_lines(figures: Figures) -> list[str]:
    """The command that records what GoCardless collected and Dolibarr still shows open."""
    if not figures.fix_candidates:
        return []
    n = figures.fix_candidates
    return ["", f"Next: make fix FROM={figures.date_from} TO={figures.date_to} shows which of "
            f"the {n} GC_PAID_DOLIBARR_OPEN payment{'s' * (n != 1)} it would record in "
            "Dolibarr, and asks before writing."]
