"""Pass 1 rules, one behaviour per test, on small hand-made frames (tests/matching_frames.py)."""
from datetime import date, datetime, timezone
from dataclasses import replace

import polars as pl
import pytest

import pass1
from matching_frames import FROM, SETTINGS, TO, by_payment, invoices, paid, payments
from recon.errors import InputError
from recon.fixplan import plan_payments
from recon.io import read_parquet
from recon.match_common import settings_from_config
from recon.match_payments import match_payments
from recon.schemas import PASS1


def run(pays, invs, settings=SETTINGS):
    out = match_payments(pays, invs, settings, FROM, TO)
    assert out.schema == pl.Schema(PASS1)
    return out


def one(pays, invs, settings=SETTINGS) -> dict:
    out = run(pays, invs, settings)
    assert out.height == 1, out
    return out.row(0, named=True)


# --- strong rules ------------------------------------------------------------------------

def test_exact_ref_after_trim_and_case_fold_on_a_paid_invoice_is_matched():
    row = one(payments({"description": " fa2601-0001  "}), invoices(paid()))
    assert (row["flag"], row["match_type"], row["invoice_ref"], row["invoice_id"]) == (
        "MATCHED", "ref_exact", "FA2601-0001", 1)
    assert row["evidence"].startswith(
        "the description 'fa2601-0001' is the invoice ref FA2601-0001 (case and spaces aside)")
    assert "Dolibarr: paid" in row["evidence"]


def test_ref_as_a_whole_word_in_free_text_on_an_open_invoice_is_a_fix_candidate():
    row = one(payments({"description": "Facture FA2601-0001 - maintenance"}), invoices({}))
    assert (row["flag"], row["match_type"], row["share_cents"]) == (
        "GC_PAID_DOLIBARR_OPEN", "ref_in_description", 10000)
    assert ("the description 'Facture FA2601-0001 - maintenance' holds, as a whole word, the "
            "invoice ref FA2601-0001") in row["evidence"]
    assert "GoCardless received 100.00 of the invoice's 100.00" in row["evidence"]


@pytest.mark.parametrize("text", ["XFA2601-0001", "FA2601-00012", "FA2601-0001a"])
def test_a_ref_glued_to_other_characters_is_not_a_whole_word(text):
    row = one(payments({"description": text, "customer_name": "Someone Else"}), invoices({}))
    assert (row["flag"], row["invoice_id"]) == ("GC_UNMATCHED", None)


def test_reference_column_is_used_when_the_description_names_no_invoice():
    row = one(payments({"description": "Facture janvier", "reference": "FA2601-0001"}),
              invoices({}))
    assert (row["flag"], row["match_type"]) == ("GC_PAID_DOLIBARR_OPEN", "ref_in_reference")
    assert ("the reference 'FA2601-0001' holds the invoice ref FA2601-0001 (the description "
            "names no invoice)") in row["evidence"]


def test_description_and_reference_naming_different_invoices_is_ambiguous():
    row = one(payments({"description": "FA2601-0001", "reference": "FA2601-0002"}),
              invoices({}, {}))
    assert (row["flag"], row["invoice_ref"], row["invoice_id"]) == (
        "AMBIGUOUS", "FA2601-0001;FA2601-0002", None)
    assert "the description names FA2601-0001 but the reference names FA2601-0002" \
        in row["evidence"]


def test_a_named_ref_dolibarr_does_not_have_is_unmatched_and_never_soft_matched():
    # Same amount, name and date as FA2601-0001: the soft rule would take it; it must not.
    row = one(payments({"description": "FA2601-0999"}), invoices({}))
    assert (row["flag"], row["match_type"], row["invoice_ref"]) == (
        "GC_UNMATCHED", "none", "FA2601-0999")
    assert "names FA2601-0999, which is not among the Dolibarr invoices read" in row["evidence"]


