"""Pass 3: payouts <-> bank credits (reference, then amount and date) and the fee check."""
from dataclasses import replace
from datetime import date

import polars as pl
import pytest

from matching_frames import FROM, SETTINGS, TO, bank, payments, payout_items, payouts
from recon.match_payouts import match_payouts
from recon.schemas import PASS3

NO_ITEMS = payout_items().clear()
PAYMENT = payments({"payout_id": "PO0001", "amount_cents": 10000})
# A bank line long after the arrival: the bank export runs past it, so a payout not found
# is overdue (PAYOUT_NOT_IN_BANK), not pending. Neither a payout nor GoCardless-looking.
LATER = {"bank_transaction_id": "later", "operation_date": date(2026, 1, 31), "amount_cents": 1,
         "label": "x", "counterparty": "y"}


def run(pos, lines, pays=PAYMENT, items=NO_ITEMS, settings=SETTINGS):
    out = match_payouts(pos, items, pays, lines, settings, FROM, TO)
    assert out.schema == pl.Schema(PASS3)
    return out


def payout_row(out, payout_id="PO0001") -> dict:
    return out.filter(pl.col("payout_id") == payout_id).row(0, named=True)


# --- reference rule ----------------------------------------------------------------------

def test_reference_in_the_label_whatever_its_case_is_a_strong_match():
    out = run(payouts({}), bank({"label": "Virement de GoCardless - shop-ref001",
                                 "operation_date": date(2026, 1, 15)}))
    row = payout_row(out)
    assert (row["flag"], row["match_type"], row["bank_transaction_id"], row["days_apart"],
            row["money_in_bank"]) == ("PAYOUT_MATCHED", "reference_in_label", "bank-1", 1, "yes")
    assert row["evidence"] == (
        "reference SHOP-REF001 found in the bank label 'Virement de GoCardless - shop-ref001'; "
        "bank amount 98.00 = the payout's net; bank date 2026-01-15 1 day after the arrival "
        "date 2026-01-14")
    assert out.height == 1  # the credit is explained: no BANK_CREDIT_UNMATCHED row


def test_reference_inside_a_longer_word_is_not_found():
    out = run(payouts({"amount_cents": 5000}), bank({"label": "GOCARDLESS SHOP-REF0012"}, LATER))
    assert payout_row(out)["flag"] == "PAYOUT_NOT_IN_BANK"
    assert out.filter(pl.col("flag") == "BANK_CREDIT_UNMATCHED").height == 1


def test_reference_after_accented_letters_and_after_a_longer_word_is_found():
    label = "Virement reçu de GoCardless SHOP-REF0012 / réf. shop-ref001"
    row = payout_row(run(payouts({}), bank({"label": label})))
    assert (row["flag"], row["match_type"]) == ("PAYOUT_MATCHED", "reference_in_label")


def test_reference_sharing_its_prefix_with_other_payouts_is_told_apart():
    pos = payouts({}, {"payout_id": "PO0002", "reference": "SHOP-REF002", "amount_cents": 5000})
    out = run(pos, bank({"label": "GOCARDLESS SHOP-REF002", "amount_cents": 5000}, LATER))
    assert payout_row(out, "PO0002")["match_type"] == "reference_in_label"
    assert payout_row(out)["flag"] == "PAYOUT_NOT_IN_BANK"


def test_reference_on_a_line_of_another_amount_is_linked_but_flagged():
    row = payout_row(run(payouts({}), bank({"label": "GOCARDLESS SHOP-REF001",
                                            "amount_cents": 9700})))
    assert (row["flag"], row["money_in_bank"]) == ("PAYOUT_AMOUNT_MISMATCH", "yes")
    assert "bank amount 97.00 but the payout's net is 98.00" in row["evidence"]


def test_reference_on_two_credits_is_ambiguous_and_shows_both():
    row = payout_row(run(payouts({}), bank({"label": "SHOP-REF001"}, {"label": "SHOP-REF001"})))
    assert (row["flag"], row["match_type"], row["bank_transaction_id"], row["money_in_bank"]) \
        == ("AMBIGUOUS", "reference_in_label", "bank-1;bank-2", "unknown")


# --- amount and date rule ----------------------------------------------------------------

@pytest.mark.parametrize("day, flag", [(12, "PAYOUT_MATCHED"), (16, "PAYOUT_MATCHED"),
                                        (17, "PAYOUT_NOT_IN_BANK"), (11, "PAYOUT_NOT_IN_BANK")])
def test_exact_net_within_the_tolerance_of_the_arrival(day, flag):
    row = payout_row(run(payouts({}), bank({"operation_date": date(2026, 1, day)}, LATER)))
    assert row["flag"] == flag
    if flag == "PAYOUT_MATCHED":
        assert row["match_type"] == "amount_date"
        assert "no bank label carries the reference SHOP-REF001; one credit of exactly 98.00" \
            in row["evidence"]


