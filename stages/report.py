"""Report: the reconciliation of a window as two CSV files and a terminal summary.

    python stages/report.py --pass1 interim/pass1_<FROM>_<TO>.parquet \
        --pass2 interim/pass2_<FROM>_<TO>.parquet --pass3 interim/pass3_<FROM>_<TO>.parquet \
        --from FROM --to TO --out-dir tmp

writes, in --out-dir:
- reconciliation_<FROM>_<TO>.csv: one row per payment verdict (pass 1) or invoice verdict
  (pass 2), with the chain payment -> payout -> bank line and whether the money reached
  the bank (money_in_bank: yes, no, pending, unknown);
- payouts_fees_<FROM>_<TO>.csv: one row per payout (and per unexplained GoCardless-looking
  bank credit), with its bank line and fees; `flag` holds both flags of a payout that is
  matched but whose fees disagree ("PAYOUT_MATCHED;FEES_MISMATCH");
- summary_<FROM>_<TO>.txt: the terminal summary (also printed): per flag the count and
  total in euros, then the lines that need action, grouped by flag.

Amounts in the CSVs are euros as text with two decimals, made from the integer cents
(columns named *_eur); several values in one cell are joined with ';'.
"""
from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import polars as pl

from recon import config as config_module
from recon import decisions as decisions_file
from recon import provenance
from recon.apply_decisions import left_alone_count
from recon.decisions import Decisions
from recon.errors import run
from recon.flags import ACTIONS, FLAG_ORDER
from recon.io import atomic_path, read_parquet, write_text
from recon.match_common import CHARGED_BACK, FAILED, eur, fmt, parse_window, state_group
from recon.match_payments import MULTI
from recon.schemas import PASS1, PASS2, PASS3

RECONCILIATION_COLUMNS = [
    "flag", "match_type", "invoice_ref", "gc_payment_id", "row_kind", "payment_status",
    "payment_amount_eur", "payment_currency", "share_eur", "refunded_eur", "invoice_total_eur",
    "invoice_remaining_eur", "charge_date", "invoice_date", "due_date", "days_past_due",
    "customer_name", "invoice_customer_name", "payout_id", "bank_transaction_id",
    "bank_date", "money_in_bank", "related_payment_ids", "evidence",
]
PAYOUTS_COLUMNS = [
    "payout_id", "reference", "gross_eur", "fees_eur", "net_eur", "arrival_date",
    "bank_transaction_id", "bank_date", "bank_label", "bank_amount_eur", "match_type",
    "flag", "explanation",
    # gross - fees - chargebacks - refunds - fees_refunded = net (unless FEES_MISMATCH)
    "fees_flag", "fees_ht_eur", "fees_tva_eur", "chargebacks_eur", "refunds_eur",
    "fees_refunded_eur",
]

LINES_PER_FLAG = 30


# --- the reconciliation CSV --------------------------------------------------------------

def payments_with_chain(pass1: pl.DataFrame, pass3: pl.DataFrame) -> pl.DataFrame:
    """Pass-1 rows with their payout's bank line and whether the money reached the bank."""
    payouts = pass3.filter(pl.col("payout_id").is_not_null()).select(
        "payout_id", "bank_transaction_id", "bank_date", payout_money="money_in_bank")
    state = state_group(pl.col("payment_status"))
    money_in_bank = (
        pl.when(state.is_in([FAILED, CHARGED_BACK])).then(pl.lit("no"))
        .when(pl.col("payout_id").is_not_null())
        .then(pl.col("payout_money").fill_null(pl.lit("unknown")))
        .otherwise(pl.lit("pending"))
    )
    return pass1.join(payouts, on="payout_id", how="left", maintain_order="left").with_columns(
        money_in_bank=money_in_bank)


def date_text(name: str) -> pl.Expr:
    """A date column as its ISO text, each day of its range formatted once then looked up:
    the CSV writer formats every date, at several times the cost (same text)."""
    dates = pl.col(name)
    first, last = (bound.fill_null(date(1970, 1, 1)) for bound in (dates.min(), dates.max()))
    return pl.date_range(first, last).cast(pl.String).gather((dates - first).dt.total_days())


