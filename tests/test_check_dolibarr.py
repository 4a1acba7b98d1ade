"""`make check` against the emulator: one verdict per line, exit status 0 only if all pass,
and never a key in the output."""
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import check_dolibarr

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-key"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("dolibarr:\n  retries: 1\n  retry_backoff_seconds: 0.001\n"
                    "fix:\n  payment_type_id: 3\n  bank_account_id: 1\n")
    return path


@pytest.fixture
def env(monkeypatch, dolibarr):
    for name in ("DOLIBARR_WRITE_API_KEY", "DOLIBARR_GC_PAYMENT_ID",
                 "DOLIBARR_BANK_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOLIBARR_URL", dolibarr.url)
    monkeypatch.setenv("DOLIBARR_API_KEY", KEY)
    dolibarr.wrong_key_delay = 0
    return monkeypatch


def check(config):
    out = io.StringIO()
    status = check_dolibarr.main(["--config", str(config)], out=out)
    return status, out.getvalue().splitlines()


def test_everything_passes(env, dolibarr, config):
    status, lines = check(config)
    assert status == 0
    assert lines == [
        f"Dolibarr at {dolibarr.url} (DOLIBARR_URL), key DOLIBARR_API_KEY:",
        "  ok    reachable: the Dolibarr API answers",
        "  ok    version 23.0.0-beta",
        "  ok    server timezone UTC (invoice dates are midnight there)",
        "  ok    read key DOLIBARR_API_KEY belongs to user 'admin' (id 1, an administrator)",
        "  ok    can read invoices",
        "  ok    can read third parties",
        "  skip  DOLIBARR_WRITE_API_KEY is not set: make fix would write with DOLIBARR_API_KEY",
        "  ok    payment type id 3 = PRE, Direct Debit",
        "  ok    bank account id 1 = SHINE, Shine compte courant",
        "Verdict: all 9 checks passed.",
    ]


def test_write_key_and_ids_from_the_environment(env, config):
    env.setenv("DOLIBARR_WRITE_API_KEY", KEY)
    env.setenv("DOLIBARR_GC_PAYMENT_ID", "51")  # TRA: exists but inactive by default
    env.setenv("DOLIBARR_BANK_ACCOUNT_ID", "7")
    status, lines = check(config)
    assert status == 1
    assert "  ok    write key DOLIBARR_WRITE_API_KEY belongs to user 'admin' (id 1, an " \
           "administrator)" in lines
    assert "  FAIL  payment type id 51 (fix.payment_type_id or DOLIBARR_GC_PAYMENT_ID) is not " \
           "among the active ones (6 = CB, Credit card; 7 = CHQ, Cheque; 4 = LIQ, Cash; " \
           "3 = PRE, Direct Debit; 2 = VIR, Credit Transfer)" in lines
    assert "  FAIL  bank account id 7 (fix.bank_account_id or DOLIBARR_BANK_ACCOUNT_ID) is not " \
           "among the existing ones (1 = SHINE, Shine compte courant)" in lines
    assert lines[-1].startswith("Verdict: 2 check(s) FAILED")


def test_a_wrong_write_key_fails_its_line(env, config):
    env.setenv("DOLIBARR_WRITE_API_KEY", "wrong-write-key-123")
    status, lines = check(config)
    assert status == 1
    failed = [line for line in lines if line.startswith("  FAIL")]
    assert len(failed) == 1 and "Set DOLIBARR_WRITE_API_KEY" in failed[0]
    assert not any("wrong-write-key-123" in line for line in lines)


def test_a_wrong_read_key_stops_after_reachability(env, config):
    env.setenv("DOLIBARR_API_KEY", "wrong-read-key-456")
    status, lines = check(config)
    assert status == 1
    assert lines[1:3] == ["  ok    reachable: the Dolibarr API answers",
                          "  FAIL  read key: Dolibarr refused the API key (Unauthorized: Error "
                          "user not valid (not found with api key or bad status or bad validity "
                          "dates) (conf->entity=1)). Set DOLIBARR_API_KEY to the API key of an "
                          "active Dolibarr user (environment or .env)"]
    assert len(lines) == 4


def test_unreachable_and_wrong_base_url(env, dolibarr, config):
    env.setenv("DOLIBARR_URL", "http://127.0.0.1:9")
    status, lines = check(config)
    assert status == 1
    assert lines[1] == ("  FAIL  reachable: cannot reach Dolibarr at http://127.0.0.1:9 "
                        "(connection refused after 1 retries): check DOLIBARR_URL and that the "
                        "server is up")
    env.setenv("DOLIBARR_URL", dolibarr.url + "/dolibarr")
    status, lines = check(config)
    assert status == 1 and "wrong base URL?" in lines[1]


def test_missing_url_as_a_command(dolibarr, config):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLIBARR")}
    result = subprocess.run([sys.executable, str(ROOT / "stages" / "check_dolibarr.py"),
                             "--config", str(config)], capture_output=True, text=True,
                            env=env, cwd=ROOT)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "  FAIL  DOLIBARR_URL is not set: set it to your Dolibarr's address, e.g. "
        "https://erp.example.com, in the environment or in .env (see .env.example)")
