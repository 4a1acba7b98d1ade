"""make fix: the plan from pass 1, the live checks, the confirmation, and the whole run
against the Dolibarr emulator on the demo data (GROUND_TRUTH.md fix candidates)."""
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import fix
from recon.errors import InputError
from recon.fix_settings import FixSettings, fix_settings, money, to_cents
from recon.fixplan import Allocation, plan_payments
from recon.io import write_parquet
from recon.payment_posting import find_recorded, invoice_problem, posting_for
from recon.plan_text import render_plan
from recon.schemas import PASS1

from emulated import start_emulator
from fix_helpers import (KEY, FakeStdin, a_row, demo_pass1, frame, journal_lines, posts, run_fix,
                         use_emulator, write_config)

ROOT = Path(__file__).resolve().parents[1]

# GROUND_TRUTH.md: the strong fix candidates, as (invoice ref, GoCardless id, cents).
STRONG = [
    ("FA2601-0004", "PM000044QD929V", 8990),
    ("FA2601-0005", "PM00007X5VPF8J", 54000),
    ("FA2601-0013", "PM00014MEM2EJZ", 7250),
    ("FA2601-0017", "PM00019JR2X5Z9", 4900),
    ("FA2601-0020", "PM00022GFPMR9N", 120000),
    ("FA2602-0001", "PM00024T27KB0Y", 21540),
    ("FA2602-0005", "PM00025YVH5HE2", 8990),
]
SOFT = ("FA2601-0010", "PM00012J9FQK87", 6000)


def planned(plan) -> list[tuple]:
    return [(p.invoice_refs, p.gc_payment_id, p.amount_cents) for p in plan.payments]


# --- the plan ------------------------------------------------------------------------------

def test_the_plan_is_exactly_the_strong_candidates_of_the_ground_truth(data):
    plan = plan_payments(demo_pass1(data), allow_soft=False)
    assert planned(plan) == STRONG
    assert plan.total_cents == 225670
    assert [(x.invoice_ref, x.reason) for x in plan.left_out] == [
        ("FA2601-0010", "soft match (config fix.allow_soft is false)")]


def test_soft_matches_join_the_plan_only_when_config_allows(data):
    plan = plan_payments(demo_pass1(data), allow_soft=True)
    assert sorted(planned(plan)) == sorted(STRONG + [SOFT])
    assert plan.total_cents == 231670 and plan.left_out == []


def test_plan_carries_dates_payouts_and_customers(data):
    p25 = plan_payments(demo_pass1(data)).payments[-1]
    assert (p25.charge_date, p25.payout_id, p25.customer_name) == (
        date(2026, 2, 6), None, "Nguyen Jérôme")
    assert p25.allocations == (Allocation(28, "FA2602-0005", 8990),)


@pytest.mark.parametrize("changes, reason", [
    (dict(payment_status="pending_submission"), "payment status 'pending_submission' is not money received"),
    (dict(match_type="none"), "match type 'none' is not a proven match"),
    (dict(invoice_id=None, invoice_ref="FA2601-0014;FA2601-0015"),
     "no single invoice id (invoices named: FA2601-0014;FA2601-0015); record it by hand"),
    (dict(amount_cents=0), "amount is not positive"),
    (dict(invoice_remaining_cents=5000), "amount exceeds what the invoice had left to pay"),
])
def test_a_doubtful_row_is_left_out_with_its_reason(changes, reason):
    plan = plan_payments(frame(a_row(**changes)))
    assert plan.payments == [] and [x.reason for x in plan.left_out] == [reason]


def test_other_flags_are_never_planned():
    rows = [a_row(flag=flag) for flag in ("MATCHED", "AMBIGUOUS", "AMOUNT_MISMATCH",
                                          "GC_CHARGED_BACK", "GC_PENDING", "GC_PARTIAL")]
    plan = plan_payments(frame(*rows), allow_soft=True)
    assert plan.payments == [] and plan.left_out == []


def test_one_payment_on_two_rows_is_left_out():
    plan = plan_payments(frame(a_row(), a_row(invoice_id=17, invoice_ref="FA2601-0017")))
    assert plan.payments == []
    assert {x.reason for x in plan.left_out} == {
        "the payment appears on several rows of pass 1; record it by hand"}


