"""Pass 1: GoCardless payments <-> Dolibarr invoices, strictest rule first.

Each payment is judged by the first rule that applies to it, and a looser rule never takes
what a stricter one could claim (one shared set of consumed rows):

1. `ref_exact`: the description, trimmed and case-folded, is an invoice ref.
2. `ref_in_description`: the description holds exactly one invoice ref as a whole word
   (refs look like `matching.invoice_ref_pattern`).
3. `ref_in_reference`: the description names no invoice; the `reference` column is, or
   holds, exactly one.
4. `multi_invoice`: the description (or reference) names several invoices. They are all
   linked when they belong to one customer, are at most `max_invoices_per_payment`, and
   their open amounts (what remains to pay; else their totals) add up exactly to the
   payment. The search is bounded by construction: only the invoices the payment names
   are combined, all of them. Otherwise AMBIGUOUS, naming them.
5. `soft`: a payment naming no invoice at all, same amount as an invoice's total, same
   customer name key, charge date within +-date_tolerance days of the invoice or due
   date, and unique on both sides; otherwise AMBIGUOUS with the candidates.

A payment naming a ref that Dolibarr does not have (or has as a credit note, draft or
abandoned invoice) is GC_UNMATCHED, never soft-matched elsewhere. Every invoice a payment
names is consumed for the soft rule, even when that payment stays ambiguous. Failed
payments are not soft-matched (a failed collection without a ref proves nothing).

Then each link is judged (DESIGN.md, payment states and Dolibarr "settled"):
- a failed or charged-back payment followed by a later payment on the same invoice is a
  superseded attempt (retry group): GC_RETRIED, never a fix candidate; the last one decides;
- the invoice's active payments (received or pending, not superseded) are summed: several
  of them are instalments, GC_PARTIAL while what was received is short of the total;
- a received payment on an open invoice is GC_PAID_DOLIBARR_OPEN (the fix candidates)
  only when what was received equals what Dolibarr says remains, else AMOUNT_MISMATCH;
- on a settled invoice: MATCHED when the amounts agree; charged back: GC_CHARGED_BACK.

P15 of the sample ("FA2601-0014, FA2601-0015", 95.00 + 30.00 = 125.00) is therefore
linked to both invoices, one row per invoice, match_type `multi_invoice`, flagged
GC_PAID_DOLIBARR_OPEN: the fix stage (recon/fixplan.py) records such a payment whole, as
one payment split across the invoices, or not at all.

The window: every payment is matched (so an instalment or retry outside the window still
counts), but only payments charged or created inside [FROM, TO] get a row.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from recon.apply_decisions import (decided_links, ignored_payments, no_invoice_taken_twice,
                                    withhold_decided_payments)
from recon.decisions import IGNORED, Decisions
from recon.match_common import (CHARGED_BACK, COMPANY_CURRENCY, FAILED, PENDING, RECEIVED,
                                Settings, days_text, empty_to_null, eur, fmt, ref_key,
                                state_group, with_currency_codes)
from recon.names import name_key
from recon.schemas import PASS1

EXACT, IN_DESCRIPTION, IN_REFERENCE = "ref_exact", "ref_in_description", "ref_in_reference"
MULTI, SOFT, NONE = "multi_invoice", "soft", "none"
SINGLE_REF_RULES = (EXACT, IN_DESCRIPTION, IN_REFERENCE)

MATCHED, FIX_CANDIDATE, PARTIAL = "MATCHED", "GC_PAID_DOLIBARR_OPEN", "GC_PARTIAL"
GC_PENDING, GC_FAILED, GC_CHARGED_BACK = "GC_PENDING", "GC_FAILED", "GC_CHARGED_BACK"
AMOUNT_MISMATCH, AMBIGUOUS, UNMATCHED = "AMOUNT_MISMATCH", "AMBIGUOUS", "GC_UNMATCHED"
RETRIED = "GC_RETRIED"  # a failed attempt superseded by a later payment for the same invoice
CURRENCY_MISMATCH = "CURRENCY_MISMATCH"  # payment and invoice in different currencies

CREDIT_NOTE_TYPE = 2
DRAFT, VALIDATED, CLOSED, ABANDONED = 0, 1, 2, 3

# What the pass reads of its inputs (the other columns are never looked at).
PAYMENT_INPUT_COLUMNS = ("gc_payment_id", "created_at", "charge_date", "amount_cents",
                         "description", "reference", "status", "amount_refunded_cents",
                         "payout_id", "customer_name", "currency")
INVOICE_INPUT_COLUMNS = ("invoice_id", "invoice_ref", "socid", "customer_name", "type", "status",
                         "paid", "total_cents", "remaining_cents", "invoice_date", "due_date",
                         "currency")


# --- preparation -------------------------------------------------------------------------

def prepare_invoices(invoices: pl.DataFrame) -> pl.DataFrame:
    """Invoices with whether they can be matched and whether they are settled."""
    status, total = pl.col("status"), pl.col("total_cents")
    remaining = pl.col("remaining_cents").fill_null(total)
    credit_note = (pl.col("type") == CREDIT_NOTE_TYPE) | (total < 0)
    excluded_why = (
        pl.when(credit_note).then(pl.lit("credit note"))
        .when(status == DRAFT).then(pl.lit("draft"))
        .when(status == ABANDONED).then(pl.lit("abandoned invoice"))
        .when(~status.is_in([VALIDATED, CLOSED]) | (total == 0)).then(pl.lit("invoice of no amount"))
    )
    settled = (status == CLOSED) | ((status == VALIDATED) & (remaining <= 0))
    return with_currency_codes(invoices).with_columns(
        invoice_row=pl.int_range(pl.len(), dtype=pl.UInt32),
        remaining_cents=remaining,
        excluded_why=excluded_why,
        settled=settled.fill_null(False),
    ).with_columns(eligible=pl.col("excluded_why").is_null())


def prepare_payments(payments: pl.DataFrame, invoices: pl.DataFrame,
                     settings: Settings) -> pl.DataFrame:
    """Payments with their state group and the invoice refs their texts name.

    `row` numbers the payments (and `invoice_row` the invoices): the links carry both, so
    the verdicts pick their columns by position instead of joining on the text ids.
    """
    df = with_currency_codes(payments).with_columns(
        row=pl.int_range(pl.len(), dtype=pl.UInt32),
        state=state_group(pl.col("status")),
        refunded_cents=pl.col("amount_refunded_cents").fill_null(0),
        created_date=pl.col("created_at").dt.date(),
        desc_key=_key(pl.col("description")),
        ref_key=_key(pl.col("reference")),
    )
    df = _with_named_refs(df, "desc", invoices, settings)
    df = _with_named_refs(df, "ref", invoices, settings)
    n_desc, n_ref = pl.col("desc_named").list.len(), pl.col("ref_named").list.len()
    rule = (
        pl.when(pl.col("desc_exact")).then(pl.lit(EXACT))
        .when(n_desc == 1).then(pl.lit(IN_DESCRIPTION))
        .when(n_desc > 1).then(pl.lit(MULTI))
        .when(n_ref == 1).then(pl.lit(IN_REFERENCE))
        .when(n_ref > 1).then(pl.lit(MULTI))
        .otherwise(pl.lit(NONE))
    )
    # Only rows naming refs in both texts can disagree (null elsewhere keeps this cheap).
    both = pl.when((n_desc > 0) & (n_ref > 0)).then(pl.col("ref_named"))
    conflict = (both.list.set_difference("desc_named").list.len() > 0).fill_null(False)
    return df.with_columns(
        rule=rule,
        conflict=conflict,
        named=pl.when(n_desc > 0).then("desc_named").otherwise("ref_named"),
        named_where=pl.when(n_desc > 0).then(pl.lit("description"))
        .when(n_ref > 0).then(pl.lit("reference")),
    ).drop("desc_tokens", "ref_tokens")


def _key(text: pl.Expr) -> pl.Expr:
    """A text as compared with refs: like ref_key(), "" when missing."""
    return ref_key(text.fill_null(""))


def _with_named_refs(df: pl.DataFrame, prefix: str, invoices: pl.DataFrame,
                     settings: Settings) -> pl.DataFrame:
    """`<prefix>_named`: the distinct refs a text names; `<prefix>_exact`: the text is one.

    A text names the refs written in it as whole words (refs look like the configured
    pattern); a text holding none that is, as a whole, a Dolibarr ref (any numbering)
    names that ref. The costly steps run only on the rows that need them: the others
    are masked to null first, which polars skips.
    """
    key, tokens = pl.col(f"{prefix}_key"), pl.col(f"{prefix}_tokens")
    df = df.with_columns(key.str.extract_all(settings.ref_regex).alias(f"{prefix}_tokens"))
    n = tokens.list.len()
    whole = (
        df.select("gc_payment_id", key, n=n).filter((pl.col("n") == 0) & (key != ""))
        .join(invoices.select("ref_key"), left_on=f"{prefix}_key",
              right_on="ref_key", how="semi")
    )
    distinct = pl.when(n > 1).then(tokens).list.unique(maintain_order=True)
    named = pl.when(n > 1).then(distinct)
    exact = ((n == 1) & (tokens.list.first() == key)).fill_null(False)
    if not whole.is_empty():  # rare; a branch on lists costs 0.15 s per million rows
        is_whole = pl.col("gc_payment_id").is_in(whole["gc_payment_id"].implode())
        named = named.when(is_whole).then(pl.concat_list(pl.when(is_whole).then(key)))
        exact = exact | is_whole
    named = named.otherwise(tokens)
    return df.with_columns(named.alias(f"{prefix}_named"), exact.alias(f"{prefix}_exact"))


def _named_invoices(payments: pl.DataFrame, invoices: pl.DataFrame) -> pl.DataFrame:
    """One row per (payment, named ref, Dolibarr invoice with that ref, if any)."""
    pairs = (
        payments.select("gc_payment_id", "row", "amount_cents", "named", "named_where", "rule",
                        "conflict", "currency")
        .filter(pl.col("named").list.len() > 0)
        .explode("named").rename({"named": "named_ref"})
    )
    joined = pairs.join(
        invoices.select("ref_key", "invoice_id", "invoice_row", "socid", "eligible",
                        "excluded_why", "total_cents", "remaining_cents",
                        invoice_currency="currency"),
        left_on="named_ref", right_on="ref_key", how="left")
    hits = pl.col("invoice_id").is_not_null().cast(pl.Int64)
    if joined.height > pairs.height:  # a ref several Dolibarr invoices share (rare)
        hits = pl.col("invoice_id").count().over("gc_payment_id", "named_ref")
    return joined.with_columns(ref_hits=hits)


# --- currencies ----------------------------------------------------------------------------

def _comparable(payment_currency: pl.Expr, invoice_currency: str) -> pl.Expr:
    """Whether a payment's amount may be compared with an invoice's: Dolibarr gives the
    invoice's amounts (total_ttc, remaintopay) in the company's currency, so both must be
    in it (an invoice in another currency has its own amounts only in multicurrency_*)."""
    return (payment_currency == pl.col(invoice_currency)) & (payment_currency == COMPANY_CURRENCY)


def _amounts_in_company_currency(same_foreign_currency: pl.Expr) -> pl.Expr:
    """The reason a payment in the invoice's own foreign currency is still not compared."""
    return (pl.when(same_foreign_currency)
            .then(pl.lit(f" (Dolibarr gives the invoice's amounts in {COMPANY_CURRENCY})"))
            .otherwise(pl.lit("")))


