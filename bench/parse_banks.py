"""Time the bank readers (parse_shine's recon.banks) on N synthetic bank lines per format.

    .venv/bin/python bench/parse_banks.py [N]     (default 100000; results in bench/README.md)

The demo's Shine lines are repeated N/19 times with fresh ids and dates, written as each
format by bench/bank_formats.py (and as Shine's own export), then read once each in a
fresh folder; the wall time of reading (parse_bank, dedup and sort included) is printed.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "stages"), str(ROOT)]

from bench import bank_formats  # noqa: E402
from recon.banks import read_bank  # noqa: E402


def lines(n: int) -> pl.DataFrame:
    demo = read_bank(ROOT / "demo" / "raw" / "shine")
    rounds = -(-n // demo.height)
    many = pl.concat([demo] * rounds, rechunk=True).head(n).with_row_index("i")
    return many.with_columns(
        bank_transaction_id=pl.concat_str([pl.col("bank_transaction_id"),
                                           pl.col("i").cast(pl.String)], separator="-"),
        operation_date=pl.col("operation_date") + pl.duration(days=pl.col("i") // 5000),
        value_date=pl.col("value_date") + pl.duration(days=pl.col("i") // 5000),
        balance_cents=pl.col("amount_cents").cum_sum()).drop("i")


def shine_csv(frame: pl.DataFrame, path: Path) -> None:
    demo = next((ROOT / "demo" / "raw" / "shine").glob("*.csv"))
    header = demo.read_text(encoding="utf-8-sig").splitlines()[0]
    euros = lambda c: pl.concat_str([(c.abs() // 100).cast(pl.String),  # noqa: E731
                                     (c.abs() % 100).cast(pl.String).str.zfill(2)], separator=",")
    signed = lambda c: pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit("")) + euros(c)  # noqa: E731
    a = pl.col("amount_cents")
    columns = [
        pl.col("bank_transaction_id"), pl.col("value_date").dt.strftime("%d/%m/%Y"),
        pl.col("operation_date").dt.strftime("%d/%m/%Y"), pl.col("iban"),
        pl.col("transaction_type"),
        pl.when(pl.col("personal")).then(pl.lit("Oui")).otherwise(pl.lit("Non")),
        pl.lit("DEFAULT"), pl.when(a < 0).then(euros(a)).otherwise(pl.lit("0,00")),
        pl.when(a > 0).then(euros(a)).otherwise(pl.lit("0,00")), signed(a),
        signed(pl.col("balance_cents")), pl.col("label"), pl.col("counterparty"), euros(a),
        pl.lit("0,00"), pl.lit(""), pl.lit(""), pl.col("comment").fill_null("")]
    body = frame.select(c.alias(f"c{i}") for i, c in enumerate(columns))
    with path.open("w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        body.write_csv(fh, separator=";", include_header=False, quote_style="always")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    frame = lines(n)
    writers = {"shine": (shine_csv, ".csv"),
               **{k: (w, bank_formats.SUFFIX[k]) for k, w in bank_formats.WRITERS.items()}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (write, suffix) in writers.items():
            folder = Path(tmp) / name
            folder.mkdir()
            write(frame, folder / f"export{suffix}")
            start = time.perf_counter()
            got = read_bank(folder)
            seconds = time.perf_counter() - start
            assert got.height == n, (name, got.height)
            print(f"{name:11s} {n:>9,} lines  {seconds:6.2f} s", flush=True)


if __name__ == "__main__":
    main()
