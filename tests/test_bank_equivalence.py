"""Acceptance (issue 13): one month's payouts are matched identically whichever bank
format carries the same bank lines. The demo's Shine lines (demo/raw/shine) are written
as Qonto, Wise, OFX 1.x and 2.x and camt.053 .02 and .08 exports (bench/bank_formats.py),
each read by parse_shine, and pass 3 runs on the demo's GoCardless exports for the demo
window: flags, payout ids, dates, cents and days agree with the Shine run; only the bank
ids (and the labels built from them) may differ."""
import shutil
from pathlib import Path

import polars as pl
import pytest

import parse_gc
import parse_payouts
import parse_shine
import pass3
from bench import bank_formats
from recon.io import read_parquet
from recon.schemas import PASS3

REPO = Path(__file__).resolve().parents[1]
WINDOW = ["--from", "2026-01-01", "--to", "2026-02-09"]
CONFIG = str(REPO / "config.yaml")
# Where the formats may differ: the bank's own id, the label as each format composes it.
FORMAT_SPECIFIC = ["bank_transaction_id", "bank_label", "evidence"]


@pytest.fixture(scope="module")
def gocardless(tmp_path_factory):
    root = tmp_path_factory.mktemp("gc")
    shutil.copytree(REPO / "demo" / "raw" / "gocardless", root / "gocardless")
    out = {name: str(root / f"{name}.parquet") for name in ("payments", "payouts", "items")}
    parse_gc.main(["--input-dir", str(root / "gocardless"), "--out", out["payments"]])
    parse_payouts.main(["--input-dir", str(root / "gocardless"), "--out", out["payouts"],
                        "--items-out", out["items"]])
    return out


def pass3_on(folder: Path, gocardless: dict) -> pl.DataFrame:
    bank, out = folder.parent / f"{folder.name}.parquet", folder.parent / f"{folder.name}_p3.parquet"
    parse_shine.main(["--input-dir", str(folder), "--config", CONFIG, "--out", str(bank)])
    pass3.main(["--payouts", gocardless["payouts"], "--payout-items", gocardless["items"],
                "--payments", gocardless["payments"], "--bank", str(bank), *WINDOW,
                "--config", CONFIG, "--out", str(out)])
    return read_parquet(out, PASS3)


@pytest.fixture(scope="module")
def shine_run(tmp_path_factory, gocardless):
    folder = tmp_path_factory.mktemp("shine") / "shine"
    shutil.copytree(REPO / "demo" / "raw" / "shine", folder)
    return pass3_on(folder, gocardless), parse_shine.parse_bank(folder)


@pytest.mark.parametrize("name", sorted(bank_formats.WRITERS))
def test_pass3_is_the_same_whatever_the_bank_format(name, tmp_path, gocardless, shine_run):
    expected, lines = shine_run
    folder = tmp_path / name
    folder.mkdir()
    bank_formats.WRITERS[name](lines, folder / f"export{bank_formats.SUFFIX[name]}")
    got = pass3_on(folder, gocardless)
    assert got.drop(FORMAT_SPECIFIC).equals(expected.drop(FORMAT_SPECIFIC))
    # Not vacuous: the demo month links payouts to bank lines, by reference and by amount.
    linked = got.filter(pl.col("bank_transaction_id").is_not_null())
    assert linked.height >= 4 and set(got["match_type"]) >= {"reference_in_label", "amount_date"}
    assert got["bank_amount_cents"].drop_nulls().sum() == expected["bank_amount_cents"].drop_nulls().sum()
