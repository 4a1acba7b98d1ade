"""recon.csvread: decoding, header recognition, conversions, line numbers, deduplication."""
import datetime as dt
import re
import os
from pathlib import Path

import polars as pl
import pytest

from recon import csvread
from recon.csvread import (GC_BREAKDOWN_EXPORT, GC_PAYMENTS_EXPORT, GC_PAYOUTS_EXPORT,
                           SHINE_2023_EXPORT, SHINE_EXPORT, Field)
from recon.errors import InputError

NBSP, NNBSP = "\u00a0", "\u202f"


def convert_one(parse, values):
    df = pl.DataFrame({"v": values}, schema={"v": pl.String})
    parse_fn = csvread.CONVERTERS[parse][0]
    return df.select(parse_fn(pl.col("v").str.strip_chars())).to_series().to_list()


# --- conversions -------------------------------------------------------------------------

@pytest.mark.parametrize("text, cents", [
    ("120.00", 12000), ("50", 5000), ("50.00", 5000), ("51.1", 5110), ("51.10", 5110),
    ("0.00", 0), ("0", 0), ("-9,48", -948), ("9,48", 948), ("+5", 500), ("-0,50", -50),
    ("1 234,56", 123456), (f"1{NBSP}234,56", 123456), (f"1{NNBSP}234,56", 123456),
    (f"-12{NNBSP}345{NNBSP}678,9", -1234567890), ("1234,56", 123456), ("2291,47", 229147),
    ("999999999999999.99", 99999999999999999),
])
def test_amounts_become_exact_cents(text, cents):
    assert convert_one("amount", [text]) == [cents]


@pytest.mark.parametrize("text", [
    "1,234.56", "12,345", "1.2.3", "abc", "1e3", "--5", "5-", "12 34,00", "1234 567",
    "€ 5", "5 €", ".5", "5.", "1 2", "0x10", "1_000",
])
def test_anything_else_is_not_an_amount(text):
    assert convert_one("amount", [text]) == [None]


def test_dates_iso_and_excel_and_impossible():
    got = convert_one("date", ["2026-01-08", "08/01/2026", "31/02/2026", "2026-02-29",
                               "29/02/2028", "2026-13-01", "8 janvier"])
    assert got == [dt.date(2026, 1, 8), dt.date(2026, 1, 8), None, None,
                   dt.date(2028, 2, 29), None, None]


def test_timestamps_become_utc():
    got = convert_one("timestamp", ["2026-01-02T09:15:31.000Z", "2026-01-02 09:15:31",
                                    "02/01/2026 09:15", "2026-01-02T09:15:31Z", "yesterday"])
    utc = dt.timezone.utc
    assert got == [dt.datetime(2026, 1, 2, 9, 15, 31, tzinfo=utc),
                   dt.datetime(2026, 1, 2, 9, 15, 31, tzinfo=utc),
                   dt.datetime(2026, 1, 2, 9, 15, tzinfo=utc),
                   dt.datetime(2026, 1, 2, 9, 15, 31, tzinfo=utc), None]


def test_yes_no():
    assert convert_one("yes_no", ["Oui", "Non", "TRUE", "false", "peut-être"]) == [
        True, False, True, False, None]


# --- recognising files ---------------------------------------------------------------------

@pytest.mark.parametrize("name, kind, encoding", [
    ("formats/gocardless_payments.csv", GC_PAYMENTS_EXPORT, "utf-8"),
    ("formats/gocardless_payouts.csv", GC_PAYOUTS_EXPORT, "utf-8"),
    ("formats/gocardless_payout_transactions.csv", GC_BREAKDOWN_EXPORT, "utf-8"),
    ("formats/shine.csv", SHINE_EXPORT, "utf-8"),
    ("formats/shine_cp1252.csv", SHINE_EXPORT, "cp1252"),
    ("formats/shine_legacy_2023.csv", SHINE_2023_EXPORT, "utf-8"),
    ("parse/payments_excel.csv", GC_PAYMENTS_EXPORT, "cp1252"),
    ("parse/breakdown_excel.csv", GC_BREAKDOWN_EXPORT, "cp1252"),
    ("parse/shine_spreadsheet.csv", SHINE_EXPORT, "utf-8"),
])
def test_exports_are_recognised_by_their_header(lazy_shared_datadir, name, kind, encoding):
    export = csvread.sniff(lazy_shared_datadir / name)
    assert (export.kind, export.encoding, export.header_lines) == (kind, encoding, 1)


