"""The decisions of decisions.yaml applied by the passes: the strongest rule, first.

Each pass calls these at its entry (what a decision holds is taken out of the rules'
reach) and at its exit (the decided rows get their flag and their evidence). Decisions
only say what a person knows; the state rules still judge every link (pass 1 flags a
decided link as it flags any link: a decided payment later charged back shows it).

Decisions about ids absent from the pass's inputs, or outside the window, are left
alone (another month's). A decision that cannot hold is an InputError naming its line.
All joins: a decisions file has a few dozen rows, the passes a million.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from recon.decisions import DECISION, IGNORED, SETTLED_OUTSIDE, Decisions, cannot_hold
from recon.match_common import PENDING, RECEIVED, days_text, eur, fmt, ref_key

ACTIVE = (RECEIVED, PENDING)


def _has(decisions: Decisions | None, name: str) -> bool:
    return decisions is not None and not getattr(decisions, name).is_empty()


# --- pass 1 ------------------------------------------------------------------------------

def decided_payment_ids(decisions: Decisions | None) -> pl.Series:
    if decisions is None:
        return pl.Series("gc_payment_id", [], pl.String)
    return pl.concat([decisions.links["gc_payment_id"],
                      decisions.ignored_payments["gc_payment_id"]]).unique()


def withhold_decided_payments(payments: pl.DataFrame,
                              decisions: Decisions | None) -> pl.DataFrame:
    """Decided payments out of every rule's reach (rule 'decision', never in conflict)."""
    ids = decided_payment_ids(decisions)
    if ids.is_empty():
        return payments
    decided = pl.col("gc_payment_id").is_in(ids.implode())
    return payments.with_columns(
        rule=pl.when(decided).then(pl.lit(DECISION)).otherwise("rule"),
        conflict=pl.col("conflict") & ~decided)


def decided_links(decisions: Decisions | None, payments: pl.DataFrame, invoices: pl.DataFrame,
                  in_window: pl.Expr) -> pl.DataFrame:
    """payment+invoice decisions as pass-1 links (match_type 'decision'), with the entry's
    `line` and whether the payment is of the `window`.

    `payments` and `invoices` are pass 1's prepared frames (`row`, `invoice_row`, `state`,
    `ref_key`, `eligible`). A decided payment of the window naming an invoice Dolibarr does
    not have, or one never matched (credit note, draft, abandoned), is an error; outside
    the window such a decision is left alone.
    """
    columns = {"gc_payment_id": pl.String, "row": pl.UInt32, "invoice_id": pl.Int64,
               "invoice_row": pl.UInt32, "match_type": pl.String, "share_cents": pl.Int64,
               "related_refs": pl.String, "by_remaining": pl.Boolean,
               "rule_evidence": pl.String, "line": pl.Int64, "window": pl.Boolean}
    if not _has(decisions, "links"):
        return pl.DataFrame(schema=columns)
    pays = payments.select("gc_payment_id", "row", "amount_cents", "charge_date",
                           "created_date").join(decisions.links, on="gc_payment_id")
    found = pays.with_columns(key=ref_key(pl.col("invoice_ref")), window=in_window).join(
        invoices.select("ref_key", "invoice_id", "invoice_row", "eligible", "excluded_why",
                        "total_cents", "remaining_cents", dolibarr_ref="invoice_ref"),
        left_on="key", right_on="ref_key", how="left"
    ).with_columns(hits=pl.col("invoice_id").count().over("gc_payment_id", "key"))
    mine = found.filter("window")
    cannot_hold(decisions.path, mine.filter(pl.col("hits") == 0), fmt(
        "invoice {} is not among the Dolibarr invoices read (no such ref, or older than the "
        "fetch's lookback)", pl.col("invoice_ref")))
    cannot_hold(decisions.path, mine.filter(pl.col("hits") > 1), fmt(
        "ref {} is shared by {} Dolibarr invoices", pl.col("invoice_ref"), pl.col("hits")))
    cannot_hold(decisions.path, mine.filter(~pl.col("eligible")), fmt(
        "invoice {} is a {}, which is never matched", pl.col("invoice_ref"),
        pl.col("excluded_why")))
    links = found.filter((pl.col("hits") == 1) & pl.col("eligible"))
    # An entry outside the window that lost a ref is dropped whole, never linked in part.
    links = links.filter(pl.len().over("gc_payment_id") == pl.col("refs"))
    return _shares(links).select(list(columns))


