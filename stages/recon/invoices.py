"""A Dolibarr snapshot (invoices.jsonl + thirdparties.jsonl) as the INVOICES frame.

The snapshot holds API objects as Dolibarr returned them (API_FACTS.md §5): ids, statuses
and amounts are JSON strings ("1200.00000000"), `totalpaid` is a JSON number (1200 or
33.34), `remaintopay` a short decimal string ("39.9"), dates are Unix timestamps of
midnight in the *server's* timezone, and invoices carry no customer name (it is joined
from the third parties on `socid`). Slim objects (the properties fetch_dolibarr asks for)
and full ones (131 keys, saved by hand) are read alike: only the keys below are read.

Everything is read as text (the dates as Int64 when all are JSON integers) and converted
with polars expressions: money goes from the decimal text to integer cents without ever
being a float (polars prints a JSON number with the shortest text that reads back the
same, i.e. the decimal the server wrote), and a bad value is reported with the file, the
line when known, the key and the value.

Reading: fetch_dolibarr (and the benchmark) write JSON Lines, one compact object per line
(`.jsonl`), which polars' NDJSON reader parses straight from the file, dates to Int64
(about 1.8 s of CPU, 0.9 s on 2 cores, for 1,000,000 slim invoices). A snapshot saved by
hand, or by an older version, may instead hold a JSON array (`.json`): one compact object
per line is read from just after its `[` to just before its `]`, the comma after each
object made a space (0.75 s more); any other layout (pretty-printed, or a `{"data": [...]}`
page) is parsed by the json module, which also gives exact error positions, and
re-encoded one object per line: polars' own whole-document JSON reader took 16 s and
4.5 GB on the same million.
"""
from __future__ import annotations

import json
import os
from codecs import BOM_UTF8 as BOM
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from recon.errors import InputError
from recon.schemas import INVOICES

# What fetch_dolibarr writes; a folder saved by hand may hold `<name>.json` arrays instead.
INVOICES_FILE = "invoices.jsonl"
THIRDPARTIES_FILE = "thirdparties.jsonl"

# What fetch_dolibarr asks for (`properties=`), i.e. everything INVOICES is built from.
INVOICE_PROPERTIES = (
    "id", "ref", "ref_client", "socid", "type", "status", "paye", "close_code",
    "total_ttc", "totalpaid", "remaintopay", "date", "date_lim_reglement",
    "multicurrency_code", "mode_reglement_code",
)
THIRDPARTY_PROPERTIES = ("id", "name")
DATE_KEYS = ("date", "date_lim_reglement")  # Unix timestamps, JSON integers
# Older spellings read as fallbacks when the main key is missing (full objects only).
FALLBACK_KEYS = {"status": "statut", "ref_client": "ref_customer"}

WHOLE = r"^-?\d{1,15}$"
LARGEST_WHOLE = 10 ** 15 - 1  # what WHOLE lets through, for integers read as such
DECIMAL = r"^-?\d{1,15}(?:\.\d+)?$"
SECONDS_PER_DAY = 86_400
AMOUNT = pl.Decimal(38, 8)  # Dolibarr stores amounts with 8 decimals
UNITS_PER_CENT = 10 ** (AMOUNT.scale - 2)


# --- reading snapshot files (JSON Lines, or JSON arrays) -----------------------------------------------------------------------

def snapshot_file(folder: Path, name: str) -> Path:
    """The snapshot's `name` file: as fetch_dolibarr writes it (JSON Lines), else the JSON
    array of a folder saved by hand (`invoices.jsonl` -> `invoices.json`)."""
    lines, array = folder / name, (folder / name).with_suffix(".json")
    for path in (lines, array):  # whichever is there but is not a file is the one to name
        if path.exists() and not path.is_file():
            raise InputError("a folder, not a file" if path.is_dir() else "not a regular file",
                             file=path, expected=f"{name} (JSON Lines) or {array.name} (a JSON "
                                                 "array) as a file in the snapshot folder")
    return array if array.is_file() and not lines.is_file() else lines


def read_objects(path: str | Path, keys: tuple[str, ...],
                 integers: tuple[str, ...] = ()) -> tuple[pl.DataFrame, int | None]:
    """The given keys of every object of a JSON Lines (`.jsonl`) or JSON array file, as
    text (null if absent); those of `integers` as Int64 if all of them are JSON integers or
    null, else as text too.

    Also returns the line of the first object when there is one object per line (so row i
    is on line i + that), else None.
    """
    path = Path(path)
    try:
        return _read_objects(path, keys, integers)
    except FileNotFoundError:
        raise InputError("file not found", file=path,
                         expected="a snapshot folder with invoices and third parties "
                                  "(.jsonl, or .json arrays)") from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", file=path,
                         expected="a snapshot file this user may read") from None