FORMATS_SHINE_HEADER = (
    "Transaction ID;Date de la valeur;Date d'opération;IBAN;Type de transaction;"
    "Transaction personnelle;Category;Débit;Crédit;Solde mouvement;Solde bancaire;Libellé;"
    "Nom de la contrepartie;Montant HT;Montant de TVA total;Pièces;Date d'ajout pièces;"
    "Commentaire")


def test_header_names_tolerate_case_spacing_and_typographic_apostrophes(tmp_path):
    path = tmp_path / "BQ.csv"
    header = (FORMATS_SHINE_HEADER.replace("Date d'opération", " date d\u2019opération ")
              .replace("IBAN", "iban"))
    path.write_text(header + "\n", encoding="utf-8")
    export = csvread.sniff(path)
    assert export.kind is SHINE_EXPORT and "Date d'opération" in export.columns


@pytest.mark.parametrize("content, message", [
    (b"", "empty file: no header row"),
    (b"\r\n\r\n", "empty file: no header row"),
    (b"\xef\xbb\xbf", "empty file: no header row"),
    ("id,amount\n".encode("utf-16"), "encoded in UTF-16"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
     "an Excel workbook (or another zip archive), not a CSV file"),
    (b"Date;Montant\n01/01/2026;5,00\n", "not a known export"),
    (b"id,amount\x81\n", "neither UTF-8 nor Windows-1252 (byte 0x81 at offset 9)"),
])
def test_files_that_are_no_export(tmp_path, content, message):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=re.escape(message)) as err:
        csvread.sniff(path)
    assert str(path) in str(err.value)


# --- reading whole files -------------------------------------------------------------------

PAYOUT_HEADER = ("id,amount,currency,created_at,reference,status,arrival_date,"
                 "transaction_fee_debit,transaction_fee_credit,app_fee_debit,app_fee_credit,"
                 "total_payment_amount")


def payout_row(pid, amount="10.00", reference="REF", status="paid"):
    return (f"{pid},{amount},EUR,2026-01-13T07:58:12.000Z,{reference},{status},2026-01-14,"
            f"0,0,0,0,{amount}")


def read(path, fields):
    export = csvread.sniff(path)
    return csvread.convert(csvread.read_strings(export), fields, export)


FIELDS = {"payout_id": Field("id", required=True), "amount_cents": Field("amount", "amount"),
          "reference": Field("reference")}


def test_quoted_fields_crlf_blank_lines_and_line_numbers(tmp_path):
    path = tmp_path / "payouts.csv"
    rows = [PAYOUT_HEADER, payout_row("PO1", reference='"two\r\nlines, and ""quotes"""'), "",
            payout_row("PO2"), "   ", payout_row("PO3", amount="1 234.5"), ""]
    path.write_bytes("\r\n".join(rows).encode())
    df = read(path, FIELDS)
    assert df.rows() == [("PO1", 1000, 'two\r\nlines, and "quotes"', 2),
                         ("PO2", 1000, "REF", 5), ("PO3", 123450, "REF", 7)]


def test_a_bad_value_after_a_multiline_field_names_its_physical_line(tmp_path):
    path = tmp_path / "payouts.csv"
    rows = [PAYOUT_HEADER, payout_row("PO1", reference='"a\nb\nc"'), payout_row("PO2"),
            payout_row("PO3", amount="12.3.4")]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        read(path, FIELDS)
    e = err.value
    assert (e.file, e.line, e.column, e.value) == (path, 6, "amount", "12.3.4")
    assert str(e) == (f"{path}, line 6, column 'amount': unreadable amount; found '12.3.4'; "
                      "expected an amount such as 1234.56, 1 234,56, -9,48 or 50.")


