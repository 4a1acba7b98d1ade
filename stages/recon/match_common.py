"""What the three passes and the report share: settings, payment states, the window, money text."""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from recon import config as config_module
from recon.errors import InputError
from recon.names import is_word

# GoCardless payment states (DESIGN.md, pass 1), grouped by what they mean for the money.
RECEIVED_STATES = ("confirmed", "paid_out")
FAILED_STATES = ("failed", "cancelled", "customer_approval_denied")
CHARGED_BACK_STATES = ("charged_back",)
# Everything else (pending_customer_approval, pending_submission, submitted, unknown) is pending.

RECEIVED, PENDING, FAILED, CHARGED_BACK = "received", "pending", "failed", "charged_back"

# An invoice without multicurrency_code (Dolibarr's multicurrency module off) is in the
# company's currency; amounts are only ever compared in one currency.
COMPANY_CURRENCY = "EUR"


def ref_key(ref: pl.Expr) -> pl.Expr:
    """An invoice ref as the texts' refs are compared with it: trimmed, upper case."""
    return ref.str.strip_chars().str.to_uppercase()


def currency_code(code: pl.Expr) -> pl.Expr:
    """An ISO 4217 code as compared: trimmed, upper case, the company's when missing."""
    code = code.str.strip_chars().str.to_uppercase()
    return pl.when(code.is_null() | (code == "")).then(pl.lit(COMPANY_CURRENCY)).otherwise(code)


def with_currency_codes(df: pl.DataFrame, column: str = "currency") -> pl.DataFrame:
    """`df` with its currency column as currency_code() gives it, worked out on the few
    distinct values (a million rows hold two or three)."""
    written = df.get_column(column).unique()
    clean = written.to_frame().select(currency_code(pl.col(column))).to_series()
    if written.eq_missing(clean).all():
        return df
    filled = pl.col(column).fill_null(COMPANY_CURRENCY)
    return df.with_columns(filled.replace(written.drop_nulls(), clean.filter(
        written.is_not_null())).alias(column))


_STATE_OF = {
    **{s: RECEIVED for s in RECEIVED_STATES}, **{s: FAILED for s in FAILED_STATES},
    **{s: CHARGED_BACK for s in CHARGED_BACK_STATES},
}


def state_group(status: pl.Expr) -> pl.Expr:
    """received | pending | failed | charged_back, from a GoCardless status."""
    return status.replace_strict(_STATE_OF, default=PENDING, return_dtype=pl.String)


@dataclass(frozen=True)
class Settings:
    """The matching settings of config.yaml, checked once."""
    date_tolerance_days: int = 7
    payout_date_tolerance_days: int = 2
    invoice_ref_pattern: str = r"(?:FA|AV|AC|IN|IC|ID|IR)\d{4}-\d{4,}"
    legal_forms: tuple[str, ...] = ()
    # Words and signs that mean the same in customer names (recon/names.py).
    name_equivalents: tuple[tuple[str, ...], ...] = (("&", "et", "and"),)
    max_invoices_per_payment: int = 4
    gocardless_label: str = "gocardless"
    # A customer transfer (soft rule of pass 2) is dated at most this long after the due date.
    transfer_days_after_due: int = 30

    @property
    def ref_regex(self) -> str:
        """The invoice-ref pattern as a case-insensitive whole-word regex."""
        return rf"(?i)\b(?:{self.invoice_ref_pattern})\b"


def settings_from_config(config: dict, source: str | Path = "config.yaml") -> Settings:
    """Settings from a loaded config (recon.config.load), with a clear error on a bad value."""
    matching = config.get("matching") or {}
    bank = config.get("bank") or {}
    defaults = Settings()

    def whole(key: str, default: int, minimum: int) -> int:
        value = matching.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InputError("bad setting", file=source, column=f"matching.{key}", value=value,
                             expected=f"a whole number >= {minimum}")
        return value

    pattern = matching.get("invoice_ref_pattern", defaults.invoice_ref_pattern)
    try:
        re.compile(pattern)
    except (re.error, TypeError):
        raise InputError("bad setting", file=source, column="matching.invoice_ref_pattern",
                         value=pattern, expected="a regular expression") from None
    label = str(bank.get("gocardless_label", defaults.gocardless_label) or "").strip()
    if not label:
        raise InputError("bad setting", file=source, column="bank.gocardless_label",
                         value=label, expected="a non-empty text such as 'gocardless'")
    return Settings(
        name_equivalents=_name_equivalents(matching, defaults, source),
        date_tolerance_days=whole("date_tolerance_days", defaults.date_tolerance_days, 0),
        payout_date_tolerance_days=whole(
            "payout_date_tolerance_days", defaults.payout_date_tolerance_days, 0),
        invoice_ref_pattern=pattern,
        legal_forms=tuple(str(f).lower() for f in matching.get("legal_forms") or ()),
        max_invoices_per_payment=whole(
            "max_invoices_per_payment", defaults.max_invoices_per_payment, 2),
        gocardless_label=label.lower(),
        transfer_days_after_due=whole(
            "transfer_days_after_due", defaults.transfer_days_after_due, 0),
    )