def reconciliation_table(pass1: pl.DataFrame, pass2: pl.DataFrame,
                         pass3: pl.DataFrame) -> pl.DataFrame:
    """One row per payment verdict then per invoice verdict, every amount as euro text and
    every date as date_text()."""
    payments = payments_with_chain(pass1, pass3).select(
        "flag", "match_type", "invoice_ref", "gc_payment_id", "payment_status", "charge_date",
        "invoice_date", "customer_name", "invoice_customer_name", "payout_id",
        "bank_transaction_id", "bank_date", "related_payment_ids", "evidence", "money_in_bank",
        row_kind=pl.lit("payment"),
        payment_currency="currency",
        payment_amount_eur=eur(pl.col("amount_cents")),
        share_eur=eur(pl.col("share_cents")),
        refunded_eur=eur(pl.col("amount_refunded_cents")),
        invoice_total_eur=eur(pl.col("invoice_total_cents")),
        invoice_remaining_eur=eur(pl.col("invoice_remaining_cents")),
        due_date="invoice_due_date",
        days_past_due=pl.lit(None, pl.Int64),
    )
    invoices = pass2.select(
        "flag", "match_type", "invoice_ref", "invoice_date", "invoice_customer_name",
        "days_past_due", "evidence", "bank_transaction_id", "bank_date",
        row_kind=pl.lit("invoice"),
        share_eur=eur(pl.col("share_cents")),
        invoice_total_eur=eur(pl.col("invoice_total_cents")),
        invoice_remaining_eur=eur(pl.col("invoice_remaining_cents")),
        due_date="invoice_due_date",
        money_in_bank=pl.when(pl.col("flag") == "DOLIBARR_OPEN_NO_GC").then(pl.lit("no"))
        .when(pl.col("flag") == "PAID_BY_TRANSFER").then(pl.lit("yes")),
    )
    return pl.concat([payments, invoices], how="diagonal_relaxed").select(
        RECONCILIATION_COLUMNS).with_columns(
        date_text(name) for name in ("charge_date", "invoice_date", "due_date", "bank_date"))


# --- the payouts CSV ---------------------------------------------------------------------

def payouts_table(pass3: pl.DataFrame) -> pl.DataFrame:
    """One row per payout or unexplained bank credit; the fee verdict in its own column."""
    money = ("gross", "fees", "net", "bank_amount", "fees_ht", "fees_tva", "chargebacks",
             "refunds", "fees_refunded")
    return pass3.select(
        "payout_id", "reference", "arrival_date", "bank_transaction_id", "bank_date",
        "bank_label", "match_type", "flag", "fees_flag",
        *(eur(pl.col(f"{name}_cents")).alias(f"{name}_eur") for name in money),
        explanation=pl.concat_str(
            ["evidence", pl.when(pl.col("explanation").is_not_null())
             .then(fmt("fees: {}", pl.col("explanation")))],
            separator="; ", ignore_nulls=True),
    ).select(PAYOUTS_COLUMNS)


# --- the summary -------------------------------------------------------------------------

def _first_needing_action(frame: pl.DataFrame, flag: str = "flag") -> pl.DataFrame:
    """The first rows of each flag that needs action: all the summary shows."""
    return (frame.filter(pl.col(flag).is_in(list(ACTIONS)))
            .group_by(flag, maintain_order=True).head(LINES_PER_FLAG))