@pytest.mark.parametrize("invoice, why", [
    ({"invoice_ref": "AV2601-0001", "type": 2, "total_cents": -10000,
      "remaining_cents": -10000}, "a credit note"),
    ({"invoice_ref": "FA2601-0001", "status": 0}, "a draft"),
    ({"invoice_ref": "FA2601-0001", "status": 3, "close_code": "abandon"}, "a abandoned invoice"),
])
def test_a_ref_naming_an_excluded_invoice_is_unmatched(invoice, why):
    ref = invoice["invoice_ref"]
    row = one(payments({"description": ref}), invoices(invoice))
    assert (row["flag"], row["invoice_id"]) == ("GC_UNMATCHED", None)
    assert f"names {ref}, {why}, which is never matched" in row["evidence"]


def test_a_ref_shared_by_two_dolibarr_invoices_is_ambiguous():
    row = one(payments({"description": "FA2601-0001"}),
              invoices({"invoice_ref": "FA2601-0001"}, {"invoice_ref": "FA2601-0001"}))
    assert (row["flag"], row["invoice_id"]) == ("AMBIGUOUS", None)


# --- amounts and Dolibarr state ----------------------------------------------------------

def test_amount_differing_from_what_remains_is_a_mismatch_never_a_fix_candidate():
    row = one(payments({"description": "FA2601-0001", "amount_cents": 20500}),
              invoices({"total_cents": 25000, "remaining_cents": 25000}))
    assert row["flag"] == "AMOUNT_MISMATCH"
    assert "GoCardless received 205.00 of the invoice's 250.00" in row["evidence"]
    assert "Dolibarr: open, 250.00 left to pay" in row["evidence"]


def test_payment_of_exactly_what_remains_on_a_partly_paid_invoice_is_a_fix_candidate():
    row = one(payments({"description": "FA2601-0001", "amount_cents": 4000}),
              invoices({"paid_cents": 6000, "remaining_cents": 4000}))
    assert row["flag"] == "GC_PAID_DOLIBARR_OPEN"
    assert "partly paid, 40.00 left to pay" in row["evidence"]


def test_status_1_with_nothing_left_to_pay_counts_as_settled():
    row = one(payments({"description": "FA2601-0001"}),
              invoices({"status": 1, "paid_cents": 10000, "remaining_cents": 0}))
    assert (row["flag"], row["invoice_settled"]) == ("MATCHED", True)
    assert "paid but not closed (nothing left to pay)" in row["evidence"]


@pytest.mark.parametrize("status, flag", [
    ("confirmed", "GC_PAID_DOLIBARR_OPEN"), ("paid_out", "GC_PAID_DOLIBARR_OPEN"),
    ("pending_submission", "GC_PENDING"), ("submitted", "GC_PENDING"),
    ("pending_customer_approval", "GC_PENDING"), ("failed", "GC_FAILED"),
    ("cancelled", "GC_FAILED"), ("customer_approval_denied", "GC_FAILED"),
])
def test_payment_states_on_an_open_invoice(status, flag):
    row = one(payments({"description": "FA2601-0001", "status": status}), invoices({}))
    assert (row["flag"], row["payment_status"]) == (flag, status)


def test_charged_back_on_an_invoice_dolibarr_shows_paid():
    row = one(payments({"description": "FA2601-0001", "status": "charged_back"}),
              invoices(paid()))
    assert row["flag"] == "GC_CHARGED_BACK"
    assert "GoCardless received 0.00 of the invoice's 100.00; Dolibarr: paid" in row["evidence"]


def test_charged_back_on_an_open_invoice_is_a_failed_collection():
    row = one(payments({"description": "FA2601-0001", "status": "charged_back"}), invoices({}))
    assert row["flag"] == "GC_FAILED"


def test_partial_refund_on_a_paid_invoice_stays_matched_and_shows_the_refund():
    row = one(payments({"description": "FA2601-0001", "amount_cents": 40000,
                        "amount_refunded_cents": 10000}),
              invoices(paid(total_cents=40000)))
    assert (row["flag"], row["amount_refunded_cents"]) == ("MATCHED", 10000)
    assert "100.00 refunded to the customer" in row["evidence"]


