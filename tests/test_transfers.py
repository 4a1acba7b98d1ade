"""Pass 2: customer transfers in the bank matched to open invoices (recon/match_transfers.py)."""
from dataclasses import replace
from datetime import date

import polars as pl
import pytest

import pass2
from matching_frames import FROM, SETTINGS, TO, bank, invoices, paid, payments
from recon import decisions as decisions_file
from recon.io import read_parquet
from recon.match_invoices import audit_invoices
from recon.match_payments import match_payments
from recon.match_payouts import match_payouts
from recon.schemas import PASS2

# A customer's transfer: not GoCardless-looking, 100.00, dated after the invoice (2026-01-08).
TRANSFER = {"label": "Virement de DURAND CLIENT", "counterparty": "DURAND CLIENT",
            "amount_cents": 10000, "operation_date": date(2026, 1, 20)}


def audit(invs, lines, pays=None, settings=SETTINGS, **kwargs) -> pl.DataFrame:
    pays = pays if pays is not None else payments().clear()
    pass1 = match_payments(pays, invs, settings, FROM, TO)
    out = audit_invoices(invs, pass1, FROM, TO, bank=lines, settings=settings, **kwargs)
    assert out.schema == pl.Schema(PASS2)
    return out


def rows(out: pl.DataFrame, *columns: str) -> list[tuple]:
    return out.select("flag", "match_type", "invoice_ref", *columns).rows()


# --- strong: the label names the invoice -------------------------------------------------

def test_a_transfer_naming_the_invoice_pays_it_with_the_bank_line_as_evidence():
    out = audit(invoices({"invoice_ref": "FA2601-0022", "total_cents": 6600,
                          "remaining_cents": 6600, "invoice_date": date(2026, 1, 16),
                          "due_date": date(2026, 1, 31)}),
                bank({**TRANSFER, "label": "Virement de BOULANGERIE LEFEVRE - fa2601-0022.",
                      "counterparty": "BOULANGERIE LEFEVRE", "amount_cents": 6600,
                      "operation_date": date(2026, 2, 3)}))
    assert rows(out, "bank_transaction_id", "bank_date", "bank_amount_cents", "share_cents",
                "invoice_id") == [
        ("PAID_BY_TRANSFER", "ref_in_label", "FA2601-0022", "bank-1", date(2026, 2, 3), 6600,
         6600, 1)]
    assert out["bank_label"][0] == "Virement de BOULANGERIE LEFEVRE - fa2601-0022."
    assert out["evidence"][0] == (
        "the bank label 'Virement de BOULANGERIE LEFEVRE - fa2601-0022.' names the invoice ref "
        "FA2601-0022; transfer of 66.00 on 2026-02-03 from 'BOULANGERIE LEFEVRE'; Dolibarr: "
        "open, 66.00 of 66.00 left to pay, due 2026-01-31: 9 days past due on 2026-02-09")


def test_the_ref_in_the_comment_counts_and_a_glued_ref_does_not():
    out = audit(invoices({}, {}),
                bank({**TRANSFER, "label": "VIR SEPA", "comment": "Facture FA2601-0001"},
                     {**TRANSFER, "label": "REFXFA2601-0002", "counterparty": "Other"}))
    assert rows(out, "bank_transaction_id") == [
        ("DOLIBARR_OPEN_NO_GC", "none", "FA2601-0002", None),
        ("PAID_BY_TRANSFER", "ref_in_label", "FA2601-0001", "bank-1")]
    assert out["evidence"][1].startswith("the bank comment 'Facture FA2601-0001' names")
    assert out["evidence"][0].endswith(
        "no GoCardless payment of the window names it or matches it, nor any bank transfer")