def _flag_rows(pass1: pl.DataFrame, pass2: pl.DataFrame, pass3: pl.DataFrame,
               with_lines: bool = False) -> pl.DataFrame:
    """Every verdict as (flag, amount in cents); with_lines: only the rows the action list
    shows, each with its line (texts are built for those few rows only)."""
    if with_lines:
        fees_rows = _first_needing_action(pass3.filter(pl.col("fees_flag").is_not_null()),
                                          "fees_flag")
        pass1, pass2, pass3 = (_first_needing_action(f) for f in (pass1, pass2, pass3))
    else:
        fees_rows = pass3.filter(pl.col("fees_flag").is_not_null())
    payment_line = pl.concat_str([
        pl.col("invoice_ref").fill_null("(no invoice)"),
        pl.lit(" <- "), pl.col("gc_payment_id"),
        fmt(" {} {} {}", eur(pl.col("share_cents")), pl.col("currency").fill_null("EUR"),
            pl.col("payment_status")),
        fmt(" ({})", pl.col("customer_name").fill_null("?")),
        pl.when(pl.col("flag") == "AMOUNT_MISMATCH").then(fmt(
            ": invoice {}, {} left to pay", eur(pl.col("invoice_total_cents")),
            eur(pl.col("invoice_remaining_cents")))),
        pl.when(pl.col("flag") == "GC_PAID_DOLIBARR_OPEN").then(
            fmt(" [{}]", pl.col("match_type"))),
    ], ignore_nulls=True)
    invoice_line = fmt(
        "{} {} EUR ({}){}{}", pl.col("invoice_ref"), eur(pl.col("invoice_remaining_cents")),
        pl.col("invoice_customer_name").fill_null("?"),
        pl.when(pl.col("days_past_due") > 0)
        .then(fmt(", {} days past due", pl.col("days_past_due"))).otherwise(pl.lit("")),
        pl.when(pl.col("flag") == "PAID_BY_TRANSFER").then(fmt(
            " <- transfer of {} on {} '{}' [{}]", eur(pl.col("share_cents")),
            pl.col("bank_date"), pl.col("bank_label"), pl.col("match_type"))))
    payout_line = fmt("{} {} net {} EUR: {}", pl.col("payout_id"), pl.col("reference"),
                            eur(pl.col("net_cents")), pl.col("evidence"))
    credit_line = fmt("{} {} EUR '{}' ({})", pl.col("bank_date"),
                            eur(pl.col("bank_amount_cents")), pl.col("bank_label"),
                            pl.col("bank_transaction_id"))
    fees_line = fmt("{} {}: {}", pl.col("payout_id"), pl.col("reference"), pl.col("explanation"))
    payout_or_credit_line = pl.when(pl.col("payout_id").is_null()).then(credit_line).otherwise(
        payout_line)
    flag = pl.col("flag")
    invoice_cents = (pl.when(flag == "DOLIBARR_OPEN_NO_GC").then("invoice_remaining_cents")
                     .when(flag == "PAID_BY_TRANSFER").then("share_cents")
                     .otherwise("invoice_total_cents"))

    def line(expr: pl.Expr) -> dict:
        return {"line": expr} if with_lines else {}
    return pl.concat([
        # The totals are in EUR: a payment in another currency is counted, not added.
        pass1.select("flag", cents=pl.when(pl.col("currency").fill_null("EUR") == "EUR")
                     .then("share_cents"), **line(payment_line)),
        pass2.select("flag", cents=invoice_cents, **line(invoice_line)),
        pass3.select("flag", cents=pl.coalesce("net_cents", "bank_amount_cents"),
                     **line(payout_or_credit_line)),
        fees_rows.select(flag="fees_flag", cents=pl.col("deducted_cents") - pl.col("fees_cents"),
                         **line(fees_line)),
    ])


def _money(cents: int | None) -> str:
    """Cents as '1 234.56' (thin grouping for the terminal), from integers only."""
    cents = cents or 0
    sign = "-" if cents < 0 else ""
    units, hundredths = divmod(abs(cents), 100)
    return f"{sign}{units:,}.{hundredths:02d}".replace(",", " ")


def summary_text(pass1: pl.DataFrame, pass2: pl.DataFrame, pass3: pl.DataFrame,
                 date_from: date, date_to: date, decisions: Decisions | None = None) -> str:
    """The terminal summary: counts and totals per flag, then what needs action."""
    totals = (_flag_rows(pass1, pass2, pass3).group_by("flag")
              .agg(count=pl.len(), cents=pl.col("cents").sum()))
    order = {flag: i for i, flag in enumerate(FLAG_ORDER)}
    totals = totals.with_columns(
        rank=pl.col("flag").replace_strict(order, default=len(order), return_dtype=pl.Int64)
    ).sort("rank", "flag")
    out = [f"Reconciliation {date_from} .. {date_to}", "",
           f"{'flag':<26}{'count':>8}{'total EUR':>16}"]
    for flag, count, cents in totals.select("flag", "count", "cents").iter_rows():
        out.append(f"{flag:<26}{count:>8}{_money(cents):>16}")
    out += ["", "Totals: payments at their amount (share of a multi-invoice payment), invoices at "
            "what is left to pay (credit notes and drafts at their total), payouts at their "
            "net, bank credits at their amount, FEES_MISMATCH at gross - net - fees.",
            ""]
    out += _money_in_bank_lines(pass1, pass3)
    out += _fee_lines(pass3)
    out += _decisions_lines(decisions, pass1, pass2, pass3)
    out += _action_lines(totals, _flag_rows(pass1, pass2, pass3, with_lines=True))
    return "\n".join(out) + "\n"


def _money_in_bank_lines(pass1: pl.DataFrame, pass3: pl.DataFrame) -> list[str]:
    """Where the money of the window's payments is: count and total per money_in_bank."""
    # A payment has several rows only when it pays several invoices: count it once.
    multi = pl.col("match_type") == MULTI
    payments = pass1.select("gc_payment_id", "match_type", "amount_cents", "payment_status",
                            "payout_id")
    payments = pl.concat([payments.filter(~multi),
                          payments.filter(multi).unique("gc_payment_id", maintain_order=True)])
    chain = payments_with_chain(payments, pass3)
    order = {"yes": 0, "pending": 1, "no": 2, "unknown": 3}
    counts = (
        chain.group_by("money_in_bank").agg(n=pl.len(), cents=pl.col("amount_cents").sum())
        .with_columns(rank=pl.col("money_in_bank").replace_strict(order, default=9,
                                                                   return_dtype=pl.Int64))
        .sort("rank")
    )
    parts = [f"{value} {n} ({_money(cents)} EUR)" for value, n, cents, _ in counts.iter_rows()]
    return [f"Payments whose money reached the bank: {', '.join(parts) or 'none'}", ""]


