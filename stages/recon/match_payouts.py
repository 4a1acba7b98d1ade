"""Pass 3: GoCardless payouts <-> Shine bank credits, and the fees of each payout.

Matching, strictest first, over one shared set of consumed bank lines:

1. `reference_in_label`: the payout reference appears, as a whole word and whatever its
   case, in a bank credit's label or counterparty. Unique on both sides, else AMBIGUOUS.
   A matched line whose amount differs from the payout's net is PAYOUT_AMOUNT_MISMATCH.
2. `amount_date`: for the payouts left, a bank credit of exactly the net amount, dated
   within +-payout_date_tolerance days of the arrival date, unique on both sides.
   Credits whose label or counterparty contains `bank.gocardless_label` are preferred:
   another credit is considered only when no GoCardless-looking one fits, and the
   evidence says so. A credit naming an invoice ref (a customer paying by transfer, like
   row 17 of the sample Shine file) is never a payout.

Only credits count (amount > 0, not flagged personal): Shine's commissions and personal
lines are not receipts. A payout with no bank line is PAYOUT_PENDING while it is not yet
due (status pending, no arrival date, or an arrival after the bank export's last day or
within the payout tolerance of it; money_in_bank "pending"), else PAYOUT_NOT_IN_BANK:
overdue by so many days, or bounced (money_in_bank "no"). A GoCardless-looking credit of
the window that no payout explains is BANK_CREDIT_UNMATCHED (a row with the payout
columns null).

Fees and deductions, so that gross - fees - deductions = net on every row that adds up:
- gross: the payments export's payments linked to the payout;
- fees (TTC) = fees_ht (the payments' transaction_fee + app_fee) + fees_tva (their
  transaction_fee_tax), checked against the payouts export's fee debits
  (transaction_fee_debit + app_fee_debit); when the payments leave their fees empty, the
  payout's debits, with no HT/TVA split;
- deductions: chargebacks (charge backs and late failures of earlier payments), refunds,
  and fees_refunded (fees GoCardless gave back, a negative deduction), from the breakdown
  export when it lists the payout's debits, else fees_refunded from the payouts export's
  fee credits and no chargeback or refund.
`fees_flag` (its own column, so a payout can be PAYOUT_MATCHED and FEES_EXPLAINED at
once) is null when gross - fees = net, FEES_EXPLAINED when the breakdown's deductions
explain the rest in full, FEES_MISMATCH when something is left unexplained or the
payments' fees disagree with the payout's fee columns; the explanation shows the sum, the
breakdown's lines, and without them says to download the breakdown export.

Every payout and bank line is matched; only payouts created up to TO and not arrived
before FROM, and unmatched credits dated in the window, get a row.
"""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from recon.apply_decisions import (decided_bank_ids, decided_payout_evidence,
                                    decided_payouts, ignored_bank_lines)
from recon.decisions import Decisions
from recon.match_common import (COMPANY_CURRENCY, Settings, days_text, empty_to_null, eur,
                                fmt, plural, signed_eur, with_currency_codes)
from recon.schemas import PASS3

BY_REFERENCE, BY_AMOUNT_DATE, NONE = "reference_in_label", "amount_date", "none"
PAYOUT_MATCHED, PAYOUT_AMOUNT_MISMATCH = "PAYOUT_MATCHED", "PAYOUT_AMOUNT_MISMATCH"
NOT_IN_BANK, AMBIGUOUS = "PAYOUT_NOT_IN_BANK", "AMBIGUOUS"
PAYOUT_PENDING = "PAYOUT_PENDING"
BANK_CREDIT_UNMATCHED, FEES_MISMATCH = "BANK_CREDIT_UNMATCHED", "FEES_MISMATCH"
FEES_EXPLAINED = "FEES_EXPLAINED"
# What the pass reads of the payments and bank lines (the other columns are never looked at).
PAYMENT_COLUMNS = ("gc_payment_id", "payout_id", "amount_cents", "description",
                   "transaction_fee_cents", "transaction_fee_tax_cents", "app_fee_cents")
BANK_COLUMNS = ("bank_transaction_id", "operation_date", "personal", "amount_cents", "label",
                "counterparty", "currency")
# Of the breakdown, only the debits and the fees given back are ever shown: pass3.py reads
# just those lines (a few percent of them) and these columns.
ITEM_COLUMNS = ("payout_id", "resource_type", "gc_payment_id", "description", "status",
                "gross_cents", "fees_cents", "source_line")