def test_refunded_payment_on_an_open_invoice_is_never_a_fix_candidate():
    row = one(payments({"description": "FA2601-0001", "amount_refunded_cents": 2000}),
              invoices({}))
    assert row["flag"] == "AMOUNT_MISMATCH"


# --- retry groups and instalments --------------------------------------------------------

def test_retry_group_the_failed_attempt_is_superseded_and_only_the_last_is_a_candidate():
    out = run(payments(
        {"gc_payment_id": "PM_FAIL", "description": "FA2601-0001", "status": "failed",
         "charge_date": date(2026, 1, 12)},
        {"gc_payment_id": "PM_OK", "description": "FA2601-0001", "status": "paid_out",
         "charge_date": date(2026, 1, 23)},
    ), invoices({}))
    rows = by_payment(out)
    assert rows["PM_FAIL"]["flag"] == "GC_RETRIED"
    assert rows["PM_FAIL"]["evidence"].endswith(
        "; 100.00 failed, then payment PM_OK brought 100.00 (received) for the same invoice: "
        "the later one decides")
    assert rows["PM_OK"]["flag"] == "GC_PAID_DOLIBARR_OPEN"
    assert rows["PM_OK"]["related_payment_ids"] == "PM_FAIL"
    plan = plan_payments(out)
    assert [p.gc_payment_id for p in plan.payments] == ["PM_OK"]


def test_retry_group_whose_last_attempt_failed_too_is_failed_once():
    out = run(payments(
        {"gc_payment_id": "PM_A", "description": "FA2601-0001", "status": "failed",
         "charge_date": date(2026, 1, 12)},
        {"gc_payment_id": "PM_B", "description": "FA2601-0001", "status": "failed",
         "charge_date": date(2026, 1, 20)},
    ), invoices({}))
    assert {k: r["flag"] for k, r in by_payment(out).items()} == {
        "PM_A": "GC_RETRIED", "PM_B": "GC_FAILED"}


def test_instalments_are_partial_until_they_cover_the_total():
    out = run(payments(
        {"gc_payment_id": "PM_1", "description": "FA2601-0001 (1/3)", "amount_cents": 30000,
         "charge_date": date(2026, 1, 16)},
        {"gc_payment_id": "PM_2", "description": "FA2601-0001 (2/3)", "amount_cents": 30000,
         "charge_date": date(2026, 1, 28)},
        {"gc_payment_id": "PM_3", "description": "FA2601-0001 (3/3)", "amount_cents": 30000,
         "charge_date": date(2026, 2, 16), "status": "pending_submission"},
    ), invoices({"total_cents": 90000, "remaining_cents": 90000}))
    rows = by_payment(out)
    assert [rows[p]["flag"] for p in ("PM_1", "PM_2", "PM_3")] == [
        "GC_PARTIAL", "GC_PARTIAL", "GC_PENDING"]
    assert rows["PM_1"]["invoice_received_cents"] == 60000
    assert rows["PM_1"]["invoice_pending_cents"] == 30000
    assert "GoCardless received 600.00 of the invoice's 900.00; 300.00 pending" \
        in rows["PM_1"]["evidence"]
    # issue 10 item 8: each received instalment is recorded as a partial payment of its amount
    assert [(p.gc_payment_id, p.amount_cents, p.partial) for p in plan_payments(out).payments] == [
        ("PM_1", 30000, True), ("PM_2", 30000, True)]


def test_instalments_all_received_on_an_open_invoice_are_each_a_fix_candidate():
    out = run(payments(
        {"gc_payment_id": "PM_1", "description": "FA2601-0001 (1/2)", "amount_cents": 5000},
        {"gc_payment_id": "PM_2", "description": "FA2601-0001 (2/2)", "amount_cents": 5000,
         "charge_date": date(2026, 1, 20)},
    ), invoices({}))
    assert set(out["flag"]) == {"GC_PAID_DOLIBARR_OPEN"}