def _read_objects(path: Path, keys: tuple[str, ...],
                  integers: tuple[str, ...]) -> tuple[pl.DataFrame, int | None]:
    if path.suffix == ".jsonl" and path.is_file():
        return _read_json_lines(path, keys, integers), 1
    lines = _object_lines(path)
    if lines is not None:
        try:
            return _read_ndjson(lines, keys, integers), 2
        except pl.exceptions.PolarsError:
            pass  # looked like one object per line but is not: read it the general way
    del lines
    lines = _reencoded(path.read_bytes().removeprefix(BOM), path)
    if not lines:
        return pl.DataFrame(schema={key: pl.String for key in keys}), None
    return _read_ndjson(lines, keys, integers), None


def _has_bom(path: Path) -> bool:
    """Whether a file starts with a UTF-8 byte order mark (one edited by hand)."""
    with path.open("rb") as handle:
        return handle.read(len(BOM)) == BOM


def _read_json_lines(path: Path, keys: tuple[str, ...], integers: tuple[str, ...]) -> pl.DataFrame:
    """A JSON Lines file, read by polars from the file itself; the first line that is not
    a JSON object is named when it fails."""
    if path.stat().st_size == 0:
        return pl.DataFrame(schema={key: pl.String for key in keys})
    try:
        return _read_ndjson(path.read_bytes()[len(BOM):] if _has_bom(path) else path,
                            keys, integers)
    except pl.exceptions.PolarsError as exc:
        reason = str(exc).splitlines()[0]
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                if line.strip() and not isinstance(json.loads(line), dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                raise InputError(f"not a JSON object ({exc})", file=path, line=number,
                                 value=_short(line.strip()),
                                 expected="one JSON object per line") from None
    raise InputError(f"not readable as JSON Lines ({reason})", file=path)


def _read_ndjson(lines: bytes | Path, keys: tuple[str, ...],
                 integers: tuple[str, ...]) -> pl.DataFrame:
    """Integers read as such: as text, then cast, they cost 0.2 s more per key at 1,000,000
    rows. Polars refuses any other JSON value for an Int64 (a string, a float): then all is
    read as text, for the checks to name the value."""
    text = {key: pl.String for key in keys}
    if integers:
        try:
            return pl.read_ndjson(lines, schema={**text, **dict.fromkeys(integers, pl.Int64)})
        except pl.exceptions.PolarsError:
            pass
    return pl.read_ndjson(lines, schema=text)


def _object_lines(path: Path) -> bytes | None:
    """The objects of a file laid out as `[`, one `{...},` per line, `]`, as NDJSON (the
    comma after each object made a space); None for any other layout.

    Only the objects are read (cutting them out of the whole file would copy it once more)
    and the replacement keeps the length (CPython then copies once and patches in place:
    a third faster than dropping the comma)."""
    start = len(BOM) if _has_bom(path) else 0
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        handle.seek(start)
        if handle.read(3) != b"[\n{":
            return None
        handle.seek(max(size - 64, 0))
        tail = handle.read()
        closed = tail.rstrip()
        if not closed.endswith(b"}\n]"):
            return None
        end = size - len(tail) + len(closed) - 2  # just after the last object's `}`
        handle.seek(start + 2)
        objects = handle.read(end - start - 2)
    return objects.replace(b"},\n{", b"} \n{")


def _reencoded(data: bytes, path: Path) -> bytes:
    """Any JSON array of objects (or a {"data": [...]} page) as one compact object per line."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "colno", None)
        where = f" at character {column}" if column else ""
        raise InputError(f"not valid JSON{where} ({getattr(exc, 'msg', exc)})", file=path,
                         line=line, expected="a JSON array of objects as the Dolibarr API "
                         "returns them") from None
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        document = document["data"]  # a page saved with pagination_data=true
    if not isinstance(document, list) or not all(isinstance(o, dict) for o in document):
        raise InputError("not a JSON array of objects", file=path,
                         value=_short(json.dumps(document, ensure_ascii=False)),
                         expected="[{...}, {...}] as the Dolibarr API returns lists")
    return b"\n".join(json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                      for o in document)


def _short(text: str, length: int = 60) -> str:
    return text if len(text) <= length else text[:length] + "..."


# --- conversions (polars expressions on text columns) ------------------------------------------

def cents(text: pl.Expr) -> pl.Expr:
    """A decimal text ('1200.00000000', '-200', '39.9', '33.34') as integer cents.

    Through polars' exact Decimal (i128), never a float; past the cent it rounds half away
    from zero like Decimal ROUND_HALF_UP (Dolibarr totals have 2 significant decimals;
    a float sum printed by PHP, 0.30000000000000004, is first rounded to 8 decimals).
    The rounding is done on the Decimal's integer of 1e-8 units: Decimal arithmetic cost
    three times as much. The text is one CHECKS accepted (no spaces around it).
    """
    units = text.cast(AMOUNT).to_physical()  # Int128: the amount times 10^8
    return ((units.abs() + UNITS_PER_CENT // 2) // UNITS_PER_CENT * units.sign()).cast(pl.Int64)


def calendar_date(seconds: pl.Expr, timezone: str | None) -> pl.Expr:
    """A Dolibarr DATE (midnight in the server's timezone, as Unix seconds) as a Date.

    With the server's timezone: the local date. Without it: the nearest UTC midnight,
    which is right for every server within 12 hours of UTC (Europe/Paris midnight is
    23:00 or 22:00 UTC the day before).
    """
    if timezone:
        return (pl.from_epoch(seconds, time_unit="s").dt.replace_time_zone("UTC")
                .dt.convert_time_zone(timezone).dt.date())
    return pl.from_epoch((seconds + SECONDS_PER_DAY // 2) // SECONDS_PER_DAY, time_unit="d")


def usable_timezone(timezone: str | None) -> str | None:
    """The timezone if polars knows it, else None (dates then round to the nearest day)."""
    if not timezone:
        return None
    try:
        pl.Series([0]).cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(timezone)
    except pl.exceptions.PolarsError:
        return None
    return timezone


# --- validation ------------------------------------------------------------------------------

# key -> (what a valid value looks like, its description, required)
CHECKS = {
    "id": (WHOLE, "a whole number (the invoice id)", True),
    "socid": (WHOLE, "a whole number (the customer id)", True),
    "type": (WHOLE, "a whole number (0 standard, 2 credit note, ...)", True),
    "status": (WHOLE, "a whole number (0 draft, 1 validated, 2 paid, 3 abandoned)", True),
    "paye": (r"^(0|1|true|false)$", '"0" or "1"', True),
    "total_ttc": (DECIMAL, 'a decimal amount such as "1200.00000000"', True),
    "totalpaid": (DECIMAL, "a number such as 1200 or 33.34", True),
    "remaintopay": (DECIMAL, 'a decimal amount such as "39.9"', True),
    "date": (WHOLE, "a Unix timestamp (the invoice date)", True),
    "date_lim_reglement": (WHOLE, "a Unix timestamp (the due date) or null", False),
    "ref": (r"\S", "the invoice reference", True),
}


def check_values(raw: pl.DataFrame, path: str | Path, first_line: int | None) -> None:
    """Raise InputError on the first invalid or missing value, naming where it is.

    One pass answers "is anything wrong?"; only then is the first offender looked up.
    """
    bad = {key: _bad(key, raw.schema[key]) for key in CHECKS}
    found = raw.select(wrong.any().alias(key) for key, wrong in bad.items()).row(0, named=True)
    for key in (k for k, wrong in found.items() if wrong):
        _pattern, expected, _required = CHECKS[key]
        row = raw.with_row_index("_row").filter(bad[key]).row(0, named=True)
        value = row[key]
        ident = f"invoice #{row['_row'] + 1}" + (f" (id {row['id']})" if key != "id" else "")
        raise InputError(
            f"{ident}: {'missing' if value is None else 'unexpected'} {key}",
            file=path, line=None if first_line is None else row["_row"] + first_line,
            column=key, value=value, expected=expected)


def _bad(key: str, dtype: pl.DataType) -> pl.Expr:
    pattern, _expected, required = CHECKS[key]
    column = pl.col(key)
    if dtype.is_integer():  # read as a JSON integer: only its size can be wrong
        wrong = ~column.is_between(-LARGEST_WHOLE, LARGEST_WHOLE)
    else:
        wrong = ~column.str.contains(pattern)
    return wrong.fill_null(required)


def check_unique_ids(invoices: pl.DataFrame, path: str | Path) -> None:
    if invoices["invoice_id"].n_unique() == invoices.height:  # 3x cheaper than is_duplicated
        return
    twice = invoices.filter(pl.col("invoice_id").is_duplicated())["invoice_id"][0]
    raise InputError("the same invoice appears twice (pages read while Dolibarr changed?)",
                     file=path, column="id", value=str(twice),
                     expected="each invoice once; fetch the snapshot again")


# --- the frame ------------------------------------------------------------------------------

def parse_invoices(raw: pl.DataFrame, thirdparties: pl.DataFrame, *,
                   timezone: str | None = None, path: str | Path = INVOICES_FILE,
                   first_line: int | None = None) -> pl.DataFrame:
    """Text columns of invoice objects (dates may be Int64 already; + `id`/`name` of
    third parties) -> INVOICES."""
    raw = raw.with_columns(  # the older spellings are there in full objects only
        pl.coalesce(pl.col(key), pl.col(fallback)).alias(key)
        for key, fallback in FALLBACK_KEYS.items()
        if fallback in raw.columns and raw[fallback].null_count() < raw.height)
    raw = raw.with_columns(_blank_as_null(key) for key in
                           ("ref_client", "close_code", "date_lim_reglement",
                            "multicurrency_code", "mode_reglement_code")
                           if raw.schema[key] == pl.String)
    check_values(raw, path, first_line)
    whole = lambda key: pl.col(key).cast(pl.Int64)  # noqa: E731 (checked: digits only)
    invoices = raw.select(
        invoice_id=whole("id"),
        invoice_ref=pl.col("ref"),
        ref_client=pl.col("ref_client"),
        socid=whole("socid"),
        type=whole("type"),
        status=whole("status"),
        paid=pl.col("paye").is_in(["1", "true"]),
        close_code=pl.col("close_code"),
        total_cents=cents(pl.col("total_ttc")),
        paid_cents=cents(pl.col("totalpaid")),
        remaining_cents=cents(pl.col("remaintopay")),
        invoice_date=calendar_date(whole("date"), timezone),
        due_date=calendar_date(whole("date_lim_reglement"), timezone),
        currency=pl.col("multicurrency_code"),
        payment_mode=pl.col("mode_reglement_code"),
    )
    check_unique_ids(invoices, path)
    names = customer_names(thirdparties)
    joined = invoices.join(names, on="socid", how="left", maintain_order="left")
    if not joined["invoice_id"].is_sorted():  # a fetched snapshot is in id order already
        joined = joined.sort("invoice_id")
    return joined.select(list(INVOICES)).cast(INVOICES)


def customer_names(thirdparties: pl.DataFrame) -> pl.DataFrame:
    """socid -> customer_name, from third-party objects' `id` and `name`."""
    return (thirdparties
            .filter(pl.col("id").str.contains(WHOLE))
            .select(socid=pl.col("id").cast(pl.Int64),
                    customer_name=pl.col("name"))
            .unique("socid", keep="first", maintain_order=True))


def _blank_as_null(key: str) -> pl.Expr:
    column = pl.col(key)
    return pl.when(column.str.strip_chars() == "").then(None).otherwise(column).alias(key)


# --- the snapshot folder and the window ------------------------------------------------------

def load_snapshot(folder: str | Path, timezone: str | None = None) -> pl.DataFrame:
    """The invoices and third parties of a snapshot folder as the INVOICES frame."""
    folder = Path(folder)
    invoices_path = snapshot_file(folder, INVOICES_FILE)
    raw, first_line = read_objects(invoices_path, INVOICE_PROPERTIES + tuple(FALLBACK_KEYS.values()),
                                   integers=DATE_KEYS)
    thirdparties, _ = read_objects(snapshot_file(folder, THIRDPARTIES_FILE), THIRDPARTY_PROPERTIES)
    return parse_invoices(raw, thirdparties, timezone=usable_timezone(timezone),
                          path=invoices_path, first_line=first_line)


def window_start(date_from: date, lookback_days: int) -> date:
    return date_from - timedelta(days=lookback_days)


def in_window(invoices: pl.DataFrame, date_from: date, date_to: date,
              lookback_days: int) -> pl.DataFrame:
    """The invoices a reconciliation of FROM..TO needs: dated from FROM - lookback to TO,
    plus every one still unpaid (status 1) whatever its date. The same rule as the
    fetch's sqlfilters, so applying it to a fetched snapshot changes nothing."""
    dated = pl.col("invoice_date").is_between(window_start(date_from, lookback_days), date_to)
    return invoices.filter(dated | (pl.col("status") == 1))
