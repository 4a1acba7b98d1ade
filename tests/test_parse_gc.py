"""parse_gc on the shared samples (GROUND_TRUTH.md), their Excel-resaved variants and the
bad inputs of tests/data/parse/."""
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import parse_gc
from recon.errors import InputError
from recon.schemas import GC_PAYMENTS

REPO = Path(__file__).resolve().parents[1]
PAYMENTS_NAME = "payments_index-export-EX01M347NNQRB421MP346MFB43QB.csv"
PO = {"PO_A": "PO000AFYT4CF04", "PO_B": "PO000BS9HYBRA6", "PO_C": "PO000CDVT36XWH",
      "PO_D": "PO000D7Z66HQGG", "PO_E": "PO000EKYYK8YGC", None: None}

# GROUND_TRUTH.md, "GoCardless payments": id, amount, status, charge date, payout, fee+VAT
# (cents; None where the table shows "–").
GROUND_TRUTH = [
    ("PM00001D9EN5ZD", 12000, "paid_out", "2026-01-08", "PO_A", 168),
    ("PM00002784FWY3", 34860, "paid_out", "2026-01-08", "PO_A", 443),
    ("PM00003XQ3S8NX", 125000, "paid_out", "2026-01-08", "PO_A", 480),
    ("PM000044QD929V", 8990, "paid_out", "2026-01-09", "PO_A", 132),
    ("PM0000591XP4DD", 50000, "paid_out", "2026-01-09", "PO_A", 480),
    ("PM00006R02T701", 54000, "failed", "2026-01-12", None, None),
    ("PM00007X5VPF8J", 54000, "paid_out", "2026-01-23", "PO_C", 480),
    ("PM00008N79TGK1", 21540, "paid_out", "2026-01-23", "PO_C", 282),
    ("PM00009WPREQ8J", 78000, "charged_back", "2026-01-15", "PO_B", 480),
    ("PM00010ENDHTR1", 4500, "cancelled", "2026-01-20", None, None),
    ("PM00011BYWACBS", 180000, "paid_out", "2026-01-15", "PO_B", 480),
    ("PM00012J9FQK87", 6000, "paid_out", "2026-01-16", "PO_B", 96),
    ("PM000132YX8FW3", 15000, "paid_out", "2026-01-23", "PO_C", 204),
    ("PM00014MEM2EJZ", 7250, "paid_out", "2026-01-23", "PO_C", 112),
    ("PM00015N02DPC9", 12500, "paid_out", "2026-01-26", "PO_C", 174),
    ("PM00016JYG207J", 30000, "paid_out", "2026-01-16", "PO_B", 384),
    ("PM00017MTGSR0D", 30000, "paid_out", "2026-01-28", "PO_D", 384),
    ("PM000180DXCEBH", 30000, "pending_submission", "2026-02-16", None, None),
    ("PM00019JR2X5Z9", 4900, "paid_out", "2026-01-28", "PO_D", 83),
    ("PM000206R70140", 20500, "paid_out", "2026-01-29", "PO_D", 270),
    ("PM00021F9WF30C", 40000, "paid_out", "2026-01-16", "PO_B", 480),
    ("PM00022GFPMR9N", 120000, "paid_out", "2026-01-29", "PO_D", 480),
    ("PM00023CPMXABD", 42000, "paid_out", "2026-01-29", "PO_D", 480),
    ("PM00024T27KB0Y", 21540, "paid_out", "2026-02-05", "PO_E", 282),
    ("PM00025YVH5HE2", 8990, "confirmed", "2026-02-06", None, 132),
    ("PM00026C62WXDB", 12000, "submitted", "2026-02-10", None, None),
    ("PM00027RNRBXYA", 34860, "pending_submission", "2026-02-12", None, None),
    ("PM00028VJTQ159", 6000, "customer_approval_denied", "2026-02-11", None, None),
]


def folder(tmp_path, *sources, names=None):
    """A raw/gocardless-like folder holding copies of `sources` under service-like names."""
    gc = tmp_path / "gocardless"
    gc.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(sources):
        name = names[i] if names else f"payments_index-export-EX{i:04d}.csv"
        shutil.copy(source, gc / name)
    return gc


@pytest.fixture
def payments(lazy_shared_datadir, tmp_path):
    gc = folder(tmp_path, lazy_shared_datadir / "formats/gocardless_payments.csv",
                lazy_shared_datadir / "formats/gocardless_payouts.csv",
                lazy_shared_datadir / "formats/gocardless_payout_transactions.csv",
                names=[PAYMENTS_NAME, "payouts-export-EX01.csv", "payout-transactions-EX02.csv"])
    return parse_gc.parse_payments(gc)