def p15(invoice_id, ref, remaining, **changes):
    """P15: one 125.00 payment naming FA2601-0014 (95.00) and FA2601-0015 (30.00)."""
    return a_row(match_type="multi_invoice", gc_payment_id="PM00015N02DPC9",
                 amount_cents=12500, charge_date=date(2026, 1, 26), invoice_id=invoice_id,
                 invoice_ref=ref, invoice_remaining_cents=remaining) | changes


def test_a_multi_invoice_payment_is_split_by_the_shares_pass1_gives():
    rows = [p15(14, "FA2601-0014", 10000, share_cents=9500),
            p15(15, "FA2601-0015", 3000, share_cents=3000)]
    [payment] = plan_payments(frame(*rows), allow_multi_invoice=True).payments
    assert payment.allocations == (Allocation(14, "FA2601-0014", 9500),
                                   Allocation(15, "FA2601-0015", 3000))


def test_a_single_invoice_row_whose_share_is_not_the_payment_is_left_out():
    plan = plan_payments(frame(a_row(share_cents=5000)))
    assert [x.reason for x in plan.left_out] == [
        "pass 1 gives the invoice a share of 5000 cents, not the whole payment"]


def test_without_shares_a_multi_invoice_payment_is_split_by_the_open_amounts():
    plan = plan_payments(frame(p15(14, "FA2601-0014", 9500), p15(15, "FA2601-0015", 3000)),
                         allow_multi_invoice=True)
    [payment] = plan.payments
    assert payment.amount_cents == 12500
    assert payment.allocations == (Allocation(14, "FA2601-0014", 9500),
                                   Allocation(15, "FA2601-0015", 3000))


def test_a_multi_invoice_payment_is_left_out_unless_config_allows_it():
    plan = plan_payments(frame(p15(14, "FA2601-0014", 9500), p15(15, "FA2601-0015", 3000)))
    assert plan.payments == []
    assert {x.reason for x in plan.left_out} == {
        "one payment for several invoices (config fix.allow_multi_invoice is false)"}


@pytest.mark.parametrize("rows, reason", [
    ([p15(14, "FA2601-0014", 9500), p15(15, "FA2601-0015", 2500)],
     "the invoices' shares (12000 cents) do not add up to the payment"),
    ([p15(14, "FA2601-0014", 9500), p15(None, "FA2601-0015", 3000)],
     "another invoice of this multi-invoice payment cannot be recorded"),
    ([p15(14, "FA2601-0014;FA2601-0015", 12500)],
     "one row names several invoices (FA2601-0014;FA2601-0015); record it by hand"),
    ([p15(14, "FA2601-0014", 9500), p15(14, "FA2601-0014", 3000)],
     "the multi-invoice payment names the same invoice twice"),
    ([p15(14, "FA2601-0014", 9000, share_cents=9500), p15(15, "FA2601-0015", 3000)],
     "a share of this multi-invoice payment exceeds what its invoice had left"),
])
def test_a_multi_invoice_payment_that_does_not_add_up_is_left_out_whole(rows, reason):
    plan = plan_payments(frame(*rows), allow_multi_invoice=True)
    assert plan.payments == []
    assert reason in {x.reason for x in plan.left_out}


# --- pure pieces of the run ------------------------------------------------------------------

def captured(data, name):
    return json.loads((data / "dolibarr_captured" / f"{name}.json").read_text())


@pytest.mark.parametrize("sample, ref, cents, problem, remaining", [
    ("GET_invoices_id_unpaid", "FA2601-0003", 24000, None, 24000),
    ("GET_invoices_id_partially_paid", "FA2601-0004", 3990, None, 3990),
    ("GET_invoices_id_partially_paid", "FA2601-0004", 2000, None, 3990),
    ("GET_invoices_id_partially_paid", "FA2601-0004", 5000,
     "only 39.90 left to pay, less than 50.00", 3990),
    ("GET_invoices_id_draft", "(PROV1)", 120000,
     "is a draft in Dolibarr now (status 0), not open", 120000),
    ("GET_invoices_id_abandoned", "FA2602-0007", 180000,
     "is abandoned in Dolibarr now (status 3), not open", 180000),
    ("GET_invoices_id_after_full_payment", "FA2601-0001", 120000,
     "is closed in Dolibarr now (status 2), not open", 0),
    ("GET_invoices_id_paid_with_writeoff", "FA2602-0008", 500,
     "is closed in Dolibarr now (status 2), not open", 500),
    ("GET_invoices_id_paid_not_closed", "FA2603-0013", 60000,
     "only 0.00 left to pay, less than 600.00", 0),
    ("GET_invoices_id_creditnote", "AV2602-0001", 20000, "is a credit note", -20000),
    ("GET_invoices_id_unpaid", "FA2601-0099", 24000,
     "invoice id 3 is now 'FA2601-0003', not the planned ref", 24000),
])
def test_live_invoice_checks_on_real_dolibarr_answers(sample, ref, cents,
                                                      problem, remaining, data):
    invoice = captured(data, sample)
    allocation = Allocation(int(invoice["id"]) if ref != "FA2601-0099" else 3, ref, cents)
    assert invoice_problem(invoice, allocation) == (problem, remaining)