def _decisions_lines(decisions: Decisions | None, pass1: pl.DataFrame, pass2: pl.DataFrame,
                     pass3: pl.DataFrame) -> list[str]:
    """One line: the decisions of decisions.yaml this window used, and those left alone."""
    if decisions is None or decisions.count == 0:
        return []
    used, alone = left_alone_count(decisions, pass1, pass2, pass3)
    return [f"Decisions ({decisions.path}): {used} used in this window, {alone} about lines "
            "not in it (left alone)", ""]


def _fee_lines(pass3: pl.DataFrame) -> list[str]:
    """The window's GoCardless fees, HT + TVA = TTC (the TVA is deductible)."""
    payouts = pass3.filter(pl.col("payout_id").is_not_null())
    ttc, ht, tva = (payouts[c].sum() for c in ("fees_cents", "fees_ht_cents", "fees_tva_cents"))
    unsplit = payouts["fees_ht_cents"].null_count()
    note = f" (no HT/TVA split for {unsplit} payouts)" if unsplit else ""
    return [f"GoCardless fees of the payouts: HT {_money(ht)} EUR + TVA {_money(tva)} EUR = "
            f"TTC {_money(ttc)} EUR{note}", ""]


def _action_lines(totals: pl.DataFrame, shown: pl.DataFrame) -> list[str]:
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
        out += ["", f"{flag} ({count}, {_money(cents)} EUR): {why}"]
        out += [f"  {line}" for line in lines]
        if count > len(lines):
            out.append(f"  ... and {count - len(lines)} more in the CSV files")
    return out


# --- the stage ---------------------------------------------------------------------------

def write_csv(frame: pl.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.write_csv(tmp)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pass1", required=True, help="pass-1 Parquet")
    parser.add_argument("--pass2", required=True, help="pass-2 Parquet")
    parser.add_argument("--pass3", required=True, help="pass-3 Parquet")
    parser.add_argument("--from", dest="date_from", required=True, help="window start, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", required=True, help="window end, YYYY-MM-DD")
    parser.add_argument("--decisions", default=None,
                        help="decisions.yaml, for the count of decisions used")
    parser.add_argument("--out-dir", required=True, help="where the CSVs and the summary go")
    parser.add_argument("--config", default=None, help="config.yaml in force (for provenance)")
    return parser.parse_args(argv)


def report_provenance(args, date_from, date_to) -> dict:
    """What this report was made from (recon.provenance), from the sidecars of the parsed
    inputs beside pass 1."""
    interim, window = Path(args.pass1).parent, f"{date_from}_{date_to}"
    inputs = [interim / name for name in ("gc_payments.parquet", "gc_payouts.parquet",
                                          "bank.parquet", f"invoices_{window}.parquet")]
    return provenance.assemble(inputs, date_from, date_to, config_module.load(args.config))


def main(argv=None) -> None:
    args = parse_args(argv)
    date_from, date_to = parse_window(args.date_from, args.date_to)
    # Pass 1 is read once, for the CSV and the summary, and the CSV is collected then
    # written: at a million rows, streaming it with sink_csv then reading pass 1 again cost
    # about 0.4 s more CPU (mostly system time) and 0.1 GB more memory.
    pass1 = read_parquet(args.pass1, PASS1)
    pass2 = read_parquet(args.pass2, PASS2)
    pass3 = read_parquet(args.pass3, PASS3)
    out_dir, window = Path(args.out_dir), f"{date_from}_{date_to}"
    # Lazy, so that only the columns the CSV shows go through the join.
    table = reconciliation_table(pass1.lazy(), pass2.lazy(), pass3.lazy()).collect()
    write_csv(table, out_dir / f"reconciliation_{window}.csv")
    del table
    write_csv(payouts_table(pass3), out_dir / f"payouts_fees_{window}.csv")
    prov = report_provenance(args, date_from, date_to)
    write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n",
               out_dir / f"provenance_{window}.json")
    summary = summary_text(pass1, pass2, pass3, date_from, date_to,
                           decisions_file.load(args.decisions))
    summary = "\n".join(provenance.text_lines(prov)) + "\n\n" + summary
    write_text(summary, out_dir / f"summary_{window}.txt")
    print(summary, end="")


if __name__ == "__main__":
    run(main)