def test_a_required_value_left_empty(tmp_path):
    path = tmp_path / "payouts.csv"
    path.write_text("\n".join([PAYOUT_HEADER, payout_row("PO1"), payout_row('""')]) + "\n")
    with pytest.raises(InputError, match="line 3, column 'id': empty value where one is required"):
        read(path, FIELDS)


def test_a_short_row_is_found_even_when_its_missing_fields_could_be_empty(tmp_path):
    path = tmp_path / "payouts.csv"
    short = "PO2,10.00,EUR,2026-01-13T07:58:12.000Z,REF,paid,2026-01-14,0,0,0,0"
    path.write_text("\n".join([PAYOUT_HEADER, payout_row("PO1"), short, payout_row("PO3")]))
    with pytest.raises(InputError, match="line 3: short or truncated line: 11 fields instead of"):
        read(path, FIELDS)


def test_a_file_name_like_a_glob_pattern_names_that_file_only(tmp_path):
    (tmp_path / "payouts1.csv").write_text("\n".join([PAYOUT_HEADER, payout_row("PO9")]) + "\n")
    path = tmp_path / "payouts[1].csv"
    path.write_text("\n".join([PAYOUT_HEADER, payout_row("PO1"), payout_row("PO2")]) + "\n")
    assert read(path, FIELDS)["payout_id"].to_list() == ["PO1", "PO2"]


def test_windows_1252_found_after_the_first_64_kib(tmp_path):
    """The header is ASCII, so the first bytes prove nothing: polars finds the bad byte."""
    path = tmp_path / "payouts.csv"
    rows = [PAYOUT_HEADER] + [payout_row(f"PO{i}") for i in range(2000)]
    rows.append(payout_row("PO_last", reference="Café € œ"))
    path.write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    df = read(path, FIELDS)
    assert df.height == 2001 and df["reference"][-1] == "Café € œ"
    assert df["source_line"][-1] == 2002


def test_utf8_with_bom_and_windows_1252_give_the_same_text(lazy_shared_datadir):
    fields = {"comment": Field("Commentaire"), "label": Field("Libellé")}
    utf8 = read(lazy_shared_datadir / "formats/shine.csv", fields)
    cp1252 = read(lazy_shared_datadir / "formats/shine_cp1252.csv", fields)
    assert utf8.equals(cp1252)
    assert "Hébergement site – nœud VPS" in utf8["comment"].to_list()
    assert "Perso - à rembourser (7,80 €)" in utf8["comment"].to_list()


# --- several files -------------------------------------------------------------------------

def export_of(tmp_path, name, rows, mtime):
    path = tmp_path / name
    path.write_text("\n".join([PAYOUT_HEADER, *rows]) + "\n")
    os.utime(path, ns=(mtime, mtime))
    return csvread.sniff(path)


def dedup(exports):
    exports = csvread.by_name(exports)
    fields = {**FIELDS, "arrival_date": Field("arrival_date", "date")}
    frames = [csvread.convert(csvread.read_strings(e), fields, e) for e in exports]
    exports, frames = csvread.by_content(exports, frames)
    return csvread.deduplicate(frames, exports, ["payout_id"], "payout")


def later(row):
    """The same payout row, in an export made a week later (its latest arrival date)."""
    return row.replace("2026-01-14", "2026-01-21")


def test_newest_export_wins_and_changed_ids_are_named(tmp_path, capsys):
    """Newest by content, not by file date: the later export was copied with an older
    modification time (cp -p, unzip), and still wins."""
    old = export_of(tmp_path, "b_old.csv", [payout_row("PO1", status="paid"),
                                            payout_row("PO2", reference="OLD")], 2 * 10**18)
    new = export_of(tmp_path, "a_new.csv", [payout_row("PO2", reference="NEW"),
                                            later(payout_row("PO3"))], 10**18)
    df = dedup([new, old])
    assert df.select("payout_id", "reference", "source_file", "source_line").rows() == [
        ("PO1", "REF", "b_old.csv", 2), ("PO2", "NEW", "a_new.csv", 2),
        ("PO3", "REF", "a_new.csv", 3)]
    err = capsys.readouterr().err
    assert "1 payout(s) differ between the 2 exports" in err
    assert "(a_new.csv) wins for: PO2\n" in err