def test_an_existing_payment_is_found_by_num_or_ref_ext(data):
    payments = captured(data, "GET_invoices_id_payments_distributed")
    assert find_recorded(payments, "PM01AAAA0005")["ref"] == "PAY2602-0003"
    assert find_recorded([{"num": "", "ref_ext": "pm01aaaa0005 "}], "PM01AAAA0005")
    assert find_recorded(payments, "PM000044QD929V") is None
    assert find_recorded([], "PM01AAAA0005") is None


SETTINGS = FixSettings(allow_soft=False, allow_multi_invoice=False, payment_type_id=3,
                           bank_account_id=1)


def test_the_whole_remainder_goes_through_the_invoice_payment_endpoint(data):
    p04 = plan_payments(demo_pass1(data)).payments[0]
    posting = posting_for(p04, 8990, SETTINGS)
    assert posting.path == "/invoices/4/payments"
    assert posting.body == {
        "datepaye": "2026-01-09 12:00:00", "paymentid": 3, "accountid": 1,
        "closepaidinvoices": "yes", "num_payment": "PM000044QD929V",
        "comment": "GoCardless payment PM000044QD929V, payout PO000AFYT4CF04 "
                   "(recorded by make fix)"}


def test_a_smaller_payment_goes_through_paymentsdistributed_with_its_exact_amount(data):
    p04 = plan_payments(demo_pass1(data)).payments[0]
    posting = posting_for(p04, 10000, SETTINGS)
    assert posting.path == "/invoices/paymentsdistributed"
    assert posting.body["arrayofamounts"] == {"4": {"amount": "89.90",
                                                    "multicurrency_amount": ""}}
    assert posting.body["ref_ext"] == posting.body["num_payment"] == "PM000044QD929V"


@pytest.mark.parametrize("value, cents", [
    ("39.9", 3990), ("1200.00000000", 120000), ("0", 0), ("-200", -20000), (55, 5500),
    (33.34, 3334), (None, None), ("abc", None), ("", None)])
def test_dolibarr_amounts_become_cents(value, cents):
    assert to_cents(value) == cents


def test_money_is_printed_from_cents():
    assert [money(c) for c in (120000, 5, 8990, -20000)] == [
        "1200.00", "0.05", "89.90", "-200.00"]


@pytest.mark.parametrize("flag, text, tty, expected", [
    ("yes", "", False, True),
    ("no", "yes\n", True, False),
    (None, "", False, False),
    (None, "yes\n", True, True),
    (None, "y\n", True, False),
    (None, "YES please\n", True, False),
])
def test_only_a_literal_yes_confirms(flag, text, tty, expected):
    said = []
    assert fix.confirmed(flag, FakeStdin(text, tty), said.append) is expected
    assert bool(said) is not expected  # a refusal always says that nothing was written


def test_the_plan_shows_each_payment_and_the_total(data):
    plan = plan_payments(demo_pass1(data))
    text = render_plan(plan, SETTINGS, [])
    assert text.splitlines()[0] == ("Plan: 7 GoCardless payment(s) to record in Dolibarr, "
                                    "total 2256.70 (strong matches only; fix.allow_soft is "
                                    "false).")
    line = next(x for x in text.splitlines() if "FA2601-0020" in x)
    assert line.split() == ["FA2601-0020", "SCI", "Garnier", "Oeuvres", "1200.00",
                            "PM00022GFPMR9N", "2026-01-29", "PO000D7Z66HQGG"]
    assert text.splitlines()[-3].split() == ["total", "2256.70"]