def test_payout_tolerance_comes_from_the_settings():
    lines = bank({"operation_date": date(2026, 1, 17)})
    assert payout_row(run(payouts({}), lines))["flag"] == "PAYOUT_NOT_IN_BANK"
    wide = replace(SETTINGS, payout_date_tolerance_days=3)
    assert payout_row(run(payouts({}), lines, settings=wide))["flag"] == "PAYOUT_MATCHED"


def test_two_credits_of_the_net_is_ambiguous():
    row = payout_row(run(payouts({}), bank({}, {"operation_date": date(2026, 1, 15)})))
    assert (row["flag"], row["match_type"], row["bank_transaction_id"]) == (
        "AMBIGUOUS", "amount_date", "bank-1;bank-2")


def test_gocardless_looking_credits_are_preferred():
    out = run(payouts({}), bank({"label": "Virement de M. Martin", "counterparty": "MARTIN"},
                                {"bank_transaction_id": "gc"}))
    assert payout_row(out)["bank_transaction_id"] == "gc"


def test_another_credit_is_taken_only_when_nothing_gocardless_fits_and_the_evidence_says_so():
    row = payout_row(run(payouts({}), bank({"label": "VIR SEPA", "counterparty": "X"})))
    assert row["flag"] == "PAYOUT_MATCHED"
    assert "(its label does not look like gocardless: check it)" in row["evidence"]


def test_a_customer_transfer_naming_an_invoice_personal_lines_and_debits_are_never_payouts():
    out = run(payouts({"amount_cents": 78000}), bank(
        {"label": "Virement de GARAGE PERRIN FRERES - FA2601-0007", "amount_cents": 78000,
         "counterparty": "GARAGE PERRIN FRERES"},
        {"personal": True, "amount_cents": 78000, "label": "x", "counterparty": "y"},
        {"amount_cents": -78000, "label": "GOCARDLESS"}, LATER,
    ))
    assert payout_row(out)["flag"] == "PAYOUT_NOT_IN_BANK"


# --- payouts not in the bank, credits with no payout -------------------------------------

def test_pending_payout_is_expected_after_the_window():
    row = payout_row(run(payouts({"status": "pending", "arrival_date": None}), bank().clear()))
    assert (row["flag"], row["money_in_bank"]) == ("PAYOUT_PENDING", "pending")
    assert row["evidence"] == "payout pending with no arrival date yet: expected in the bank after the window"


def test_arrival_after_the_bank_export_is_pending_before_it_is_missing():
    lines = bank({"operation_date": date(2026, 1, 20), "amount_cents": 1, "label": "x"})
    late = payout_row(run(payouts({"arrival_date": date(2026, 1, 22)}), lines))
    assert (late["flag"], late["money_in_bank"], late["evidence"]) == (
        "PAYOUT_PENDING", "pending",
        "arrives 2026-01-22, after the bank export's last line (2026-01-20)")
    gone = payout_row(run(payouts({"arrival_date": date(2026, 1, 10)}), lines))
    assert (gone["flag"], gone["money_in_bank"]) == ("PAYOUT_NOT_IN_BANK", "no")
    assert gone["evidence"] == ("overdue by 10 days: no bank credit carries the reference "
                                "SHOP-REF001, and none of 98.00 within 2 days of the arrival "
                                "date 2026-01-10 (the bank export runs to 2026-01-20)")


@pytest.mark.parametrize("arrival, flag, evidence", [
    (date(2026, 1, 18), "PAYOUT_PENDING", "arrives 2026-01-18, within 2 days of the bank "
     "export's last line (2026-01-20): not yet due"),
    (date(2026, 1, 17), "PAYOUT_NOT_IN_BANK", "overdue by 3 days: no bank credit carries the "
     "reference SHOP-REF001, and none of 98.00 within 2 days of the arrival date 2026-01-17 "
     "(the bank export runs to 2026-01-20)"),
])
def test_a_payout_is_due_once_the_bank_export_runs_past_its_tolerance(arrival, flag, evidence):
    lines = bank({"operation_date": date(2026, 1, 20), "amount_cents": 1, "label": "x"})
    row = payout_row(run(payouts({"arrival_date": arrival}), lines))
    assert (row["flag"], row["evidence"]) == (flag, evidence)


def test_a_bounced_payout_is_not_in_the_bank_whatever_its_date():
    row = payout_row(run(payouts({"status": "bounced", "arrival_date": date(2026, 1, 30)}),
                         bank({"operation_date": date(2026, 1, 20), "amount_cents": 1})))
    assert (row["flag"], row["money_in_bank"], row["evidence"]) == (
        "PAYOUT_NOT_IN_BANK", "no", "payout bounced: the bank refused it")


def test_gocardless_credit_with_no_payout_is_reported_with_null_payout_columns():
    out = run(payouts().clear(), bank(
        {"label": "Virement de GOCARDLESS SAS - SHOP-OLD", "amount_cents": 3715,
         "operation_date": date(2026, 1, 2)},
        {"label": "Virement client", "counterparty": "CLIENT", "amount_cents": 600},
        {"label": "GOCARDLESS", "operation_date": date(2025, 12, 30)},  # before the window
    ))
    assert out.select("flag", "payout_id", "bank_transaction_id", "bank_amount_cents").rows() \
        == [("BANK_CREDIT_UNMATCHED", None, "bank-1", 3715)]


