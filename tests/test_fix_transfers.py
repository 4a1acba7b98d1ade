"""`fix.allow_transfers`: customer transfers pass 2 proves, recorded once (issue 13)."""
from datetime import date

import polars as pl

from recon.fix_settings import FixSettings, fix_settings
from recon.io import write_parquet
from recon.payment_posting import posting_for
from recon.transfer_plan import PASS2_TRANSFERS, plan_transfers

from emulated import start_emulator
from fix_helpers import KEY, frame, posts, run_fix, use_emulator, write_config

SETTINGS = FixSettings(False, False, 3, 1, allow_transfers=True, transfer_payment_type_id=2,
                       transfer_bank_account_id=1)


def transfer(**changes):
    """FA2601-0024 (58.00) paid by a transfer on 12/01 whose label names it."""
    row = dict(flag="PAID_BY_TRANSFER", match_type="ref_in_label", invoice_id=24, invoice_ref="FA2601-0024",
               invoice_customer_name="Ferme Fontaine", invoice_remaining_cents=5800, share_cents=5800,
               bank_date=date(2026, 1, 12), bank_transaction_id="6b1f0c9e-0001")
    return row | changes


def pass2(*rows):
    return pl.DataFrame(list(rows), schema=PASS2_TRANSFERS)


def test_a_transfer_is_planned_with_the_bank_line_as_payment_number():
    plan = plan_transfers(pass2(transfer(), transfer(flag="DOLIBARR_OPEN_NO_GC", invoice_id=25)))
    [payment] = plan.payments
    assert (payment.gc_payment_id, payment.charge_date, payment.amount_cents, payment.kind, payment.partial) == (
        "6b1f0c9e-0001", date(2026, 1, 12), 5800, "transfer", False)
    posting = posting_for(payment, 5800, SETTINGS)
    assert posting.path == "/invoices/24/payments"
    assert {k: posting.body[k] for k in ("paymentid", "accountid", "num_payment", "datepaye")} == {
        "paymentid": 2, "accountid": 1, "num_payment": "6b1f0c9e-0001", "datepaye": "2026-01-12 12:00:00"}


def test_a_transfer_even_in_clearing_mode_goes_to_the_bank_it_reached():
    clearing = FixSettings(False, False, 3, 1, clearing_account_id=2, allow_transfers=True,
                           transfer_payment_type_id=2, transfer_bank_account_id=1)
    [payment] = plan_transfers(pass2(transfer())).payments
    assert posting_for(payment, 5800, clearing).body["accountid"] == 1


def test_doubtful_transfers_are_left_out_with_why():
    plan = plan_transfers(pass2(transfer(invoice_id=None, invoice_ref="FA2601-0024;FA2601-0025"),
                                transfer(bank_transaction_id="b2", share_cents=9000),
                                transfer(bank_transaction_id="b3", invoice_id=30), transfer(bank_transaction_id="b3")))
    assert plan.payments == []
    assert sorted((x.gc_payment_id, x.reason) for x in plan.left_out) == [
        ("6b1f0c9e-0001", "no single invoice id (FA2601-0024;FA2601-0025); record it by hand"),
        ("b2", "amount exceeds what the invoice had left to pay"),
        ("b3", "one bank line pays several invoices; record it by hand"),
        ("b3", "one bank line pays several invoices; record it by hand"),
    ]


def test_a_soft_transfer_waits_for_allow_soft():
    soft = pass2(transfer(match_type="soft"))
    assert [x.reason for x in plan_transfers(soft).left_out] == ["soft match (config fix.allow_soft is false)"]
    assert [p.gc_payment_id for p in plan_transfers(soft, allow_soft=True).payments] == ["6b1f0c9e-0001"]


def test_transfers_are_off_by_default_and_need_their_payment_mode():
    base = {"fix": {"payment_type_id": 3, "bank_account_id": 1}}
    assert fix_settings(base, "c.yaml").allow_transfers is False
    on = {"fix": {**base["fix"], "allow_transfers": True, "transfer_payment_type_id": 2}}
    assert fix_settings(on, "c.yaml").transfers_account_id == 1


def test_a_transfer_is_recorded_once_against_the_emulator(tmp_path, monkeypatch, capsys):
    emulator = start_emulator(tmp_path, api_key=KEY)
    try:
        use_emulator(monkeypatch, emulator)
        invoice = emulator.invoice(24)
        remaining = round(float(invoice["remaintopay"]) * 100)
        path = tmp_path / "pass2.parquet"
        write_parquet(pass2(transfer(invoice_ref=invoice["ref"], invoice_remaining_cents=remaining,
                                     share_cents=remaining)), path, PASS2_TRANSFERS)
        config = write_config(tmp_path, allow_transfers=True, transfer_payment_type_id=2)
        empty = frame()
        assert run_fix(tmp_path, empty, config=config, extra=["--pass2", str(path)]) == 0
        assert posts(emulator) == ["/invoices/24/payments"]
        assert [(p["num"], p["type"]) for p in emulator.payments(24)] == [("6b1f0c9e-0001", "VIR")]
        assert "a customer transfer: bank line 6b1f0c9e-0001, recorded with payment mode 2 on bank account 1" \
            in capsys.readouterr().out
        assert run_fix(tmp_path, empty, config=config, extra=["--pass2", str(path)]) == 0  # rerun
        assert posts(emulator) == ["/invoices/24/payments"]
    finally:
        emulator.stop()