def test_config_ids_must_be_whole_numbers():
    with pytest.raises(InputError, match="fix.payment_type_id"):
        fix_settings({"fix": {"payment_type_id": "PRE", "bank_account_id": 1}}, "c.yaml")
    assert fix_settings({"fix": {"payment_type_id": 3, "bank_account_id": 1}},
                            "c.yaml") == SETTINGS


# --- the script, without Dolibarr --------------------------------------------------------

def run_script(tmp_path, pass1, *extra, env=None):
    path = tmp_path / "pass1.parquet"
    write_parquet(pass1, path, PASS1)
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / "fix.py"), "--pass1", str(path), "--config",
         str(ROOT / "config.yaml"), "--journal", str(tmp_path / "tmp" / "fix_journal.jsonl"),
         "--written-stamp", str(tmp_path / "tmp" / "dolibarr_written.stamp"), *extra],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, cwd=tmp_path)


def test_without_terminal_or_confirmation_it_prints_the_plan_and_writes_nothing(
        tmp_path, data):
    # No DOLIBARR_URL at all: without confirmation the network is never touched.
    env = {"PATH": "/usr/bin:/bin"}
    done = run_script(tmp_path, demo_pass1(data), env=env)
    assert done.returncode == 0, done.stderr
    assert "total 2256.70" in done.stdout
    assert "nothing written" in done.stdout
    assert not (tmp_path / "tmp" / "dolibarr_written.stamp").exists()
    assert not (tmp_path / "tmp" / "fix_journal.jsonl").read_text()


