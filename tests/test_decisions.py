"""decisions.yaml: the file read and checked as a whole, then each form applied by its pass
on small hand-made frames (tests/matching_frames.py)."""
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from matching_frames import (FROM, SETTINGS, TO, bank, by_payment, invoices, paid, payments,
                             payout_items, payouts)
from recon import decisions as decisions_file
from recon.apply_decisions import left_alone_count
from recon.errors import InputError
from recon.fixplan import plan_payments
from recon.flags import ACTIONS, FLAGS
from recon.match_invoices import audit_invoices
from recon.match_payments import match_payments
from recon.match_payouts import match_payouts
from recon.review import review_text

ROOT = Path(__file__).resolve().parents[1]

FIVE_FORMS = """\
- payment: PM01ABCDEF0123          # GoCardless payment id
  invoice: FA2601-0012
  note: the customer confirmed by phone that it pays FA2601-0012
  by: claire
  on: 2026-02-03
- payment: PM01ABCDEF0456
  ignore: a deposit for a future order, not an invoice payment
- invoice: FA2601-0030
  settled: paid by cheque on 2026-01-20
- bank: 6b1f0c9e-aaaa
  ignore: capital increase
- bank: 2a77-bbbb
  payout: PO0123ABCD
  note: the payout reference was cut from the label
- payment: PM01ABCDEF0789
  invoice: [FA2601-0014, FA2601-0015]
  note: one payment for both
"""


