"""Qonto's transaction export, French or English (docs/formats.md §5).

French: `;`, decimal comma, dates `DD-MM-YYYY HH:MM:SS` in UTC and local columns, the
account in `IBAN du compte` (several accounts can share one file). English: `,`, decimal
point, dates `YYYY-MM-DD HH:MM:SS` in UTC (read as the day in Paris), and no column naming
the account (its `IBAN` is the counterparty's). Only executed (settled) lines are money:
pending, declined, cancelled and reversed lines are left out, with a notice.
"""
from __future__ import annotations

import polars as pl

from recon.banks.common import (as_text, derived_ids, in_bank_schema, keep_booked, local_date,
                                normalise_iban, required, typed)
from recon.csvread import QONTO_FR_EXPORT, Export, amount_cents

BOOKED = ("exécuté", "executed", "settled")
AMOUNT = "an amount such as -1 234,56 or 2291.47"
FR_DATE = "a date DD-MM-YYYY or DD-MM-YYYY HH:MM:SS"
EN_DATE = "a date and time YYYY-MM-DD HH:MM:SS"


def _first_present(export: Export, *columns: str) -> str:
    return next(c for c in columns if c in export.columns)


def _french_day(column: str):
    """A local column is the day at the bank already; a UTC one is turned into it."""
    day = lambda t: t.str.slice(0, 10).str.strptime(pl.Date, "%d-%m-%Y", strict=False)  # noqa: E731
    if "(local)" in column:
        return day
    return lambda t: pl.coalesce(local_date(t, "%d-%m-%Y %H:%M:%S"), day(t))


def _english_day(text: pl.Expr) -> pl.Expr:
    return pl.coalesce(local_date(text, "%Y-%m-%d %H:%M:%S"),
                       text.str.strptime(pl.Date, "%Y-%m-%d", strict=False))


def read_french(export: Export) -> pl.DataFrame:
    operation = _first_present(export, "Date de l'opération (local)", "Date de l'opération (UTC)")
    value = _first_present(export, "Date de la valeur (local)", "Date de la valeur (UTC)")
    names = {"status": "Statut", "operation_date": operation, "value_date": value,
             "amount_cents": "Montant total (TTC)", "balance_cents": "Solde", "currency": "Devise",
             "iban": "IBAN du compte", "counterparty": "Nom de la contrepartie",
             "reference": "Référence", "comment": "Note", "transaction_type": "Moyen de paiement",
             "bank_transaction_id": "Identifiant de transaction"}
    lines = _raw_dates(as_text(export, names))
    lines = typed(lines, {
        "operation_date": (_french_day(operation), FR_DATE, operation),
        "value_date": (_french_day(value), FR_DATE, value),
        "amount_cents": (amount_cents, AMOUNT, "Montant total (TTC)"),
        "balance_cents": (amount_cents, AMOUNT, "Solde")}, export)
    return _finish(lines, export, names)


def read_english(export: Export) -> pl.DataFrame:
    value = _first_present(export, "Value date", "Settlement date (UTC)")
    names = {"status": "Status", "operation_date": "Operation date (UTC)", "value_date": value,
             "amount_cents": "Total amount (incl. VAT)", "currency": "Currency",
             "counterparty": "Counterparty name", "reference": "Reference", "comment": "Note",
             "transaction_type": "Payment method", "bank_transaction_id": "Transaction ID"}
    lines = _raw_dates(as_text(export, names))
    lines = typed(lines, {
        "operation_date": (_english_day, EN_DATE, "Operation date (UTC)"),
        "value_date": (_english_day, EN_DATE, value),
        "amount_cents": (amount_cents, AMOUNT, "Total amount (incl. VAT)")}, export)
    return _finish(lines, export, names)


def _raw_dates(lines: pl.DataFrame) -> pl.DataFrame:
    """The dates as written, with their time: part of a derived id."""
    return lines.with_columns(raw_operation="operation_date", raw_value="value_date")


def _finish(lines: pl.DataFrame, export: Export, names: dict[str, str]) -> pl.DataFrame:
    status = pl.col("status").str.strip_chars().str.to_lowercase()
    lines = keep_booked(lines, status.is_in(list(BOOKED)), "status", export)
    required(lines, {c: names[c] for c in ("operation_date", "amount_cents", "currency")},
             export)
    if lines["bank_transaction_id"].null_count():  # the French export may have no id
        ids = derived_ids("qonto", lines, ["iban", "raw_operation", "raw_value", "amount_cents",
                                           "counterparty", "reference", "balance_cents"])
        lines = lines.with_columns(pl.coalesce("bank_transaction_id", ids)
                                   .alias("bank_transaction_id"))
    if "iban" not in lines.columns:
        lines = lines.with_columns(iban=pl.lit(None, pl.String))
    lines = normalise_iban(lines).with_columns(
        # The reference carries what the payer wrote; without one, the counterparty.
        label=pl.coalesce("reference", "counterparty"),
        currency=pl.col("currency").str.strip_chars().str.to_uppercase())
    return in_bank_schema(lines, "qonto")


def read(export: Export) -> pl.DataFrame:
    return read_french(export) if export.kind is QONTO_FR_EXPORT else read_english(export)
