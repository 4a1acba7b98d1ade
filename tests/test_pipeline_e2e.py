"""The whole pipeline through Make, as a user runs it: demo exports, the Dolibarr emulator
as a real HTTP server, `make report`, `make fix`, then `make report` again."""
import csv
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[1]
FROM, TO = "2026-01-01", "2026-02-09"
WINDOW = f"{FROM}_{TO}"
# GROUND_TRUTH.md: the strong fix candidates, their GoCardless payment and amount.
STRONG_FIX_CANDIDATES = {
    "FA2601-0004": ("PM000044QD929V", "89.90"),
    "FA2601-0005": ("PM00007X5VPF8J", "540.00"),
    "FA2601-0013": ("PM00014MEM2EJZ", "72.50"),
    "FA2601-0017": ("PM00019JR2X5Z9", "49.00"),
    "FA2601-0020": ("PM00022GFPMR9N", "1200.00"),
    "FA2602-0001": ("PM00024T27KB0Y", "215.40"),
    "FA2602-0005": ("PM00025YVH5HE2", "89.90"),
}
# Issue 10 item 8: the two received instalments of FA2601-0016 (900.00 in three) are recorded
# as partial payments of their exact amounts; the invoice stays open for the third.
INSTALMENTS = [("PM00016JYG207J", "300.00000000"), ("PM00017MTGSR0D", "300.00000000")]


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(REPO / "demo" / "raw", tmp_path / "raw")
    return tmp_path


def make(workdir, dolibarr, *args, window=(FROM, TO), check=True):
    """Run make in the repo with every output folder inside workdir."""
    env = {**os.environ, "DOLIBARR_URL": dolibarr.url, "DOLIBARR_API_KEY": "test-key"}
    env.pop("DOLIBARR_SNAPSHOT", None)
    variables = [
        f"RAW_DIR={workdir}/raw",
        f"INTERIM_DIR={workdir}/interim",
        f"OUT_DIR={workdir}/tmp",
        f"JOURNAL_DIR={workdir}/journal",
        f"SNAPSHOT_ROOT={workdir}/snapshots",
        f"FROM={window[0]}",
        f"TO={window[1]}",
    ]
    proc = subprocess.run(
        ["make", "--no-print-directory", *args, *variables],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def flags_by_invoice(workdir):
    """Each invoice's verdicts, one per payment row; a superseded failed attempt
    (GC_RETRIED) is information only."""
    df = pl.read_parquet(workdir / "interim" / f"pass1_{WINDOW}.parquet")
    df = df.filter(pl.col("invoice_ref").is_not_null() & (pl.col("flag") != "GC_RETRIED"))
    flags = df.group_by("invoice_ref").agg(pl.col("flag").unique())
    return {ref: set(values) for ref, values in flags.iter_rows()}


def invoice_ids(dolibarr):
    return {inv["ref"]: int(inv["id"]) for inv in (dolibarr.invoice(i) for i in (*range(1, 29), 30))}


def test_report_then_nothing_to_rebuild_then_a_new_window(workdir, dolibarr):
    proc = make(workdir, dolibarr, "report")
    assert "GC_PAID_DOLIBARR_OPEN" in proc.stdout
    out = workdir / "tmp"
    outputs = [out / f"reconciliation_{WINDOW}.csv", out / f"payouts_fees_{WINDOW}.csv"]
    payouts = {r["payout_id"]: r for r in read_csv(outputs[1]) if r["payout_id"]}
    assert payouts["PO000AFYT4CF04"]["bank_transaction_id"].startswith("02c066fe")
    # The demo's bank (unlike tests/data/formats) has BOULANGERIE LEFEVRE paying
    # FA2601-0022 by a transfer naming it, on 2026-02-03.
    transfers = [(r["invoice_ref"], r["share_eur"], r["bank_transaction_id"][:8])
                 for r in read_csv(outputs[0]) if r["flag"] == "PAID_BY_TRANSFER"]
    assert transfers == [("FA2601-0022", "66.00", "3e0c5f7a")]

    # A second identical call rebuilds nothing and does not call Dolibarr again.
    assert make(workdir, dolibarr, "-q", *map(str, outputs), check=False).returncode == 0
    requests_before = len(dolibarr.requests)
    make(workdir, dolibarr, "report")
    assert len(dolibarr.requests) == requests_before

    # Pass 3 does not read pass 1: a changed pass1.py reruns pass 1, pass 2, the report and
    # the documents (HTML, workbook).
    dry = make(workdir, dolibarr, "-n", "-W", "stages/pass1.py", "report-files")
    assert sorted(w for w in dry.stdout.split() if w.startswith("stages/")) == [
        "stages/documents.py", "stages/pass1.py", "stages/pass2.py", "stages/report.py"]

    # Another window is never mistaken for this one.
    make(workdir, dolibarr, "report", window=("2026-01-01", "2026-01-31"))
    assert (out / "reconciliation_2026-01-01_2026-01-31.csv").is_file()
    assert len(dolibarr.requests) > requests_before


def test_report_without_a_window_says_how_to_give_one(workdir, dolibarr):
    proc = make(workdir, dolibarr, "report", window=("", ""), check=False)
    assert proc.returncode != 0
    assert "FROM=YYYY-MM-DD TO=YYYY-MM-DD" in proc.stderr


def test_fix_records_the_strong_candidates_once_then_report_shows_them_matched(
    workdir, dolibarr
):
    make(workdir, dolibarr, "report")
    flags = flags_by_invoice(workdir)
    assert all(flags[ref] == {"GC_PAID_DOLIBARR_OPEN"} for ref in STRONG_FIX_CANDIDATES)
    before = dolibarr.payment_count()

    proc = make(workdir, dolibarr, "fix")  # no terminal and no CONFIRM: the plan only
    assert "PM000044QD929V" in proc.stdout
    assert dolibarr.payment_count() == before

    make(workdir, dolibarr, "fix", "CONFIRM=yes")
    assert dolibarr.payment_count() == before + len(STRONG_FIX_CANDIDATES) + len(INSTALMENTS)
    ids = invoice_ids(dolibarr)
    assert [(p["num"], p["amount"]) for p in dolibarr.payments(ids["FA2601-0016"])] == INSTALMENTS
    assert dolibarr.invoice(ids["FA2601-0016"])["remaintopay"] == "300"
    for ref, (gc_id, amount) in STRONG_FIX_CANDIDATES.items():
        recorded = [(p["num"], p["amount"]) for p in dolibarr.payments(ids[ref])]
        assert recorded == [(gc_id, f"{amount}000000")], ref
    assert dolibarr.payments(ids["FA2601-0010"]) == []  # soft match: not by default

    make(workdir, dolibarr, "fix", "CONFIRM=yes")  # a rerun records nothing
    assert dolibarr.payment_count() == before + len(STRONG_FIX_CANDIDATES) + len(INSTALMENTS)

    make(workdir, dolibarr, "report")  # the write made the snapshot stale: refetched
    flags = flags_by_invoice(workdir)
    assert {ref: flags[ref] for ref in STRONG_FIX_CANDIDATES} == {
        ref: {"MATCHED"} for ref in STRONG_FIX_CANDIDATES}
