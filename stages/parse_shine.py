"""Stage parse_shine: bank export(s) -> bank Parquet.

Reads every .csv, .ofx, .qfx and .xml file of --input-dir, recognised by its content:
Shine (current and 2023 layouts, UTF-8 or Windows-1252), Qonto (French or English
export; executed lines only), Wise account statements, OFX 1.x (SGML) and 2.x (XML),
ISO 20022 camt.053 (booked entries only). Several formats and accounts may sit side by
side. Keeps the lines of the account `bank.iban` of the config when it is set (lines of
exports that name no account are kept). One row per bank line, its id unique in its
account; the most recently modified export wins. Amounts are signed integer cents with
their currency. See recon/banks/ and recon.schemas.BANK.

Usage: parse_shine.py --input-dir raw/shine --config config.yaml --out interim/bank.parquet
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recon import config as config_module
from recon.banks import FORMATS
from recon.banks import read_bank as parse_bank
from recon.errors import run
from recon.io import write_parquet
from recon.schemas import BANK

__all__ = ["parse_bank", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=f"Parse bank exports into a Parquet table. Reads: {FORMATS}.")
    parser.add_argument("--input-dir", required=True, type=Path,
                        help="folder of bank exports (.csv, .ofx, .qfx, .xml; recognised by "
                             "content)")
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