def test_two_full_payments_for_one_invoice_are_a_mismatch():
    out = run(payments({"description": "FA2601-0001"},
                       {"description": "FA2601-0001", "charge_date": date(2026, 1, 20)}),
              invoices({}))
    assert set(out["flag"]) == {"AMOUNT_MISMATCH"}


# --- several invoices in one payment -----------------------------------------------------

def test_multi_invoice_links_every_named_invoice_when_open_amounts_add_up():
    out = run(payments({"gc_payment_id": "PM_M", "description": "FA2601-0001, FA2601-0002",
                        "amount_cents": 12500}),
              invoices({"total_cents": 9500, "remaining_cents": 9500},
                       {"total_cents": 3000, "remaining_cents": 3000}))
    assert out.select("flag", "match_type", "invoice_ref", "invoice_id", "share_cents",
                      "amount_cents", "related_refs").rows() == [
        ("GC_PAID_DOLIBARR_OPEN", "multi_invoice", "FA2601-0001", 1, 9500, 12500,
         "FA2601-0001;FA2601-0002"),
        ("GC_PAID_DOLIBARR_OPEN", "multi_invoice", "FA2601-0002", 2, 3000, 12500,
         "FA2601-0001;FA2601-0002"),
    ]
    assert "names FA2601-0001 + FA2601-0002 (one customer) and their open amounts add up" \
        in out["evidence"][0]
    # The fix stage records it whole, split across the two invoices.
    (planned,) = plan_payments(out, allow_multi_invoice=True).payments
    assert [(a.invoice_ref, a.amount_cents) for a in planned.allocations] == [
        ("FA2601-0001", 9500), ("FA2601-0002", 3000)]


def test_multi_invoice_on_paid_invoices_compares_totals_and_is_matched():
    out = run(payments({"description": "FA2601-0001 FA2601-0002", "amount_cents": 12500}),
              invoices(paid(total_cents=9500), paid(total_cents=3000)))
    assert out["flag"].to_list() == ["MATCHED", "MATCHED"]
    assert "their totals add up" in out["evidence"][0]


@pytest.mark.parametrize("second, why", [
    ({"total_cents": 2000, "remaining_cents": 2000},
     "their open amounts add up to 115.00 (totals 115.00), not the payment's 125.00"),
    ({"total_cents": 3000, "remaining_cents": 3000, "socid": 2},
     "they belong to different customers"),
    ({"invoice_ref": "FA2601-0077", "total_cents": 3000, "remaining_cents": 3000, "status": 0},
     "excluded from matching"),
])
def test_multi_invoice_abstains_and_shows_the_named_invoices(second, why):
    row = one(payments({"description": "FA2601-0001, " + second.get("invoice_ref", "FA2601-0002"),
                        "amount_cents": 12500}),
              invoices({"total_cents": 9500, "remaining_cents": 9500}, second))
    assert (row["flag"], row["match_type"], row["invoice_id"]) == (
        "AMBIGUOUS", "multi_invoice", None)
    assert row["invoice_ref"].startswith("FA2601-0001;")
    assert why in row["evidence"]


def test_multi_invoice_naming_more_invoices_than_allowed_abstains():
    refs = ", ".join(f"FA2601-{i:04d}" for i in range(1, 6))
    row = one(payments({"description": refs, "amount_cents": 5000}),
              invoices(*[{"total_cents": 1000, "remaining_cents": 1000}] * 5))
    assert row["flag"] == "AMBIGUOUS"
    assert "more than 4 invoices" in row["evidence"]


def test_multi_invoice_with_a_ref_dolibarr_lacks_abstains():
    row = one(payments({"description": "FA2601-0001 + FA2601-0099", "amount_cents": 12500}),
              invoices({}))
    assert row["flag"] == "AMBIGUOUS"
    assert "FA2601-0099 not among the Dolibarr invoices read" in row["evidence"]


# --- soft rule ---------------------------------------------------------------------------