def test_identical_repeats_inside_one_file_are_dropped(tmp_path):
    one = export_of(tmp_path, "p.csv", [payout_row("PO1"), payout_row("PO2"), payout_row("PO1")],
                    10**18)
    assert dedup([one])["payout_id"].to_list() == ["PO1", "PO2"]


def test_one_id_twice_with_different_content_inside_one_file(tmp_path):
    one = export_of(tmp_path, "p.csv", [payout_row("PO1"), payout_row("PO2"),
                                        payout_row("PO1", amount="11.00")], 10**18)
    with pytest.raises(InputError) as err:
        dedup([one])
    e = err.value
    assert (e.file, e.line, e.column, e.value) == (one.path, 4, "amount_cents", 1100)
    assert "payout PO1 appears on lines 2 and 4 with different content" in str(e)


# --- fast paths and the rows they leave to the full converters ---------------------------

def convert_column(kind, parse, values):
    """`values` through convert() as one column of an export of `kind` (fast path first)."""
    df = pl.DataFrame({"v": values, csvread.SOURCE_LINE: range(2, len(values) + 2)},
                      schema={"v": pl.String, csvread.SOURCE_LINE: pl.Int64})
    export = csvread.Export(Path("export.csv"), kind, ("v",), 1, "utf-8")
    return csvread.convert(df, {"x": Field("v", parse)}, export)["x"].to_list()


MIXED = {  # the form each export writes, mixed with every other form the full converter reads
    "amount": ["120.00", "-9.48", "+5.00", "0.00", "999999999999999.99", "-0,50", "9,48", " 7.00",
               "50", "51.1", f"1{NBSP}234,56", "1 234.5", "", "  ", None],
    "date": ["2026-01-08", "08/01/2026", " 2026-01-08", "2026-01-08 ", "2026-1-8", "29/02/2028",
             "", None],
    "timestamp": ["2026-01-02T09:15:31.000Z", "2026-01-02T09:15:31.987Z",
                  "2026-12-31T23:59:59.999Z", "2026-01-02T09:15:31Z", "2026-01-02T09:15:31.5Z",
                  "2026-01-02 09:15:31", "02/01/2026 09:15", " 2026-01-02T09:15:31.000Z", "",
                  None],
    "yes_no": ["Oui", "Non", "oui", "NON", "TRUE", " Oui", "", None],
}


@pytest.mark.parametrize("kind", [GC_PAYMENTS_EXPORT, SHINE_EXPORT])
@pytest.mark.parametrize("parse", sorted(MIXED))
def test_fast_path_and_full_converter_agree_on_every_form(kind, parse):
    values = MIXED[parse]
    expected = convert_one(parse, values)
    assert convert_column(kind, parse, values) == expected
    readable = [v for text, v in zip(values, expected) if text and text.strip()]
    assert None not in readable  # every form above but the blank ones is readable


@pytest.mark.parametrize("kind, parse, text, value", [
    (GC_PAYMENTS_EXPORT, "amount", "-1234.56", -123456),
    (SHINE_EXPORT, "amount", "+1234,05", 123405),
    (GC_PAYMENTS_EXPORT, "date", "2026-01-08", dt.date(2026, 1, 8)),
    (SHINE_EXPORT, "date", "08/01/2026", dt.date(2026, 1, 8)),
    (GC_PAYMENTS_EXPORT, "timestamp", "2026-01-02T09:15:31.007Z",
     dt.datetime(2026, 1, 2, 9, 15, 31, 7000, tzinfo=dt.timezone.utc)),
    (SHINE_EXPORT, "yes_no", "Non", False),
])
def test_the_fast_path_itself_reads_the_form_each_export_writes(kind, parse, text, value):
    df = pl.DataFrame({"v": [text]})
    assert df.select(csvread.FAST_CONVERTERS[parse](pl.col("v"), kind)).item() == value


