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
        "  skip  clearing mode off (fix.clearing_account_id not set)",
        "Verdict: 8 check(s) passed, 2 skipped.",
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


# --- clearing mode -----------------------------------------------------------------------------

CLERK_KEY = "clerk-key-0123456789"


@pytest.fixture
def bank_dolibarr(tmp_path, monkeypatch):
    """The demo Dolibarr with the lab's accounts: 1 SHINE, 2 GOCARDLESS, 4 and 5 scratch,
    6 a cash box; plus a bank clerk who may not configure bank accounts."""
    import json
    import shutil

    from emulator import DolibarrEmulator
    from emulator.bank import ALL_CUSTOMERS, INVOICE_CREATE, MODIFY, READ
    data = tmp_path / "dolibarr"
    shutil.copytree(ROOT / "demo" / "dolibarr", data)
    accounts = json.loads((ROOT / "tests/data/emulator/bank_lab/bankaccounts.json").read_text())
    accounts[2]["currency_code"] = "USD"  # scratch account 4 in dollars
    assert accounts[2]["id"] == "4"
    (data / "bankaccounts.json").write_text(json.dumps(accounts))
    users = {CLERK_KEY: {"login": "bankclerk",
                         "rights": [READ, MODIFY, "banque.transfer", INVOICE_CREATE, ALL_CUSTOMERS]}}
    with DolibarrEmulator(data, api_key=KEY, users=users) as emulator:
        emulator.wrong_key_delay = 0
        monkeypatch.setenv("DOLIBARR_URL", emulator.url)
        monkeypatch.setenv("DOLIBARR_API_KEY", KEY)
        for name in ("DOLIBARR_WRITE_API_KEY", "DOLIBARR_GC_PAYMENT_ID", "DOLIBARR_BANK_ACCOUNT_ID",
                     "DOLIBARR_CLEARING_ACCOUNT_ID"):
            monkeypatch.delenv(name, raising=False)
        yield emulator


def test_clearing_account_and_transfer_right_pass(bank_dolibarr, config, monkeypatch):
    monkeypatch.setenv("DOLIBARR_CLEARING_ACCOUNT_ID", "2")
    status, lines = check(config)
    assert status == 0, lines
    assert lines[-3:] == [
        "  ok    clearing account id 2 = GOCARDLESS, GoCardless (current account, EUR)",
        "  ok    the key make fix uses may create transfers (bank accounts: configure)",
        "Verdict: 10 check(s) passed, 1 skipped.",
    ]
    assert not [r for r in bank_dolibarr.bank_lines(2) if r["label"] == "make check rights probe"]


@pytest.mark.parametrize("account, problem", [
    ("9", "clearing account id 9 (config fix.clearing_account_id or DOLIBARR_CLEARING_ACCOUNT_ID) does "
          "not exist in Dolibarr (accounts: 1 SHINE, 2 GOCARDLESS, 4 SCRATCH, 5 SCRATCH, 6 CASH)"),
    ("6", "clearing account id 6 (config fix.clearing_account_id or DOLIBARR_CLEARING_ACCOUNT_ID), CASH, "
          "is a cash account; make it a current account (type 1)"),
    ("4", "clearing account id 4 (config fix.clearing_account_id or DOLIBARR_CLEARING_ACCOUNT_ID), SCRATCH, "
          "is in USD, the bank account SHINE in EUR: they must share a currency"),
])
def test_a_clearing_account_that_cannot_serve_fails_with_why(bank_dolibarr, config, monkeypatch,
                                                            account, problem):
    monkeypatch.setenv("DOLIBARR_CLEARING_ACCOUNT_ID", account)
    status, lines = check(config)
    assert status == 1
    assert f"  FAIL  {problem}" in lines


def test_a_write_key_without_the_configure_right_is_told_which_right(bank_dolibarr, config, monkeypatch):
    monkeypatch.setenv("DOLIBARR_CLEARING_ACCOUNT_ID", "2")
    monkeypatch.setenv("DOLIBARR_WRITE_API_KEY", CLERK_KEY)
    status, lines = check(config)
    assert status == 1
    assert ("  FAIL  the key make fix uses may not create transfers: give its user the right Banks and "
            "cash > Configure bank accounts (banque configurer), which Dolibarr's transfer endpoint "
            "asks for; 'Transfer between accounts' is not enough") in lines
    assert not any(CLERK_KEY in line for line in lines)
