"""The payout booking plan of clearing mode, on small frames (recon.payout_booking)."""
from datetime import date

import polars as pl

from recon.payout_booking import (DEDUCTION, FEES, PASS3_BOOKING, TRANSFER, Line, missing_postings,
                                  noon_utc, payments_filter, payments_problem, payout_filter,
                                  plan_bookings)
from recon.schemas import GC_PAYMENTS, GC_PAYOUT_ITEMS

def payout(payout_id="PO1", gross=48000, ht=520, tva=104, chargebacks=0, refunds=0, fees_back=0,
           flag="PAYOUT_MATCHED", bank_date=date(2026, 3, 9)):
    net = gross - ht - tva - chargebacks - refunds + fees_back
    return dict(flag=flag, payout_id=payout_id, gross_cents=gross, fees_cents=ht + tva,
                fees_ht_cents=ht, fees_tva_cents=tva, chargebacks_cents=chargebacks,
                refunds_cents=refunds, fees_refunded_cents=fees_back, net_cents=net,
                bank_date=bank_date, bank_transaction_id=f"bank-{payout_id}")


def payments(*rows):
    """(gc_payment_id, payout_id, amount_cents) rows in the payments export's schema."""
    return pl.DataFrame([dict(gc_payment_id=p, payout_id=po, amount_cents=a) for p, po, a in rows],
                        schema={k: GC_PAYMENTS[k] for k in ("gc_payment_id", "payout_id", "amount_cents")})


def items(*rows):
    """(payout_id, resource_type, gc_payment_id, status, gross_cents, fees_cents) rows."""
    names = ("payout_id", "resource_type", "gc_payment_id", "status", "gross_cents", "fees_cents")
    return pl.DataFrame([dict(zip(names, r)) for r in rows], schema={k: GC_PAYOUT_ITEMS[k] for k in names})


def book(pass3_rows, payment_rows, item_rows=()):
    return plan_bookings(pl.DataFrame(pass3_rows, schema=PASS3_BOOKING), payments(*payment_rows),
                         items(*item_rows))


def test_a_payout_is_a_transfer_of_its_net_and_a_fee_line_with_ht_and_tva():
    [booking] = book([payout()], [("PM1", "PO1", 24000), ("PM2", "PO1", 24000)])
    assert booking.problem is None
    assert booking.lines == (
        Line(TRANSFER, "GoCardless payout PO1", -47376),
        Line(FEES, "GoCardless fees PO1 (HT 5.20, TVA 1.04)", -624),
    )
    assert booking.payment_ids == ("PM1", "PM2")
    assert booking.clearing_cents == -48000  # the clearing account gives back what the payments brought
    assert (booking.bank_date, booking.bank_transaction_id) == (date(2026, 3, 9), "bank-PO1")


def test_fees_without_vat_say_so_and_no_fees_means_no_fee_line():
    [no_vat] = book([payout(ht=300, tva=0)], [("PM1", "PO1", 48000)])
    assert no_vat.lines[1] == Line(FEES, "GoCardless fees PO1 (HT 3.00, no TVA)", -300)
    [free] = book([payout(ht=0, tva=0)], [("PM1", "PO1", 48000)])
    assert free.lines == (Line(TRANSFER, "GoCardless payout PO1", -48000),)


def test_a_chargeback_netted_in_the_payout_gets_its_own_line_naming_the_payment():
    rows = [payout(gross=20000, ht=200, tva=40, chargebacks=5000, refunds=3000)]
    [booking] = book(rows, [("PM5", "PO1", 20000)],
                     [("PO1", "payment", "PM5", "paid_out", 20000, 240),
                      ("PO1", "payment", "PM3", "charged_back", -5000, 0),
                      ("PO1", "refund", "PM4", "paid", -3000, 0)])
    assert booking.problem is None
    assert booking.lines == (
        Line(TRANSFER, "GoCardless payout PO1", -11760),
        Line(FEES, "GoCardless fees PO1 (HT 2.00, TVA 0.40)", -240),
        Line(DEDUCTION, "GoCardless chargeback PM3 in payout PO1", -5000),
        Line(DEDUCTION, "GoCardless refund PM4 in payout PO1", -3000),
    )
    assert booking.clearing_cents == -20000