def test_every_payment_of_the_ground_truth_to_the_cent(payments):
    got = [(r["gc_payment_id"], r["amount_cents"], r["status"], r["charge_date"].isoformat(),
            r["payout_id"], None if r["transaction_fee_cents"] is None
            else r["transaction_fee_cents"] + r["transaction_fee_tax_cents"])
           for r in payments.iter_rows(named=True)]
    assert got == [(i, a, s, d, PO[p], f) for i, a, s, d, p, f in GROUND_TRUTH]
    assert payments.schema == pl.Schema(GC_PAYMENTS)


def test_status_counts_and_totals(payments):
    counts = dict(payments.group_by("status").len().iter_rows())
    assert counts == {"paid_out": 20, "confirmed": 1, "submitted": 1, "pending_submission": 2,
                      "failed": 1, "cancelled": 1, "customer_approval_denied": 1,
                      "charged_back": 1}
    paid = payments.filter(pl.col("payout_id").is_in([PO["PO_A"], PO["PO_B"], PO["PO_C"],
                                                      PO["PO_D"]]))
    assert paid["amount_cents"].sum() == 892540  # gross 8 925.40 €
    fees = paid["transaction_fee_cents"] + paid["transaction_fee_tax_cents"]
    assert fees.sum() == 6572  # 65.72 €


def test_the_other_columns(payments):
    row = {r["gc_payment_id"]: r for r in payments.iter_rows(named=True)}
    first = row["PM00001D9EN5ZD"]
    assert first["created_at"] == dt.datetime(2026, 1, 2, 9, 15, 31, tzinfo=dt.timezone.utc)
    assert (first["payout_date"], first["mandate_id"], first["gc_customer_id"]) == (
        dt.date(2026, 1, 13), "MD000A8AWTEDD0", "CU000A6JWA09SR")
    assert (first["customer_email"], first["currency"], first["app_fee_cents"]) == (
        "elodie.marchand@exemple.fr", "EUR", None)
    assert (first["source_file"], first["source_line"]) == (PAYMENTS_NAME, 2)
    assert row["PM00006R02T701"]["customer_name"] == "Les Jardins de Chloé, SAS"
    assert row["PM00014MEM2EJZ"]["customer_name"] == 'Bistrot "Chez Margaux"'
    assert row["PM00011BYWACBS"]["customer_name"] == "SCI Garnier Œuvres"
    assert row["PM00001D9EN5ZD"]["customer_name"] == "Élodie Marchand"  # no company
    assert row["PM00015N02DPC9"]["description"] == "FA2601-0014, FA2601-0015"
    assert row["PM00019JR2X5Z9"]["description"] == "fa2601-0017 "  # kept as written
    assert row["PM00012J9FQK87"]["description"] is None
    assert (row["PM000206R70140"]["description"], row["PM000206R70140"]["reference"]) == (
        "Facture janvier", "FA2601-0018")
    assert row["PM00021F9WF30C"]["amount_refunded_cents"] == 10000
    assert row["PM000180DXCEBH"]["payout_date"] == dt.date(2026, 2, 18)  # an estimate


def comparable(df):
    return df.drop("created_at", "source_file", "source_line")


@pytest.mark.parametrize("variant", [
    "payments_excel.csv",  # cp1252, CRLF, DD/MM/YYYY, 50 for 50.00, TRUE
    "payments_identical_duplicate.csv",
    "payments_extra_columns.csv",  # one more column, holding a comma and a line break
    "payments_excel_fr.csv",  # Excel in French: `;`, 1,4 for 1.40, DD/MM/YYYY, cp1252
    "payments_cr_only.csv",  # old Mac Excel: lines end with CR alone
])
def test_variants_give_the_same_payments(lazy_shared_datadir, tmp_path, payments, variant):
    got = parse_gc.parse_payments(folder(tmp_path, lazy_shared_datadir / f"parse/{variant}"))
    assert comparable(got).equals(comparable(payments))


def test_excel_timestamps_keep_the_minute(lazy_shared_datadir, tmp_path, payments):
    excel = lazy_shared_datadir / "parse/payments_excel.csv"
    got = parse_gc.parse_payments(folder(tmp_path / "variant", excel))
    assert got["created_at"].equals(payments["created_at"].dt.truncate("1m"))


