"""Clearing mode against the emulator: a month of the demo booked through a GoCardless account.

The demo's exports go through the real parsers and pass 3 (its fee accounting gives HT, TVA
and the deductions of each payout). The demo Dolibarr gets a clearing account
(id 2, GOCARDLESS) holding the payments it already has, as after a switch to clearing mode.
"""
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import requests

import fix
import parse_gc
import parse_payouts
import parse_shine
import pass3 as pass3_stage
import payout_bookings
from emulator import DolibarrEmulator
from recon.dolibarr import WriteOutcomeUnknown
from recon.fix_settings import FixSettings
from recon.io import write_parquet
from recon.journal import Journal
from recon.payout_booking import PASS3_BOOKING, noon_utc, plan_bookings
from recon.payout_writes import posting
from recon.schemas import GC_PAYMENTS, GC_PAYOUT_ITEMS, PASS1

from fix_helpers import KEY, ROOT, demo_pass1, journal_lines, run_fix, use_emulator, write_config

FROM, TO = "2026-01-01", "2026-02-09"
CLEARING, BANK = 2, 1
SETTINGS = FixSettings(False, False, 3, BANK, clearing_account_id=CLEARING)
# The demo's four payouts that reached the bank; PO_E is still on its way.
PO_A, PO_B, PO_C, PO_D = "PO000AFYT4CF04", "PO000BS9HYBRA6", "PO000CDVT36XWH", "PO000D7Z66HQGG"


@pytest.fixture(scope="module")
def interim(tmp_path_factory):
    """The demo's payments, payout items and pass 3 (with the fee split) as Parquet."""
    out = tmp_path_factory.mktemp("interim")
    gc, raw = str(ROOT / "demo" / "raw" / "gocardless"), ROOT / "demo" / "raw"
    assert parse_gc.main(["--input-dir", gc, "--out", str(out / "gc_payments.parquet")]) in (0, None)
    assert parse_payouts.main(["--input-dir", gc, "--out", str(out / "gc_payouts.parquet"),
                               "--items-out", str(out / "gc_payout_items.parquet")]) in (0, None)
    assert parse_shine.main(["--input-dir", str(raw / "shine"), "--config", str(ROOT / "config.yaml"),
                             "--out", str(out / "bank.parquet")]) in (0, None)
    assert pass3_stage.main(["--payouts", str(out / "gc_payouts.parquet"), "--payout-items",
                             str(out / "gc_payout_items.parquet"), "--payments",
                             str(out / "gc_payments.parquet"), "--bank", str(out / "bank.parquet"),
                             "--from", FROM, "--to", TO, "--config", str(ROOT / "config.yaml"),
                             "--out", str(out / "pass3.parquet")]) in (0, None)
    return out


# Payments of PO_A, PO_C and PO_D that no invoice proves (a deposit, two AMBIGUOUS, an
# instalment, an AMOUNT_MISMATCH): a person recorded them by hand on the clearing account.
BY_HAND = {"PM0000591XP4DD": "500.00", "PM000132YX8FW3": "150.00", "PM00015N02DPC9": "125.00",
           "PM00017MTGSR0D": "300.00", "PM000206R70140": "205.00"}


def clearing_dataset(folder: Path, elsewhere: set[str] = frozenset()) -> Path:
    """The demo Dolibarr with SHINE (1) and GOCARDLESS (2); its payments, and those of BY_HAND,
    on GOCARDLESS, or on SHINE for the GoCardless ids in `elsewhere`."""
    shutil.copytree(ROOT / "demo" / "dolibarr", folder)
    accounts = json.loads((ROOT / "tests/data/emulator/bank_lab/bankaccounts.json").read_text())[:2]
    (folder / "bankaccounts.json").write_text(json.dumps(accounts))
    invoices = {i["id"]: i for i in json.loads((folder / "invoices.json").read_text())}
    lines = {}
    for invoice_id, payments in json.loads((folder / "payments.json").read_text()).items():
        for p in payments:
            line = lines.setdefault(p["fk_bank_line"], {
                "id": p["fk_bank_line"], "fk_account": str(BANK if p["num"] in elsewhere else CLEARING),
                "dateo": noon_utc_day(p["date"][:10]), "amount": "0", "fk_type": p["type"],
                "num_chq": p["num"], "label": "(CustomerInvoicePayment)", "rappro": 0})
            line["amount"] = str(float(line["amount"]) + float(p["amount"]))
            assert invoices[invoice_id]  # every payment belongs to a demo invoice
    for number, (gc_id, amount) in enumerate(BY_HAND.items(), start=100):
        lines[str(number)] = {"id": str(number), "fk_account": str(CLEARING), "dateo": noon_utc_day("2026-01-30"),
                              "amount": amount, "fk_type": "PRE", "num_chq": gc_id,
                              "label": "(CustomerInvoicePayment)", "rappro": 0}
    (folder / "banklines.json").write_text(json.dumps(list(lines.values())))
    return folder


