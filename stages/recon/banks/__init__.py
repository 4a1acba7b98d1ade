"""Bank statements of every supported bank and format -> the one bank table (schemas.BANK).

Formats are recognised by content, never by file name (csvread.exports_in): Shine (both
layouts), Qonto (French and English exports), Wise statements, OFX 1.x and 2.x, ISO 20022
camt.053. Several formats and accounts may sit side by side in one folder. A line is
identified by its account and its id, the export with the latest content winning for a line in
several; then only the configured account is kept (lines that name no account stay).
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from recon import csvread
from recon.banks import camt053, common, ofx, qonto, shine, wise
from recon.csvread import BANK_KINDS, Export
from recon.schemas import BANK

READERS = {"shine": shine.read, "shine_2023": shine.read, "qonto_fr": qonto.read,
           "qonto_en": qonto.read, "wise": wise.read, "ofx": ofx.read, "camt053": camt053.read}
FORMATS = "Shine (current and 2023 layouts), Qonto (French or English), Wise, OFX, camt.053"


def read_export(export: Export) -> pl.DataFrame:
    return READERS[export.kind.key](export)


def read_bank(input_dir: str | Path, iban: str = "") -> pl.DataFrame:
    """Every bank export of the folder -> one row per bank line, in BANK's schema."""
    found = csvread.exports_in(input_dir, BANK_KINDS, ())
    exports = csvread.by_name([e for kind in BANK_KINDS for e in found[kind.key]])
    lines = csvread.read_all(exports, read_export, ["iban", "bank_transaction_id"], "bank line",
                             BANK, f"{input_dir}: no bank export found ({FORMATS}); "
                                   "the bank table will be empty")
    lines = shine.drop_legacy_repeats(lines)
    lines = common.keep_account(lines, iban)
    # Chronological, as a statement reads; lines of one day keep their export order.
    if not lines["operation_date"].is_sorted():  # else sorting would copy every column
        lines = lines.sort("operation_date", maintain_order=True)
    return lines