def test_payouts_outside_the_window_get_no_row():
    out = run(payouts({"arrival_date": date(2025, 12, 20)},
                      {"created_at": None, "arrival_date": date(2026, 2, 12),
                       "status": "paid"}), bank().clear(), pays=payments().clear())
    assert out["payout_id"].to_list() == ["PO0002"]


# --- fees --------------------------------------------------------------------------------

def test_fees_agree():
    row = payout_row(run(payouts({}), bank({})))
    assert (row["gross_cents"], row["payments_count"], row["deducted_cents"], row["fees_cents"],
            row["fees_ht_cents"], row["fees_tva_cents"], row["fees_flag"]) == (
        10000, 1, 200, 200, None, None, None)
    assert row["explanation"] == "gross 100.00 (1 payment) - fees 2.00 = net 98.00: it adds up"


def test_fees_split_into_ht_and_tva_from_the_payments_and_checked_against_the_payout():
    pays = payments({"payout_id": "PO0001", "amount_cents": 6000, "transaction_fee_cents": 100,
                     "transaction_fee_tax_cents": 20},
                    {"payout_id": "PO0001", "amount_cents": 4000, "transaction_fee_cents": 67,
                     "transaction_fee_tax_cents": 13})
    row = payout_row(run(payouts({}), bank({}), pays=pays))
    assert (row["fees_cents"], row["fees_ht_cents"], row["fees_tva_cents"], row["fees_flag"]) == (
        200, 167, 33, None)
    assert row["explanation"] == ("gross 100.00 (2 payments) - fees 2.00 (HT 1.67 + TVA 0.33) "
                                  "= net 98.00: it adds up")
    # The payments say 2.00, the payout's fee columns 2.10: the sum does not hold either.
    off = payout_row(run(payouts({"transaction_fee_debit_cents": 210}), bank({}), pays=pays))
    assert off["fees_flag"] == "FEES_MISMATCH"
    assert off["explanation"].endswith(
        "= net 98.00: it adds up; the payments' fees 2.00 differ from the payout's fee columns 2.10")


def test_a_difference_the_breakdown_explains_in_full_is_fees_explained():
    # PO_D of the sample: 5 payments (2174.00), chargeback of an earlier payment, a refund.
    # The refunded payment was collected earlier (another payout): its description is used.
    pays = payments({"payout_id": "PO0001", "amount_cents": 217400},
                    {"gc_payment_id": "PM_RF", "payout_id": "PO0000", "description": "FA2601-0019"})
    pos = payouts({"amount_cents": 128183, "transaction_fee_debit_cents": 1697,
                   "transaction_fee_credit_cents": 480})
    items = payout_items(
        {"gc_payment_id": "PM0001", "gross_cents": 217400, "fees_cents": 1697},
        {"gc_payment_id": "PM_CB", "status": "charged_back", "gross_cents": -78000,
         "fees_cents": -480, "description": "FA2601-0007"},
        {"resource_type": "refund", "gc_payment_id": "PM_RF", "refund_id": "RF1",
         "gross_cents": -10000, "fees_cents": 0, "description": "Avoir AV2601-0001"},
    )
    row = payout_row(run(pos, bank({"amount_cents": 128183}), pays=pays, items=items))
    assert (row["flag"], row["fees_flag"]) == ("PAYOUT_MATCHED", "FEES_EXPLAINED")
    assert (row["gross_cents"], row["fees_cents"], row["chargebacks_cents"], row["refunds_cents"],
            row["fees_refunded_cents"], row["net_cents"]) == (
        217400, 1697, 78000, 10000, -480, 128183)
    assert row["explanation"] == (
        "gross 2174.00 (1 payment) - fees 16.97 - chargebacks 780.00 - refunds 100.00 + fees "
        "refunded 4.80 = net 1281.83: it adds up; the breakdown lists charge back PM_CB "
        "(FA2601-0007) -780.00; fee given back on PM_CB +4.80; refund PM_RF (FA2601-0019) -100.00")
    # Without its refund line, the breakdown leaves 100.00 unexplained.
    row = payout_row(run(pos, bank({"amount_cents": 128183}), pays=pays, items=items.head(2)))
    assert row["fees_flag"] == "FEES_MISMATCH"
    assert row["explanation"] == (
        "gross 2174.00 (1 payment) - fees 16.97 - chargebacks 780.00 + fees refunded 4.80 = "
        "1381.83 but the net is 1281.83: 100.00 unexplained after the breakdown's charge back "
        "PM_CB (FA2601-0007) -780.00; fee given back on PM_CB +4.80")


def test_fees_mismatch_without_breakdown_says_to_download_it():
    row = payout_row(run(payouts({"transaction_fee_debit_cents": 150}), bank({})))
    assert row["fees_flag"] == "FEES_MISMATCH"
    assert row["explanation"] == (
        "gross 100.00 (1 payment) - fees 1.50 = 98.50 but the net is 98.00: 0.50 unexplained; "
        "download GoCardless's payout breakdown (transactions) export covering this payout to "
        "explain it line by line")