def test_line_numbers_count_the_line_break_inside_a_field(lazy_shared_datadir, tmp_path):
    got = parse_gc.parse_payments(
        folder(tmp_path, lazy_shared_datadir / "parse/payments_extra_columns.csv"))
    assert got["source_line"].to_list() == [2, 3, 4] + list(range(6, 31))


def test_older_exports_without_fee_tax(lazy_shared_datadir, tmp_path, payments):
    got = parse_gc.parse_payments(
        folder(tmp_path / "variant", lazy_shared_datadir / "parse/payments_without_fee_tax.csv"))
    assert got["transaction_fee_tax_cents"].null_count() == 28
    assert comparable(got).drop("transaction_fee_tax_cents").equals(
        comparable(payments).drop("transaction_fee_tax_cents"))


def test_header_only_export_is_missing_unless_allowed(lazy_shared_datadir, tmp_path,
                                                      monkeypatch):
    gc = folder(tmp_path, lazy_shared_datadir / "parse/payments_header_only.csv")
    out = tmp_path / "out" / "gc_payments.parquet"
    with pytest.raises(InputError, match=r"payments missing: .*gocardless: no GoCardless "
                       r"payments export found with rows \(payments_index-export-EX0000.csv: "
                       r"header only\)"):
        parse_gc.main(["--input-dir", str(gc), "--out", str(out)])
    assert not out.exists()
    monkeypatch.setenv("ALLOW_MISSING", "bank, payments")
    parse_gc.main(["--input-dir", str(gc), "--out", str(out)])
    assert pl.read_parquet(out).schema == pl.Schema(GC_PAYMENTS)
    assert pl.read_parquet(out).height == 0


def test_no_payments_export_names_the_folder_and_what_is_there(lazy_shared_datadir, tmp_path):
    gc = folder(tmp_path, lazy_shared_datadir / "formats/gocardless_payouts.csv",
                names=["payouts-export-EX01.csv"])
    (gc / "payments.xlsx").write_bytes(b"PK\x03\x04")
    out = tmp_path / "gc_payments.parquet"
    with pytest.raises(InputError) as err:
        parse_gc.main(["--input-dir", str(gc), "--out", str(out)])
    assert str(err.value) == (
        f"payments missing: {gc}: no GoCardless payments export found; found there: "
        "payments.xlsx (a spreadsheet, not an export: save it as CSV (or download the CSV "
        "again)), payouts-export-EX01.csv (GoCardless payouts export); expected the payments "
        f"export(s) of the period in {gc}, or ALLOW_MISSING=payments on the command line to "
        "reconcile without them.")
    assert not out.exists()


def test_overlapping_exports_newest_wins(lazy_shared_datadir, tmp_path, capsys):
    """Statuses move after the fact: paid_out in January's download, charged_back later."""
    sample = (lazy_shared_datadir / "formats/gocardless_payments.csv").read_text()
    gc = tmp_path / "gocardless"
    gc.mkdir()
    old, new = gc / "payments_index-export-EX0001.csv", gc / "payments_index-export-EX0002.csv"
    old_rows = sample.replace(",charged_back,", ",paid_out,").splitlines()
    old.write_text("\n".join(old_rows[:11]) + "\n")  # first 10 payments only
    new.write_text(sample)
    os.utime(old, (1_700_000_000, 1_700_000_000))
    got = parse_gc.parse_payments(gc)
    assert got.height == 28
    status = dict(got.select("gc_payment_id", "status").iter_rows())
    assert status["PM00009WPREQ8J"] == "charged_back"
    assert set(got["source_file"]) == {new.name}
    err = capsys.readouterr().err
    assert f"1 payment(s) differ between the 2 exports; the export with the latest dates " \
           f"({new.name}) wins for: PM00009WPREQ8J" in err
    # The later export copied with an old date (cp -p, unzip): file dates decide nothing.
    os.utime(new, (1_600_000_000, 1_600_000_000))
    status = dict(parse_gc.parse_payments(gc).select("gc_payment_id", "status").iter_rows())
    assert status["PM00009WPREQ8J"] == "charged_back"