def test_help_works():
    done = subprocess.run([sys.executable, str(ROOT / "stages" / "fix.py"), "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "--written-stamp" in done.stdout


# --- the whole run against the emulator (a real HTTP server on 127.0.0.1) -------------------

def recorded(emulator, invoice_id) -> list[tuple]:
    return [(p["num"], p["amount"], p["date"]) for p in emulator.payments(invoice_id)]


def test_demo_records_every_strong_candidate_once_and_a_rerun_records_nothing(
        tmp_path, emu, capsys, data):
    before = emu.payment_count()
    assert run_fix(tmp_path, demo_pass1(data)) == 0
    assert emu.payment_count() == before + 7
    for (ref, gc_id, cents), payment in zip(STRONG, plan_payments(demo_pass1(data)).payments):
        invoice_id = payment.allocations[0].invoice_id
        assert recorded(emu, invoice_id) == [
            (gc_id, money(cents) + "000000", f"{payment.charge_date} 12:00:00")]
        assert emu.invoice(invoice_id)["status"] == "2"  # whole remainder, closed
    assert posts(emu) == [f"/invoices/{i}/payments" for i in (4, 5, 13, 17, 21, 24, 28)]
    assert emu.payments(10) == []  # soft match: not by default
    out = capsys.readouterr().out
    assert "Recorded 7 (2256.70), skipped 0, failed 0, outcome unknown 0." in out
    assert "Payment mode 3 (PRE, Direct Debit); bank account 1 (SHINE" in out
    assert (tmp_path / "tmp" / "dolibarr_written.stamp").exists()
    assert [(r["event"], r.get("outcome")) for r in journal_lines(tmp_path)] == [
        ("intent", None), ("result", "recorded")] * 7

    # A rerun on the same (now stale) pass 1 re-reads each invoice and records nothing.
    assert run_fix(tmp_path, demo_pass1(data)) == 0
    assert emu.payment_count() == before + 7 and len(posts(emu)) == 7
    out = capsys.readouterr().out
    assert out.count("already recorded in Dolibarr") == 7
    assert "Recorded 0 (0.00), skipped 7, failed 0, outcome unknown 0." in out


def test_without_confirmation_nothing_is_asked_of_dolibarr(tmp_path, emu, capsys, data):
    before = emu.payment_count()
    assert run_fix(tmp_path, demo_pass1(data), confirm=None) == 0
    assert run_fix(tmp_path, demo_pass1(data), confirm="no") == 0
    assert emu.requests == []
    # at a terminal the plan names the Dolibarr and the user it would write as: one read
    assert run_fix(tmp_path, demo_pass1(data), confirm=None, stdin=FakeStdin("y\n", tty=True)) == 0
    assert f"Writes go to Dolibarr at {emu.url} as user 'admin' (id 1), key DOLIBARR_WRITE_API_KEY." \
        in capsys.readouterr().out
    assert emu.payment_count() == before and emu.requests == [("GET", "/users/info", {})]
    assert journal_lines(tmp_path) == []
    assert not (tmp_path / "tmp" / "dolibarr_written.stamp").exists()


def test_yes_typed_at_a_terminal_writes(tmp_path, emu, capsys, data):
    assert run_fix(tmp_path, demo_pass1(data), confirm=None, stdin=FakeStdin("yes\n", tty=True)) == 0
    assert len(posts(emu)) == 7


def instalment(amount_cents=30000, **changes):
    """A 300.00 GoCardless payment on FA2601-0016 (900.00 open): a partial payment."""
    return a_row(gc_payment_id="PM00016JYG207J", amount_cents=amount_cents,
                 charge_date=date(2026, 1, 16), payout_id="PO000BS9HYBRA6", invoice_id=16,
                 invoice_ref="FA2601-0016", invoice_total_cents=90000,
                 invoice_remaining_cents=90000, **changes)


def test_a_partial_payment_goes_through_paymentsdistributed_with_the_exact_amount(
        tmp_path, emu, capsys):
    assert run_fix(tmp_path, frame(instalment())) == 0
    assert posts(emu) == ["/invoices/paymentsdistributed"]
    [payment] = emu.payments(16)
    assert (payment["amount"], payment["num"], payment["ref_ext"], payment["date"]) == (
        "300.00000000", "PM00016JYG207J", "PM00016JYG207J", "2026-01-16 12:00:00")
    invoice = emu.invoice(16)
    assert (invoice["status"], invoice["remaintopay"]) == ("1", "600")
    assert "exact amount, POST /invoices/paymentsdistributed" in capsys.readouterr().out


def test_a_multi_invoice_payment_is_one_payment_split_over_its_invoices(tmp_path, emu):
    before = emu.payment_count()
    config = write_config(tmp_path, allow_multi_invoice=True)
    assert run_fix(tmp_path, frame(p15(14, "FA2601-0014", 9500),
                                   p15(15, "FA2601-0015", 3000)), config=config) == 0
    assert emu.payment_count() == before + 1
    assert [p["amount"] for p in emu.payments(14) + emu.payments(15)] == [
        "95.00000000", "30.00000000"]
    assert emu.invoice(14)["status"] == emu.invoice(15)["status"] == "2"


def test_soft_matches_are_written_only_when_config_allows(tmp_path, emu, data):
    assert run_fix(tmp_path, demo_pass1(data), config=write_config(tmp_path, allow_soft=True)) == 0
    assert [p["num"] for p in emu.payments(10)] == ["PM00012J9FQK87"]
    assert len(posts(emu)) == 8


def test_the_charge_date_is_kept_on_a_server_west_of_utc(tmp_path, monkeypatch):
    emulator = start_emulator(tmp_path, KEY, timezone="America/Los_Angeles")
    use_emulator(monkeypatch, emulator)
    try:
        assert run_fix(tmp_path, frame(a_row())) == 0
        assert [p["date"][:10] for p in emulator.payments(4)] == ["2026-01-09"]
    finally:
        emulator.stop()


@pytest.mark.parametrize("setting, message", [
    (dict(payment_type_id=99), "payment mode id 99 (config fix.payment_type_id or "
                               "DOLIBARR_GC_PAYMENT_ID) is not an active payment type"),
    (dict(bank_account_id=7), "bank account id 7 (config fix.bank_account_id or "
                              "DOLIBARR_BANK_ACCOUNT_ID) does not exist in Dolibarr"),
])
def test_unknown_payment_mode_or_bank_account_stops_before_any_write(
        tmp_path, emu, capsys, setting, message, data):
    assert run_fix(tmp_path, demo_pass1(data), config=write_config(tmp_path, **setting)) == 2
    assert message in capsys.readouterr().err
    assert posts(emu) == [] and journal_lines(tmp_path) == []


def test_the_api_key_appears_in_no_output_and_no_journal_line(tmp_path, emu, capsys, data):
    emu.drop_after_write_next()  # an error path too
    assert run_fix(tmp_path, demo_pass1(data)) == 0
    out, err = capsys.readouterr()
    assert "found on re-read" in out
    journal = (tmp_path / "tmp" / "fix_journal.jsonl").read_text()
    for text in (out, err, journal):
        assert KEY not in text
