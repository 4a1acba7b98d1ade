"""Stage parse_shine: Shine bank export(s) -> bank Parquet.

Reads every *.csv of --input-dir: Shine's current 18-column layout and its 2023 13-column
layout, recognised by their header, in UTF-8 (with or without BOM) or Windows-1252. Keeps
the lines of the account `bank.iban` of the config when it is set (2023 exports name no
account: their lines are kept). One row per bank line: Shine's Transaction ID, or for
2023 exports an id derived from the line's date, amount, label and balance, so overlapping
exports of either layout collapse; the most recently modified export wins. Amounts are
signed integer cents. See recon.schemas.BANK.

Usage: parse_shine.py --input-dir raw/shine --config config.yaml --out interim/bank.parquet
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import polars as pl

from recon import config as config_module
from recon import csvread
from recon.csvread import SHINE_2023_EXPORT, SHINE_EXPORT, SHINE_KINDS, Export, Field
from recon.errors import InputError, run
from recon.io import write_parquet
from recon.schemas import BANK

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
    """`legacy-<16 hex>`: sha256 of date|amount|label|balance, stable across runs and versions.

    polars' own hash is not stable across versions, hence hashlib; a Python loop, but only
    over 2023-layout files, which are small.
    """
    keys = lines.select(pl.concat_str(
        [pl.col("operation_date").cast(pl.String), pl.col("amount_cents").cast(pl.String),
         pl.col("label").fill_null(""), pl.col("balance_cents").cast(pl.String).fill_null("")],
        separator="|")).to_series()
    return pl.Series([f"legacy-{hashlib.sha256(k.encode()).hexdigest()[:16]}" for k in keys],
                     dtype=pl.String)


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


def read_lines(export: Export) -> pl.DataFrame:
    legacy = export.kind is SHINE_2023_EXPORT
    fields = LEGACY_FIELDS if legacy else CURRENT_FIELDS
    lines = csvread.read_fields(export, fields)
    check_movement(lines, export)
    if legacy:
        lines = lines.with_columns(legacy_ids(lines).alias("bank_transaction_id"))
    # Shine keeps euro accounts only: every amount is in EUR.
    return (normalise_iban(lines).drop("debit_cents", "credit_cents")
            .with_columns(currency=pl.lit("EUR")))


def normalise_iban(lines: pl.DataFrame) -> pl.DataFrame:
    """IBANs without spaces, in upper case: worked out on the few distinct values."""
    written = lines["iban"].unique()
    clean = written.str.replace_all(r"\s", "").str.to_uppercase()
    if written.eq_missing(clean).all():
        return lines
    return lines.with_columns(pl.col("iban").replace(written, clean))


LINE_CONTENT = ["operation_date", "amount_cents", "label", "balance_cents"]


def drop_legacy_repeats(lines: pl.DataFrame) -> pl.DataFrame:
    """A 2023-layout line also present in a current-layout export is the same bank line."""
    legacy = pl.col("bank_transaction_id").str.starts_with("legacy-")
    legacy_lines = lines.filter(legacy)
    if legacy_lines.height == 0:
        return lines
    current = lines.filter(~legacy).select(LINE_CONTENT).unique()
    repeats = legacy_lines.join(current, on=LINE_CONTENT, how="semi", nulls_equal=True)
    if repeats.height == 0:
        return lines
    csvread.notice(f"{repeats.height} line(s) of 2023-layout exports also appear in current "
                   "exports; the current export's line (with Shine's id) is kept")
    repeated = repeats["bank_transaction_id"].implode()
    return lines.filter(~pl.col("bank_transaction_id").is_in(repeated))


def keep_account(lines: pl.DataFrame, iban: str) -> pl.DataFrame:
    """Only the configured account's lines; lines naming no account (2023 layout) stay."""
    wanted = "".join(iban.split()).upper()
    if not wanted:
        return lines
    kept = lines.filter(pl.col("iban").is_null() | (pl.col("iban") == wanted))
    if kept.height < lines.height:
        others = sorted(set(lines["iban"].drop_nulls().unique()) - {wanted})
        csvread.notice(f"kept {kept.height} of {lines.height} bank lines (account {wanted}); "
                       f"left out the lines of {', '.join(others)}")
    return kept


def parse_bank(input_dir: str | Path, iban: str = "") -> pl.DataFrame:
    """Every Shine export of the folder -> one row per bank line, in BANK's schema."""
    found = csvread.exports_in(input_dir, SHINE_KINDS, ())
    exports = csvread.oldest_first(found[SHINE_EXPORT.key] + found[SHINE_2023_EXPORT.key])
    lines = csvread.read_all(exports, read_lines, ["bank_transaction_id"], "bank line", BANK,
                             f"{input_dir}: no Shine export found; the bank table will be empty")
    lines = drop_legacy_repeats(lines)
    lines = keep_account(lines, iban)
    # Chronological, as a statement reads; lines of one day keep their export order.
    if not lines["operation_date"].is_sorted():  # else sorting would copy every column
        lines = lines.sort("operation_date", maintain_order=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Parse Shine bank exports into a Parquet table.")
    parser.add_argument("--input-dir", required=True, type=Path,
                        help="folder of Shine CSV exports (recognised by header)")
    parser.add_argument("--config", type=Path, default=None,
                        help="config.yaml (bank.iban selects the account); default: the repo's")
    parser.add_argument("--out", required=True, type=Path, help="Parquet file to write")
    args = parser.parse_args(argv)
    iban = str((config_module.load(args.config).get("bank") or {}).get("iban") or "")
    lines = parse_bank(args.input_dir, iban)
    write_parquet(lines, args.out, BANK)
    print(f"parse_shine: {lines.height} bank lines -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run(main)
