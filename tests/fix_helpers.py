"""What the `make fix` tests share: pass-1 rows, the emulator's environment, a run of fix."""
import io
import json
import sys
from datetime import date
from pathlib import Path

import polars as pl
import yaml

import fix
from recon.errors import StageError
from recon.io import write_parquet
from recon.schemas import PASS1

ROOT = Path(__file__).resolve().parents[1]

# A key that could not hide inside ordinary text, to prove it leaks nowhere.
KEY = "wk-5f3a9c1e-secret-write-key"


def demo_pass1(data) -> pl.DataFrame:
    return pl.read_csv(data / "fix" / "pass1_demo.csv", schema=PASS1)


def a_row(**changes) -> dict:
    """One GC_PAID_DOLIBARR_OPEN row (P04 on FA2601-0004), with changes."""
    row = dict(flag="GC_PAID_DOLIBARR_OPEN", match_type="ref_exact",
               gc_payment_id="PM000044QD929V", payment_status="paid_out", amount_cents=8990,
               charge_date=date(2026, 1, 9), payout_id="PO000AFYT4CF04",
               customer_name="Jérôme Nguyen", invoice_id=4, invoice_ref="FA2601-0004",
               invoice_customer_name="Nguyen Jérôme", invoice_total_cents=8990,
               invoice_remaining_cents=8990, invoice_date=date(2026, 1, 5), evidence="test")
    return row | changes


def frame(*rows) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=PASS1)


class FakeStdin(io.StringIO):
    def __init__(self, text, tty):
        super().__init__(text)
        self.tty = tty

    def isatty(self):
        return self.tty


def use_emulator(monkeypatch, emulator, key=KEY):
    monkeypatch.setenv("DOLIBARR_URL", emulator.url)
    monkeypatch.setenv("DOLIBARR_WRITE_API_KEY", key)
    for name in ("DOLIBARR_API_KEY", "DOLIBARR_GC_PAYMENT_ID", "DOLIBARR_BANK_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)


def write_config(tmp_path, **fix_settings) -> Path:
    """config.yaml with no retry backoff (tests wait for nothing) and fix settings changed."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["dolibarr"]["retry_backoff_seconds"] = 0
    config["fix"].update(fix_settings)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_fix(tmp_path, pass1, confirm="yes", config=None, stdin=None, extra=()) -> int:
    """fix.py's main in-process, exit status as recon.errors.run would give it."""
    path = tmp_path / "interim" / "pass1.parquet"
    write_parquet(pass1, path, PASS1)
    argv = ["--pass1", str(path), "--config", str(config or write_config(tmp_path)),
            "--journal", str(tmp_path / "tmp" / "fix_journal.jsonl"),
            "--written-stamp", str(tmp_path / "tmp" / "dolibarr_written.stamp")]
    argv += list(extra)
    if confirm is not None:
        argv += ["--confirm", confirm]
    try:
        return fix.main(argv, stdin=stdin or FakeStdin("", tty=False))
    except StageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def journal_lines(tmp_path) -> list[dict]:
    path = tmp_path / "tmp" / "fix_journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def posts(emulator) -> list[str]:
    return [path for method, path, _ in emulator.requests if method == "POST"]