def test_two_partial_transfers_add_up_and_say_what_is_left():
    out = audit(invoices({}),
                bank({**TRANSFER, "label": "FA2601-0001 acompte", "amount_cents": 3000},
                     {**TRANSFER, "label": "FA2601-0001 solde", "amount_cents": 5000,
                      "operation_date": date(2026, 1, 25)}))
    assert rows(out, "bank_transaction_id", "share_cents") == [
        ("PAID_BY_TRANSFER", "ref_in_label", "FA2601-0001", "bank-1", 3000),
        ("PAID_BY_TRANSFER", "ref_in_label", "FA2601-0001", "bank-2", 5000)]
    assert ("transfers for this invoice: bank-1;bank-2 (80.00 in all); partial: 20.00 still "
            "to pay") in out["evidence"][0]


def test_transfers_naming_an_invoice_for_more_than_remains_are_a_mismatch():
    out = audit(invoices({"remaining_cents": 4000}),
                bank({**TRANSFER, "label": "FA2601-0001"}))
    assert rows(out, "share_cents") == [("AMOUNT_MISMATCH", "ref_in_label", "FA2601-0001", 10000)]
    assert "more than the 40.00 left to pay: not linked" in out["evidence"][0]


def test_a_transfer_naming_an_invoice_dolibarr_shows_paid_is_simply_settled():
    out = audit(invoices(paid(invoice_ref="FA2601-0001"), {"invoice_ref": "FA2601-0002"}),
                bank({**TRANSFER, "label": "Facture FA2601-0001"}))
    # Nothing about FA2601-0001; the credit names a ref, so it is never soft-matched to 0002.
    assert rows(out) == [("DOLIBARR_OPEN_NO_GC", "none", "FA2601-0002")]


def test_a_transfer_naming_two_invoices_of_one_customer_pays_both():
    out = audit(invoices({"remaining_cents": 9500}, {"remaining_cents": 3000}),
                bank({**TRANSFER, "label": "FA2601-0001 FA2601-0002", "amount_cents": 12500}))
    assert rows(out, "share_cents") == [
        ("PAID_BY_TRANSFER", "multi_invoice", "FA2601-0001", 9500),
        ("PAID_BY_TRANSFER", "multi_invoice", "FA2601-0002", 3000)]
    assert "names FA2601-0001 + FA2601-0002 (one customer)" in out["evidence"][0]


@pytest.mark.parametrize("second, why", [
    ({"socid": 2}, "they belong to different customers"),
    ({"remaining_cents": 2000},
     "what remains on them adds up to 115.00, not the transfer's 125.00"),
    (paid(), "FA2601-0002 not open here"),
])
def test_a_transfer_naming_two_invoices_abstains_unless_they_add_up(second, why):
    out = audit(invoices({"remaining_cents": 9500}, {"remaining_cents": 3000, **second}),
                bank({**TRANSFER, "label": "FA2601-0001 FA2601-0002", "amount_cents": 12500}))
    ambiguous = out.filter(pl.col("flag") == "AMBIGUOUS")
    assert ambiguous["invoice_ref"][0] == "FA2601-0001" and ambiguous["share_cents"][0] is None
    assert why in ambiguous["evidence"][0]
    assert "PAID_BY_TRANSFER" not in out["flag"].to_list()


# --- soft: amount, name key, date --------------------------------------------------------

def test_soft_transfer_of_what_remains_from_the_customer_within_the_dates():
    out = audit(invoices({"customer_name": "COLIN ET FILS SARL", "due_date": date(2026, 1, 31)}),
                bank({**TRANSFER, "counterparty": "Colin & Fils",
                      "operation_date": date(2026, 2, 9)}))
    assert rows(out, "share_cents", "bank_transaction_id") == [
        ("PAID_BY_TRANSFER", "soft", "FA2601-0001", 10000, "bank-1")]
    assert out["evidence"][0].startswith(
        "no invoice ref; transfer of 100.00 on 2026-02-09 = what remains to pay; name key "
        "'colin et fils' on both sides ('Colin & Fils' / 'COLIN ET FILS SARL'); 32 days after "
        "the invoice date (due 2026-01-31); the only candidate on both sides")


