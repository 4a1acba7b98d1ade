"""Pass 2: open invoices no GoCardless payment explains, and the excluded ones apart."""
from datetime import date

import polars as pl

import pass2
from matching_frames import FROM, SETTINGS, TO, bank, invoices, paid, payments
from recon.io import read_parquet
from recon.match_invoices import audit_invoices
from recon.match_payments import match_payments
from recon.schemas import PASS2


def audit(invs, pays=None):
    pays = pays if pays is not None else payments().clear()
    out = audit_invoices(invs, match_payments(pays, invs, SETTINGS, FROM, TO), FROM, TO)
    assert out.schema == pl.Schema(PASS2)
    return out


def test_open_invoice_without_payment_with_days_past_due_at_to():
    out = audit(invoices({"invoice_ref": "FA2601-0022", "total_cents": 6600,
                          "remaining_cents": 6600, "invoice_date": date(2026, 1, 16),
                          "due_date": date(2026, 1, 31)}))
    assert out.select("flag", "invoice_ref", "invoice_remaining_cents", "days_past_due").rows() \
        == [("DOLIBARR_OPEN_NO_GC", "FA2601-0022", 6600, 9)]
    assert out["evidence"][0] == (
        "Dolibarr: open, 66.00 of 66.00 left to pay, due 2026-01-31: 9 days past due on "
        "2026-02-09; no GoCardless payment of the window names it or matches it")


def test_not_yet_due_is_negative_days():
    out = audit(invoices({"due_date": date(2026, 2, 12)}))
    assert out["days_past_due"].to_list() == [-3]
    assert "not yet due on 2026-02-09 (due in 3 days)" in out["evidence"][0]


def test_linked_settled_later_and_ambiguous_candidates_are_not_listed():
    invs = invoices(
        {"invoice_ref": "FA2601-0001"},  # failed payment: pass 1 reports it
        paid(invoice_ref="FA2601-0002"),  # settled
        {"invoice_ref": "FA2601-0003", "customer_name": "Caron", "total_cents": 15000},
        {"invoice_ref": "FA2601-0004", "customer_name": "Caron", "total_cents": 15000},
        {"invoice_ref": "FA2601-0005", "invoice_date": date(2026, 2, 10)},  # after TO
    )
    pays = payments({"description": "FA2601-0001", "status": "cancelled"},
                    {"customer_name": "Caron", "amount_cents": 15000})
    assert audit(invs, pays).is_empty()


def test_credit_notes_drafts_and_abandoned_of_the_window_are_counted_apart():
    out = audit(invoices(
        {"invoice_ref": "AV2601-0001", "type": 2, "total_cents": -10000,
         "remaining_cents": -10000},
        {"invoice_ref": "(PROV30)", "status": 0},
        {"invoice_ref": "FA2601-0009", "status": 3, "close_code": "abandon"},
        {"invoice_ref": "FA2512-0001", "status": 0, "invoice_date": date(2025, 12, 1)},
    ))
    assert out.select("flag", "invoice_ref").rows() == [
        ("EXCLUDED_ABANDONED", "FA2601-0009"), ("EXCLUDED_CREDIT_NOTE", "AV2601-0001"),
        ("EXCLUDED_DRAFT", "(PROV30)")]
    assert out["evidence"].to_list() == [
        "abandoned invoice of 100.00 (close code abandon), Dolibarr status 3: excluded from matching",
        "credit note of -100.00, Dolibarr status 1: excluded from matching",
        "draft of 100.00, Dolibarr status 0: excluded from matching"]


def test_script(tmp_path):
    invs, p1, lines, p3, out = (tmp_path / f"{n}.parquet"
                                for n in ("invoices", "pass1", "bank", "pass3", "pass2"))
    frame = invoices({})
    frame.write_parquet(invs)
    match_payments(payments().clear(), frame, SETTINGS, FROM, TO).write_parquet(p1)
    bank().clear().write_parquet(lines)
    pl.DataFrame({"bank_transaction_id": []}, schema={"bank_transaction_id": pl.String}
                 ).write_parquet(p3)
    pass2.main(["--invoices", str(invs), "--pass1", str(p1), "--bank", str(lines),
                "--pass3", str(p3), "--from", "2026-01-01", "--to", "2026-02-09",
                "--out", str(out)])
    assert read_parquet(out, PASS2)["flag"].to_list() == ["DOLIBARR_OPEN_NO_GC"]