def test_exact_values_when_fast_and_slow_rows_mix():
    utc = dt.timezone.utc
    assert convert_column(GC_PAYMENTS_EXPORT, "amount", ["10.00", "1 234.5", "-0.07", "50"]) == [
        1000, 123450, -7, 5000]
    assert convert_column(SHINE_EXPORT, "amount", ["-62,77", "62.77", f"-1{NNBSP}000,00"]) == [
        -6277, 6277, -100000]
    assert convert_column(GC_PAYMENTS_EXPORT, "timestamp", [
        "2026-01-02T09:15:31.250Z", "02/01/2026 09:15", "2026-01-02T09:15:31.000Z"]) == [
        dt.datetime(2026, 1, 2, 9, 15, 31, 250000, tzinfo=utc),
        dt.datetime(2026, 1, 2, 9, 15, tzinfo=utc), dt.datetime(2026, 1, 2, 9, 15, 31, tzinfo=utc)]
    assert convert_column(SHINE_EXPORT, "date", ["20/12/2025", "2025-12-21"]) == [
        dt.date(2025, 12, 20), dt.date(2025, 12, 21)]


@pytest.mark.parametrize("parse, value", [
    ("amount", "1234567890123456.00"), ("amount", "0000000000000001.00"), ("amount", ".50"),
    ("amount", "1.234"), ("amount", "+-5.00"), ("amount", "5.0a"),
    ("timestamp", "2026-02-30T09:15:31.000Z"), ("timestamp", "2026-01-02T25:15:31.000Z"),
    ("timestamp", "2026-01-02T09:15:31.+12Z"), ("date", "2026-02-30"), ("yes_no", "Ouii"),
])
def test_a_value_that_looks_common_but_is_not_is_still_refused(parse, value):
    """Among readable values of the common form, the bad one is found, on its line."""
    good = {"amount": "10.00", "timestamp": "2026-01-02T09:15:31.000Z", "date": "2026-01-02",
            "yes_no": "Oui"}[parse]
    with pytest.raises(InputError) as err:
        convert_column(GC_PAYMENTS_EXPORT, parse, [good, good, value, good])
    assert (err.value.line, err.value.column, err.value.value) == (4, "v", value)


def test_spreadsheet_dates_among_iso_ones_are_noticed(capsys):
    convert_column(GC_PAYMENTS_EXPORT, "date", ["2026-01-08", "09/01/2026"])
    assert "dates written DD/MM/YYYY" in capsys.readouterr().err
    convert_column(GC_PAYMENTS_EXPORT, "date", ["2026-01-08", " 2026-01-09"])
    assert "dates written" not in capsys.readouterr().err


SHINE_ROW = ('"{id}";"02/01/2026";"02/01/2026";"FR76";"Virement";"Non";"DEFAULT";"9,48";"0,00";'
             '"-9,48";"8402,89";"Label; with separator";"Shine";"7,90";"1,58";"";"";"{comment}"')


def test_every_field_quoted_empty_ones_read_as_empty(tmp_path):
    path = tmp_path / "BQ.csv"
    rows = [SHINE_ROW.format(id="A", comment=""), SHINE_ROW.format(id="B", comment="note")]
    path.write_text("\r\n".join([FORMATS_SHINE_HEADER, *rows]) + "\r\n")
    fields = {"id": Field("Transaction ID"), "comment": Field("Commentaire"),
              "doc": Field("Pièces"), "label": Field("Libellé")}
    assert read(path, fields).rows() == [("A", None, None, "Label; with separator", 2),
                                         ("B", "note", None, "Label; with separator", 3)]


def test_a_short_row_in_a_file_that_quotes_every_field(tmp_path):
    path = tmp_path / "BQ.csv"
    short = SHINE_ROW.format(id="B", comment="x").rsplit(";", 2)[0]
    rows = [SHINE_ROW.format(id="A", comment=""), short, SHINE_ROW.format(id="C", comment="")]
    path.write_text("\n".join([FORMATS_SHINE_HEADER, *rows]) + "\n")
    with pytest.raises(InputError, match="line 3: short or truncated line: 16 fields instead of"):
        read(path, {"id": Field("Transaction ID")})