@pytest.mark.parametrize("dolibarr, bank_name", [
    ("Dupont et Associés", "DUPONT & ASSOCIES"), ("COLIN ET FILS SARL", "Colin and Fils")])
def test_soft_names_that_mean_the_same_link(dolibarr, bank_name):
    out = audit(invoices({"customer_name": dolibarr}),
                bank({**TRANSFER, "counterparty": bank_name}))
    assert rows(out) == [("PAID_BY_TRANSFER", "soft", "FA2601-0001")]


def test_a_transfer_of_exactly_the_amount_from_another_customer_is_never_linked():
    out = audit(invoices({}), bank({**TRANSFER, "counterparty": "Dupont et Associés"}))
    assert rows(out) == [("DOLIBARR_OPEN_NO_GC", "none", "FA2601-0001")]


@pytest.mark.parametrize("change", [
    {"operation_date": date(2026, 1, 7)},  # before the invoice date
    {"amount_cents": 9999},
    {"personal": True},
    {"amount_cents": -10000},
    {"label": "Virement de GOCARDLESS SAS"},  # looks like a payout
])
def test_soft_abstains(change):
    assert audit(invoices({}), bank({**TRANSFER, **change}))["flag"].to_list() == [
        "DOLIBARR_OPEN_NO_GC"]


def test_soft_date_limit_comes_from_the_settings():
    invs = invoices({"due_date": date(2026, 1, 10)})
    line = bank({**TRANSFER, "operation_date": date(2026, 1, 21)})
    assert audit(invs, line)["flag"].to_list() == ["PAID_BY_TRANSFER"]
    tight = replace(SETTINGS, transfer_days_after_due=10)
    assert audit(invs, line, settings=tight)["flag"].to_list() == ["DOLIBARR_OPEN_NO_GC"]


def test_two_equal_candidate_invoices_are_ambiguous_and_show_the_transfer():
    out = audit(invoices({}, {}), bank(TRANSFER))
    assert rows(out, "bank_transaction_id", "bank_amount_cents", "share_cents") == [
        ("AMBIGUOUS", "soft", "FA2601-0001", "bank-1", 10000, None),
        ("AMBIGUOUS", "soft", "FA2601-0002", "bank-1", 10000, None)]
    assert ("no invoice ref; 1 candidate transfer(s) of 100.00 with name key 'client durand', "
            "from the invoice date to 30 days after the due date: bank-1 on 2026-01-20 from "
            "'DURAND CLIENT'; also a candidate for FA2601-0002; precision first, none linked"
            ) in out["evidence"][0]


def test_two_equal_candidate_transfers_are_ambiguous():
    out = audit(invoices({}), bank(TRANSFER, {**TRANSFER, "operation_date": date(2026, 1, 22)}))
    assert rows(out, "bank_transaction_id", "bank_date") == [
        ("AMBIGUOUS", "soft", "FA2601-0001", "bank-1;bank-2", None)]


def test_an_invoice_a_credit_names_is_never_a_soft_candidate():
    # bank-1 names FA2601-0001 but for too much; bank-2 could only be soft for it.
    out = audit(invoices({"remaining_cents": 5000, "total_cents": 5000}),
                bank({**TRANSFER, "label": "FA2601-0001"}, {**TRANSFER, "amount_cents": 5000}))
    assert rows(out, "bank_transaction_id") == [
        ("AMOUNT_MISMATCH", "ref_in_label", "FA2601-0001", "bank-1")]


# --- what is never a customer transfer ---------------------------------------------------