BREAKDOWN_LINE = (pl.col("gross_cents") < 0) | (pl.col("fees_cents") < 0)


# --- preparation -------------------------------------------------------------------------

def prepare_payouts(payouts: pl.DataFrame, payments: pl.DataFrame,
                    items: pl.DataFrame) -> pl.DataFrame:
    """Payouts with gross, fees (HT, TVA) and deductions, so that gross - fees - deductions
    = net whenever the exports agree (the module's docstring says where each comes from)."""
    fee = lambda name: pl.col(name).fill_null(0)  # noqa: E731
    # A payment whose export leaves transaction_fee empty makes the split unknown (null).
    known = lambda name: pl.when(pl.col(name).is_null().any()).then(None)\
        .otherwise(pl.col(name).sum())  # noqa: E731
    payouts = with_currency_codes(payouts)
    gross = (
        payments.filter(pl.col("payout_id").is_not_null())
        .group_by("payout_id")
        .agg(gross_cents=pl.col("amount_cents").sum(), payments_count=pl.len(),
             payments_ht_cents=known("transaction_fee_cents") + fee("app_fee_cents").sum(),
             fees_tva_cents=known("transaction_fee_tax_cents"))
    )
    return (
        payouts.join(gross, on="payout_id", how="left")
        .join(_breakdown_deductions(items), on="payout_id", how="left")
        .with_columns(
            gross_cents=pl.col("gross_cents").fill_null(0),
            payments_count=pl.col("payments_count").fill_null(0).cast(pl.Int64),
            net_cents=pl.col("amount_cents"),
            export_fees_cents=fee("transaction_fee_debit_cents") + fee("app_fee_debit_cents"),
            payments_fees_cents=pl.col("payments_ht_cents") + pl.col("fees_tva_cents"),
            in_breakdown=pl.col("chargebacks_cents").is_not_null(),
            chargebacks_cents=pl.col("chargebacks_cents").fill_null(0),
            refunds_cents=pl.col("refunds_cents").fill_null(0),
            fees_refunded_cents=pl.col("fees_refunded_cents").fill_null(
                -fee("transaction_fee_credit_cents") - fee("app_fee_credit_cents")),
            created_date=pl.col("created_at").dt.date(),
            ref_key=empty_to_null(pl.col("reference")).str.to_uppercase(),
            payout_status=pl.col("status"),
        )
        .with_columns(
            fees_cents=pl.coalesce("payments_fees_cents", "export_fees_cents"),
            fees_ht_cents=pl.col("payments_ht_cents"),
            deducted_cents=pl.col("gross_cents") - pl.col("net_cents"),
        )
        .with_columns(unexplained_cents=pl.col("gross_cents") - pl.col("fees_cents")
                      - pl.col("chargebacks_cents") - pl.col("refunds_cents")
                      - pl.col("fees_refunded_cents") - pl.col("net_cents"))
        .with_columns(fees_flag=_fees_flag())
    )


def _breakdown_deductions(items: pl.DataFrame) -> pl.DataFrame:
    """Per payout the breakdown lists debits for: what was taken back, refunded, given back."""
    debit = pl.col("gross_cents") < 0
    refund = pl.col("resource_type") == "refund"
    return items.filter(BREAKDOWN_LINE).group_by("payout_id").agg(
        chargebacks_cents=-pl.col("gross_cents").filter(debit & ~refund).sum(),
        refunds_cents=-pl.col("gross_cents").filter(debit & refund).sum(),
        fees_refunded_cents=pl.col("fees_cents").filter(pl.col("fees_cents") < 0).sum(),
    )


def _fees_flag() -> pl.Expr:
    """null: gross - fees = net; FEES_EXPLAINED: the deductions explain the rest in full;
    FEES_MISMATCH: something is left, or the payments' fees disagree with the payout's."""
    fees_disagree = (pl.col("payments_fees_cents") != pl.col("export_fees_cents")).fill_null(False)
    simple = (pl.col("chargebacks_cents") == 0) & (pl.col("refunds_cents") == 0) \
        & (pl.col("fees_refunded_cents") == 0)
    return (
        pl.when(fees_disagree | (pl.col("unexplained_cents") != 0)).then(pl.lit(FEES_MISMATCH))
        .when(~simple).then(pl.lit(FEES_EXPLAINED))
    )