def test_soft_match_on_amount_name_key_and_date_when_unique():
    row = one(payments({"description": "", "customer_name": "Zoé Lambert",
                        "charge_date": date(2026, 1, 16), "amount_cents": 6000}),
              invoices({"customer_name": "LAMBERT Zoé", "invoice_date": date(2026, 1, 12),
                        "due_date": date(2026, 2, 11), "total_cents": 6000,
                        "remaining_cents": 6000}))
    assert (row["flag"], row["match_type"], row["days_apart"]) == (
        "GC_PAID_DOLIBARR_OPEN", "soft", 4)
    assert row["evidence"].startswith(
        "no invoice ref; amount 60.00 = the invoice total; name key 'lambert zoe' on both sides "
        "('Zoé Lambert' / 'LAMBERT Zoé'); charge date 2026-01-16 is 4 days from the invoice "
        "date 2026-01-12; the only candidate on both sides")
    assert plan_payments(pl.DataFrame([row], schema=PASS1)).payments == []  # soft: not by default
    assert len(plan_payments(pl.DataFrame([row], schema=PASS1), allow_soft=True).payments) == 1


@pytest.mark.parametrize("gocardless, dolibarr", [
    ("Colin & Fils", "COLIN ET FILS SARL"), ("Dupont et Associés", "Dupont & Associes")])
def test_soft_match_folds_and_et_ampersand(gocardless, dolibarr):
    row = one(payments({"customer_name": gocardless}), invoices({"customer_name": dolibarr}))
    assert (row["flag"], row["match_type"]) == ("GC_PAID_DOLIBARR_OPEN", "soft")


def test_soft_match_never_links_names_that_truly_differ():
    row = one(payments({"customer_name": "Colin & Filles"}),
              invoices({"customer_name": "COLIN ET FILS SARL"}))
    assert (row["flag"], row["match_type"]) == ("GC_UNMATCHED", "none")


@pytest.mark.parametrize("groups", ["et", [["&"]], [["&", "+"]], [["et", "e t"]], [["&", 3]]])
def test_bad_name_equivalents_are_refused(groups):
    with pytest.raises(InputError, match="matching.name_equivalents"):
        settings_from_config({"matching": {"name_equivalents": groups}})


def test_soft_match_can_use_the_due_date():
    row = one(payments({"charge_date": date(2026, 2, 12)}),
              invoices({"invoice_date": date(2026, 1, 1), "due_date": date(2026, 2, 10)}))
    assert (row["match_type"], row["days_apart"]) == ("soft", 2)
    assert "from the due date 2026-02-10" in row["evidence"]


def test_soft_two_candidate_invoices_is_ambiguous_and_shows_both():
    row = one(payments({"customer_name": "Caron Électricité EURL", "amount_cents": 15000,
                        "charge_date": date(2026, 1, 23)}),
              invoices({"customer_name": "Caron Electricite", "total_cents": 15000,
                        "remaining_cents": 15000, "invoice_date": date(2026, 1, 19)},
                       {"customer_name": "Caron Electricite", "total_cents": 15000,
                        "remaining_cents": 15000, "invoice_date": date(2026, 1, 20)}))
    assert (row["flag"], row["match_type"], row["invoice_ref"], row["invoice_id"]) == (
        "AMBIGUOUS", "soft", "FA2601-0001;FA2601-0002", None)
    assert ("2 candidate(s) with amount 150.00, name key 'caron electricite', within 7 days: "
            "FA2601-0001 (4 days from its invoice date), FA2601-0002 (3 days from its invoice "
            "date)") in row["evidence"]


def test_soft_two_payments_for_one_invoice_are_both_ambiguous():
    out = run(payments({"gc_payment_id": "PM_A"}, {"gc_payment_id": "PM_B"}), invoices({}))
    rows = by_payment(out)
    assert {r["flag"] for r in rows.values()} == {"AMBIGUOUS"}
    assert "also a candidate for payment(s) PM_B" in rows["PM_A"]["evidence"]