def _shares(links: pl.DataFrame) -> pl.DataFrame:
    """Each invoice's share of its payment: the whole payment for one invoice; for several,
    their open amounts (else totals) when they add up to it, else none (AMOUNT_MISMATCH)."""
    per = "gc_payment_id"
    open_sum = pl.col("remaining_cents").sum().over(per)
    all_open = (pl.col("remaining_cents") > 0).all().over(per)
    by_remaining = all_open & (open_sum == pl.col("amount_cents"))
    by_total = pl.col("total_cents").sum().over(per) == pl.col("amount_cents")
    several = pl.col("refs") > 1
    share = (pl.when(~several).then("amount_cents")
             .when(by_remaining).then("remaining_cents")
             .when(by_total).then("total_cents"))
    df = links.with_columns(by_remaining=by_remaining, share_cents=share,
                            related_refs=pl.when(several).then(
                                pl.col("dolibarr_ref").str.join(";").over(per)))
    evidence = (
        pl.when(~several).then(pl.col("decision"))
        .when(pl.col("share_cents").is_not_null()).then(fmt(
            "{}; the payment pays {}: {} of it is this invoice's share", pl.col("decision"),
            pl.col("related_refs").str.replace_all(";", " + "), eur(pl.col("share_cents"))))
        .otherwise(fmt(
            "{}; the payment pays {}, whose open amounts add up to {} (totals {}), not its "
            "{}: no share can be given", pl.col("decision"),
            pl.col("related_refs").str.replace_all(";", " + "), eur(open_sum),
            eur(pl.col("total_cents").sum().over(per)), eur(pl.col("amount_cents"))))
    )
    return df.with_columns(match_type=pl.lit(DECISION), rule_evidence=evidence)


def no_invoice_taken_twice(decided: pl.DataFrame, links: pl.DataFrame,
                           payments: pl.DataFrame, invoices: pl.DataFrame,
                           decisions: Decisions | None) -> None:
    """A decision of the window may not link a payment to an invoice that other payments,
    received or pending, already cover in full."""
    mine = decided.filter("window")
    if mine.is_empty():
        return
    on_them = links.filter(pl.col("invoice_id").is_in(mine["invoice_id"].implode()))
    on_them = on_them.with_columns(state=payments["state"].gather(on_them["row"]))
    taken = (
        on_them.filter(pl.col("state").is_in(ACTIVE))
        .join(mine.select("invoice_id", "line", "invoice_row", mine_id="gc_payment_id"),
              on="invoice_id")
        .filter(pl.col("gc_payment_id") != pl.col("mine_id"))
        .group_by("line", "invoice_id", "invoice_row")
        .agg(taken=pl.col("share_cents").sum(), by=pl.col("gc_payment_id").str.join(", "))
    )
    taken = taken.with_columns(
        total=invoices["total_cents"].gather(taken["invoice_row"]),
        ref=invoices["invoice_ref"].gather(taken["invoice_row"]))
    cannot_hold(decisions.path, taken.filter(pl.col("taken") >= pl.col("total")), fmt(
        "invoice {} is already taken in full by payment(s) {} ({} of its {})",
        pl.col("ref"), pl.col("by"), eur(pl.col("taken")), eur(pl.col("total"))))


def ignored_payments(decisions: Decisions | None, payments: pl.DataFrame) -> pl.DataFrame:
    """payment+ignore decisions as pass 1's unlinked rows: flag IGNORED."""
    columns = {"gc_payment_id": pl.String, "row": pl.UInt32, "flag": pl.String,
               "match_type": pl.String, "invoice_ref": pl.String, "evidence": pl.String}
    if not _has(decisions, "ignored_payments"):
        return pl.DataFrame(schema=columns)
    rows = payments.select("gc_payment_id", "row").join(
        decisions.ignored_payments.select("gc_payment_id", "decision"), on="gc_payment_id")
    return rows.select("gc_payment_id", "row", flag=pl.lit(IGNORED),
                       match_type=pl.lit(DECISION), invoice_ref=pl.lit(None, pl.String),
                       evidence="decision")


# --- pass 2 ------------------------------------------------------------------------------

def settle_invoices(rows: pl.DataFrame, invoices: pl.DataFrame, linked: pl.DataFrame,
                    decisions: Decisions | None, date_to: date) -> pl.DataFrame:
    """invoice+settled decisions: the open invoice leaves the audit as SETTLED_OUTSIDE.

    `rows` are the audit's rows so far, `invoices` the prepared invoices. An invoice
    Dolibarr now shows paid is simply settled (no row); one pass 1 links to a payment
    keeps that verdict; a credit note, draft or abandoned invoice is an error.
    """
    if not _has(decisions, "settled_invoices"):
        return rows
    found = decisions.settled_invoices.with_columns(key=ref_key(pl.col("invoice_ref"))).join(
        invoices.with_columns(key=ref_key(pl.col("invoice_ref"))).drop("invoice_ref"),
        on="key")
    cannot_hold(decisions.path, found.filter(~pl.col("eligible")), fmt(
        "invoice {} is a {}, which is never matched: there is nothing to settle",
        pl.col("invoice_ref"), pl.col("excluded_why")))
    settled = (
        found.filter(~pl.col("settled") & (pl.col("invoice_date") <= date_to).fill_null(True))
        .join(linked, on="invoice_id", how="anti")
    )
    due = pl.coalesce("due_date", "invoice_date")
    settled = settled.drop("key", "line", "reason", "by", "on").with_columns(
        flag=pl.lit(SETTLED_OUTSIDE),
        days_past_due=(pl.lit(date_to) - due).dt.total_days(),
        evidence=fmt("{}; Dolibarr: open, {} of {} left to pay, due {}", pl.col("decision"),
                     eur(pl.col("remaining_cents")), eur(pl.col("total_cents")), due),
    ).drop("decision")
    kept = rows.filter(~pl.col("invoice_id").is_in(settled["invoice_id"].implode()))
    return pl.concat([kept, settled], how="diagonal_relaxed")