def test_two_exports_disagreeing_on_an_amount_name_both(lazy_shared_datadir, tmp_path):
    sample = (lazy_shared_datadir / "formats/gocardless_payments.csv").read_text()
    gc = tmp_path / "gocardless"
    gc.mkdir()
    lines = sample.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("PM00009WPREQ8J,"))
    fields = lines[row].split(",")
    fields[3] = "99.99"  # the amount column
    changed = lines[:row] + [",".join(fields)] + lines[row + 1:]
    (gc / "a.csv").write_text(sample)
    (gc / "b.csv").write_text("\n".join(changed) + "\n")
    with pytest.raises(InputError) as err:
        parse_gc.parse_payments(gc)
    message = str(err.value)
    assert "payment PM00009WPREQ8J has amount" in message
    assert "99.99" in message and str(gc / "a.csv") in message and str(gc / "b.csv") in message


# --- bad input: message names file, line, column, value; nothing is written ----------------

BAD = [
    ("empty.csv", None, None, None, "empty file: no header row"),
    ("binary.csv", None, None, None, "binary content, not a CSV text file"),
    ("unknown_export.csv", 1, None,
     "Status,Settlement date (UTC),Total amount (incl. VAT),Currency",
     "not a known export"),
    ("payments_missing_amount.csv", 1, "amount", None,
     "required column 'amount' missing from this GoCardless payments export"),
    ("payments_bad_amount.csv", 6, "amount", "5OO.00", "unreadable amount"),
    ("payments_impossible_date.csv", 4, "charge_date", "31/02/2026", "unreadable date"),
    ("payments_unknown_status.csv", 8, "status", "paid", "unknown value"),
    ("payments_truncated.csv", 29, None,
     "PM00028VJTQ159,2026-02-04T16:27:55.000Z,2026-02-11,60.0",
     "short or truncated line: 4 fields instead of 34"),
    ("payments_too_many_fields.csv", 13, None, None, "too many fields: 35 fields instead of 34"),
    ("payments_conflicting_duplicate.csv", 30, "status", "paid_out",
     "payment PM00009WPREQ8J appears on lines 10 and 30 with different content "
     "(status is 'charged_back' on line 10)"),
]


@pytest.mark.parametrize("name, line, column, value, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_named_and_nothing_is_written(lazy_shared_datadir, tmp_path, name, line,
                                                    column, value, message):
    gc = folder(tmp_path, lazy_shared_datadir / f"parse/{name}", names=[name])
    out = tmp_path / "interim" / "gc_payments.parquet"
    with pytest.raises(InputError) as err:
        parse_gc.main(["--input-dir", str(gc), "--out", str(out)])
    e = err.value
    assert (e.file, e.line, e.column) == (gc / name, line, column)
    if value is not None:
        assert e.value == value
    assert str(e).startswith(f"{gc / name}") and message in str(e)
    assert not out.exists() and not (tmp_path / "interim").exists()


def test_the_messages_read_as_sentences(lazy_shared_datadir, tmp_path):
    gc = folder(tmp_path, lazy_shared_datadir / "parse/payments_unknown_status.csv")
    with pytest.raises(InputError) as err:
        parse_gc.parse_payments(gc)
    assert str(err.value) == (
        f"{gc / 'payments_index-export-EX0000.csv'}, line 8, column 'status': unknown value; "
        "found 'paid'; expected one of pending_customer_approval, pending_submission, "
        "submitted, confirmed, paid_out, cancelled, customer_approval_denied, failed, "
        "charged_back.")


def test_a_shine_export_in_the_gocardless_folder_is_refused(lazy_shared_datadir, tmp_path):
    gc = folder(tmp_path, lazy_shared_datadir / "formats/shine.csv", names=["BQ_2026.csv"])
    with pytest.raises(InputError, match="this is a Shine bank export, which does not belong"):
        parse_gc.parse_payments(gc)


def run_script(*args):
    return subprocess.run([sys.executable, str(REPO / "stages" / "parse_gc.py"), *args],
                          capture_output=True, text=True, cwd=REPO)


def test_script_exit_codes_and_help(lazy_shared_datadir, tmp_path):
    assert "--input-dir" in run_script("--help").stdout
    gc = folder(tmp_path, lazy_shared_datadir / "parse/payments_bad_amount.csv")
    out = tmp_path / "gc_payments.parquet"
    proc = run_script("--input-dir", str(gc), "--out", str(out))
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert "line 6, column 'amount': unreadable amount; found '5OO.00'" in proc.stderr
    good = folder(tmp_path / "good", lazy_shared_datadir / "formats/gocardless_payments.csv")
    proc = run_script("--input-dir", str(good), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(out).height == 28