def noon_utc_day(day: str) -> int:
    from datetime import date
    return noon_utc(date.fromisoformat(day)) - 43200


@pytest.fixture
def clearing_emu(tmp_path, monkeypatch):
    emulator = DolibarrEmulator(clearing_dataset(tmp_path / "dolibarr"), api_key=KEY)
    emulator.start()
    use_emulator(monkeypatch, emulator)
    monkeypatch.delenv("DOLIBARR_CLEARING_ACCOUNT_ID", raising=False)
    yield emulator
    emulator.stop()


def run_clearing(tmp_path, interim, data, confirm="yes"):
    extra = ["--pass3", str(interim / "pass3.parquet"), "--payments",
             str(interim / "gc_payments.parquet"), "--payout-items", str(interim / "gc_payout_items.parquet")]
    return run_fix(tmp_path, demo_pass1(data), confirm=confirm, extra=extra,
                   config=write_config(tmp_path, clearing_account_id=CLEARING))


def booked_lines(emulator, account_id):
    return [(l["label"], l["amount"], l["dateo"]) for l in emulator.bank_lines(account_id)
            if l["fk_type"] != "SOLD" and l["label"] != "(CustomerInvoicePayment)"]


def bookings(interim):
    return {b.payout_id: b for b in plan_bookings(
        pl.read_parquet(interim / "pass3.parquet").select(list(PASS3_BOOKING)),
        pl.read_parquet(interim / "gc_payments.parquet").select(list(GC_PAYMENTS)),
        pl.read_parquet(interim / "gc_payout_items.parquet").select(list(GC_PAYOUT_ITEMS)))}


def test_a_month_in_clearing_mode(tmp_path, interim, data, clearing_emu, capsys):
    assert run_clearing(tmp_path, interim, data) == 0
    out = capsys.readouterr().out
    # payments recorded on the clearing account
    paid = [l for l in clearing_emu.bank_lines(CLEARING) if l["label"] == "(CustomerInvoicePayment)"]
    assert {"PM000044QD929V", "PM00022GFPMR9N"} <= {l["num_chq"] for l in paid}
    assert not [l for l in clearing_emu.bank_lines(BANK) if l["label"] == "(CustomerInvoicePayment)"]
    # PO_A, PO_C and PO_D carry only recorded payments: booked, each dated its bank line's day
    mar = 1768348800  # 2026-01-14, midnight UTC
    assert booked_lines(clearing_emu, BANK) == [
        (f"GoCardless payout {PO_A}", "2291.47000000", mar),
        (f"GoCardless payout {PO_C}", "1090.38000000", 1769644800),
        (f"GoCardless payout {PO_D}", "1281.83000000", 1770163200),
    ]
    assert booked_lines(clearing_emu, CLEARING) == [
        (f"GoCardless payout {PO_A}", "-2291.47000000", mar),
        (f"GoCardless fees {PO_A} (HT 14.19, TVA 2.84)", "-17.03000000", mar),
        (f"GoCardless payout {PO_C}", "-1090.38000000", 1769644800),
        (f"GoCardless fees {PO_C} (HT 10.43, TVA 2.09)", "-12.52000000", 1769644800),
        (f"GoCardless payout {PO_D}", "-1281.83000000", 1770163200),
        (f"GoCardless fees {PO_D} (HT 14.14, TVA 2.83)", "-16.97000000", 1770163200),
        ("GoCardless chargeback PM00009WPREQ8J in payout PO000D7Z66HQGG", "-780.00000000", 1770163200),
        ("GoCardless fees given back on PM00009WPREQ8J in payout PO000D7Z66HQGG", "4.80000000", 1770163200),
        ("GoCardless refund PM00021F9WF30C in payout PO000D7Z66HQGG", "-100.00000000", 1770163200),
    ]
    assert f"left     payout {PO_B:<16} for a person: 2 of its 5 payments" in out  # one of its payments is a soft match, not recorded
    # the clearing account holds what GoCardless still holds: the payments of payouts not booked
    # (PO_B, PO_E) and of those not yet paid out
    recorded = {l["num_chq"] for l in paid}
    payments = pl.read_parquet(interim / "gc_payments.parquet")
    not_arrived = payments.filter(pl.col("gc_payment_id").is_in(list(recorded))
                                  & ~pl.col("payout_id").is_in([PO_A, PO_C, PO_D]).fill_null(False))
    assert clearing_emu.balance_cents(CLEARING) == not_arrived["amount_cents"].sum()
    # ...which the plan announced before asking
    assert f", {clearing_emu.balance_cents(CLEARING) / 100:.2f} after." in out

    # a rerun posts nothing
    posted = len([r for r in clearing_emu.requests if r[0] == "POST"])
    assert run_clearing(tmp_path, interim, data) == 0
    assert len([r for r in clearing_emu.requests if r[0] == "POST"]) == posted
    after = clearing_emu.balance_cents(CLEARING) / 100
    out = capsys.readouterr().out
    assert f"Clearing account balance: {after:.2f} now, payments +0.00, payouts 0.00, {after:.2f} after." in out
    assert ("Recorded 0 (0.00), skipped 7, failed 0, outcome unknown 0. Payouts: 3 booked "
            "(0 line(s) posted now), 1 left for a person, 0 stopped.") in out