def load(tmp_path, text: str, name="decisions.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return decisions_file.load(path)


def error(tmp_path, text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        load(tmp_path, text)
    return caught.value


# --- the file ------------------------------------------------------------------------------

def test_the_five_forms_with_their_lines_reasons_and_evidence(tmp_path):
    d = load(tmp_path, FIVE_FORMS)
    assert d.links.select("gc_payment_id", "invoice_ref", "refs", "line").rows() == [
        ("PM01ABCDEF0123", "FA2601-0012", 1, 1),
        ("PM01ABCDEF0789", "FA2601-0014", 2, 15), ("PM01ABCDEF0789", "FA2601-0015", 2, 15)]
    assert d.links["decision"][0] == ("decision: the customer confirmed by phone that it pays "
                                      "FA2601-0012 (claire, 2026-02-03)")
    assert d.ignored_payments.select("gc_payment_id", "line", "decision").rows() == [
        ("PM01ABCDEF0456", 6, "decision: a deposit for a future order, not an invoice payment")]
    assert d.settled_invoices.select("invoice_ref", "line", "reason").rows() == [
        ("FA2601-0030", 8, "paid by cheque on 2026-01-20")]
    assert d.ignored_bank.select("bank_transaction_id", "line", "reason").rows() == [
        ("6b1f0c9e-aaaa", 10, "capital increase")]
    assert d.bank_payouts.select("bank_transaction_id", "payout_id", "line").rows() == [
        ("2a77-bbbb", "PO0123ABCD", 12)]
    assert d.count == 6


def test_no_file_and_an_empty_file_are_no_decisions(tmp_path):
    assert decisions_file.load(tmp_path / "absent.yaml").count == 0
    assert load(tmp_path, "# nothing decided yet\n").count == 0


def test_ids_are_kept_as_typed_not_read_as_numbers(tmp_path):
    d = load(tmp_path, "- invoice: 0012\n  settled: cash\n- bank: 1e3\n  ignore: 'on'\n")
    assert d.settled_invoices["invoice_ref"].to_list() == ["0012"]
    assert d.ignored_bank.select("bank_transaction_id", "reason").rows() == [("1e3", "on")]


@pytest.mark.parametrize("text, line, words", [
    # an id decided twice names both lines
    ("- payment: PM1\n  ignore: a\n- invoice: FA2601-0001\n  settled: b\n"
     "- payment: PM1\n  invoice: FA2601-0002\n  note: c\n",
     5, "payment PM1 is decided twice, on lines 1 and 5"),
    ("- bank: b1\n  ignore: a\n- bank: b1\n  payout: PO1\n  note: n\n",
     3, "bank line b1 is decided twice, on lines 1 and 3"),
    ("- invoice: fa2601-0001\n  settled: a\n- invoice: FA2601-0001\n  settled: b\n",
     3, "invoice FA2601-0001 is decided twice, on lines 1 and 3"),
    # a missing or empty reason
    ("- payment: PM1\n  ignore: a\n- payment: PM2\n  invoice: FA2601-0002\n",
     3, "the entry gives no reason ('note' is missing or empty)"),
    ("- invoice: FA2601-0001\n  settled:\n", 1, "the entry gives no reason ('settled'"),
    ("- bank: b1\n  payout: PO1\n  note: '  '\n", 1, "the entry gives no reason"),
    # what does not make a form
    ("- payment: PM1\n  settled: cash\n", 1, "a payment entry takes 'invoice' or 'ignore', "
     "and this one says 'settled'"),
    ("- payment: PM1\n  invoice: FA2601-0001\n  ignore: x\n", 1,
     "says 'invoice' and 'ignore'"),
    ("- payment: PM1\n  bank: b1\n  ignore: x\n", 1, "a payment or a bank line, not both"),
    ("- note: just a note\n", 1, "names nothing to decide about"),
    ("- payment: PM1\n  ignore: x\n  because: y\n", 1, "unknown key 'because'"),
    ("- payment: PM1\n  ignore: x\n- just text\n", 3, "not a mapping"),
    ("payment: PM1\nignore: x\n", 1, "must be a list of entries"),
    ("- payment: PM1\n  invoice: FA2601-0011\n  invoice: FA2601-0012\n  note: x\n", 3,
     "the key 'invoice' appears twice in one entry (also on line 2)"),
    ("- payment: PM1\n  invoice: [FA2601-0011, fa2601-0011]\n  note: x\n", 1,
     "the same invoice ref appears twice"),
    ("- payment: PM1\n  ignore: x\n  on: 3 February\n", 1, "'on' is not a date"),
    # malformed YAML
    ("- payment: PM1\n  ignore: x\n- payment: [PM2\n  ignore: y\n", 4, "not valid YAML"),
    ("- payment: PM1\n   ignore: x\n", 2, "not valid YAML"),
])
def test_a_bad_file_is_an_error_with_its_line_and_the_right_form(tmp_path, text, line, words):
    exc = error(tmp_path, text)
    assert exc.line == line
    assert words in str(exc)
    assert str(exc).startswith(f"{tmp_path / 'decisions.yaml'}, line {line}: ")
    assert "e.g." in str(exc) or "expected" in str(exc)


def test_the_error_gives_an_example_of_the_right_form(tmp_path):
    exc = error(tmp_path, "- invoice: FA2601-0001\n  settled: ''\n")
    assert str(exc).endswith("expected e.g. - {invoice: FA2601-0030, settled: paid by cheque "
                             "on 2026-01-20}.")


# --- pass 1 ------------------------------------------------------------------------------

def decide(tmp_path, text):
    """The decisions of `text`, as the passes get them."""
    return load(tmp_path, text)


# Two open invoices of 150.00 for the same customer and one payment naming neither: AMBIGUOUS.
TIE = dict(
    pays=payments({"gc_payment_id": "PM1", "amount_cents": 15000}),
    invs=invoices({"total_cents": 15000, "remaining_cents": 15000},
                  {"total_cents": 15000, "remaining_cents": 15000}),
)
LINK = ("- payment: PM1\n  invoice: FA2601-0002\n  note: confirmed by phone\n  by: claire\n"
        "  on: 2026-02-03\n")


def test_without_the_decision_the_tie_is_ambiguous():
    row = by_payment(match_payments(TIE["pays"], TIE["invs"], SETTINGS, FROM, TO))["PM1"]
    assert (row["flag"], row["invoice_ref"]) == ("AMBIGUOUS", "FA2601-0001;FA2601-0002")


def test_a_decided_link_holds_and_the_state_rules_judge_it(tmp_path):
    out = match_payments(TIE["pays"], TIE["invs"], SETTINGS, FROM, TO, decide(tmp_path, LINK))
    row = by_payment(out)["PM1"]
    assert (row["flag"], row["match_type"], row["invoice_ref"], row["invoice_id"],
            row["share_cents"]) == ("GC_PAID_DOLIBARR_OPEN", "decision", "FA2601-0002", 2, 15000)
    assert row["evidence"] == (
        "decision: confirmed by phone (claire, 2026-02-03); payment 150.00 paid_out; "
        "GoCardless received 150.00 of the invoice's 150.00; Dolibarr: open, 150.00 left to pay")
    # ... and it is a fix candidate like a reference match.
    [planned] = plan_payments(out).payments
    assert (planned.gc_payment_id, planned.invoice_refs, planned.match_type) == (
        "PM1", "FA2601-0002", "decision")


@pytest.mark.parametrize("status, invoice, flag", [
    ("paid_out", paid(total_cents=15000), "MATCHED"),
    ("charged_back", paid(total_cents=15000), "GC_CHARGED_BACK"),
    ("pending_submission", {"total_cents": 15000, "remaining_cents": 15000}, "GC_PENDING"),
    ("paid_out", {"total_cents": 20000, "remaining_cents": 20000}, "AMOUNT_MISMATCH"),
])
def test_a_decision_never_hides_a_later_event(tmp_path, status, invoice, flag):
    pays = payments({"gc_payment_id": "PM1", "amount_cents": 15000, "status": status,
                     "customer_name": "Someone Else"})
    out = match_payments(pays, invoices(invoice), SETTINGS, FROM, TO,
                         decide(tmp_path, LINK.replace("FA2601-0002", "FA2601-0001")))
    row = by_payment(out)["PM1"]
    assert (row["flag"], row["match_type"]) == (flag, "decision")
    assert row["evidence"].startswith("decision: confirmed by phone (claire, 2026-02-03); ")


def test_a_decision_beats_the_reference_and_no_rule_takes_its_invoice(tmp_path):
    pays = payments({"gc_payment_id": "PM1", "description": "FA2601-0001", "amount_cents": 15000},
                    {"gc_payment_id": "PM2", "amount_cents": 15000})  # would soft-match 0002
    invs = invoices({"total_cents": 15000, "remaining_cents": 15000},
                    {"total_cents": 15000, "remaining_cents": 15000,
                     "invoice_date": date(2026, 1, 9)})
    out = by_payment(match_payments(pays, invs, SETTINGS, FROM, TO, decide(tmp_path, LINK)))
    assert (out["PM1"]["invoice_ref"], out["PM1"]["match_type"]) == ("FA2601-0002", "decision")
    assert (out["PM2"]["flag"], out["PM2"]["invoice_ref"]) == ("GC_UNMATCHED", None)


def test_one_payment_decided_over_several_invoices_is_split_by_their_open_amounts(tmp_path):
    pays = payments({"gc_payment_id": "PM1", "amount_cents": 12500})
    invs = invoices({"total_cents": 9500, "remaining_cents": 9500},
                    {"total_cents": 3000, "remaining_cents": 3000})
    text = "- payment: PM1\n  invoice: [FA2601-0001, FA2601-0002]\n  note: both\n"
    out = match_payments(pays, invs, SETTINGS, FROM, TO, decide(tmp_path, text))
    assert out.select("flag", "match_type", "invoice_ref", "share_cents", "related_refs").rows() == [
        ("GC_PAID_DOLIBARR_OPEN", "decision", "FA2601-0001", 9500, "FA2601-0001;FA2601-0002"),
        ("GC_PAID_DOLIBARR_OPEN", "decision", "FA2601-0002", 3000, "FA2601-0001;FA2601-0002")]
    assert out["evidence"][0].startswith(
        "decision: both; the payment pays FA2601-0001 + FA2601-0002: 95.00 of it is this "
        "invoice's share; ")


def test_several_invoices_that_do_not_add_up_get_no_share_and_disagree(tmp_path):
    pays = payments({"gc_payment_id": "PM1", "amount_cents": 10000})
    invs = invoices({"total_cents": 9500, "remaining_cents": 9500},
                    {"total_cents": 3000, "remaining_cents": 3000})
    text = "- payment: PM1\n  invoice: [FA2601-0001, FA2601-0002]\n  note: both\n"
    out = match_payments(pays, invs, SETTINGS, FROM, TO, decide(tmp_path, text))
    assert out["flag"].to_list() == ["AMOUNT_MISMATCH", "AMOUNT_MISMATCH"]
    assert "whose open amounts add up to 125.00 (totals 125.00), not its 100.00" in \
        out["evidence"][0]


@pytest.mark.parametrize("status", ["paid_out", "failed"])
def test_an_ignored_payment_is_ignored_whatever_its_state(tmp_path, status):
    pays = payments({"gc_payment_id": "PM1", "amount_cents": 50000, "status": status})
    out = match_payments(pays, invoices({}), SETTINGS, FROM, TO,
                         decide(tmp_path, "- payment: PM1\n  ignore: a deposit\n"))
    row = by_payment(out)["PM1"]
    assert (row["flag"], row["match_type"], row["invoice_ref"]) == ("IGNORED", "decision", None)
    assert row["evidence"] == f"decision: a deposit; payment 500.00 {status}"


def test_decisions_about_other_months_are_left_alone(tmp_path):
    pays = payments({"gc_payment_id": "PM1", "charge_date": date(2025, 11, 3),
                     "created_at": datetime(2025, 11, 1, tzinfo=timezone.utc),
                     "amount_cents": 15000},
                    {"gc_payment_id": "PM2", "description": "FA2601-0001"})
    text = ("- payment: PM1\n  invoice: FA2501-0999\n  note: last year\n"  # not read: no error
            "- payment: PM404\n  ignore: not in the export\n")
    d = decide(tmp_path, text)
    out = match_payments(pays, invoices({}), SETTINGS, FROM, TO, d)
    assert out.select("gc_payment_id", "flag", "match_type").rows() == [
        ("PM2", "GC_PAID_DOLIBARR_OPEN", "ref_exact")]
    no_pass3 = pl.DataFrame(schema={"match_type": pl.String, "bank_transaction_id": pl.String})
    assert left_alone_count(d, out, audit_invoices(invoices({}), out, FROM, TO),
                            no_pass3) == (0, 2)


@pytest.mark.parametrize("invoice, text, why", [
    ({}, "- payment: PM1\n  ignore: x\n- payment: PM2\n  invoice: FA2601-0404\n  note: y\n",
     "line 3: this decision cannot hold: invoice FA2601-0404 is not among the Dolibarr "
     "invoices read"),
    ({"type": 2, "total_cents": -10000}, "- payment: PM2\n  invoice: FA2601-0001\n  note: y\n",
     "line 1: this decision cannot hold: invoice FA2601-0001 is a credit note, which is never "
     "matched"),
    ({"status": 0}, "- payment: PM2\n  invoice: FA2601-0001\n  note: y\n",
     "invoice FA2601-0001 is a draft, which is never matched"),
    ({"status": 3}, "- payment: PM2\n  invoice: FA2601-0001\n  note: y\n",
     "invoice FA2601-0001 is a abandoned invoice, which is never matched"),
])
def test_a_decision_that_cannot_hold_is_an_error_naming_its_line(tmp_path, invoice, text, why):
    pays = payments({"gc_payment_id": "PM1"}, {"gc_payment_id": "PM2"})
    with pytest.raises(InputError, match=why):
        match_payments(pays, invoices(invoice), SETTINGS, FROM, TO, decide(tmp_path, text))


def test_a_payment_cannot_be_decided_onto_an_invoice_others_already_paid(tmp_path):
    pays = payments({"gc_payment_id": "PM1", "description": "FA2601-0001"},
                    {"gc_payment_id": "PM2"})
    text = "- payment: PM2\n  invoice: FA2601-0001\n  note: y\n"
    with pytest.raises(InputError, match="line 1: this decision cannot hold: invoice "
                                         "FA2601-0001 is already taken in full by payment"
                                         r"\(s\) PM1 \(100.00 of its 100.00\)"):
        match_payments(pays, invoices({}), SETTINGS, FROM, TO, decide(tmp_path, text))
    # A failed attempt takes nothing: the decision holds.
    pays = pays.with_columns(status=pl.Series(["failed", "paid_out"]))
    out = by_payment(match_payments(pays, invoices({}), SETTINGS, FROM, TO,
                                    decide(tmp_path, text)))
    assert (out["PM2"]["flag"], out["PM2"]["match_type"]) == ("GC_PAID_DOLIBARR_OPEN", "decision")


# --- pass 2 ------------------------------------------------------------------------------

SETTLED = "- invoice: FA2601-0001\n  settled: paid by cheque on 2026-01-20\n"


def audit(invs, decisions, pays=None):
    pays = pays if pays is not None else payments().clear()
    pass1 = match_payments(pays, invs, SETTINGS, FROM, TO, decisions)
    return audit_invoices(invs, pass1, FROM, TO, decisions)


def test_a_settled_open_invoice_leaves_the_audit_as_settled_outside(tmp_path):
    out = audit(invoices({}, {}), decide(tmp_path, SETTLED))
    assert out.select("flag", "match_type", "invoice_ref", "days_past_due").rows() == [
        ("DOLIBARR_OPEN_NO_GC", "none", "FA2601-0002", 32),
        ("SETTLED_OUTSIDE", "decision", "FA2601-0001", 32)]
    assert out["evidence"][1] == ("decision: paid by cheque on 2026-01-20; Dolibarr: open, "
                                  "100.00 of 100.00 left to pay, due 2026-01-08")


def test_a_settled_invoice_dolibarr_shows_paid_is_simply_settled(tmp_path):
    assert audit(invoices(paid()), decide(tmp_path, SETTLED)).is_empty()


def test_settling_a_credit_note_is_an_error(tmp_path):
    with pytest.raises(InputError, match="line 1: this decision cannot hold: invoice "
                                         "FA2601-0001 is a credit note"):
        audit(invoices({"type": 2, "total_cents": -5000}), decide(tmp_path, SETTLED))


# --- pass 3 ------------------------------------------------------------------------------

PAYMENT = payments({"payout_id": "PO0001", "amount_cents": 10000})
NO_ITEMS = payout_items().clear()


def pass3(pos, lines, decisions):
    return match_payouts(pos, NO_ITEMS, PAYMENT, lines, SETTINGS, FROM, TO, decisions)


def test_a_bank_line_decided_as_a_payout_is_matched_and_its_fees_checked(tmp_path):
    # Neither the reference nor the date would find it (a week late, label without ref).
    lines = bank({"label": "VIR SEPA", "counterparty": "X", "operation_date": date(2026, 1, 21)},
                 {"bank_transaction_id": "bank-2", "operation_date": date(2026, 1, 14)})
    text = "- bank: bank-1\n  payout: PO0001\n  note: the bank cut the label\n  by: claire\n"
    out = pass3(payouts({"transaction_fee_debit_cents": 150}), lines, decide(tmp_path, text))
    row = out.filter(pl.col("payout_id") == "PO0001").row(0, named=True)
    assert (row["flag"], row["match_type"], row["bank_transaction_id"], row["fees_flag"]) == (
        "PAYOUT_MATCHED", "decision", "bank-1", "FEES_MISMATCH")
    assert row["evidence"] == (
        "decision: the bank cut the label (claire); bank line 'VIR SEPA' on 2026-01-21, "
        "7 days from the arrival date 2026-01-14; bank amount 98.00 = the payout's net")
    # bank-2 would have matched by amount and date: the decision came first.
    assert out.filter(pl.col("payout_id").is_null()).select(
        "flag", "bank_transaction_id").rows() == [("BANK_CREDIT_UNMATCHED", "bank-2")]


def test_an_ignored_bank_credit_is_no_longer_unmatched_and_no_rule_takes_it(tmp_path):
    text = "- bank: bank-1\n  ignore: capital increase\n  on: 2026-02-01\n"
    out = pass3(payouts({}), bank({}), decide(tmp_path, text))
    # The amount and date would have matched it to PO0001: the payout stays without a line.
    assert out.select("match_type", "payout_id", "bank_transaction_id").rows() == [
        ("none", "PO0001", None), ("decision", None, "bank-1")]
    assert out["flag"].to_list()[1] == "IGNORED"
    assert out["evidence"][1] == ("decision: capital increase (2026-02-01); a credit of 98.00 "
                                  "on 2026-01-14")


def test_a_debit_decided_as_a_payout_is_an_error(tmp_path):
    text = "- bank: bank-1\n  payout: PO0001\n  note: x\n"
    with pytest.raises(InputError, match="line 1: this decision cannot hold: bank line bank-1 "
                                         "is no credit"):
        pass3(payouts({}), bank({"amount_cents": -9800}), decide(tmp_path, text))


# --- the review file ---------------------------------------------------------------------

def test_the_review_of_an_ambiguous_payment_lists_its_candidates_and_round_trips(tmp_path):
    pass1 = match_payments(TIE["pays"], TIE["invs"], SETTINGS, FROM, TO)
    pass2 = audit_invoices(TIE["invs"], pass1, FROM, TO)
    pass3_rows = match_payouts(payouts().clear(), NO_ITEMS, PAYMENT.clear(), bank().clear(),
                               SETTINGS, FROM, TO)
    text = review_text(pass1, pass2, pass3_rows, FROM, TO)
    block = text[text.index("# AMBIGUOUS payment PM1"):].split("\n\n")[0].splitlines()
    assert block[2:] == [
        "# - payment: PM1",
        "#   invoice: FA2601-0001    # candidate: keep one",
        "#   invoice: FA2601-0002    # candidate: keep one",
        "#   note:",
        "# or:",
        "# - payment: PM1",
        "#   ignore:"]
    # Uncommented as is, both candidates kept: refused, with the line.
    chosen = "\n".join(line[2:] for line in block[2:6])
    assert error(tmp_path, chosen).line == 3
    # One candidate kept and a reason given: a valid decision.
    chosen = "\n".join(line[2:] for line in block[2:4]) + "\n  note: confirmed\n"
    assert load(tmp_path, chosen).links.select("gc_payment_id", "invoice_ref").rows() == [
        ("PM1", "FA2601-0001")]


# --- the stages ----------------------------------------------------------------------------

def test_a_pass_given_a_bad_decisions_file_exits_non_zero_with_the_line(tmp_path):
    bad = tmp_path / "decisions.yaml"
    bad.write_text("- payment: PM1\n  ignore: x\n- payment: PM1\n  ignore: y\n")
    done = subprocess.run(
        [sys.executable, str(ROOT / "stages" / "pass2.py"), "--invoices", "x", "--pass1", "y",
         "--bank", "z", "--pass3", "w",
         "--from", "2026-01-01", "--to", "2026-01-31", "--decisions", str(bad),
         "--out", str(tmp_path / "out.parquet")], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == (f"error: {bad}, line 3: payment PM1 is decided twice, on lines 1 "
                           "and 3; expected one entry per id (merge them, or delete one).\n")
    assert not (tmp_path / "out.parquet").exists()


def test_a_payment_decided_over_several_invoices_is_planned_like_a_multi_invoice_one(tmp_path):
    pays = payments({"gc_payment_id": "PM1", "amount_cents": 12500})
    invs = invoices({"total_cents": 9500, "remaining_cents": 9500},
                    {"total_cents": 3000, "remaining_cents": 3000})
    text = "- payment: PM1\n  invoice: [FA2601-0001, FA2601-0002]\n  note: both\n"
    out = match_payments(pays, invs, SETTINGS, FROM, TO, decide(tmp_path, text))
    assert [x.reason for x in plan_payments(out).left_out] == [
        "one payment for several invoices (config fix.allow_multi_invoice is false)"] * 2
    [planned] = plan_payments(out, allow_multi_invoice=True).payments
    assert [(a.invoice_ref, a.amount_cents) for a in planned.allocations] == [
        ("FA2601-0001", 9500), ("FA2601-0002", 3000)]


def test_the_decision_flags_are_in_the_registry_and_need_no_action():
    assert {"IGNORED", "SETTLED_OUTSIDE"} <= set(FLAGS)
    assert not {"IGNORED", "SETTLED_OUTSIDE"} & set(ACTIONS)


def test_the_review_leaves_an_invoice_paid_by_transfer_to_make_fix():
    from recon.schemas import PASS2
    row = {"match_type": "ref_in_label", "invoice_ref": "FA2601-0001",
           "invoice_remaining_cents": 6600, "invoice_customer_name": "Colin & Fils",
           "invoice_due_date": date(2026, 1, 31), "evidence": "bank line names it"}
    pass2 = pl.DataFrame([{**row, "flag": "PAID_BY_TRANSFER"},
                          {**row, "flag": "DOLIBARR_OPEN_NO_GC", "match_type": "none",
                           "invoice_ref": "FA2601-0002"}],
                         schema={k: PASS2[k] for k in ("flag", *row)})
    empty = pl.DataFrame(schema={"flag": pl.String, "match_type": pl.String,
                                 "share_cents": pl.Int64, "fees_flag": pl.String,
                                 "net_cents": pl.Int64, "bank_amount_cents": pl.Int64,
                                 "payout_id": pl.String, "bank_transaction_id": pl.String})
    text = review_text(empty, pass2, empty, FROM, TO)
    transfer = text[text.index("# PAID_BY_TRANSFER invoice FA2601-0001"):].split("\n\n")[0]
    assert transfer.splitlines()[2:] == [
        "# `make fix` records it (with fix.allow_transfers: true): nothing to decide"]
    assert "# - invoice: FA2601-0002\n#   settled:" in text