# --- rules -------------------------------------------------------------------------------

def _left(rows: pl.DataFrame, flag: str | pl.Expr, match_type: str | pl.Expr, refs: pl.Expr,
          evidence: pl.Expr) -> pl.DataFrame:
    """Payments a rule looked at and did not link: the proposed flag, candidates, why."""
    if isinstance(match_type, str):
        match_type = pl.lit(match_type)
    if isinstance(flag, str):
        flag = pl.lit(flag)
    return rows.select(
        "gc_payment_id", "row", flag=flag, match_type=match_type,
        invoice_ref=refs, evidence=evidence,
    )


def _single_ref_rule(payments: pl.DataFrame, named: pl.DataFrame):
    """Rules 1-3: one named ref, found once among the invoices that can be matched."""
    rows = named.filter(pl.col("rule").is_in(SINGLE_REF_RULES) & ~pl.col("conflict"))
    where = pl.col("named_where")
    found = rows.filter(pl.col("ref_hits") == 1)
    links = found.filter(pl.col("eligible")).select(
        "gc_payment_id", "row", "invoice_id", "invoice_row", match_type="rule",
        share_cents="amount_cents")
    not_found = _left(
        rows.filter(pl.col("ref_hits") == 0), UNMATCHED, NONE, pl.col("named_ref"),
        fmt("the {} names {}, which is not among the Dolibarr invoices read",
                  where, pl.col("named_ref")))
    excluded = _left(
        found.filter(~pl.col("eligible")), UNMATCHED, NONE, pl.col("named_ref"),
        fmt("the {} names {}, a {}, which is never matched", where, pl.col("named_ref"),
                  pl.col("excluded_why")))
    twice = rows.filter(pl.col("ref_hits") > 1).unique("gc_payment_id")
    duplicated = _left(
        twice, AMBIGUOUS, pl.col("rule"), pl.col("named_ref"),
        fmt("the {} names {}, a ref {} Dolibarr invoices share", where,
                  pl.col("named_ref"), pl.col("ref_hits")))
    return links, pl.concat([not_found, excluded, duplicated])