def test_a_payment_recorded_on_the_bank_account_leaves_its_payout_to_a_person(
        tmp_path, interim, data, monkeypatch, capsys):
    emulator = DolibarrEmulator(clearing_dataset(tmp_path / "dolibarr", elsewhere={"PM00001D9EN5ZD"}),
                                api_key=KEY)
    with emulator:
        use_emulator(monkeypatch, emulator)
        assert run_clearing(tmp_path, interim, data) == 0
        out = capsys.readouterr().out
        assert (f"left     payout {PO_A:<16} for a person: 1 of its 5 payments are not on the clearing "
                f"account: PM00001D9EN5ZD on bank account {BANK}") in out
        assert not [l for l in booked_lines(emulator, CLEARING) if PO_A in l[0]]


def test_the_plan_shows_each_booking_and_the_balance_before_and_after(tmp_path, interim, data,
                                                                      clearing_emu, capsys):
    assert run_clearing(tmp_path, interim, data, confirm="no") == 0
    out = capsys.readouterr().out
    assert f"  payout {PO_A:<16} bank line 2026-01-14 net {'2291.47':>10}  to book" in out
    assert f"      fees      {'-17.03':>10}  GoCardless fees {PO_A} (HT 14.19, TVA 2.84)" in out
    assert f"      deduction {'-780.00':>10}  GoCardless chargeback PM00009WPREQ8J in payout {PO_D}" in out
    before = clearing_emu.balance_cents(CLEARING)
    assert f"Clearing account balance: {before / 100:.2f} now, payments +2256.70" in out
    assert not [r for r in clearing_emu.requests if r[0] == "POST"]


def test_killed_between_the_transfer_and_its_journal_line_the_rerun_posts_no_second_transfer(
        tmp_path, interim, data, clearing_emu, capsys):
    booking = bookings(interim)[PO_A]
    journal = Journal(tmp_path / "tmp" / "fix_journal.jsonl")
    transfer = booking.lines[0]
    journal.intent(booking="transfer", payout_id=PO_A, label=transfer.label,
                   amount_cents=transfer.clearing_cents, endpoint="/bankaccounts/transfer")
    path, body = posting(SETTINGS, booking, transfer)
    requests.post(clearing_emu.url + "/api/index.php" + path, json=body, headers={"DOLAPIKEY": KEY},
                  timeout=10).raise_for_status()  # ...and the process died before the result line

    assert run_clearing(tmp_path, interim, data) == 0
    out = capsys.readouterr().out
    assert f"earlier attempt 'GoCardless payout {PO_A}': found in Dolibarr" in out
    transfers = [l for l in booked_lines(clearing_emu, CLEARING) if l[0] == f"GoCardless payout {PO_A}"]
    assert transfers == [(f"GoCardless payout {PO_A}", "-2291.47000000", 1768348800)]
    assert [l[0] for l in booked_lines(clearing_emu, CLEARING) if PO_A in l[0]] == [
        f"GoCardless payout {PO_A}", f"GoCardless fees {PO_A} (HT 14.19, TVA 2.84)"]
    assert Journal(tmp_path / "tmp" / "fix_journal.jsonl").unresolved() == []


def test_a_transfer_whose_amount_differs_from_the_plan_stops_that_payout(
        tmp_path, interim, data, clearing_emu, capsys):
    booking = bookings(interim)[PO_C]
    path, body = posting(SETTINGS, booking, booking.lines[0])
    requests.post(clearing_emu.url + "/api/index.php" + path, json={**body, "amount": "1000.00"},
                  headers={"DOLAPIKEY": KEY}, timeout=10).raise_for_status()  # booked by hand, wrong

    assert run_clearing(tmp_path, interim, data) == 1
    out = capsys.readouterr().out
    assert (f"STOPPED  payout {PO_C:<16} the transfer line 'GoCardless payout {PO_C}'") in out
    assert "is -1000.00 in Dolibarr, the plan says -1090.38" in out
    assert [l[0] for l in booked_lines(clearing_emu, CLEARING) if PO_C in l[0]] == [
        f"GoCardless payout {PO_C}"]  # nothing more for it
    assert [l[0] for l in booked_lines(clearing_emu, CLEARING) if PO_A in l[0]] == [
        f"GoCardless payout {PO_A}", f"GoCardless fees {PO_A} (HT 14.19, TVA 2.84)"]  # the others go on
    assert [r for r in journal_lines(tmp_path) if r.get("booking") and r.get("payout_id") == PO_C] == []