def _name_equivalents(matching: dict, defaults: Settings, source) -> tuple:
    """matching.name_equivalents: groups of 2+ words or signs, each with at least one word."""
    groups = matching.get("name_equivalents", defaults.name_equivalents)
    expected = ("a list of groups such as [['&', 'et', 'and']]: 2 or more lowercase words "
                "(letters a-z, digits) or signs (no letter or digit), at least one a word")
    if groups is None:
        return ()
    if not isinstance(groups, (list, tuple)):
        raise InputError("bad setting", file=source, column="matching.name_equivalents",
                         value=groups, expected=expected)
    checked = []
    for group in groups:
        ok = (isinstance(group, (list, tuple)) and len(group) >= 2
              and all(isinstance(m, str) and m.strip() for m in group))
        members = tuple(m.strip().lower() for m in group) if ok else ()
        ok = ok and any(is_word(m) for m in members) and all(
            is_word(m) or not re.search(r"[^\W_]", m) for m in members)
        if not ok:
            raise InputError("bad setting", file=source, column="matching.name_equivalents",
                             value=group, expected=expected)
        checked.append(members)
    return tuple(checked)


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """--from, --to and --config: what every pass takes besides its inputs and output."""
    _add_dates(parser)
    parser.add_argument("--config", default=None, help="config.yaml (default: the project's)")


def add_pass_arguments(parser: argparse.ArgumentParser) -> None:
    """--pass1, --pass2, --pass3, --from and --to: what the stages reading the passes take."""
    for n in (1, 2, 3):
        parser.add_argument(f"--pass{n}", required=True, help=f"pass-{n} Parquet")
    _add_dates(parser)


def _add_dates(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="date_from", required=True, help="window start, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", required=True, help="window end, YYYY-MM-DD")


def window_and_settings(args: argparse.Namespace) -> tuple[date, date, Settings]:
    """The window and the checked settings named by add_window_arguments' arguments."""
    date_from, date_to = parse_window(args.date_from, args.date_to)
    config = config_module.load(args.config)
    return date_from, date_to, settings_from_config(config, args.config or "config.yaml")


def parse_window(date_from: str, date_to: str) -> tuple[date, date]:
    """The reconciliation window from the --from/--to arguments (inclusive)."""
    parsed = []
    for name, text in (("--from", date_from), ("--to", date_to)):
        try:
            parsed.append(date.fromisoformat(text))
        except (TypeError, ValueError):
            raise InputError("bad date", column=name, value=text,
                             expected="a date as YYYY-MM-DD") from None
    if parsed[0] > parsed[1]:
        raise InputError("the window ends before it starts", column="--from/--to",
                         value=f"{date_from} .. {date_to}", expected="FROM <= TO")
    return parsed[0], parsed[1]


def fmt(template: str, *args: pl.Expr | str | int) -> pl.Expr:
    """`template` with each "{}" replaced by the text of the next argument; null gives "".

    Used instead of pl.format, which in polars 1.35.2 panics on some string columns read
    from Parquet (2 to 4 rows) and writes a null as the text "null".
    """
    texts = template.split("{}")
    if len(texts) != len(args) + 1:
        raise ValueError(f"{len(texts) - 1} placeholders for {len(args)} arguments: {template!r}")
    pieces: list[pl.Expr] = []
    for text, arg in zip(texts, [*args, None]):
        if text:
            pieces.append(pl.lit(text))
        if arg is not None:
            expr = arg if isinstance(arg, pl.Expr) else pl.lit(str(arg))
            pieces.append(expr.cast(pl.String).fill_null(""))
    return pl.concat_str(pieces) if pieces else pl.lit("")


def eur(cents: pl.Expr) -> pl.Expr:
    """Integer cents as euro text with two decimals ("1234.56", "-0.50"); null stays null.

    Exact decimal arithmetic (cents as a Decimal of scale 2, divided by 100), never a
    float; about twice as fast as assembling the text from // and %.
    """
    return (cents.cast(pl.Decimal(38, 2)) / 100).cast(pl.String)


def signed_eur(cents: pl.Expr) -> pl.Expr:
    """Like eur() but with an explicit + on positive amounts (for adjustments)."""
    return pl.when(cents > 0).then(pl.lit("+") + eur(cents)).otherwise(eur(cents))


def plural(count: pl.Expr, word: str) -> pl.Expr:
    """'1 day' / 'N days'."""
    return fmt("{} {}{}", count, pl.lit(word),
               pl.when(count.abs() == 1).then(pl.lit("")).otherwise(pl.lit("s")))


def days_text(days: pl.Expr) -> pl.Expr:
    return plural(days, "day")


def empty_to_null(text: pl.Expr) -> pl.Expr:
    """Trimmed text, or null when nothing is left."""
    trimmed = text.str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)