def _conflicts(payments: pl.DataFrame) -> pl.DataFrame:
    """Description and reference naming different invoices: never pick one."""
    rows = payments.select("gc_payment_id", "row", "rule", "conflict", "desc_named",
                           "ref_named").filter(pl.col("conflict"))
    refs = pl.concat_list("desc_named", "ref_named").list.unique(maintain_order=True)
    return _left(
        rows, AMBIGUOUS, pl.col("rule"), refs.list.join(";"),
        fmt("the description names {} but the reference names {}",
                  pl.col("desc_named").list.join(", "), pl.col("ref_named").list.join(", ")))


def _multi_invoice_rule(payments: pl.DataFrame, named: pl.DataFrame, settings: Settings):
    """Rule 4: several named invoices of one customer whose open amounts sum to the payment."""
    rows = named.filter((pl.col("rule") == MULTI) & ~pl.col("conflict"))
    amounts = payments.select("gc_payment_id", "amount_cents")
    per_payment = rows.group_by("gc_payment_id", maintain_order=True).agg(
        row=pl.col("row").first(),
        refs=pl.col("named_ref").unique(maintain_order=True),
        missing=pl.col("named_ref").filter(pl.col("ref_hits") == 0),
        doubled=pl.col("named_ref").filter(pl.col("ref_hits") > 1).unique(),
        excluded=pl.col("named_ref").filter(pl.col("eligible") == False),  # noqa: E712
        customers=pl.col("socid").drop_nulls().n_unique(),
        all_open=(pl.col("remaining_cents") > 0).all(),
        sum_remaining=pl.col("remaining_cents").sum(),
        sum_total=pl.col("total_cents").sum(),
        currency=pl.col("currency").first(),
        foreign=pl.col("named_ref").filter(~_comparable(pl.col("currency"), "invoice_currency")),
        foreign_currencies=pl.col("invoice_currency")
        .filter(~_comparable(pl.col("currency"), "invoice_currency")).unique(maintain_order=True),
    ).join(amounts, on="gc_payment_id")
    refs_text = pl.col("refs").list.join(";")
    n = pl.col("refs").list.len()
    by_remaining = pl.col("all_open") & (pl.col("sum_remaining") == pl.col("amount_cents"))
    blocked = (
        pl.when(pl.col("missing").list.len() > 0)
        .then(fmt("{} not among the Dolibarr invoices read", pl.col("missing").list.join(", ")))
        .when(pl.col("doubled").list.len() > 0)
        .then(fmt("{} shared by several Dolibarr invoices", pl.col("doubled").list.join(", ")))
        .when(pl.col("excluded").list.len() > 0)
        .then(fmt("{} excluded from matching (credit note, draft or abandoned)",
                        pl.col("excluded").list.join(", ")))
        .when(pl.col("customers") > 1).then(pl.lit("they belong to different customers"))
        .when(n > settings.max_invoices_per_payment)
        .then(fmt("more than {} invoices", pl.lit(settings.max_invoices_per_payment)))
    )
    # Amounts in different currencies are never added up nor compared.
    foreign = blocked.is_null() & (pl.col("foreign").list.len() > 0)
    why_not = (
        pl.when(blocked.is_not_null()).then(blocked)
        .when(foreign)
        .then(fmt("{} in {} but the payment in {}{}: amounts in different currencies are never "
                  "compared", pl.col("foreign").list.join(", "),
                  pl.col("foreign_currencies").list.join("/"), pl.col("currency"),
                  _amounts_in_company_currency(
                      pl.col("foreign_currencies").list.contains(pl.col("currency")))))
        .when(~by_remaining & (pl.col("sum_total") != pl.col("amount_cents")))
        .then(fmt("their open amounts add up to {} (totals {}), not the payment's {}",
                        eur(pl.col("sum_remaining")), eur(pl.col("sum_total")),
                        eur(pl.col("amount_cents"))))
    )
    judged = per_payment.with_columns(why_not=why_not, by_remaining=by_remaining, foreign=foreign)
    left = _left(
        judged.filter(pl.col("why_not").is_not_null()),
        pl.when("foreign").then(pl.lit(CURRENCY_MISMATCH)).otherwise(pl.lit(AMBIGUOUS)),
        MULTI, refs_text,
        fmt("the payment names {} invoices ({}): {}; not linked", n,
                  pl.col("refs").list.join(", "), pl.col("why_not")))
    accepted = judged.filter(pl.col("why_not").is_null()).select(
        "gc_payment_id", "by_remaining", related_refs=refs_text)
    links = (
        rows.join(accepted, on="gc_payment_id")
        .unique(["gc_payment_id", "invoice_id"], maintain_order=True)
        .with_columns(
            share_cents=pl.when("by_remaining").then("remaining_cents").otherwise("total_cents"))
        .select(
            "gc_payment_id", "row", "invoice_id", "invoice_row", "related_refs", "by_remaining",
            "share_cents", match_type=pl.lit(MULTI),
            rule_evidence=fmt(
                "the payment names {} (one customer) and their {} add up to it; {} of it is "
                "this invoice's share", pl.col("related_refs").str.replace_all(";", " + "),
                pl.when("by_remaining").then(pl.lit("open amounts")).otherwise(pl.lit("totals")),
                eur(pl.col("share_cents"))),
        )
    )
    return links, left


