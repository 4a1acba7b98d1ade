"""What `make fix` plans and refuses beyond the strong links: instalments, payouts never
seen in the bank, currencies, decisions, and how the plan names things (issues 10, 11, 12)."""
from datetime import date

import polars as pl

from recon.fix_settings import FixSettings, fix_settings
from recon.fixplan import Allocation, hold_unbanked, plan_payments
from recon.payment_posting import invoice_problem
from recon.plan_text import render_plan
from recon.schemas import PASS3

from emulated import start_emulator
from fix_helpers import KEY, a_row, frame, posts, run_fix, use_emulator, write_config

SETTINGS = FixSettings(False, False, 3, 1)


def instalment(**changes):
    """The first of three 300.00 instalments of FA2601-0016 (900.00), received."""
    return a_row(flag="GC_PARTIAL", match_type="ref_in_description", gc_payment_id="PM00016JYG207J",
                 amount_cents=30000, invoice_id=16, invoice_ref="FA2601-0016",
                 invoice_total_cents=90000, invoice_remaining_cents=90000,
                 invoice_received_cents=30000, payout_id="PO000BS9HYBRA6") | changes


def test_a_received_instalment_is_planned_as_a_partial_payment_of_its_amount():
    plan = plan_payments(frame(instalment()))
    [payment] = plan.payments
    assert (payment.amount_cents, payment.partial, payment.allocations) == (
        30000, True, (Allocation(16, "FA2601-0016", 30000),))
    assert ("      an instalment: recorded as a partial payment of 300.00; the invoice stays open "
            "for the rest") in render_plan(plan, SETTINGS, []).splitlines()


def test_an_instalment_dolibarr_may_already_hold_or_not_yet_received_is_not_planned():
    ahead = plan_payments(frame(instalment(invoice_remaining_cents=60000)))  # 300.00 paid already
    assert ahead.payments == []
    assert [x.reason for x in ahead.left_out] == [
        "Dolibarr already shows more paid than GoCardless received before this instalment; "
        "record it by hand"]
    pending = plan_payments(frame(instalment(payment_status="pending_submission")))
    assert (pending.payments, pending.left_out) == ([], [])  # not a candidate at all


def payouts(*rows):
    names = ("payout_id", "flag", "net_cents", "arrival_date")
    return pl.DataFrame([dict(zip(names, r)) for r in rows], schema={k: PASS3[k] for k in names})


def test_a_payment_whose_payout_is_overdue_and_not_in_the_bank_is_held_back():
    plan = plan_payments(frame(a_row(), instalment()))
    held = hold_unbanked(plan, payouts(("PO000AFYT4CF04", "PAYOUT_NOT_IN_BANK", 4148552, date(2026, 3, 2)),
                                       ("PO000BS9HYBRA6", "PAYOUT_PENDING", 33208, date(2026, 3, 9))))
    assert [p.gc_payment_id for p in held.payments] == ["PM00016JYG207J"]  # not yet due: not held
    assert [(x.gc_payment_id, x.reason) for x in held.left_out] == [(
        "PM000044QD929V", "payout PO000AFYT4CF04 of 41485.52 expected 2026-03-02, not in the bank "
                          "(fix.require_payout_in_bank: false records it anyway)")]


def test_the_hold_is_on_by_default_and_config_lifts_it(tmp_path):
    config = {"fix": {"payment_type_id": 3, "bank_account_id": 1}}
    assert fix_settings(config, "c.yaml").require_payout_in_bank is True
    config["fix"]["require_payout_in_bank"] = False
    assert fix_settings(config, "c.yaml").require_payout_in_bank is False


def test_currency_mismatch_rows_are_never_planned():
    plan = plan_payments(frame(a_row(flag="CURRENCY_MISMATCH", currency="USD")))
    assert (plan.payments, plan.left_out) == ([], [])


def test_the_live_check_refuses_a_payment_in_another_currency_than_the_invoice():
    invoice = {"ref": "FA2601-0004", "type": "0", "status": "1", "remaintopay": "89.90"}
    share = Allocation(4, "FA2601-0004", 8990)
    assert invoice_problem(invoice, share, "EUR") == (None, 8990)
    assert invoice_problem(invoice, share, None) == (None, 8990)  # unknown: a EUR invoice only
    assert invoice_problem(invoice, share, "USD")[0] == (
        "is in EUR and the payment in USD: amounts in different currencies are never compared")
    usd = {**invoice, "multicurrency_code": "USD"}
    assert invoice_problem(usd, share, "USD") == (None, 8990)
    assert invoice_problem(usd, share, None)[0] == (
        "is in USD and the payment in an unknown currency: amounts in different currencies are never compared")


def test_a_hand_made_plan_in_another_currency_is_refused_live(tmp_path, monkeypatch, capsys):
    emulator = start_emulator(tmp_path, api_key=KEY)
    try:
        use_emulator(monkeypatch, emulator)
        assert run_fix(tmp_path, frame(a_row(currency="USD"))) == 0
        assert posts(emulator) == []
        assert "FA2601-0004 is in EUR and the payment in USD" in capsys.readouterr().out
    finally:
        emulator.stop()


def test_a_received_instalment_is_recorded_for_its_exact_amount_and_the_invoice_stays_open(
        tmp_path, monkeypatch):
    emulator = start_emulator(tmp_path, api_key=KEY)
    try:
        use_emulator(monkeypatch, emulator)
        assert run_fix(tmp_path, frame(instalment())) == 0
        assert posts(emulator) == ["/invoices/paymentsdistributed"]
        assert [(p["num"], p["amount"]) for p in emulator.payments(16)] == [("PM00016JYG207J", "300.00000000")]
        assert emulator.invoice(16)["status"] == "1" and emulator.invoice(16)["remaintopay"] == "600"
    finally:
        emulator.stop()


def test_a_decided_link_says_why_and_a_split_payment_shows_each_invoice_share():
    decided = a_row(match_type="decision",
                    evidence="decision: the customer confirmed by phone (claire, 2026-02-03); ref found")
    split = [a_row(gc_payment_id="PM00015N02DPC9", match_type="multi_invoice", amount_cents=12500,
                   invoice_id=i, invoice_ref=ref, invoice_remaining_cents=share, share_cents=share)
             for i, ref, share in ((14, "FA2601-0014", 9500), (15, "FA2601-0015", 3000))]
    text = render_plan(plan_payments(frame(decided, *split), allow_multi_invoice=True), SETTINGS, [])
    lines = text.splitlines()
    assert lines[1] == ("  Invoice and customer are Dolibarr's; the payment id, its charge date and "
                        "payout are GoCardless's.")
    assert "      decided: the customer confirmed by phone (claire, 2026-02-03)" in lines
    assert [l.split() for l in lines if "its share" in l] == [
        ["FA2601-0014", "95.00", "its", "share", "of", "the", "payment"],
        ["FA2601-0015", "30.00", "its", "share", "of", "the", "payment"]]


def test_the_config_example_turns_clearing_mode_off(tmp_path):
    import yaml
    from fix_helpers import ROOT
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert fix_settings(config, "config.yaml").clearing_account_id is None
    written = yaml.safe_load(write_config(tmp_path, clearing_account_id=2).read_text())
    assert fix_settings(written, "c.yaml").payments_account_id == 2