def bookings_report(tmp_path, interim, data, capsys):
    """stages/payout_bookings.py as make report runs it: its lines and its CSV."""
    pass1 = tmp_path / "pass1.parquet"
    write_parquet(demo_pass1(data), pass1, PASS1)
    out = tmp_path / "tmp" / "payout_bookings.csv"
    assert payout_bookings.main([
        "--pass1", str(pass1), "--pass3", str(interim / "pass3.parquet"), "--payments",
        str(interim / "gc_payments.parquet"), "--payout-items", str(interim / "gc_payout_items.parquet"),
        "--config", str(write_config(tmp_path, clearing_account_id=CLEARING)), "--out", str(out)]) == 0
    return capsys.readouterr().out.splitlines(), pl.read_csv(out)


def test_the_report_says_per_payout_whether_it_is_booked(tmp_path, interim, data, clearing_emu, capsys,
                                                         monkeypatch):
    monkeypatch.setenv("DOLIBARR_API_KEY", KEY)  # the report reads with the read key
    lines, table = bookings_report(tmp_path, interim, data, capsys)
    assert lines[0] == ("Payouts in Dolibarr (clearing account 2): 1 left for a person, 3 to book.")
    assert lines[1] == (f"  {PO_A:<16} 2026-01-14    2291.47  to book: make fix would post transfer "
                        "-2291.47; fees -17.03")
    assert table["booked_in_dolibarr"].to_list() == ["to book", "left for a person", "to book", "to book"]
    assert not [r for r in clearing_emu.requests if r[0] == "POST"]  # reading only

    assert run_clearing(tmp_path, interim, data) == 0
    capsys.readouterr()
    lines, table = bookings_report(tmp_path, interim, data, capsys)
    assert lines[0] == "Payouts in Dolibarr (clearing account 2): 3 booked, 1 left for a person."
    assert table.filter(pl.col("payout_id") == PO_B)["why"].to_list() == [
        "2 of its 5 payments are not on the clearing account: PM00012J9FQK87 on neither account, "
        "PM00016JYG207J on neither account"]


class TransferAnswerLost:
    """The real client, except that the first transfer's answer is lost after Dolibarr wrote it."""

    def __init__(self, client):
        self.client, self.lost = client, False

    def __getattr__(self, name):
        return getattr(self.client, name)

    def post(self, path, body):
        answer = self.client.post(path, body)
        if path == "/bankaccounts/transfer" and not self.lost:
            self.lost = True
            raise WriteOutcomeUnknown("the connection was lost after POST /bankaccounts/transfer was sent")
        return answer


def test_a_transfer_whose_answer_is_lost_is_found_by_reading_and_never_posted_again(
        tmp_path, interim, data, clearing_emu, monkeypatch, capsys):
    real = fix.client_from_env
    monkeypatch.setattr(fix, "client_from_env", lambda *a, **k: TransferAnswerLost(real(*a, **k)))
    assert run_clearing(tmp_path, interim, data) == 0
    assert [l[0] for l in booked_lines(clearing_emu, CLEARING) if PO_A in l[0]] == [
        f"GoCardless payout {PO_A}", f"GoCardless fees {PO_A} (HT 14.19, TVA 2.84)"]
    first = next(r["attempt"] for r in journal_lines(tmp_path) if r.get("booking") == "transfer")
    assert [r.get("outcome") for r in journal_lines(tmp_path) if r["attempt"] == first] == [
        None, "unknown", "found on re-read"]
    assert Journal(tmp_path / "tmp" / "fix_journal.jsonl").unresolved() == []


def test_make_report_sees_a_clearing_account_set_only_in_dotenv(tmp_path, clearing_emu):
    """.env is read by the stages, not by Make: the report must still run its check."""
    from test_pipeline_e2e import make
    shutil.copytree(ROOT / "demo" / "raw", tmp_path / "raw")
    env_file = tmp_path / "site.env"
    env_file.write_text(f"DOLIBARR_CLEARING_ACCOUNT_ID={CLEARING}\nDOLIBARR_API_KEY={KEY}\n")
    # The helper's key is not this emulator's: an empty one on the command line lets .env's in.
    proc = make(tmp_path, clearing_emu, "report", f"ENV_FILE={env_file}", "DOLIBARR_API_KEY=")
    assert f"Payouts in Dolibarr (clearing account {CLEARING}): " in proc.stdout
    assert (tmp_path / "tmp" / "payout_bookings_2026-01-01_2026-02-09.csv").exists()
