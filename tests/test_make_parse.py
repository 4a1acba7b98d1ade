"""The parse targets through Make, run from the repo root over exports copied to tmp_path:
built once, then nothing to do; a new Shine export reruns parse_shine only; a changed
parse_gc.py reruns parse_gc only; a failing parser leaves no output behind."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PARSED = ["gc_payments.parquet", "gc_payouts.parquet", "gc_payout_items.parquet", "bank.parquet"]
EXPORTS = {  # sample -> where a user would put it, under the name the service gives it
    "gocardless_payments.csv": "gocardless/payments_index-export-EX01M347NNQRB421MP346MFB43QB.csv",
    "gocardless_payouts.csv": "gocardless/payouts-export-EX01M347NNQRB421MP34PAYOUTS.csv",
    "gocardless_payout_transactions.csv": "gocardless/payout-transactions-export-EX01M3.csv",
    "shine.csv": "shine/BQ_2026-01-01_2026-02-06.csv",
}


@pytest.fixture
def work(tmp_path, lazy_shared_datadir):
    for sample, target in EXPORTS.items():
        (tmp_path / "raw" / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(lazy_shared_datadir / f"formats/{sample}", tmp_path / "raw" / target)
    # The virtual environment is the repo's own .venv; this stamp only tells Make it is
    # installed, so the test never triggers a pip install.
    (tmp_path / "venv.ok").touch()
    return tmp_path


def make(work, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    variables = [f"RAW_DIR={work}/raw", f"INTERIM_DIR={work}/interim", f"OUT_DIR={work}/tmp",
                 f"VENV_OK={work}/venv.ok"]
    targets = [str(work / "interim" / name) for name in PARSED]
    return subprocess.run(["make", "--no-print-directory", *args, *variables, *targets],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def stages_run(proc):
    """Which parser scripts a make run executed (or, with -n, would execute)."""
    return sorted({word.split("/")[-1] for word in proc.stdout.split()
                   if word.startswith("stages/parse_")})


def mtimes(work):
    return {name: (work / "interim" / name).stat().st_mtime_ns for name in PARSED}


def test_built_once_then_nothing_to_do_and_each_script_reruns_its_stage(work, lazy_shared_datadir):
    first = make(work)
    assert first.returncode == 0, first.stdout + first.stderr
    assert stages_run(first) == ["parse_gc.py", "parse_payouts.py", "parse_shine.py"]
    assert all((work / "interim" / name).is_file() for name in PARSED)
    assert make(work, "-q").returncode == 0
    again = make(work)
    assert again.returncode == 0 and stages_run(again) == []
    # -W: "what if this file were modified", so the real scripts are left untouched.
    assert stages_run(make(work, "-n", "-W", "stages/parse_gc.py")) == ["parse_gc.py"]
    assert stages_run(make(work, "-n", "-W", "stages/parse_payouts.py")) == ["parse_payouts.py"]
    # A bank reader is part of the library, like recon/*.py: every parser reads it again.
    assert stages_run(make(work, "-n", "-W", "stages/recon/banks/shine.py")) == [
        "parse_gc.py", "parse_payouts.py", "parse_shine.py"]
    # Another download beside the others: both GoCardless parsers read the folder again.
    shutil.copy(lazy_shared_datadir / "formats/gocardless_payments.csv",
                work / "raw" / "gocardless" / "payments_index-export-EX0002.csv")
    later = time.time() + 3600  # newer than every output, without waiting
    os.utime(work / "raw" / "gocardless", (later, later))
    assert stages_run(make(work, "-n")) == ["parse_gc.py", "parse_payouts.py"]


def test_a_new_shine_export_reruns_only_parse_shine(work):
    assert make(work).returncode == 0
    before = mtimes(work)
    shine = work / "raw" / EXPORTS["shine.csv"]
    later = time.time() + 3600  # a touched file, content unchanged: nothing to redo
    os.utime(shine, (later, later))
    assert make(work, "-q").returncode == 0
    shutil.copy(shine, shine.with_name("BQ_2026-01-15_2026-02-06.csv"))  # another download
    assert make(work, "-q").returncode == 1
    assert stages_run(make(work, "-n")) == ["parse_shine.py"]
    rerun = make(work)
    assert rerun.returncode == 0 and stages_run(rerun) == ["parse_shine.py"]
    after = mtimes(work)
    assert [n for n in PARSED if after[n] != before[n]] == ["bank.parquet"]


def test_an_export_replaced_by_an_older_dated_copy_reruns_its_parser(work, lazy_shared_datadir):
    """cp -p, unzip, rsync -a: the new content carries an old date; Make must still see it."""
    assert make(work).returncode == 0
    shine = work / "raw" / EXPORTS["shine.csv"]
    edited = shine.read_bytes().replace("Abonnement Shine".encode(), "Cotisation Shine".encode(), 1)
    assert edited != shine.read_bytes()
    old = 1_600_000_000
    shine.write_bytes(edited)
    os.utime(shine, (old, old))
    assert stages_run(make(work, "-n")) == ["parse_shine.py"]
    assert make(work).returncode == 0
    assert make(work, "-q").returncode == 0


def test_a_deleted_export_reruns_its_parser(work):
    assert make(work).returncode == 0
    (work / "raw" / EXPORTS["gocardless_payout_transactions.csv"]).unlink()
    old = 1_600_000_000
    os.utime(work / "raw" / "gocardless", (old, old))
    assert stages_run(make(work, "-n")) == ["parse_gc.py", "parse_payouts.py"]


def test_a_failing_parser_leaves_no_output(work, lazy_shared_datadir):
    shutil.copy(lazy_shared_datadir / "parse/shine_truncated.csv",
                work / "raw" / "shine" / "BQ_2026-02-01_2026-02-06.csv")
    proc = make(work, "-k")
    assert proc.returncode != 0
    assert "error: " in proc.stderr and "malformed CSV record" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (work / "interim" / "bank.parquet").exists()
    assert (work / "interim" / "gc_payments.parquet").exists()  # the others still built
