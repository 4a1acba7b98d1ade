"""parse_payouts on the shared samples (GROUND_TRUTH.md "GoCardless payouts"), the payout
breakdown export, Excel-resaved variants and bad input."""
import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import parse_payouts
from recon.errors import InputError
from recon.schemas import GC_PAYOUT_ITEMS, GC_PAYOUTS

REPO = Path(__file__).resolve().parents[1]

# GROUND_TRUTH.md: id, reference, status, created, arrival, gross (total_payment_amount),
# fees+VAT debit, fee credit, net amount; in cents. File order (newest payout first).
GROUND_TRUTH = [
    ("PO000EKYYK8YGC", "ATELIERLUMI-SLCVMP", "pending", "2026-02-09", None, 21540, 282, 0, 21258),
    ("PO000D7Z66HQGG", "ATELIERLUMI-TDPA4D", "paid", "2026-02-02", "2026-02-03",
     217400, 1697, 480, 128183),
    ("PO000CDVT36XWH", "ATELIERLUMI-SBCKPP", "paid", "2026-01-28", "2026-01-29",
     110290, 1252, 0, 109038),
    ("PO000BS9HYBRA6", "ATELIERLUMI-G7BKS6", "paid", "2026-01-20", "2026-01-21",
     334000, 1920, 0, 332080),
    ("PO000AFYT4CF04", "ATELIERLUMI-3KR3UC", "paid", "2026-01-13", "2026-01-14",
     230850, 1703, 0, 229147),
]
PO_D = "PO000D7Z66HQGG"


def folder(tmp_path, files):
    """files: {name in the folder: source path}."""
    gc = tmp_path / "gocardless"
    gc.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        shutil.copy(source, gc / name)
    return gc


@pytest.fixture
def formats(lazy_shared_datadir):
    return lazy_shared_datadir / "formats"


@pytest.fixture
def parsed(formats, tmp_path):
    return parse_payouts.parse_payouts(folder(tmp_path, {
        "payouts-export-EX01DEMO.csv": formats / "gocardless_payouts.csv",
        "payout-transactions-export-EX02.csv": formats / "gocardless_payout_transactions.csv",
        "payments_index-export-EX03.csv": formats / "gocardless_payments.csv",
    }))


def test_every_payout_of_the_ground_truth_to_the_cent(parsed):
    payouts, _ = parsed
    got = [(r["payout_id"], r["reference"], r["status"], r["created_at"].date().isoformat(),
            r["arrival_date"] and r["arrival_date"].isoformat(), r["total_payment_amount_cents"],
            r["transaction_fee_debit_cents"], r["transaction_fee_credit_cents"], r["amount_cents"])
           for r in payouts.iter_rows(named=True)]
    assert got == GROUND_TRUTH
    assert payouts["app_fee_debit_cents"].to_list() == [0] * 5
    assert payouts["app_fee_credit_cents"].to_list() == [0] * 5
    assert payouts["currency"].unique().to_list() == ["EUR"]
    assert payouts.schema == pl.Schema(GC_PAYOUTS)
    assert payouts["created_at"][0] == dt.datetime(2026, 2, 9, 7, 52, 16, tzinfo=dt.timezone.utc)


def test_the_payout_rule_holds_and_po_d_nets_880_euros_of_debits(parsed):
    payouts, _ = parsed
    simple = (pl.col("total_payment_amount_cents") - pl.col("transaction_fee_debit_cents")
              + pl.col("transaction_fee_credit_cents") - pl.col("amount_cents"))
    gaps = dict(payouts.select("payout_id", simple.alias("gap")).iter_rows())
    assert gaps == {p[0]: (88000 if p[0] == PO_D else 0) for p in GROUND_TRUTH}


def test_breakdown_items(parsed):
    payouts, items = parsed
    assert items.height == 23 and items.schema == pl.Schema(GC_PAYOUT_ITEMS)
    net = dict(items.group_by("payout_id").agg(pl.col("net_cents").sum()).iter_rows())
    assert net == dict(payouts.select("payout_id", "amount_cents").iter_rows())
    fees = pl.col("gross_cents") - pl.col("net_cents")
    assert items.filter(pl.col("fees_cents") != fees).height == 0
    debits = items.filter(pl.col("gross_cents") < 0).select(
        "payout_id", "resource_type", "gc_payment_id", "refund_id", "status", "gross_cents",
        "fees_cents", "net_cents", "charge_date").rows()
    assert debits == [
        (PO_D, "payment", "PM00009WPREQ8J", None, "charged_back", -78000, -480, -77520,
         dt.date(2026, 1, 15)),
        (PO_D, "refund", "PM00021F9WF30C", "RF0001ZWW3WM8B", "paid", -10000, 0, -10000, None),
    ]
    # The charged-back payment is also the credit it was in PO_B: two items, one per payout.
    assert items.filter(pl.col("gc_payment_id") == "PM00009WPREQ8J")["payout_id"].to_list() == [
        "PO000BS9HYBRA6", PO_D]


