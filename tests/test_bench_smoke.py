"""The benchmark in smoke mode: a small synthetic month through every stage (not timed).

The 1,000,000-row run lives in `make bench`, never here. These tests check that the
generator writes the real formats reproducibly and that bench/run.py, through `make
report`, runs each stage and finds the rows it should in what they write.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402

STAGES = ["parse_gc", "parse_payouts", "parse_shine", "fetch_dolibarr", "pass1", "pass2", "pass3", "report",
          "documents", "payout_bookings"]  # the last: quick and silent without clearing mode
SMOKE = 2_000


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("bench") / "month"
    return folder, generate.build(300, generate.SEED, folder)


def test_same_seed_same_bytes(month, tmp_path):
    folder, _ = month
    again = tmp_path / "again"
    generate.build(300, generate.SEED, again)
    files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((folder / f).read_bytes() == (again / f).read_bytes() for f in files)


def test_sizes_follow_the_invoice_count(month):
    _, manifest = month
    rows = manifest["rows"]
    assert (rows["invoices"], rows["payments"], rows["payouts"], rows["bank_lines"]) == (300, 300, 30, 300)
    assert rows["thirdparties"] == 60
    assert set(manifest["payment_plans"]) == {"single", "retry", "instalment", "multi", "unmatched"}


def test_shine_export_is_the_current_layout(month):
    folder, _ = month
    (export,) = (folder / "raw" / "shine").glob("BQ_*.csv")
    raw = export.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf\"Transaction ID\";\"Date de la valeur\";")
    assert raw.count(b"\r\n") == 301 and raw.count(b"\n") == 301
    bank = pl.read_csv(export, separator=";", infer_schema=False)
    assert bank.columns == generate.SHINE_COLUMNS
    assert bank["Solde mouvement"].str.contains(r"^-?\d+,\d\d$").all()
    assert bank["Date d'opération"].str.contains(r"^\d\d/\d\d/20\d\d$").all()


def test_snapshot_is_slim_and_typed_as_the_api(month):
    folder, _ = month
    def objects(name):
        lines = (folder / "dolibarr" / name).read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]
    invoices, thirdparties = objects("invoices.jsonl"), objects("thirdparties.jsonl")
    assert len(invoices) == 300 and len(thirdparties) == 60
    assert all(list(i) == list(generate.INVOICE_JSON_KEYS) for i in invoices)
    first = invoices[0]
    assert isinstance(first["id"], str) and isinstance(first["socid"], str)
    assert isinstance(first["totalpaid"], (int, float)) and isinstance(first["remaintopay"], str)
    assert all(re.fullmatch(r"-?\d+\.\d{8}", i["total_ttc"]) for i in invoices)
    assert all(re.fullmatch(r"-?\d+(\.\d?[1-9])?", i["remaintopay"]) for i in invoices)
    assert all(isinstance(i["totalpaid"], int) for i in invoices if i["total_ttc"].endswith(".00000000")
               and i["paye"] == "1")
    assert all(i["date"] % 86400 == 0 for i in invoices)
    assert {i["ref"][:2] for i in invoices} <= {"FA", "AV", "(P"}


def test_each_payout_nets_its_breakdown(month):
    folder, _ = month
    gc = folder / "raw" / "gocardless"
    cents = pl.col("amount").str.replace(".", "", literal=True).cast(pl.Int64)
    payouts = pl.read_csv(next(gc.glob("payouts_*.csv")), infer_schema=False).select("id", net=cents)
    items = pl.read_csv(next(gc.glob("payout_transactions-*.csv")), infer_schema=False)
    sums = items.group_by(id="payouts.id").agg(
        pl.col("net_amount").str.replace(".", "", literal=True).cast(pl.Int64).sum()
    )
    joined = payouts.join(sums, on="id", how="left")
    assert joined.height == 30
    assert (joined["net"] == joined["net_amount"]).all(ignore_nulls=False)  # none missing


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """bench/run.py --smoke, once for the tests that read what it wrote."""
    tmp_path = tmp_path_factory.mktemp("smoke")
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(tmp_path), "--keep"]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT), tmp_path


def test_smoke_run_goes_through_every_stage(smoke_run):
    done, tmp_path = smoke_run
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "run" / f"{SMOKE}-{generate.SEED}" / "results.json").read_text())
    assert [s["stage"] for s in results["stages"]] == STAGES
    assert all(s["exit_status"] == 0 for s in results["stages"])
    assert results["problems"] == []
    rows = {name: count for s in results["stages"] for name, count in s["rows"].items()}
    manifest = results["manifest"]["rows"]
    assert rows["gc_payments.parquet"] == SMOKE
    assert rows["gc_payouts.parquet"] == SMOKE // 10
    assert rows["bank.parquet"] == SMOKE
    assert rows["gc_payout_items.parquet"] == manifest["payout_items"]
    assert "make report" in done.stdout
    assert results["make_exit_status"] == 0 and results["total_seconds"] > 0


def test_smoke_month_invoices_paid_by_a_transfer_naming_them(smoke_run):
    """Every invoice pass 2 reports that a bank line of the window names (only the
    generator's customer transfers name invoices) is PAID_BY_TRANSFER, by its ref."""
    done, tmp_path = smoke_run
    assert done.returncode == 0, done.stdout + done.stderr
    interim = tmp_path / "run" / f"{SMOKE}-{generate.SEED}" / "interim"
    window = f"{generate.WINDOW_FROM}_{generate.WINDOW_TO}"
    pass2 = pl.read_parquet(interim / f"pass2_{window}.parquet")
    named = (pl.read_parquet(interim / "bank.parquet")
             .filter(pl.col("operation_date") <= generate.WINDOW_TO)
             .select(invoice_ref=pl.col("label").str.extract(r"\b(FA\d{4}-\d{4,})\b"))
             .drop_nulls())
    reported = pass2.join(named, on="invoice_ref", how="semi")
    assert reported.height > 10
    assert reported.select("flag", "match_type").unique().rows() == [
        ("PAID_BY_TRANSFER", "ref_in_label")]
    assert pass2.filter(pl.col("match_type") == "soft")["flag"].to_list().count(
        "PAID_BY_TRANSFER") > 0
