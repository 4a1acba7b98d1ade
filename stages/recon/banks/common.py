"""What every bank reader shares: typed columns from text, derived line ids, accounts.

Each reader returns one row per bank line in recon.schemas.BANK's columns (source_file
excepted, which csvread.read_all adds) plus source_line: the CSV line, or for OFX and
camt.053 the entry's position in the file (1 for its first transaction).
"""
from __future__ import annotations

import hashlib
from typing import Callable

import polars as pl

from recon import csvread
from recon.csvread import Export
from recon.errors import InputError
from recon.schemas import BANK

# Bank dates written as a UTC instant are read as the day in the bank's own time zone.
BANK_TIME_ZONE = "Europe/Paris"


def as_text(export: Export, names: dict[str, str]) -> pl.DataFrame:
    """Output column -> export column, every one read as text (absent ones null)."""
    return csvread.read_fields(export, {
        name: csvread.Field(source if source in export.columns else None)
        for name, source in names.items()})


def typed(lines: pl.DataFrame, conversions: dict[str, tuple[Callable, str, str]],
          export: Export, where: str = "line") -> pl.DataFrame:
    """Replace text columns by their typed value; the first value that fails raises.

    conversions: column -> (function of the trimmed text expression, what a good value
    looks like, the name the file gives it). Empty text gives null; `where` says how
    source_line is named in errors.
    """
    text = {n: pl.col(n).str.strip_chars() for n in conversions}
    given = {n: text[n].str.len_bytes() > 0 for n in conversions}
    out = lines.with_columns(pl.when(given[n]).then(read(text[n])).alias(f"__typed_{n}")
                             for n, (read, _, _) in conversions.items())
    failed = [given[n] & pl.col(f"__typed_{n}").is_null() for n in conversions]
    if failed and out.select(pl.any_horizontal(failed).any()).item():
        row = out.filter(pl.any_horizontal(failed)).row(0, named=True)
        name = next(n for n in conversions
                    if (row[n] or "").strip() and row[f"__typed_{n}"] is None)
        _, expected, shown = conversions[name]
        raise bad_value(export, row["source_line"], shown, row[name], expected, where)
    return out.with_columns(pl.col(f"__typed_{n}").alias(n) for n in conversions).drop(
        f"__typed_{n}" for n in conversions)


def bad_value(export: Export, position: int, name: str, value: object, expected: str,
              where: str = "line") -> InputError:
    if where == "line":
        return InputError("unreadable value", file=export.path, line=position,
                          column=name, value=value, expected=expected)
    return InputError(f"{where} {position}: unreadable {name}", file=export.path,
                      value=value, expected=expected)


def required(lines: pl.DataFrame, columns: dict[str, str], export: Export,
             where: str = "line") -> None:
    """Columns that must hold a value on every line (column -> name the user knows)."""
    for column, shown in columns.items():
        empty = lines.filter(pl.col(column).is_null())
        if empty.height:
            position = empty["source_line"][0]
            if where == "line":
                raise InputError("empty value where one is required", file=export.path,
                                 line=position, column=shown)
            raise InputError(f"{where} {position}: {shown} is missing", file=export.path,
                             expected=f"every {where} to have its {shown}")


def blank_to_null(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.len_bytes() > 0).then(text)


def local_date(text: pl.Expr, fmt: str) -> pl.Expr:
    """A UTC date and time as written (`fmt`) -> the day it was at the bank."""
    return (text.str.strptime(pl.Datetime("us"), fmt, strict=False)
            .dt.replace_time_zone("UTC").dt.convert_time_zone(BANK_TIME_ZONE).dt.date())


def derived_ids(prefix: str, lines: pl.DataFrame, columns: list[str]) -> pl.Series:
    """`<prefix>-<16 hex>` for exports without line ids: sha256 of the line's content and of
    how many identical lines came before it in the file, so that two identical card
    payments of one day stay two lines, and overlapping exports still give the same ids."""
    content = pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in columns],
                            separator="|")
    return stable_ids(prefix, lines.select(pl.concat_str(
        [content, content.cum_count().over(content).cast(pl.String)], separator="#")).to_series())


def stable_ids(prefix: str, keys: pl.Series) -> pl.Series:
    """`<prefix>-<16 hex>`, the sha256 of each key: hashlib, not polars' hash, which changes
    across versions; a Python loop over the lines of exports without ids (small) only."""
    return pl.Series([f"{prefix}-{hashlib.sha256(k.encode()).hexdigest()[:16]}" for k in keys],
                     dtype=pl.String)


def normalise_iban(lines: pl.DataFrame) -> pl.DataFrame:
    """IBANs without spaces, in upper case: worked out on the few distinct values."""
    written = lines["iban"].unique()
    clean = written.str.replace_all(r"\s", "").str.to_uppercase()
    if written.eq_missing(clean).all():
        return lines
    return lines.with_columns(pl.col("iban").replace(written, clean))


def keep_account(lines: pl.DataFrame, iban: str) -> pl.DataFrame:
    """Only the configured account's lines; lines naming no account (Shine's 2023 layout,
    Qonto's English export, Wise) stay."""
    wanted = "".join(iban.split()).upper()
    if not wanted:
        return lines
    kept = lines.filter(pl.col("iban").is_null() | (pl.col("iban") == wanted))
    if kept.height < lines.height:
        others = sorted(set(lines["iban"].drop_nulls().unique()) - {wanted})
        csvread.notice(f"kept {kept.height} of {lines.height} bank lines (account {wanted}); "
                       f"left out the lines of {', '.join(others)}")
    return kept


def keep_booked(lines: pl.DataFrame, booked: pl.Expr, status: str, export: Export
                ) -> pl.DataFrame:
    """Only the lines that are money on the account; say what was left out, and why."""
    kept = lines.filter(booked)
    if kept.height < lines.height:
        left = lines.filter(~booked.fill_null(False))[status].value_counts(sort=True)
        what = ", ".join(f"{n} {s!r}" for s, n in left.iter_rows())
        csvread.notice(f"{export.path}: left out {lines.height - kept.height} line(s) not "
                       f"booked ({what})")
    return kept


def in_bank_schema(lines: pl.DataFrame, source_format: str) -> pl.DataFrame:
    """The BANK columns (source_file aside), nulls where this format has nothing."""
    lines = lines.with_columns(pl.lit(source_format).alias("source_format"))
    columns = [c for c in BANK if c != "source_file"]
    return lines.select(
        pl.col(c).cast(BANK[c]) if c in lines.columns else pl.lit(None, BANK[c]).alias(c)
        for c in columns)