def _soft_rule(payments: pl.DataFrame, invoices: pl.DataFrame, consumed: pl.DataFrame,
               settings: Settings):
    """Rule 5: amount + name key + date, unique on both sides, for payments naming nothing."""
    pays = payments.select(
        "gc_payment_id", "row", "amount_cents", "charge_date", "rule", "conflict", "state",
        "currency", pay_name="customer_name",
    ).filter(
        (pl.col("rule") == NONE) & ~pl.col("conflict") & (pl.col("state") != FAILED)
        & pl.col("charge_date").is_not_null() & (pl.col("currency") == COMPANY_CURRENCY)
    ).drop("rule", "conflict", "state")
    invs = invoices.filter(pl.col("eligible")).join(consumed, on="invoice_id", how="anti").select(
        "invoice_id", "invoice_row", "invoice_ref", "total_cents", "invoice_date", "due_date",
        "currency", inv_name="customer_name")
    keys = _name_keys(pays["pay_name"], invs["inv_name"], settings=settings)
    pays = pays.join(keys, left_on="pay_name", right_on="name", how="left")
    invs = invs.join(keys, left_on="inv_name", right_on="name", how="left")
    tolerance = settings.date_tolerance_days
    from_invoice = (pl.col("charge_date") - pl.col("invoice_date")).dt.total_days().abs()
    from_due = (pl.col("charge_date") - pl.col("due_date")).dt.total_days().abs()
    pairs = (
        pays.filter(pl.col("key") != "")
        .join(invs, left_on=["amount_cents", "key", "currency"],
              right_on=["total_cents", "key", "currency"])
        .with_columns(from_invoice=from_invoice, from_due=from_due)
        .with_columns(days_apart=pl.min_horizontal("from_invoice", "from_due"))
        .filter(pl.col("days_apart") <= tolerance)
        .with_columns(
            per_payment=pl.len().over("gc_payment_id"),
            per_invoice=pl.len().over("invoice_id"),
            which_date=pl.when(pl.col("from_invoice").fill_null(10**9)
                               <= pl.col("from_due").fill_null(10**9))
            .then(pl.lit("invoice date")).otherwise(pl.lit("due date")),
        )
        .sort("gc_payment_id", "invoice_ref")
    )
    unique = (pl.col("per_payment") == 1) & (pl.col("per_invoice") == 1)
    links = pairs.filter(unique).select(
        "gc_payment_id", "row", "invoice_id", "invoice_row", "days_apart", match_type=pl.lit(SOFT),
        share_cents="amount_cents",
        rule_evidence=fmt(
            "no invoice ref; amount {} = the invoice total; name key '{}' on both sides "
            "('{}' / '{}'); charge date {} is {} from the {} {}; the only candidate on both sides",
            eur(pl.col("amount_cents")), pl.col("key"), pl.col("pay_name"), pl.col("inv_name"),
            pl.col("charge_date"), days_text(pl.col("days_apart")), pl.col("which_date"),
            pl.when(pl.col("which_date") == "invoice date").then("invoice_date")
            .otherwise("due_date")),
    )
    tied = pairs.filter(~unique.all().over("gc_payment_id")).with_columns(
        rivals=pl.col("gc_payment_id").unique().over("invoice_id", mapping_strategy="join"))
    tied = tied.with_columns(
        rivals=pl.col("rivals").list.set_difference(pl.concat_list("gc_payment_id")))
    per_payment = tied.group_by("gc_payment_id", maintain_order=True).agg(
        row=pl.col("row").first(),
        refs=pl.col("invoice_ref"),
        detail=fmt("{} ({} from its {})", pl.col("invoice_ref"),
                         days_text(pl.col("days_apart")), pl.col("which_date")),
        rivals=pl.col("rivals").explode().drop_nulls().unique(maintain_order=True),
        amount=pl.col("amount_cents").first(), key=pl.col("key").first(),
    )
    rivals = pl.when(pl.col("rivals").list.len() > 0).then(
        fmt("; also a candidate for payment(s) {}", pl.col("rivals").list.join(", ")))
    left = _left(
        per_payment, AMBIGUOUS, SOFT, pl.col("refs").list.join(";"),
        fmt("no invoice ref; {} candidate(s) with amount {}, name key '{}', within {}: "
                  "{}{}; precision first, none linked",
                  pl.col("refs").list.len(), eur(pl.col("amount")), pl.col("key"),
                  days_text(pl.lit(tolerance)), pl.col("detail").list.join(", "),
                  rivals.otherwise(pl.lit(""))))
    return links, left


