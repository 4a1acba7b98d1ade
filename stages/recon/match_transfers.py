"""Pass 2, before its verdict: customer transfers in the bank matched to open invoices.

Customers who do not pay by direct debit pay by transfer, straight into the bank. The
invoices pass 2 would report DOLIBARR_OPEN_NO_GC (validated, something left to pay, dated
up to TO, no pass-1 link or candidacy) are matched to the bank credits with the care of
pass 1, strictest rule first, a looser rule never taking what a stricter one could claim:

1. `ref_in_label`: the credit's label or comment names one invoice ref as a whole word
   (refs look like `matching.invoice_ref_pattern`). The credits naming one open invoice
   add up: PAID_BY_TRANSFER while they do not exceed what remains to pay (less is a
   partial payment: the evidence says what is left), else AMOUNT_MISMATCH.
2. `multi_invoice`: the credit names several refs. Linked to all of them when they are
   all open here, of one customer, at most `max_invoices_per_payment`, and what remains on
   them adds up exactly to the credit (each invoice's share: what remains on it);
   otherwise AMBIGUOUS on each named open invoice, saying why.
3. `soft`: a credit naming no ref at all, of exactly what remains to pay, whose
   counterparty has the customer's name key (recon/names.py), dated from the invoice date
   to `matching.transfer_days_after_due` days after the due date, and the only candidate
   on both sides; otherwise AMBIGUOUS on each candidate invoice, with its candidate
   credits joined with ';'.

Credits considered: amount > 0, not personal, dated up to TO, not GoCardless-looking
(`bank.gocardless_label`, the test of pass 3), not a bank line pass 3 gives a payout (or
names as a candidate of one), not one a person decided (the ids `skip_bank_ids`). A
credit naming a ref is never soft-matched, even when that invoice is not open here (paid
in Dolibarr already: nothing to say; or pass 1's), and an invoice a credit names is never
a soft candidate. Currencies are compared when the bank table carries one.

One row per (credit, invoice) link, so a payment record has all it needs: invoice_id,
share_cents, bank_date, bank_transaction_id (the payment number: `make fix` never
records a line twice). Limit: Dolibarr's remaining amount already counts a transfer
recorded in Dolibarr; a partial transfer recorded there is read again as paying what is
left, and only the fix's live check (payment number = bank line id) catches it.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

import polars as pl

from recon.match_common import COMPANY_CURRENCY, Settings, days_text, eur, fmt
from recon.names import name_key

BY_REF, MULTI, SOFT = "ref_in_label", "multi_invoice", "soft"
PAID_BY_TRANSFER, AMOUNT_MISMATCH, AMBIGUOUS = "PAID_BY_TRANSFER", "AMOUNT_MISMATCH", "AMBIGUOUS"
CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
# What the rules read of the bank table.
BANK_COLUMNS = ("bank_transaction_id", "operation_date", "personal", "amount_cents", "label",
                "counterparty", "comment", "currency")
# What each verdict row carries besides the invoice_id.
VERDICT_COLUMNS = {"flag": pl.String, "match_type": pl.String, "transfer_evidence": pl.String,
                   "bank_transaction_id": pl.String, "bank_date": pl.Date,
                   "bank_amount_cents": pl.Int64, "bank_label": pl.String,
                   "share_cents": pl.Int64}


def match_transfers(open_invoices: pl.DataFrame, bank: pl.DataFrame, settings: Settings,
                    date_to: date, payout_bank_ids: pl.Series | None = None,
                    skip_bank_ids: Collection[str] = ()) -> pl.DataFrame:
    """Transfer verdicts (VERDICT_COLUMNS and invoice_id) of the open invoices they concern.

    `open_invoices`: invoice_id, invoice_ref, ref_key (trimmed, upper case), socid,
    customer_name, remaining_cents, invoice_date, due_date, currency.
    """
    credits = _credits(bank, settings, date_to, payout_bank_ids, skip_bank_ids)
    refs = _named_refs(credits, settings)
    named = _named(credits, refs, open_invoices)
    strong_rows = _strong_rule(named, settings)
    # A credit naming a ref is never soft-matched, and every invoice a credit names is
    # consumed, linked or not.
    consumed = named.select("invoice_id").drop_nulls()
    soft_rows = _soft_rule(credits.join(refs, on="bank_transaction_id", how="anti"),
                           open_invoices.join(consumed, on="invoice_id", how="anti"), settings)
    rows = pl.concat([strong_rows, soft_rows], how="diagonal_relaxed")
    return rows.select("invoice_id", *VERDICT_COLUMNS).cast(VERDICT_COLUMNS)


# --- the credits -------------------------------------------------------------------------

def receipts(date_to: date) -> pl.Expr:
    """The bank lines that can be a customer's payment: credits, not personal, up to TO
    (pass2.py filters the bank with it as it reads it)."""
    return ((pl.col("amount_cents") > 0) & ~pl.col("personal").fill_null(False)
            & (pl.col("operation_date") <= date_to))


def _credits(bank: pl.DataFrame, settings: Settings, date_to: date,
             payout_bank_ids: pl.Series | None, skip_bank_ids: Collection[str]) -> pl.DataFrame:
    """The credits a customer may have sent: receipts, neither GoCardless-looking nor
    payouts nor decided by a person."""
    skipped = pl.Series(list(skip_bank_ids), dtype=pl.String)
    if payout_bank_ids is not None:
        skipped = pl.concat([skipped, payout_bank_ids.cast(pl.String).drop_nulls()])
    # GoCardless-looking as pass 3 says (recon/match_payouts.bank_credits), without
    # building the upper-cased texts: 3 times cheaper at a million lines.
    gocardless = f"(?i){re.escape(settings.gocardless_label)}"
    looks_gc = (pl.col("label").str.contains(gocardless).fill_null(False)
                | pl.col("counterparty").str.contains(gocardless).fill_null(False))
    return bank.filter(receipts(date_to)).filter(
        ~looks_gc & ~pl.col("bank_transaction_id").is_in(skipped.implode()))


def _named_refs(credits: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """One row per (credit, distinct invoice ref its label or comment names), with n_named.

    Built long (a few rows) rather than as a list per credit: concatenating and
    transforming a list column costs 0.4 s at a million bank lines, this 0.05 s.
    """
    found = [
        credits.select("bank_transaction_id", refs=pl.col(text).str.extract_all(settings.ref_regex))
        .filter(pl.col("refs").list.len() > 0).explode("refs")
        for text in ("label", "comment")
    ]
    refs = pl.concat(found).with_columns(pl.col("refs").str.to_uppercase()).unique(
        maintain_order=True)
    return refs.with_columns(n_named=pl.len().over("bank_transaction_id"))


def _named(credits: pl.DataFrame, refs: pl.DataFrame,
           open_invoices: pl.DataFrame) -> pl.DataFrame:
    """One row per (credit, ref it names, open invoice with that ref, if any)."""
    invoices = open_invoices.select(
        "ref_key", "invoice_id", "invoice_ref", "socid", "remaining_cents", "currency")
    pairs = refs.join(credits, on="bank_transaction_id").join(
        invoices, left_on="refs", right_on="ref_key", how="left", suffix="_invoice")
    return pairs.with_columns(
        n_found=pl.col("invoice_id").count().over("bank_transaction_id"),
        same_currency=_same_currency())


def _same_currency() -> pl.Expr:
    """Whether a credit may be compared with an invoice: both in the company's currency
    (an invoice without multicurrency_code is; Dolibarr's amounts always are)."""
    credit = pl.col("currency").fill_null(COMPANY_CURRENCY)
    invoice = pl.col("currency_invoice").fill_null(COMPANY_CURRENCY)
    return (credit == invoice) & (credit == COMPANY_CURRENCY)


# --- strong rules ------------------------------------------------------------------------

def _bank_line() -> dict[str, pl.Expr]:
    """The bank columns of a verdict row, from the credit's columns."""
    return {"bank_transaction_id": pl.col("bank_transaction_id"),
            "bank_date": pl.col("operation_date"), "bank_amount_cents": pl.col("amount_cents"),
            "bank_label": pl.col("label")}


def _where_named() -> pl.Expr:
    """Which text of the credit names its refs, and that text."""
    in_label = pl.col("label").fill_null("").str.to_uppercase().str.contains(
        pl.col("refs"), literal=True)
    return (pl.when(in_label).then(fmt("label '{}'", pl.col("label")))
            .otherwise(fmt("comment '{}'", pl.col("comment"))))


def _strong_rule(named: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Rules 1 and 2: the credits naming open invoices."""
    found = named.filter(pl.col("n_found") > 0)
    single = found.filter((pl.col("n_named") == 1) & (pl.col("n_found") == 1))
    several = found.filter((pl.col("n_named") > 1) | (pl.col("n_found") > 1))
    multi_links, multi_left = _multi_invoice(several, settings)
    single_links = single.with_columns(match_type=pl.lit(BY_REF), share_cents="amount_cents",
                                       rule_evidence=fmt("the bank {} names the invoice ref {}",
                                                         _where_named(), pl.col("invoice_ref")))
    links = _judge_links(pl.concat([single_links, multi_links], how="diagonal_relaxed"))
    # An invoice another credit pays is not also shown as a candidate of a refused one.
    multi_left = multi_left.join(links.select("invoice_id"), on="invoice_id", how="anti")
    return pl.concat([links, multi_left], how="diagonal_relaxed")


def _multi_invoice(several: pl.DataFrame, settings: Settings):
    """Credits naming several refs: all linked when their open amounts add up, else none."""
    per_credit = several.group_by("bank_transaction_id").agg(
        refs_named=pl.col("refs").unique(maintain_order=True),
        not_open=pl.col("refs").filter(pl.col("invoice_id").is_null()),
        shared=pl.col("refs").filter(pl.col("refs").is_duplicated()).unique(),
        customers=pl.col("socid").drop_nulls().n_unique(),
        sum_remaining=pl.col("remaining_cents").sum(),
        currencies_ok=pl.col("same_currency").all(),
    )
    n = pl.col("refs_named").list.len()
    why_not = (
        pl.when(pl.col("not_open").list.len() > 0)
        .then(fmt("{} not open here (paid, excluded, pass 1's, or not among the invoices "
                  "read)", pl.col("not_open").list.join(", ")))
        .when(pl.col("shared").list.len() > 0)
        .then(fmt("{} shared by several Dolibarr invoices", pl.col("shared").list.join(", ")))
        .when(pl.col("customers") > 1).then(pl.lit("they belong to different customers"))
        .when(n > settings.max_invoices_per_payment)
        .then(fmt("more than {} invoices", pl.lit(settings.max_invoices_per_payment)))
        .when(~pl.col("currencies_ok")).then(pl.lit("in another currency"))
        .when(pl.col("sum_remaining") != pl.col("amount_cents"))
        .then(fmt("what remains on them adds up to {}, not the transfer's {}",
                  eur(pl.col("sum_remaining")), eur(pl.col("amount_cents"))))
    )
    judged = several.join(per_credit, on="bank_transaction_id").with_columns(
        why_not=why_not, named_text=pl.col("refs_named").list.join(" + "))
    links = judged.filter(pl.col("why_not").is_null()).with_columns(
        match_type=pl.lit(MULTI), share_cents="remaining_cents",
        rule_evidence=fmt("the bank {} names {} (one customer) and what remains on them adds "
                          "up to the transfer; {} of it is this invoice's share",
                          _where_named(), pl.col("named_text"), eur(pl.col("remaining_cents"))))
    left = judged.filter(pl.col("why_not").is_not_null() & pl.col("invoice_id").is_not_null())
    left = left.select(
        "invoice_id", **_bank_line(), flag=pl.lit(AMBIGUOUS), match_type=pl.lit(MULTI),
        share_cents=pl.lit(None, pl.Int64),
        transfer_evidence=fmt("the bank {} names {} invoices ({}): {}; not linked",
                              _where_named(), n, pl.col("named_text"), pl.col("why_not")))
    return links, left


def _judge_links(links: pl.DataFrame) -> pl.DataFrame:
    """The transfers naming one invoice add up: paid, partly paid, or more than remains."""
    links = links.with_columns(
        received=pl.col("share_cents").sum().over("invoice_id"),
        n_links=pl.len().over("invoice_id"),
        currencies_ok=pl.col("same_currency").all().over("invoice_id"),
        others=pl.col("bank_transaction_id").over("invoice_id", mapping_strategy="join"),
    )
    remaining, received = pl.col("remaining_cents"), pl.col("received")
    flag = (pl.when(~pl.col("currencies_ok")).then(pl.lit(CURRENCY_MISMATCH))
            .when(received <= remaining).then(pl.lit(PAID_BY_TRANSFER))
            .otherwise(pl.lit(AMOUNT_MISMATCH)))
    money = fmt("transfer of {} on {} from '{}'", eur(pl.col("amount_cents")),
                pl.col("operation_date"), pl.col("counterparty"))
    others = pl.when(pl.col("n_links") > 1).then(fmt(
        "transfers for this invoice: {} ({} in all)",
        pl.col("others").list.sort().list.join(";"), eur(received)))
    verdict = (
        pl.when(~pl.col("currencies_ok")).then(pl.lit("in another currency: not linked"))
        .when(received < remaining).then(fmt("partial: {} still to pay", eur(remaining - received)))
        .when(received > remaining).then(fmt("more than the {} left to pay: not linked",
                                             eur(remaining)))
    )
    return links.select(
        "invoice_id", "match_type", "share_cents", **_bank_line(), flag=flag,
        transfer_evidence=pl.concat_str(["rule_evidence", money, others, verdict],
                                        separator="; ", ignore_nulls=True))


# --- soft rule ---------------------------------------------------------------------------

def _soft_rule(credits: pl.DataFrame, invoices: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Rule 3: amount + name key + date, unique on both sides, for credits naming nothing."""
    invoices = invoices.select(
        "invoice_id", "invoice_ref", "remaining_cents", "invoice_date", "due_date",
        "currency", inv_name="customer_name")
    # Name keys only for the amounts both sides have (the costly part), once per name.
    credits = credits.join(invoices.select("remaining_cents").unique(), how="semi",
                           left_on="amount_cents", right_on="remaining_cents")
    invoices = invoices.join(credits.select("amount_cents").unique(), how="semi",
                             left_on="remaining_cents", right_on="amount_cents")
    names = pl.concat([credits["counterparty"].rename("name"),
                       invoices["inv_name"].rename("name")])
    keys = names.drop_nulls().unique().to_frame().with_columns(
        key=name_key(pl.col("name"), settings.legal_forms, settings.name_equivalents))
    credits = credits.join(keys, left_on="counterparty", right_on="name").filter(
        pl.col("key") != "")
    invoices = invoices.join(keys, left_on="inv_name", right_on="name")
    last_day = pl.coalesce("due_date", "invoice_date") + pl.duration(
        days=settings.transfer_days_after_due)
    pairs = credits.join(invoices, left_on=["amount_cents", "key"],
                         right_on=["remaining_cents", "key"], suffix="_invoice")
    pairs = (
        pairs.filter(pl.col("operation_date").is_between(pl.col("invoice_date"), last_day)
                     & _same_currency())
        .with_columns(per_credit=pl.len().over("bank_transaction_id"),
                      per_invoice=pl.len().over("invoice_id"),
                      days_after=(pl.col("operation_date")
                                  - pl.col("invoice_date")).dt.total_days())
    )
    unique = (pl.col("per_credit") == 1) & (pl.col("per_invoice") == 1)
    links = pairs.filter(unique).select(
        "invoice_id", **_bank_line(), flag=pl.lit(PAID_BY_TRANSFER), match_type=pl.lit(SOFT),
        share_cents="amount_cents",
        transfer_evidence=fmt(
            "no invoice ref; transfer of {} on {} = what remains to pay; name key '{}' on "
            "both sides ('{}' / '{}'); {} after the invoice date{}; the only candidate on "
            "both sides", eur(pl.col("amount_cents")), pl.col("operation_date"), pl.col("key"),
            pl.col("counterparty"), pl.col("inv_name"), days_text(pl.col("days_after")),
            _due_text()))
    return pl.concat([links, _soft_ties(pairs.filter(~unique), settings)], how="diagonal_relaxed")


def _due_text() -> pl.Expr:
    return pl.when(pl.col("due_date").is_not_null()).then(
        fmt(" (due {})", pl.col("due_date"))).otherwise(pl.lit(""))


def _soft_ties(tied: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """One AMBIGUOUS row per invoice with several candidate credits, or whose credit has
    other candidate invoices: the candidates shown, none linked."""
    tied = tied.with_columns(
        rivals=pl.col("invoice_ref").over("bank_transaction_id", mapping_strategy="join"))
    per_invoice = tied.sort("operation_date", "bank_transaction_id").group_by(
        "invoice_id", maintain_order=True).agg(
        ids=pl.col("bank_transaction_id"),
        detail=fmt("{} on {} from '{}'", pl.col("bank_transaction_id"), pl.col("operation_date"),
                   pl.col("counterparty")),
        rivals=pl.col("rivals").explode().unique(maintain_order=True),
        ref=pl.col("invoice_ref").first(), amount=pl.col("amount_cents").first(),
        key=pl.col("key").first(), date=pl.col("operation_date").first(),
        label=pl.col("label").first(),
    )
    rivals = pl.col("rivals").list.set_difference(pl.concat_list("ref"))
    rivals_text = pl.when(rivals.list.len() > 0).then(
        fmt("; also a candidate for {}", rivals.list.sort().list.join(", ")))
    one = pl.col("ids").list.len() == 1
    return per_invoice.select(
        "invoice_id", flag=pl.lit(AMBIGUOUS), match_type=pl.lit(SOFT),
        bank_transaction_id=pl.col("ids").list.join(";"),
        bank_date=pl.when(one).then("date"), bank_amount_cents="amount",
        bank_label=pl.when(one).then("label"), share_cents=pl.lit(None, pl.Int64),
        transfer_evidence=fmt(
            "no invoice ref; {} candidate transfer(s) of {} with name key '{}', from the "
            "invoice date to {} after the due date: {}{}; precision first, none linked",
            pl.col("ids").list.len(), eur(pl.col("amount")), pl.col("key"),
            days_text(pl.lit(settings.transfer_days_after_due)),
            pl.col("detail").list.join(", "), rivals_text.otherwise(pl.lit(""))))