def test_excel_resaved_exports_give_the_same_rows(parsed, tmp_path, lazy_shared_datadir):
    payouts, items = parse_payouts.parse_payouts(folder(tmp_path, {
        "payouts.csv": lazy_shared_datadir / "parse/payouts_excel.csv",
        "transactions.csv": lazy_shared_datadir / "parse/breakdown_excel.csv",
    }))
    same = ["source_file", "source_line"]
    assert payouts.drop(*same, "created_at").equals(parsed[0].drop(*same, "created_at"))
    assert payouts["created_at"].equals(parsed[0]["created_at"].dt.truncate("1m"))  # Excel: HH:MM
    assert items.drop(same).equals(parsed[1].drop(same))


def test_a_payouts_export_resaved_by_excel_in_french_gives_the_same_payouts(
        parsed, tmp_path, lazy_shared_datadir, capsys):
    """`;`, decimal comma, DD/MM/YYYY, Windows-1252: accepted (issue 10), and said."""
    payouts, _ = parse_payouts.parse_payouts(folder(tmp_path, {
        "payouts.csv": lazy_shared_datadir / "parse/payouts_excel_fr.csv"}))
    same = ["source_file", "source_line", "created_at"]
    assert payouts.drop(*same).equals(parsed[0].drop(*same))
    assert "separated by ';' with decimal commas" in capsys.readouterr().err


def test_without_breakdown_the_items_table_is_empty_with_its_schema(formats, tmp_path, capsys):
    gc = folder(tmp_path, {"payouts.csv": formats / "gocardless_payouts.csv"})
    out, items_out = tmp_path / "out" / "gc_payouts.parquet", tmp_path / "out" / "items.parquet"
    parse_payouts.main(["--input-dir", str(gc), "--out", str(out), "--items-out", str(items_out)])
    assert pl.read_parquet(out).height == 5
    items = pl.read_parquet(items_out)
    assert items.height == 0 and items.schema == pl.Schema(GC_PAYOUT_ITEMS)
    assert "no payout breakdown export (optional)" in capsys.readouterr().err


def test_an_empty_folder_gives_empty_tables(tmp_path, capsys):
    gc = tmp_path / "gocardless"
    gc.mkdir()
    payouts, items = parse_payouts.parse_payouts(gc)
    assert (payouts.height, items.height) == (0, 0)
    assert "no GoCardless payouts export found" in capsys.readouterr().err


def test_unknown_status_and_nothing_written(lazy_shared_datadir, tmp_path, formats):
    name = "payouts_unknown_status.csv"
    gc = folder(tmp_path, {name: lazy_shared_datadir / f"parse/{name}",
                           "transactions.csv": formats / "gocardless_payout_transactions.csv"})
    out, items_out = tmp_path / "out" / "gc_payouts.parquet", tmp_path / "out" / "items.parquet"
    with pytest.raises(InputError) as err:
        parse_payouts.main(["--input-dir", str(gc), "--out", str(out),
                            "--items-out", str(items_out)])
    e = err.value
    assert (e.file, e.line, e.column, e.value) == (gc / name, 3, "status", "sent")
    assert "unknown value; found 'sent'; expected one of pending, paid, bounced." in str(e)
    assert not out.exists() and not items_out.exists()


def test_an_unknown_file_beside_the_exports_is_an_error(lazy_shared_datadir, tmp_path, formats):
    gc = folder(tmp_path, {"payouts.csv": formats / "gocardless_payouts.csv",
                           "notes.csv": lazy_shared_datadir / "parse/unknown_export.csv"})
    with pytest.raises(InputError, match=r"notes\.csv, line 1: not a known export"):
        parse_payouts.parse_payouts(gc)


def test_script_runs_by_hand(formats, tmp_path):
    gc = folder(tmp_path, {"payouts.csv": formats / "gocardless_payouts.csv",
                           "binary.csv": REPO / "tests" / "data" / "parse" / "binary.csv"})
    out, items_out = tmp_path / "gc_payouts.parquet", tmp_path / "items.parquet"
    script = [sys.executable, str(REPO / "stages" / "parse_payouts.py")]
    assert "--items-out" in subprocess.run([*script, "--help"], capture_output=True,
                                           text=True).stdout
    proc = subprocess.run([*script, "--input-dir", str(gc), "--out", str(out),
                           "--items-out", str(items_out)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == (f"error: {gc / 'binary.csv'}: binary content, not a CSV text file; "
                           "expected a CSV export as downloaded from GoCardless or Shine.\n")
    assert not out.exists() and not items_out.exists()
