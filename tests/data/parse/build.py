"""Rebuild the parser test files of this folder from the samples in ../formats/.

Run by hand after changing a sample: `.venv/bin/python tests/data/parse/build.py`.
Each file breaks (or reshapes) one thing; README.md says which, and the tests assert the
exact message, so a change here shows up in review.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORMATS = HERE.parent / "formats"


def read_rows(name: str, sep: str = ",", encoding: str = "utf-8-sig") -> list[list[str]]:
    text = (FORMATS / name).read_text(encoding=encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))


def write_rows(name: str, rows: list[list[str]], sep: str = ",", encoding: str = "utf-8",
               eol: str = "\n", quoting: int = csv.QUOTE_MINIMAL) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=sep, lineterminator=eol, quoting=quoting).writerows(rows)
    (HERE / name).write_bytes(out.getvalue().encode(encoding))


def with_value(rows, line: int, column: str, value: str) -> list[list[str]]:
    """A copy of rows with one cell changed; `line` counts like an editor (header = 1)."""
    rows = [list(r) for r in rows]
    rows[line - 1][rows[0].index(column)] = value
    return rows


# --- Excel's rewriting (FORMATS.md §7.1) -------------------------------------------------

def excel_date(value: str) -> str:
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
    return f"{m[3]}/{m[2]}/{m[1]}" if m else value


def excel_timestamp(value: str) -> str:
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):\d{2}\.\d{3}Z", value)
    return f"{m[3]}/{m[2]}/{m[1]} {m[4]}:{m[5]}" if m else value


def excel_number(value: str) -> str:
    if re.fullmatch(r"-?\d+\.\d+", value):
        value = value.rstrip("0").rstrip(".")
    return value


def excel_cell(value: str) -> str:
    if value in ("true", "false"):
        return value.upper()
    return excel_number(excel_timestamp(excel_date(value)))


def excel_resaved(rows):
    return [rows[0]] + [[excel_cell(v) for v in row] for row in rows[1:]]


def french_cell(value: str) -> str:
    """Excel in a French locale: decimal comma, VRAI/FAUX (the dates as in excel_cell)."""
    value = {"TRUE": "VRAI", "FALSE": "FAUX"}.get(value, value)
    return value.replace(".", ",") if re.fullmatch(r"-?\d+\.\d+", value) else value


def excel_resaved_french(rows):
    return [rows[0]] + [[french_cell(excel_cell(v)) for v in row] for row in rows[1:]]


# --- the files ---------------------------------------------------------------------------

def build() -> None:
    payments = read_rows("gocardless_payments.csv")
    payouts = read_rows("gocardless_payouts.csv")
    breakdown = read_rows("gocardless_payout_transactions.csv")
    shine = read_rows("shine.csv", sep=";")
    header = payments[0]

    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "binary.csv").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00"
        b"\x00\x1f\xf3\xffa\x00\x00\x00\x04gAMA\x00\x00\xb1\x8f\x0b\xfca\x05")
    write_rows("unknown_export.csv", [
        ["Status", "Settlement date (UTC)", "Total amount (incl. VAT)", "Currency"],
        ["settled", "2026-01-05 10:00:00", "-12.00", "EUR"]])
    write_rows("payments_semicolon.csv", payments[:4], sep=";")
    amount = header.index("amount")
    write_rows("payments_missing_amount.csv", [r[:amount] + r[amount + 1:] for r in payments])
    write_rows("payments_bad_amount.csv", with_value(payments, 6, "amount", "5OO.00"))
    write_rows("payments_impossible_date.csv",
               with_value(payments, 4, "charge_date", "31/02/2026"))
    write_rows("payments_unknown_status.csv", with_value(payments, 8, "status", "paid"))
    write_rows("payments_header_only.csv", payments[:1])
    write_rows("payments_conflicting_duplicate.csv",
               payments + with_value(payments, 10, "status", "paid_out")[9:10])
    write_rows("payments_identical_duplicate.csv", payments + payments[1:2])
    write_rows("payments_too_many_fields.csv",
               payments[:12] + [payments[12] + ["surplus"]] + payments[13:])
    tax = header.index("transaction_fee_tax")
    write_rows("payments_without_fee_tax.csv", [r[:tax] + r[tax + 1:] for r in payments])
    # A spreadsheet-made column with a comma and a line break, plus an extra column.
    note = [["metadata.note"]] + [[""] for _ in payments[1:]]
    note[3] = ["relance, voir\nmail du 12/01"]
    write_rows("payments_extra_columns.csv", [r[:5] + n + r[5:] for r, n in zip(payments, note)])
    truncated = (FORMATS / "gocardless_payments.csv").read_bytes().rstrip(b"\n")
    cut_row = b"PM00028VJTQ159,2026-02-04T16:27:55.000Z,2026-02-11,60.0"
    (HERE / "payments_truncated.csv").write_bytes(truncated[:truncated.rindex(b"\n") + 1] + cut_row)
    write_rows("payments_excel.csv", excel_resaved(payments), encoding="cp1252", eol="\r\n")
    # Excel in French: `;`, decimal comma, DD/MM/YYYY, Windows-1252 (accepted, issue 10).
    write_rows("payments_excel_fr.csv", excel_resaved_french(payments), sep=";",
               encoding="cp1252", eol="\r\n")
    # Saved by an old Mac Excel: every line ends with CR alone (accepted, issue 10).
    (HERE / "payments_cr_only.csv").write_bytes(
        (FORMATS / "gocardless_payments.csv").read_bytes().replace(b"\n", b"\r"))

    write_rows("payouts_excel.csv", excel_resaved(payouts), encoding="cp1252", eol="\r\n")
    write_rows("payouts_excel_fr.csv", excel_resaved_french(payouts), sep=";",
               encoding="cp1252", eol="\r\n")
    write_rows("payouts_unknown_status.csv", with_value(payouts, 3, "status", "sent"))
    write_rows("breakdown_excel.csv", excel_resaved(breakdown), encoding="cp1252", eol="\r\n")

    all_quoted = dict(sep=";", eol="\r\n", quoting=csv.QUOTE_ALL)
    cut = (FORMATS / "shine.csv").read_bytes().rstrip(b"\r\n")
    (HERE / "shine_truncated.csv").write_bytes(cut[:cut.rindex(b'"AXA FRANCE') + 6])
    other = ["FR7630004000031234567890143" if i == 3 else v for i, v in enumerate(shine[2])]
    other[0] = "0d5e0c57-1f7e-4c55-9b0a-3a1e1c2f9e11"
    write_rows("shine_two_accounts.csv", shine[:2] + [other] + shine[2:], **all_quoted)
    write_rows("shine_movement_mismatch.csv", with_value(shine, 5, "Solde mouvement", "23,99"),
               **all_quoted)
    write_rows("shine_spreadsheet.csv", spreadsheet_shine(shine), sep=";", eol="\n")


def spreadsheet_shine(rows):
    """The same lines after a spreadsheet: thousands separated by NBSP / narrow NBSP, `+`
    on credits, no quotes, `Oui`/`Non` kept, and a trailing blank line."""
    amounts = {"Débit", "Crédit", "Solde mouvement", "Solde bancaire"}
    columns = rows[0]
    out = [columns]
    for n, row in enumerate(rows[1:]):
        space = "\u00a0" if n % 2 else "\u202f"
        cells = []
        for name, value in zip(columns, row):
            if name in amounts and re.fullmatch(r"-?\d{4,},\d\d", value):
                whole, cents = value.split(",")
                sign = "-" if whole.startswith("-") else ""
                whole = whole.lstrip("-")
                value = f"{sign}{whole[:-3]}{space}{whole[-3:]},{cents}"
            if name == "Solde mouvement" and not value.startswith("-"):
                value = "+" + value
            cells.append(value)
        out.append(cells)
    return out + [[]]


if __name__ == "__main__":
    build()