def test_payout_lines_decided_lines_and_lines_after_to_are_never_transfers(tmp_path):
    invs = invoices({"invoice_ref": "FA2601-0001"})
    line = bank({**TRANSFER, "label": "FA2601-0001"})
    assert audit(invs, line)["flag"].to_list() == ["PAID_BY_TRANSFER"]
    assert audit(invs, line, payout_bank_ids=pl.Series(["bank-1"]))["flag"].to_list() == [
        "DOLIBARR_OPEN_NO_GC"]
    for decided in ("ignore: capital increase", "payout: PO0001\n  note: ref cut"):
        path = tmp_path / "decisions.yaml"
        path.write_text(f"- bank: bank-1\n  {decided}\n", encoding="utf-8")
        out = audit(invs, line, decisions=decisions_file.load(path))
        assert out["flag"].to_list() == ["DOLIBARR_OPEN_NO_GC"], decided
    late = bank({**TRANSFER, "label": "FA2601-0001", "operation_date": date(2026, 2, 10)})
    assert audit(invs, late)["flag"].to_list() == ["DOLIBARR_OPEN_NO_GC"]


def test_an_invoice_a_person_settled_is_not_matched_to_a_transfer(tmp_path):
    path = tmp_path / "decisions.yaml"
    path.write_text("- invoice: FA2601-0001\n  settled: paid by cheque\n", encoding="utf-8")
    out = audit(invoices({}, {}), bank(TRANSFER), decisions=decisions_file.load(path))
    # FA2601-0001 is settled by the decision, so the transfer is FA2601-0002's alone.
    assert rows(out, "bank_transaction_id") == [
        ("PAID_BY_TRANSFER", "soft", "FA2601-0002", "bank-1"),
        ("SETTLED_OUTSIDE", "decision", "FA2601-0001", None)]


def test_a_payout_found_by_amount_and_date_is_not_a_customer_transfer():
    # A payout whose bank line does not look like GoCardless, with the customer's name and
    # the invoice's amount: pass 3 takes it, so pass 2 must not.
    line = bank({**TRANSFER, "operation_date": date(2026, 1, 14)})
    from matching_frames import payouts
    from recon.schemas import GC_PAYOUT_ITEMS
    p3 = match_payouts(payouts({"amount_cents": 10000}), pl.DataFrame(schema=GC_PAYOUT_ITEMS),
                       payments().clear(), line, SETTINGS, FROM, TO)
    assert p3["bank_transaction_id"].to_list() == ["bank-1"]
    out = audit(invoices({}), line, payout_bank_ids=p3["bank_transaction_id"])
    assert out["flag"].to_list() == ["DOLIBARR_OPEN_NO_GC"]


def test_invoices_pass_1_speaks_for_are_left_to_it():
    invs = invoices({})
    pays = payments({"description": "FA2601-0001", "status": "failed"})
    out = audit(invs, bank({**TRANSFER, "label": "FA2601-0001"}), pays)
    assert out.is_empty()


# --- the stage ---------------------------------------------------------------------------

def test_script_reads_the_bank_and_pass3(tmp_path):
    paths = {n: tmp_path / f"{n}.parquet" for n in ("invoices", "pass1", "bank", "pass3", "out")}
    frame = invoices({})
    frame.write_parquet(paths["invoices"])
    match_payments(payments().clear(), frame, SETTINGS, FROM, TO).write_parquet(paths["pass1"])
    bank({**TRANSFER, "label": "FA2601-0001"}, {**TRANSFER, "bank_transaction_id": "po"}
         ).write_parquet(paths["bank"])
    pl.DataFrame({"bank_transaction_id": ["x;po", None]}).write_parquet(paths["pass3"])
    pass2.main(["--invoices", str(paths["invoices"]), "--pass1", str(paths["pass1"]),
                "--bank", str(paths["bank"]), "--pass3", str(paths["pass3"]),
                "--from", "2026-01-01", "--to", "2026-02-09", "--out", str(paths["out"])])
    out = read_parquet(paths["out"], PASS2)
    assert out.select("flag", "bank_transaction_id", "share_cents").rows() == [
        ("PAID_BY_TRANSFER", "bank-1", 10000)]
