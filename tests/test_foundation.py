"""The shared library every stage leans on: errors, atomic writes, schema contracts, config."""
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from recon import config
from recon.errors import InputError
from recon.io import read_parquet, scan_parquet, write_parquet
from recon.schemas import GC_PAYOUTS


def test_input_error_names_file_line_column_value_and_expectation():
    err = InputError("unparseable amount", file="x.csv", line=7, column="amount",
                     value="12,3.4", expected="a decimal like 120.00")
    assert str(err) == ("x.csv, line 7, column 'amount': unparseable amount; "
                        "found '12,3.4'; expected a decimal like 120.00.")


def test_write_parquet_checks_the_schema_and_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "payouts.parquet"
    bad = pl.DataFrame({"payout_id": ["PO1"]})
    with pytest.raises(InputError, match="missing column"):
        write_parquet(bad, out, GC_PAYOUTS)
    assert list(tmp_path.iterdir()) == []


def test_write_then_read_keeps_declared_types(tmp_path):
    out = tmp_path / "payouts.parquet"
    empty = pl.DataFrame(schema=GC_PAYOUTS)
    write_parquet(empty, out, GC_PAYOUTS)
    assert read_parquet(out, GC_PAYOUTS).schema == pl.Schema(GC_PAYOUTS)


def test_read_parquet_of_a_missing_file_says_which(tmp_path):
    with pytest.raises(InputError, match="nothing.parquet: file not found"):
        read_parquet(tmp_path / "nothing.parquet")


def test_scan_parquet_checks_like_read_parquet(tmp_path):
    with pytest.raises(InputError, match="nothing.parquet: file not found"):
        scan_parquet(tmp_path / "nothing.parquet", GC_PAYOUTS)
    out = tmp_path / "payouts.parquet"
    pl.DataFrame({"payout_id": ["PO1"]}).write_parquet(out)
    with pytest.raises(InputError, match="payouts.parquet: missing column"):
        scan_parquet(out, GC_PAYOUTS)
    pl.DataFrame(schema={**GC_PAYOUTS, "amount_cents": pl.String}).write_parquet(out)
    with pytest.raises(InputError, match="amount_cents: String \\(expected Int64\\)"):
        scan_parquet(out, GC_PAYOUTS)
    write_parquet(pl.DataFrame(schema=GC_PAYOUTS), out, GC_PAYOUTS)
    assert scan_parquet(out, GC_PAYOUTS).collect().schema == pl.Schema(GC_PAYOUTS)


def test_config_environment_overrides_and_bad_values(monkeypatch):
    monkeypatch.setenv("RECONCILIATION_DATE_TOLERANCE", "3")
    assert config.load()["matching"]["date_tolerance_days"] == 3
    monkeypatch.setenv("RECONCILIATION_DATE_TOLERANCE", "three")
    with pytest.raises(InputError, match="RECONCILIATION_DATE_TOLERANCE must be a whole number"):
        config.load()


def test_run_turns_expected_errors_into_exit_2_without_traceback(tmp_path):
    script = tmp_path / "stage.py"
    script.write_text(
        "from recon.errors import InputError, run\n"
        "def main():\n    raise InputError('bad', file='f.csv', line=2)\n"
        "run(main)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "stages")}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr == "error: f.csv, line 2: bad.\n"