def _name_keys(*names: pl.Series, settings: Settings) -> pl.DataFrame:
    """name -> key, computed once per distinct name (the expensive part of the soft rule)."""
    distinct = pl.concat([s.rename("name") for s in names]).drop_nulls().unique().to_frame()
    return distinct.with_columns(key=name_key(pl.col("name"), settings.legal_forms,
                                                   settings.name_equivalents))


# --- verdicts ----------------------------------------------------------------------------

# What the verdicts need of a payment (the prepared frame also holds the parsed texts).
_PAYMENT_COLUMNS = ("gc_payment_id", "state", "status", "amount_cents", "refunded_cents",
                    "charge_date", "created_at", "created_date", "description", "reference",
                    "payout_id", "customer_name", "currency")


def _judge_links(links: pl.DataFrame, payments: pl.DataFrame, invoices: pl.DataFrame,
                 in_window: pl.Expr) -> pl.DataFrame:
    """One row per (payment, invoice) link of the window, with the flag its group gives it.

    Every link counts in its invoice's sums (an instalment before the window too); only
    the window's get a verdict and its text.
    """
    invoice_columns = invoices.select(
        "total_cents", "remaining_cents", "invoice_date", "due_date", "settled",
        linked_ref="invoice_ref", invoice_customer_name="customer_name",
        invoice_status="status", invoice_paid="paid", invoice_currency="currency")
    # Grouped and filtered while the frame is narrow; the wide columns come last.
    facts = payments.select("state", "charge_date", "created_at", "created_date")
    pair = pl.DataFrame([payments["currency"].gather(links["row"]),
                         invoices["currency"].gather(links["invoice_row"]).alias("theirs")])
    same = pair.select(_comparable(pl.col("currency"), "theirs")).to_series()
    links = links.with_columns(same_currency=same, several=pl.len().over("invoice_id") > 1)
    df = _beside(links, facts, "row")
    alone = _alone_on_their_invoice(df.filter(~pl.col("several")))
    grouped = _grouped_on_their_invoice(
        df.filter(pl.col("several"))
        .sort("invoice_id", "charge_date", "created_at", "gc_payment_id", nulls_last=False))
    df = pl.concat([alone, grouped], how="diagonal_relaxed").filter(in_window).drop(facts.columns)
    df = _beside(_beside(df, payments.select(_PAYMENT_COLUMNS[1:]), "row"),
                 invoice_columns, "invoice_row")
    df = df.with_columns(flag=_link_flag(), evidence=_link_evidence())
    return df.with_columns(invoice_ref=pl.col("linked_ref"))