def bank_credits(bank: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The bank lines that can be receipts, with their searchable text and what they look like."""
    text = pl.concat_str([pl.col("label"), pl.col("counterparty")], separator=" | ",
                         ignore_nulls=True).str.to_uppercase()
    return (
        with_currency_codes(bank)
        .filter((pl.col("amount_cents") > 0) & ~pl.col("personal").fill_null(False))
        .with_columns(text=text)
        .with_columns(
            gocardless_looking=pl.col("text").str.contains(settings.gocardless_label.upper(),
                                                           literal=True),
            names_invoice=pl.col("text").str.contains(settings.ref_regex),
        )
    )


# --- rules -------------------------------------------------------------------------------

def _words(text: pl.Expr) -> pl.Expr:
    """The words of an upper-case text (its runs of letters A-Z and digits), and some ""."""
    # Spaces are left alone: the regex is then about twice as fast.
    return text.str.replace_all(r"[^A-Z0-9 ]+", " ").str.split(" ")


def _reference_pairs(payouts: pl.DataFrame, credits: pl.DataFrame) -> pl.DataFrame:
    """(payout, bank line) pairs where the payout reference is a whole word of the text.

    A reference found as a whole word brings each of its own words into the text as a
    whole word too, so a bank line is only checked against the payouts whose rarest
    reference word (usually the random part after a shared prefix) it holds: a join of
    words instead of searching every text for every reference. A reference with no
    letter or digit is never found.
    """
    key_words = (
        payouts.select("payout_id", "ref_key", word=_words(pl.col("ref_key")))
        .explode("word").filter(pl.col("word") != "")
        .with_columns(refs_with_word=pl.len().over("word"), length=pl.col("word").str.len_bytes())
        .sort("refs_with_word", pl.col("length"), descending=[False, True])
        .unique("payout_id", keep="first")
        .select("payout_id", "ref_key", word=pl.col("word").hash())
    )
    # Each distinct text is searched once (a customer paying the same way again repeats
    # it), then its hits go to every line that has it. Texts are numbered: a million
    # lines make several million words, each with its text. Words are joined by hash,
    # much cheaper than by string: a collision only makes a hit that _holds_whole_word
    # rejects.
    texts = credits.select(pl.col("text").unique())
    text_words = (
        texts.select(text_no=pl.int_range(pl.len(), dtype=pl.UInt32), word=_words(pl.col("text")))
        .explode("word")
    )
    hits = (
        text_words.join(key_words, left_on=pl.col("word").hash(), right_on="word")
        .unique(["payout_id", "text_no"])
    )
    hits = hits.select("payout_id", "ref_key", texts["text"][hits["text_no"]])
    hits = hits.filter(_holds_whole_word(hits))
    # A payout is only ever matched to a bank line in its own currency.
    return (hits.join(credits.select("text", "bank_transaction_id", "currency"), on="text")
            .join(payouts.select("payout_id", "currency"), on=["payout_id", "currency"],
                  how="semi")
            .select("payout_id", "bank_transaction_id"))


def _holds_whole_word(hits: pl.DataFrame) -> pl.Series:
    """Whether `text` holds `ref_key` at least once with no letter or digit on either side.

    The text is cut at each occurrence; an occurrence is whole when the piece before it
    does not end, and the piece after it does not start, with a letter or digit.
    """
    pieces = hits.select(hit=pl.int_range(pl.len(), dtype=pl.UInt32),
                         piece=pl.col("text").str.split(pl.col("ref_key"))).explode("piece")
    word_char = "[A-Z0-9]"
    hit, piece = pl.col("hit"), pl.col("piece")
    # The pieces of a hit are consecutive: the next piece is the next row of the same hit
    # (a shift over the whole frame is much cheaper than one per hit).
    whole = (~piece.str.contains(f"{word_char}$")
             & ~piece.str.contains(f"^{word_char}").shift(-1) & (hit == hit.shift(-1)))
    return pl.int_range(hits.height, dtype=pl.UInt32, eager=True).is_in(
        pieces.filter(whole)["hit"].implode())


def _amount_date_pairs(payouts: pl.DataFrame, credits: pl.DataFrame,
                       tolerance: int) -> pl.DataFrame:
    """Same net amount, dated close to the arrival; GoCardless-looking credits first."""
    candidates = payouts.filter(
        pl.col("arrival_date").is_not_null() & (pl.col("payout_status") != "bounced"))
    pairs = (
        candidates.select("payout_id", "net_cents", "arrival_date", "currency")
        .join(credits.filter(~pl.col("names_invoice"))
              .select("bank_transaction_id", "amount_cents", "operation_date", "gocardless_looking",
                      "currency"),
              left_on=["net_cents", "currency"], right_on=["amount_cents", "currency"])
        .filter((pl.col("operation_date") - pl.col("arrival_date")).dt.total_days().abs()
                <= tolerance)
        .with_columns(tier=pl.when("gocardless_looking").then(0).otherwise(1))
    )
    return pairs.filter(pl.col("tier") == pl.col("tier").min().over("payout_id")).select(
        "payout_id", "bank_transaction_id", "tier")


def _decide(pairs: pl.DataFrame, match_type: str) -> pl.DataFrame:
    """Per payout: the unique bank line, or the candidates when either side is not unique."""
    counted = pairs.with_columns(
        per_payout=pl.len().over("payout_id"), per_line=pl.len().over("bank_transaction_id"))
    unique = (pl.col("per_payout") == 1) & (pl.col("per_line") == 1)
    return (
        counted.sort("payout_id", "bank_transaction_id")
        .group_by("payout_id", maintain_order=True)
        .agg(
            candidates=pl.col("bank_transaction_id"),
            unique=unique.all(),
            tier=pl.col("tier").max() if "tier" in pairs.columns else pl.lit(0),
        )
        .with_columns(match_type=pl.lit(match_type))
    )


# --- the pass ----------------------------------------------------------------------------

def match_payouts(payouts: pl.DataFrame, items: pl.DataFrame, payments: pl.DataFrame,
                  bank: pl.DataFrame, settings: Settings,
                  date_from: date, date_to: date,
                  decisions: Decisions | None = None) -> pl.DataFrame:
    """The pass-3 rows (schema PASS3); `decisions` (decisions.yaml) come before every rule."""
    payouts = prepare_payouts(payouts, payments, items)
    credits = bank_credits(bank, settings)
    # Decisions first: the payouts and bank lines they settle are out of the rules' reach.
    held = decided_payouts(decisions, payouts, credits, bank)
    set_aside = pl.concat([held["candidates"].explode(), decided_bank_ids(decisions)])
    strong = _decide(_reference_pairs(
        payouts.filter(~pl.col("payout_id").is_in(held["payout_id"].implode())),
        credits.filter(~pl.col("bank_transaction_id").is_in(set_aside.implode()))), BY_REFERENCE)
    taken_payouts = pl.concat([held["payout_id"], strong["payout_id"]])
    taken_lines = pl.concat([set_aside, strong["candidates"].explode()])
    fallback = _decide(
        _amount_date_pairs(payouts.filter(~pl.col("payout_id").is_in(taken_payouts.implode())),
                           credits.filter(~pl.col("bank_transaction_id").is_in(taken_lines.implode())),
                           settings.payout_date_tolerance_days),
        BY_AMOUNT_DATE)
    decided = pl.concat([held.drop("decision"), strong, fallback], how="diagonal_relaxed")
    last_bank_date = bank["operation_date"].max()
    # Only the payouts that get a row are written up (the texts are most of the work).
    in_scope = (pl.col("created_date") <= date_to).fill_null(True) & (
        pl.col("arrival_date").is_null() | (pl.col("arrival_date") >= date_from))
    payout_rows = _payout_rows(payouts.filter(in_scope), decided, credits,
                               last_bank_date, settings)
    payout_rows = payout_rows.with_columns(
        explanation=_fees_explanation(payout_rows, items, payments, items.height > 0))
    payout_rows = decided_payout_evidence(payout_rows, held)
    consumed = pl.concat([decided["candidates"].explode(), decided_bank_ids(decisions)])
    unmatched = _unmatched_credits(credits, consumed, date_from, date_to)
    ignored = ignored_bank_lines(decisions, credits, date_from, date_to)
    rows = pl.concat([payout_rows.sort("created_date", "payout_id"), unmatched, ignored],
                     how="diagonal_relaxed")
    return rows.select(list(PASS3)).cast(PASS3)


def _payout_rows(payouts: pl.DataFrame, decided: pl.DataFrame, credits: pl.DataFrame,
                 last_bank_date: date | None, settings: Settings) -> pl.DataFrame:
    line = credits.select(
        "bank_transaction_id", bank_date="operation_date", bank_label="label",
        bank_amount_cents="amount_cents")
    df = (
        payouts.join(decided, on="payout_id", how="left")
        .with_columns(
            bank_transaction_id=pl.when("unique").then(pl.col("candidates").list.first())
            .otherwise(pl.col("candidates").list.join(";")))
        .join(line, on="bank_transaction_id", how="left")
        .with_columns(days_apart=(pl.col("bank_date") - pl.col("arrival_date")).dt.total_days())
    )
    matched = pl.col("unique").fill_null(False)
    amount_ok = pl.col("bank_amount_cents") == pl.col("net_cents")
    not_due = _not_yet_due(last_bank_date, settings.payout_date_tolerance_days)
    flag = (
        pl.when(matched & amount_ok).then(pl.lit(PAYOUT_MATCHED))
        .when(matched).then(pl.lit(PAYOUT_AMOUNT_MISMATCH))
        .when(pl.col("candidates").is_not_null()).then(pl.lit(AMBIGUOUS))
        .when(not_due).then(pl.lit(PAYOUT_PENDING))
        .otherwise(pl.lit(NOT_IN_BANK))
    )
    money_in_bank = (
        pl.when(matched).then(pl.lit("yes"))
        .when(pl.col("candidates").is_not_null()).then(pl.lit("unknown"))
        .when(not_due).then(pl.lit("pending"))
        .otherwise(pl.lit("no"))
    )
    df = df.with_columns(
        flag=flag,
        match_type=pl.col("match_type").fill_null(NONE),
        money_in_bank=money_in_bank,
    )
    return df.with_columns(evidence=_match_evidence(df, last_bank_date, settings))


def _not_yet_due(last_bank_date: date | None, tolerance: int) -> pl.Expr:
    """The payout cannot be in the bank export yet: pending, no arrival date, or arriving
    after the export's last day or within the payout tolerance of it. Bounced is due."""
    arrival = pl.col("arrival_date")
    if last_bank_date is None:
        late = pl.lit(True)
    else:
        late = (arrival >= last_bank_date - timedelta(days=tolerance)).fill_null(True)
    return (pl.col("payout_status") == "pending") | (
        (pl.col("payout_status") != "bounced").fill_null(True) & late)


def _text_by_case(df: pl.DataFrame, cases: list[tuple[pl.Expr, pl.Expr]],
                  otherwise: pl.Expr) -> pl.Series:
    """pl.when(condition).then(text)...otherwise(text) on `df`, each text built on its rows only.

    Polars builds every branch of a when/then for every row, and these texts are much of
    the pass's work; here each case's rows are picked out (with only the columns its text
    reads), written up, and put back in order.
    """
    case = pl.coalesce([pl.when(condition).then(i) for i, (condition, _) in enumerate(cases)]
                       + [pl.lit(len(cases))])
    numbered = df.lazy().with_columns(row=pl.int_range(pl.len(), dtype=pl.UInt32), case=case)
    texts = [text for _, text in cases] + [otherwise]
    parts = [numbered.filter(pl.col("case") == i).select("row", text=text)
             for i, text in enumerate(texts)]
    return pl.concat(parts).sort("row").collect()["text"]


def _match_evidence(df: pl.DataFrame, last_bank_date: date | None,
                    settings: Settings) -> pl.Series:
    # Texts used several times in a branch are built once per row (CSE of the lazy engine).
    net, arrival = eur(pl.col("net_cents")), pl.col("arrival_date")
    arrival_text, bank_date_text = arrival.cast(pl.String), pl.col("bank_date").cast(pl.String)
    days = pl.col("days_apart")
    when_text = (
        pl.when(days == 0).then(pl.lit("on the arrival date"))
        .when(days > 0).then(fmt("{} after the arrival date {}", days_text(days), arrival_text))
        .otherwise(fmt("{} before the arrival date {}", days_text(-days), arrival_text))
    )
    amounts = pl.when(pl.col("bank_amount_cents") == pl.col("net_cents")).then(
        fmt("bank amount {} = the payout's net", eur(pl.col("bank_amount_cents")))
    ).otherwise(fmt("bank amount {} but the payout's net is {}",
                          eur(pl.col("bank_amount_cents")), net))
    by_reference = fmt("reference {} found in the bank label '{}'; {}; bank date {} {}",
                             pl.col("reference"), pl.col("bank_label"), amounts,
                             bank_date_text, when_text)
    tolerance = days_text(pl.lit(settings.payout_date_tolerance_days))
    by_amount = fmt(
        "no bank label carries the reference {}; one credit of exactly {} within {} of the "
        "arrival: '{}' on {}, {}; the only candidate on both sides{}",
        pl.col("reference"), net, tolerance, pl.col("bank_label"), bank_date_text,
        when_text,
        pl.when(pl.col("tier") > 0).then(fmt(
            " (its label does not look like {}: check it)", pl.lit(settings.gocardless_label)))
        .otherwise(pl.lit("")))
    ambiguous = fmt("{} bank credits fit ({}): {}; precision first, none linked",
                          pl.col("candidates").list.len(),
                          pl.when(pl.col("match_type") == BY_REFERENCE)
                          .then(pl.lit("reference in the label"))
                          .otherwise(fmt("amount {} within {}", net, tolerance)),
                          pl.col("candidates").list.join(", "))
    last = pl.lit(str(last_bank_date) if last_bank_date else "none")
    pending = (
        pl.when(arrival.is_null() | (pl.col("payout_status") == "pending"))
        .then(fmt("payout {} with no arrival date yet: expected in the bank after the window",
                  pl.col("payout_status")))
        .when((arrival > last_bank_date) if last_bank_date else pl.lit(True))
        .then(fmt("arrives {}, after the bank export's last line ({})", arrival_text, last))
        .otherwise(fmt("arrives {}, within {} of the bank export's last line ({}): not yet "
                       "due", arrival_text, tolerance, last))
    )
    overdue = ((pl.lit(last_bank_date) - arrival).dt.total_days() if last_bank_date
               else pl.lit(None, pl.Int64))
    missing = (
        pl.when(pl.col("payout_status") == "bounced")
        .then(pl.lit("payout bounced: the bank refused it"))
        .otherwise(fmt("overdue by {}: no bank credit carries the reference {}, and none of "
                       "{} within {} of the arrival date {} (the bank export runs to {}){}",
                       days_text(overdue), pl.col("reference"), net,
                       tolerance, arrival_text, last, _only_its_currency()))
    )
    return _text_by_case(df, [(pl.col("flag") == AMBIGUOUS, ambiguous),
                              (pl.col("flag") == PAYOUT_PENDING, pending),
                              (pl.col("flag") == NOT_IN_BANK, missing),
                              (pl.col("match_type") == BY_REFERENCE, by_reference)],
                         otherwise=by_amount)


def _only_its_currency() -> pl.Expr:
    """Said of a payout in another currency than the company's: where it was looked for."""
    return (pl.when(pl.col("currency") != COMPANY_CURRENCY)
            .then(fmt("; the payout is in {}: only bank lines in {} were compared",
                      pl.col("currency"), pl.col("currency")))
            .otherwise(pl.lit("")))


def _fees_explanation(rows: pl.DataFrame, items: pl.DataFrame, payments: pl.DataFrame,
                      breakdown_present: bool) -> pl.Series:
    """The sum gross - fees - deductions = net of each payout, and what explains or breaks it."""
    lines = _breakdown_lines(items, payments)
    df = rows.join(lines, on="payout_id", how="left")
    split = pl.when(pl.col("fees_ht_cents").is_not_null()).then(fmt(
        " (HT {} + TVA {})", eur(pl.col("fees_ht_cents")), eur(pl.col("fees_tva_cents"))))
    deduction = lambda name, label: pl.when(pl.col(name) != 0).then(  # noqa: E731
        fmt(" - {} {}", pl.lit(label), eur(pl.col(name))))
    total = pl.col("net_cents") + pl.col("unexplained_cents")
    check = pl.concat_str([
        fmt("gross {} ({}) - fees {}", eur(pl.col("gross_cents")),
            plural(pl.col("payments_count"), "payment"), eur(pl.col("fees_cents"))),
        split, deduction("chargebacks_cents", "chargebacks"),
        deduction("refunds_cents", "refunds"),
        # Fees given back are a negative deduction: shown added back.
        pl.when(pl.col("fees_refunded_cents") < 0).then(
            fmt(" + fees refunded {}", eur(-pl.col("fees_refunded_cents")))),
        pl.when(pl.col("fees_refunded_cents") > 0).then(
            fmt(" - fees charged back {}", eur(pl.col("fees_refunded_cents")))),
    ], ignore_nulls=True)
    fee_columns = pl.when(pl.col("payments_fees_cents") != pl.col("export_fees_cents")).then(
        fmt("; the payments' fees {} differ from the payout's fee columns {}",
            eur(pl.col("payments_fees_cents")), eur(pl.col("export_fees_cents"))))
    hint = ("download GoCardless's payout breakdown (transactions) export covering this "
            "payout to explain it line by line" if not breakdown_present else
            "the breakdown export does not cover this payout: download one that does")
    unexplained = pl.when(pl.col("unexplained_cents") != 0).then(pl.concat_str([
        fmt(" = {} but the net is {}: {} unexplained", eur(total), eur(pl.col("net_cents")),
            eur(pl.col("unexplained_cents"))),
        pl.when(pl.col("lines").is_not_null()).then(fmt(" after the breakdown's {}",
                                                        pl.col("lines")))
        .otherwise(fmt("; {}", pl.lit(hint))),
    ], ignore_nulls=True))
    listed = pl.when(pl.col("lines").is_not_null()).then(
        fmt("; the breakdown lists {}", pl.col("lines"))).otherwise(pl.lit(""))
    adds_up = fmt(" = net {}: it adds up{}", eur(pl.col("net_cents")), listed)
    return df.select(text=pl.concat_str([
        check, pl.when(pl.col("unexplained_cents") == 0).then(adds_up), unexplained, fee_columns,
    ], ignore_nulls=True))["text"]


def _breakdown_lines(items: pl.DataFrame, payments: pl.DataFrame) -> pl.DataFrame:
    """Per payout: its debits and fees given back, as text, and the debits' total.

    Each debit names its payment and what the payment's description says (usually the
    invoice ref; a refund's own line carries the refund's reference instead).
    """
    items = items.filter(BREAKDOWN_LINE)
    described = payments.select("gc_payment_id", payment_description="description").join(
        items.select("gc_payment_id").unique(), on="gc_payment_id", how="semi")
    df = items.join(described, on="gc_payment_id", how="left").with_columns(
        about=pl.coalesce(empty_to_null(pl.col("payment_description")),
                          empty_to_null(pl.col("description"))))
    kind = (
        pl.when(pl.col("resource_type") == "refund").then(pl.lit("refund"))
        .when(pl.col("status") == "charged_back").then(pl.lit("charge back"))
        .when(pl.col("status") == "failed").then(pl.lit("late failure"))
        .otherwise(pl.col("resource_type"))
    )
    subject = pl.concat_str(
        [pl.col("gc_payment_id"),
         pl.when(pl.col("about").is_not_null()).then(fmt("({})", pl.col("about")))],
        separator=" ", ignore_nulls=True)
    debit = fmt("{} {} {}", kind, subject, signed_eur(pl.col("gross_cents")))
    fee_back = fmt("fee given back on {} {}", pl.col("gc_payment_id"),
                         signed_eur(-pl.col("fees_cents")))
    debits = df.filter(pl.col("gross_cents") < 0).select(
        "payout_id", "source_line", line=debit, debit=pl.col("gross_cents"))
    fees_back = df.filter(pl.col("fees_cents") < 0).select(
        "payout_id", "source_line", line=fee_back, debit=pl.lit(0, pl.Int64))
    both = pl.concat([debits, fees_back]).sort("payout_id", "source_line")
    return both.group_by("payout_id", maintain_order=True).agg(
        lines=pl.col("line").str.join("; "), debits_cents=pl.col("debit").sum())


def _unmatched_credits(credits: pl.DataFrame, consumed: pl.Series, date_from: date,
                       date_to: date) -> pl.DataFrame:
    rows = credits.filter(
        pl.col("gocardless_looking") & ~pl.col("bank_transaction_id").is_in(consumed.implode())
        & pl.col("operation_date").is_between(date_from, date_to))
    return rows.select(
        "bank_transaction_id",
        flag=pl.lit(BANK_CREDIT_UNMATCHED), match_type=pl.lit(NONE),
        bank_date="operation_date", bank_label="label", bank_amount_cents="amount_cents",
        evidence=fmt(
            "a GoCardless-looking credit of {} on {} that no payout of the payouts export "
            "explains (a payout outside the export?)", eur(pl.col("amount_cents")),
            pl.col("operation_date")),
    ).sort("bank_date", "bank_transaction_id")
