"""Shine's accounting export (docs/formats.md §4): current 18-column layout and 2023 layout.

One row per bank line: Shine's Transaction ID, or for 2023 exports an id derived from the
line's date, amount, label and balance, so overlapping exports of either layout collapse.
Shine accounts are in euros.
"""
from __future__ import annotations


import polars as pl

from recon import csvread
from recon.banks.common import in_bank_schema, normalise_iban, stable_ids
from recon.csvread import SHINE_2023_EXPORT, Export, Field
from recon.errors import InputError

CURRENT_FIELDS = {
    "bank_transaction_id": Field("Transaction ID", required=True),
    "operation_date": Field("Date d'opération", "date", required=True),
    "value_date": Field("Date de la valeur", "date"),
    "iban": Field("IBAN"),
    "transaction_type": Field("Type de transaction"),
    "personal": Field("Transaction personnelle", "yes_no"),
    "debit_cents": Field("Débit", "amount"),
    "credit_cents": Field("Crédit", "amount"),
    "amount_cents": Field("Solde mouvement", "amount", required=True),
    "balance_cents": Field("Solde bancaire", "amount"),
    "label": Field("Libellé"),
    "counterparty": Field("Nom de la contrepartie"),
    "comment": Field("Commentaire"),
}
LEGACY_FIELDS = {
    "bank_transaction_id": Field(None),
    "operation_date": Field("Date", "date", required=True),
    "value_date": Field(None, "date"),
    "iban": Field(None),
    "transaction_type": Field("Type"),
    "personal": Field(None, "yes_no"),
    "debit_cents": Field("Débit", "amount"),
    "credit_cents": Field("Crédit", "amount"),
    "amount_cents": Field("Solde mouvement", "amount", required=True),
    "balance_cents": Field("Solde bancaire", "amount"),
    "label": Field("Libellé"),
    "counterparty": Field(None),
    "comment": Field("Commentaire"),
}


def legacy_ids(lines: pl.DataFrame) -> pl.Series:
    """`legacy-<16 hex>`: sha256 of date|amount|label|balance, stable across runs and versions."""
    return stable_ids("legacy", lines.select(pl.concat_str(
        [pl.col("operation_date").cast(pl.String), pl.col("amount_cents").cast(pl.String),
         pl.col("label").fill_null(""), pl.col("balance_cents").cast(pl.String).fill_null("")],
        separator="|")).to_series())


def format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100},{abs(cents) % 100:02d}"


def check_movement(lines: pl.DataFrame, export: Export) -> None:
    """`Solde mouvement` must equal Crédit - Débit (both unsigned, empty meaning 0)."""
    sides = pl.col("credit_cents").fill_null(0) - pl.col("debit_cents").fill_null(0)
    has_sides = pl.col("credit_cents").is_not_null() | pl.col("debit_cents").is_not_null()
    wrong = lines.filter(has_sides & (sides != pl.col("amount_cents")))
    if wrong.height:
        row = wrong.row(0, named=True)
        credit, debit = row["credit_cents"] or 0, row["debit_cents"] or 0
        raise InputError(
            "the movement disagrees with the Débit and Crédit columns",
            file=export.path, line=row["source_line"], column="Solde mouvement",
            value=format_cents(row["amount_cents"]),
            expected=f"Crédit - Débit = {format_cents(credit - debit)}")


def read(export: Export) -> pl.DataFrame:
    legacy = export.kind is SHINE_2023_EXPORT
    fields = LEGACY_FIELDS if legacy else CURRENT_FIELDS
    lines = csvread.read_fields(export, fields)
    check_movement(lines, export)
    if legacy:
        lines = lines.with_columns(legacy_ids(lines).alias("bank_transaction_id"))
    lines = normalise_iban(lines).with_columns(currency=pl.lit("EUR"))
    return in_bank_schema(lines, "shine")


LINE_CONTENT = ["operation_date", "amount_cents", "label", "balance_cents"]


def drop_legacy_repeats(lines: pl.DataFrame) -> pl.DataFrame:
    """A 2023-layout line also present in a current-layout export is the same bank line."""
    legacy = pl.col("bank_transaction_id").str.starts_with("legacy-")
    legacy_lines = lines.filter(legacy)
    if legacy_lines.height == 0:
        return lines
    current = lines.filter(~legacy & (pl.col("source_format") == "shine")).select(
        LINE_CONTENT).unique()
    repeats = legacy_lines.join(current, on=LINE_CONTENT, how="semi", nulls_equal=True)
    if repeats.height == 0:
        return lines
    csvread.notice(f"{repeats.height} line(s) of 2023-layout exports also appear in current "
                   "exports; the current export's line (with Shine's id) is kept")
    repeated = repeats["bank_transaction_id"].implode()
    return lines.filter(~pl.col("bank_transaction_id").is_in(repeated))