def _beside(df: pl.DataFrame, frame: pl.DataFrame, rows: str) -> pl.DataFrame:
    """`df` with, beside each of its rows, the row of `frame` that its column `rows` numbers."""
    return pl.concat([df, frame.select(pl.all().gather(df[rows]))], how="horizontal")


def _alone_on_their_invoice(df: pl.DataFrame) -> pl.DataFrame:
    """Links that are the only one on their invoice (most of them): no window needed."""
    state, share = pl.col("state"), pl.col("share_cents")
    active = state.is_in([RECEIVED, PENDING]) & pl.col("same_currency")
    return df.with_columns(
        superseded=pl.lit(False),
        active=active,
        received_cents=pl.when(active & (state == RECEIVED)).then(share).otherwise(0),
        pending_cents=pl.when(active & (state == PENDING)).then(share).otherwise(0),
        n_active=active.cast(pl.UInt32),
        later_ids=pl.lit(None, pl.String),
        later_cents=pl.lit(None, pl.Int64),
        later_state=pl.lit(None, pl.String),
        related_payment_ids=pl.lit(None, pl.String),
    )


def _grouped_on_their_invoice(df: pl.DataFrame) -> pl.DataFrame:
    """Several links on one invoice (retries, instalments): the last state decides."""
    inv, state, share = "invoice_id", pl.col("state"), pl.col("share_cents")
    last = pl.int_range(pl.len()).over(inv) == pl.len().over(inv) - 1
    df = df.with_columns(
        superseded=state.is_in([FAILED, CHARGED_BACK]) & ~last,
        payment_ids=pl.col("gc_payment_id").over(inv, mapping_strategy="join"),
    ).with_columns(active=~pl.col("superseded") & state.is_in([RECEIVED, PENDING])
                   & pl.col("same_currency"))
    return df.with_columns(
        received_cents=share.filter(pl.col("active") & (state == RECEIVED)).sum().over(inv),
        pending_cents=share.filter(pl.col("active") & (state == PENDING)).sum().over(inv),
        n_active=pl.col("active").sum().over(inv).cast(pl.UInt32),
        later_ids=pl.col("gc_payment_id").shift(-1).over(inv),
        later_cents=share.shift(-1).over(inv),
        later_state=state.shift(-1).over(inv),
        related_payment_ids=pl.col("payment_ids").list.set_difference(
            pl.concat_list("gc_payment_id")).list.join(";"),
    ).drop("payment_ids")


def _link_flag() -> pl.Expr:
    state, settled = pl.col("state"), pl.col("settled")
    received, pending = pl.col("received_cents"), pl.col("pending_cents")
    total, remaining = pl.col("total_cents"), pl.col("remaining_cents")
    instalments = pl.col("n_active") > 1
    written_off = (pl.col("invoice_status") == CLOSED) & ~pl.col("invoice_paid").fill_null(True)
    on_settled = (
        pl.when(received == total).then(pl.lit(MATCHED))
        .when(written_off & (received == total - remaining)).then(pl.lit(MATCHED))
        .when(instalments & (received < total) & (received + pending >= total)).then(pl.lit(PARTIAL))
        .otherwise(pl.lit(AMOUNT_MISMATCH))
    )
    on_open = (
        pl.when(pl.col("refunded_cents") > 0).then(pl.lit(AMOUNT_MISMATCH))
        .when(~instalments).then(
            pl.when(pl.col("share_cents") == remaining).then(pl.lit(FIX_CANDIDATE))
            .otherwise(pl.lit(AMOUNT_MISMATCH)))
        .when(received < total).then(pl.lit(PARTIAL))
        .when((received == total) & (remaining == total)).then(pl.lit(FIX_CANDIDATE))
        .otherwise(pl.lit(AMOUNT_MISMATCH))
    )
    return (
        pl.when(pl.col("superseded")).then(pl.lit(RETRIED))
        .when(state == FAILED).then(pl.lit(GC_FAILED))
        .when(state == CHARGED_BACK).then(
            pl.when(settled).then(pl.lit(GC_CHARGED_BACK)).otherwise(pl.lit(GC_FAILED)))
        .when(state == PENDING).then(pl.lit(GC_PENDING))
        .when(~pl.col("same_currency")).then(pl.lit(CURRENCY_MISMATCH))
        .when(settled).then(on_settled)
        .otherwise(on_open)
    )