@pytest.mark.parametrize("change", [
    {"charge_date": date(2026, 1, 16)},  # 8 days after the invoice date, tolerance 7
    {"customer_name": "Client Dupont"},  # another name key
    {"amount_cents": 10001},
    {"status": "failed"},  # a failed collection proves nothing
])
def test_soft_abstains(change):
    row = one(payments(change), invoices({}))
    assert row["invoice_id"] is None
    assert row["flag"] in ("GC_UNMATCHED", "GC_FAILED")


def test_soft_tolerance_comes_from_the_settings():
    pays = payments({"charge_date": date(2026, 1, 12)})  # 4 days
    assert one(pays, invoices({}))["match_type"] == "soft"
    narrow = replace(SETTINGS, date_tolerance_days=3)
    assert one(pays, invoices({}), narrow)["flag"] == "GC_UNMATCHED"


def test_soft_never_takes_an_invoice_another_payment_names():
    out = run(payments({"gc_payment_id": "PM_REF", "description": "FA2601-0001",
                        "status": "failed"},
                       {"gc_payment_id": "PM_SOFT"}), invoices({}))
    rows = by_payment(out)
    assert rows["PM_REF"]["flag"] == "GC_FAILED"
    assert rows["PM_SOFT"]["flag"] == "GC_UNMATCHED"


def test_credit_notes_drafts_and_abandoned_invoices_are_never_soft_candidates():
    invs = invoices({"status": 0}, {"status": 3}, {"type": 2, "total_cents": 10000})
    row = one(payments({}), invs)
    assert row["flag"] == "GC_UNMATCHED"


# --- window, settings, script ------------------------------------------------------------

def test_only_payments_of_the_window_get_a_row_but_all_count():
    out = run(payments(
        {"gc_payment_id": "PM_OLD", "description": "FA2601-0001 (1/2)", "amount_cents": 5000,
         "charge_date": date(2025, 12, 20),
         "created_at": datetime(2025, 12, 15, tzinfo=timezone.utc)},
        {"gc_payment_id": "PM_NEW", "description": "FA2601-0001 (2/2)", "amount_cents": 5000,
         "charge_date": date(2026, 1, 20)},
        {"gc_payment_id": "PM_LATER", "description": "FA2601-0002",
         "charge_date": date(2026, 2, 16), "status": "pending_submission",
         "created_at": datetime(2026, 2, 1, tzinfo=timezone.utc)},
    ), invoices({}, {}))
    rows = by_payment(out)
    assert set(rows) == {"PM_NEW", "PM_LATER"}  # charged, or created, inside the window
    assert rows["PM_NEW"]["flag"] == "GC_PAID_DOLIBARR_OPEN"  # with PM_OLD, covers the total
    assert rows["PM_NEW"]["invoice_received_cents"] == 10000


def test_settings_are_read_from_config_with_the_environment_override(monkeypatch):
    from recon import config
    monkeypatch.setenv("RECONCILIATION_DATE_TOLERANCE", "2")
    settings = settings_from_config(config.load())
    assert settings.date_tolerance_days == 2
    assert "eurl" in settings.legal_forms and settings.max_invoices_per_payment == 4
    assert settings.name_equivalents == (("&", "et", "and"),)


def test_script_writes_the_contract(tmp_path):
    invs, pays = tmp_path / "invoices.parquet", tmp_path / "payments.parquet"
    invoices({}).write_parquet(invs)
    payments({"description": "FA2601-0001"}).write_parquet(pays)
    out = tmp_path / "pass1.parquet"
    pass1.main(["--invoices", str(invs), "--payments", str(pays), "--from", "2026-01-01",
                "--to", "2026-02-09", "--out", str(out)])
    assert read_parquet(out, PASS1)["flag"].to_list() == ["GC_PAID_DOLIBARR_OPEN"]


def test_script_rejects_a_bad_window_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "pass1.parquet"
    with pytest.raises(SystemExit) as exit_info:
        pass1.run(lambda: pass1.main(["--invoices", "x", "--payments", "y", "--from",
                                      "2026-02-10", "--to", "2026-02-09", "--out", str(out)]))
    assert exit_info.value.code == 2
    assert "the window ends before it starts" in capsys.readouterr().err
    assert not out.exists()