# --- pass 3 ------------------------------------------------------------------------------

def decided_bank_ids(decisions: Decisions | None) -> pl.Series:
    if decisions is None:
        return pl.Series("bank_transaction_id", [], pl.String)
    return pl.concat([decisions.ignored_bank["bank_transaction_id"],
                      decisions.bank_payouts["bank_transaction_id"]])


def decided_payouts(decisions: Decisions | None, payouts: pl.DataFrame, credits: pl.DataFrame,
                    bank: pl.DataFrame) -> pl.DataFrame:
    """bank+payout decisions as pass 3's decided pairs (the shape of match_payouts._decide).

    Applied when both the payout and the bank line are in the inputs; a line that is no
    credit (a debit, a personal line) is an error.
    """
    columns = {"payout_id": pl.String, "candidates": pl.List(pl.String),
               "unique": pl.Boolean, "tier": pl.Int32, "match_type": pl.String,
               "decision": pl.String}
    if not _has(decisions, "bank_payouts"):
        return pl.DataFrame(schema=columns)
    both = (decisions.bank_payouts.join(payouts.select("payout_id"), on="payout_id")
            .join(bank.select("bank_transaction_id", "amount_cents"), on="bank_transaction_id"))
    not_credit = both.join(credits.select("bank_transaction_id"), on="bank_transaction_id",
                           how="anti")
    cannot_hold(decisions.path, not_credit, fmt(
        "bank line {} is no credit (amount {}, or a personal line), so no payout",
        pl.col("bank_transaction_id"), eur(pl.col("amount_cents"))))
    return both.select(
        "payout_id", "decision", candidates=pl.concat_list("bank_transaction_id"),
        unique=pl.lit(True), tier=pl.lit(0, pl.Int32), match_type=pl.lit(DECISION),
    ).select(list(columns))


def decided_payout_evidence(rows: pl.DataFrame, decided: pl.DataFrame) -> pl.DataFrame:
    """The evidence of payouts a decision matched: the decision, then the bank line."""
    if decided.is_empty():
        return rows
    text = decided.select("payout_id", "decision")
    df = rows.join(text, on="payout_id", how="left", maintain_order="left")
    amounts = (pl.when(pl.col("bank_amount_cents") == pl.col("net_cents"))
               .then(fmt("bank amount {} = the payout's net", eur(pl.col("bank_amount_cents"))))
               .otherwise(fmt("bank amount {} but the payout's net is {}",
                              eur(pl.col("bank_amount_cents")), eur(pl.col("net_cents")))))
    evidence = fmt("{}; bank line '{}' on {}, {} from the arrival date {}; {}",
                   pl.col("decision"), pl.col("bank_label"), pl.col("bank_date"),
                   days_text(pl.col("days_apart")), pl.col("arrival_date"), amounts)
    return df.with_columns(
        evidence=pl.when(pl.col("match_type") == DECISION).then(evidence)
        .otherwise("evidence")).drop("decision")


def ignored_bank_lines(decisions: Decisions | None, credits: pl.DataFrame, date_from: date,
                       date_to: date) -> pl.DataFrame:
    """bank+ignore decisions about credits of the window: rows flagged IGNORED."""
    if not _has(decisions, "ignored_bank"):
        return pl.DataFrame()
    rows = credits.join(decisions.ignored_bank.select("bank_transaction_id", "decision"),
                        on="bank_transaction_id").filter(
        pl.col("operation_date").is_between(date_from, date_to))
    return rows.select(
        "bank_transaction_id", flag=pl.lit(IGNORED), match_type=pl.lit(DECISION),
        bank_date="operation_date", bank_label="label", bank_amount_cents="amount_cents",
        evidence=fmt("{}; a credit of {} on {}", pl.col("decision"),
                     eur(pl.col("amount_cents")), pl.col("operation_date")),
    ).sort("bank_date", "bank_transaction_id")


# --- the report --------------------------------------------------------------------------

def left_alone_count(decisions: Decisions | None, pass1: pl.DataFrame, pass2: pl.DataFrame,
                     pass3: pl.DataFrame) -> tuple[int, int]:
    """(decisions used by this window's rows, decisions about lines not in this window)."""
    if decisions is None or decisions.count == 0:
        return 0, 0
    p1 = pass1.filter(pl.col("match_type") == DECISION)["gc_payment_id"]
    p3 = pass3.filter(pl.col("match_type") == DECISION)
    used_sets = [
        (decided_payment_ids(decisions), p1),
        (decisions.settled_invoices["invoice_ref"].str.to_uppercase(),
         pass2.filter(pl.col("flag") == SETTLED_OUTSIDE)["invoice_ref"].str.to_uppercase()),
        (decided_bank_ids(decisions), p3["bank_transaction_id"]),
    ]
    used = sum(int(ids.is_in(seen.implode()).sum()) for ids, seen in used_sets)
    return used, decisions.count - used