def _rule_evidence() -> pl.Expr:
    """Where the ref was found (soft and multi rows carry theirs from the rule).

    One template for the three ref rules, its variable words picked per row: polars
    evaluates every branch of a when/then on every row, so branching between whole
    formatted texts would build each text for all rows.
    """
    rule = pl.col("match_type")
    exact, in_reference = rule == EXACT, rule == IN_REFERENCE
    where = pl.when(in_reference).then(pl.lit("reference")).otherwise(pl.lit("description"))
    text = pl.when(in_reference).then("reference").otherwise("description").str.strip_chars()
    how = (pl.when(exact).then(pl.lit("is"))
           .when(in_reference).then(pl.lit("holds"))
           .otherwise(pl.lit("holds, as a whole word,")))
    aside = (pl.when(exact).then(pl.lit(" (case and spaces aside)"))
             .when(in_reference).then(pl.lit(" (the description names no invoice)"))
             .otherwise(pl.lit("")))
    ref_rule = fmt("the {} '{}' {} the invoice ref {}{}", where, text, how,
                   pl.col("linked_ref"), aside)
    return pl.when(rule.is_in(SINGLE_REF_RULES)).then(ref_rule).otherwise("rule_evidence")


def _part(*pieces: pl.Expr | str) -> pl.Expr:
    """Text pieces joined; null as soon as one piece is null (an optional part)."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in pieces])


def _dolibarr_state() -> pl.Expr:
    """What Dolibarr says of a linked invoice, as text (built only for linked rows)."""
    status, total = pl.col("invoice_status"), pl.col("total_cents")
    remaining = pl.col("remaining_cents")
    validated = status == VALIDATED
    nothing_left = validated & (remaining <= 0)
    paid = ~validated & pl.col("invoice_paid").fill_null(True)
    head = (
        pl.when(nothing_left).then(pl.lit("paid but not closed (nothing left to pay)"))
        .when(validated & (remaining < total)).then(pl.lit("partly paid, "))
        .when(validated).then(pl.lit("open, "))
        .when(paid).then(pl.lit("paid"))
        .otherwise(pl.lit("closed with "))
    )
    amount = eur(pl.when(~nothing_left & ~paid).then(remaining))
    tail = pl.when(validated).then(pl.lit(" left to pay")).otherwise(pl.lit(" written off"))
    return pl.concat_str([head, _part(amount, tail)], ignore_nulls=True)


def _link_evidence() -> pl.Expr:
    state = pl.col("state")
    money = fmt(
        "payment {} {}; GoCardless received {} of the invoice's {}", eur(pl.col("amount_cents")),
        pl.col("status"), eur(pl.col("received_cents")), eur(pl.col("total_cents")))
    pending = _part(eur(pl.when(pl.col("pending_cents") > 0).then("pending_cents")), " pending")
    refunded = _part(eur(pl.when(pl.col("refunded_cents") > 0).then("refunded_cents")),
                     " refunded to the customer")
    dolibarr = _part("Dolibarr: ", _dolibarr_state())
    currencies = _part("payment in ", pl.when(~pl.col("same_currency")).then("currency"),
                       ", invoice in ", pl.col("invoice_currency"),
                       _amounts_in_company_currency(
                           pl.col("currency") == pl.col("invoice_currency")),
                       ": amounts in different currencies are never compared")
    # Which amount failed, and what the next attempt brought (a person reads both rows).
    retried = pl.when("superseded").then(fmt(
        "{} {}, then payment {} brought {} ({}) for the same invoice: the later one decides",
        eur(pl.col("amount_cents")),
        pl.when(state == FAILED).then(pl.lit("failed")).otherwise(pl.lit("charged back")),
        pl.col("later_ids"), eur(pl.col("later_cents")), pl.col("later_state")))
    others = _part("other payments for this invoice: ",
                   pl.when(~pl.col("superseded")).then("related_payment_ids"))
    return pl.concat_str([_rule_evidence(), currencies, money, pending, refunded, dolibarr,
                          retried, others],
                         separator="; ", ignore_nulls=True)


def _judge_unlinked(left: pl.DataFrame, payments: pl.DataFrame, linked_rows: pl.Series,
                    in_window: pl.Expr) -> pl.DataFrame:
    """Payments with no link: the rule's abstention, or GC_UNMATCHED when no rule applied."""
    judged = left.filter(~pl.col("row").is_in(linked_rows.implode()))
    judged = judged.unique("row", keep="first", maintain_order=True)
    taken = pl.concat([linked_rows, judged["row"]]).implode()
    rows = pl.int_range(payments.height, dtype=pl.UInt32, eager=True).to_frame("row")
    unmatched = rows.filter(~pl.col("row").is_in(taken)).select(
        "row", flag=pl.lit(UNMATCHED), match_type=pl.lit(NONE),
        invoice_ref=pl.lit(None, pl.String),
        evidence=pl.lit("no invoice ref in the description or reference, and no invoice with "
                        "the same amount, customer name and date"),
    )
    df = _beside(pl.concat([judged.drop("gc_payment_id"), unmatched]),
                 payments.select(_PAYMENT_COLUMNS), "row").filter(in_window)
    failed = (pl.col("state") == FAILED) & (pl.col("flag") != IGNORED)  # a decision holds
    state_text = fmt("payment {} {}", eur(pl.col("amount_cents")), pl.col("status"))
    return df.with_columns(
        flag=pl.when(failed).then(pl.lit(GC_FAILED)).otherwise("flag"),
        evidence=pl.concat_str([pl.col("evidence"), state_text], separator="; "),
        share_cents=pl.col("amount_cents"),
    )