def test_a_fee_given_back_on_a_chargeback_is_a_line_of_its_own():
    """The demo's PO_D: 2174.00 gross, fees 14.14 + TVA 2.83, a 780.00 chargeback whose
    4.80 fee comes back, a 100.00 refund: 1281.83 reaches the bank."""
    rows = [payout(gross=217400, ht=1414, tva=283, chargebacks=78000, refunds=10000, fees_back=480)]
    [booking] = book(rows, [("PM1", "PO1", 217400)],
                     [("PO1", "payment", "PM9", "charged_back", -78000, -480),
                      ("PO1", "refund", "PM21", "paid", -10000, 0)])
    assert booking.problem is None and booking.net_cents == 128183
    assert booking.lines[1:] == (
        Line(FEES, "GoCardless fees PO1 (HT 14.14, TVA 2.83)", -1697),
        Line(DEDUCTION, "GoCardless chargeback PM9 in payout PO1", -78000),
        Line(DEDUCTION, "GoCardless fees given back on PM9 in payout PO1", 480),
        Line(DEDUCTION, "GoCardless refund PM21 in payout PO1", -10000),
    )
    assert booking.clearing_cents == -217400


def test_deductions_pass3_counts_but_the_breakdown_lacks_leave_the_payout_to_a_person():
    [booking] = book([payout(gross=20000, chargebacks=5000)], [("PM5", "PO1", 20000)])
    assert booking.problem == ("the breakdown's lines (debits 0.00, fees given back 0.00) are not pass 3's "
                               "(chargebacks and refunds 50.00, fees given back 0.00); download the "
                               "breakdown export")


def test_a_payout_whose_payments_do_not_add_up_to_its_gross_is_left_to_a_person():
    [booking] = book([payout()], [("PM1", "PO1", 24000)])
    assert booking.problem == "its payments in the payments export add up to 240.00, not its gross 480.00"


def test_only_payouts_that_reached_the_bank_are_booked():
    bookings = book([payout("PO1"), payout("PO2", flag="PAYOUT_NOT_IN_BANK"),
                     payout("PO3", flag="PAYOUT_PENDING")], [("PM1", "PO1", 48000)])
    assert [b.payout_id for b in bookings] == ["PO1"]


def line(line_id, label, amount, num_chq=None):
    return {"id": str(line_id), "label": label, "amount": f"{amount}000000", "num_chq": num_chq}


def test_only_what_is_missing_is_posted():
    [booking] = book([payout()], [("PM1", "PO1", 48000)])
    nothing = missing_postings(booking, [])
    assert (nothing.to_post, nothing.stop) == (booking.lines, None)
    transfer_there = missing_postings(booking, [line(21, "GoCardless payout PO1", "-473.76")])
    assert transfer_there.to_post == booking.lines[1:]
    assert transfer_there.present == booking.lines[:1]
    # the fee line as the lab's capture wrote it: found by the start of its label
    both = missing_postings(booking, [line(21, "GoCardless payout PO1", "-473.76"),
                                      line(23, "GoCardless fees PO1 (5.20 + VAT 1.04)", "-6.24", "PO1")])
    assert (both.to_post, both.stop) == ((), None)


def test_an_amount_that_differs_or_a_line_found_twice_stops_the_payout():
    [booking] = book([payout()], [("PM1", "PO1", 48000)])
    differs = missing_postings(booking, [line(21, "GoCardless payout PO1", "-470.00")])
    assert differs.to_post == ()
    assert differs.stop == ("the transfer line 'GoCardless payout PO1' (line 21) is -470.00 in Dolibarr, "
                            "the plan says -473.76")
    twice = missing_postings(booking, [line(21, "GoCardless payout PO1", "-473.76"),
                                       line(41, "GoCardless payout PO1", "-473.76")])
    assert twice.stop == "the transfer line 'GoCardless payout PO1' is there 2 times (lines 21, 41)"


def test_every_payment_must_be_on_the_clearing_account():
    [booking] = book([payout()], [("PM1", "PO1", 24000), ("PM2", "PO1", 24000)])
    on_clearing = [line(18, "(CustomerInvoicePayment)", "240.00", "PM1"),
                   line(19, "(CustomerInvoicePayment)", "240.00", "PM2")]
    assert payments_problem(booking, on_clearing, [], bank_account_id=1) is None
    elsewhere = [line(7, "(CustomerInvoicePayment)", "240.00", "PM2")]
    assert payments_problem(booking, on_clearing[:1], elsewhere, bank_account_id=1) == (
        "1 of its 2 payments are not on the clearing account: PM2 on bank account 1")
    assert payments_problem(booking, [], [], bank_account_id=1) == (
        "2 of its 2 payments are not on the clearing account: PM1 on neither account, PM2 on neither account")


def test_filters_and_dates_as_dolibarr_wants_them():
    assert payout_filter("PO1") == "(num_chq:=:'PO1') or (emetteur:=:'PO1') or (label:like:'%PO1%')"
    assert payments_filter(("PM1", "PM2")) == "(num_chq:in:'PM1','PM2')"
    assert noon_utc(date(2026, 3, 9)) == 1773057600  # the lab's transfer date