# --- the pass ----------------------------------------------------------------------------

def match_payments(payments: pl.DataFrame, invoices: pl.DataFrame, settings: Settings,
                   date_from: date, date_to: date,
                   decisions: Decisions | None = None) -> pl.DataFrame:
    """The pass-1 verdicts (schema PASS1) of the payments charged or created in the window;
    `decisions` (decisions.yaml) come before every rule."""
    # The working frames of _verdicts are freed before the sort copies the rows.
    rows = _to_schema(_verdicts(payments, invoices, settings, date_from, date_to, decisions))
    return rows.sort("charge_date", "gc_payment_id", "invoice_ref", nulls_last=True)


def _verdicts(payments: pl.DataFrame, invoices: pl.DataFrame, settings: Settings,
              date_from: date, date_to: date,
              decisions: Decisions | None = None) -> pl.DataFrame:
    """Every rule, then every verdict of the window (linked rows, then the others)."""
    invoices = prepare_invoices(invoices).with_columns(ref_key=ref_key(pl.col("invoice_ref")))
    payments = prepare_payments(payments, invoices, settings)
    # Decisions first: the payments they settle are out of every rule's reach.
    in_window = (pl.col("charge_date").is_between(date_from, date_to)
                 | pl.col("created_date").is_between(date_from, date_to)).fill_null(False)
    payments = withhold_decided_payments(payments, decisions)
    decided = decided_links(decisions, payments, invoices, in_window)
    named = _named_invoices(payments, invoices)
    conflicts = _conflicts(payments)
    # The parsed texts are not read again: freed, like `named` below, to keep the peak low.
    payments = payments.drop("desc_key", "ref_key", "desc_named", "ref_named", "named")
    single_links, single_left = _single_ref_rule(payments, named)
    multi_links, multi_left = _multi_invoice_rule(payments, named, settings)
    consumed = pl.concat([named.select("invoice_id").drop_nulls(),
                          decided.select("invoice_id")]).unique()
    del named
    soft_links, soft_left = _soft_rule(payments, invoices, consumed, settings)
    links = pl.concat([single_links, multi_links, soft_links, decided.drop("line", "window")],
                      how="diagonal_relaxed")
    links = _ensure_columns(links, {"related_refs": pl.String, "by_remaining": pl.Boolean,
                                    "rule_evidence": pl.String, "days_apart": pl.Int64})
    no_invoice_taken_twice(decided, links, payments, invoices, decisions)
    linked = _judge_links(links, payments, invoices, in_window)
    left = pl.concat([ignored_payments(decisions, payments), conflicts, single_left,
                      multi_left, soft_left])
    unlinked = _judge_unlinked(left, payments, links["row"], in_window)
    return pl.concat([linked, unlinked], how="diagonal_relaxed")


def _ensure_columns(df: pl.DataFrame, columns: dict) -> pl.DataFrame:
    missing = {c: t for c, t in columns.items() if c not in df.columns}
    return df.with_columns(pl.lit(None, t).alias(c) for c, t in missing.items())


def _to_schema(rows: pl.DataFrame) -> pl.DataFrame:
    """The PASS1 columns, in order."""
    columns = {
        "flag": pl.col("flag"),
        "match_type": pl.col("match_type"),
        "gc_payment_id": pl.col("gc_payment_id"),
        "payment_status": pl.col("status"),
        "amount_cents": pl.col("amount_cents"),
        "charge_date": pl.col("charge_date"),
        "payout_id": empty_to_null(pl.col("payout_id")),
        "customer_name": pl.col("customer_name"),
        "invoice_id": pl.col("invoice_id"),
        "invoice_ref": pl.col("invoice_ref"),
        "invoice_customer_name": pl.col("invoice_customer_name"),
        "invoice_total_cents": pl.col("total_cents"),
        "invoice_remaining_cents": pl.col("remaining_cents"),
        "invoice_date": pl.col("invoice_date"),
        "evidence": pl.col("evidence"),
        "share_cents": pl.col("share_cents"),
        "amount_refunded_cents": pl.col("refunded_cents"),
        "invoice_due_date": pl.col("due_date"),
        "invoice_settled": pl.col("settled"),
        "invoice_received_cents": pl.col("received_cents"),
        "invoice_pending_cents": pl.col("pending_cents"),
        "related_refs": pl.col("related_refs"),
        "related_payment_ids": empty_to_null(pl.col("related_payment_ids")),
        "days_apart": pl.col("days_apart"),
        "currency": pl.col("currency"),
    }
    return rows.select(**columns).cast(PASS1)
