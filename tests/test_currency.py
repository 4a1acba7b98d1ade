"""Issue 10 item 2: an amount is only ever compared with one in the same currency.

Pass 1 (payment <-> invoice: the invoice's multicurrency_code, else the company's EUR) and
pass 3 (payout <-> bank line), on small frames; the whole chain through the stage scripts
is in tests/test_bad_inputs.py (case `usd_payment_names_eur_invoice`).
"""
import csv
import io
from datetime import date
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl

from matching_frames import (FROM, SETTINGS, TO, bank, by_payment, invoices, payments,
                             payout_items, payouts)
from recon.fixplan import plan_payments
from recon.match_invoices import audit_invoices
from recon.match_payments import match_payments
from recon.match_payouts import match_payouts
from recon.schemas import PASS1, PASS3


def pass1(pays, invs):
    out = match_payments(pays, invs, SETTINGS, FROM, TO)
    assert out.schema == pl.Schema(PASS1)
    return out


def test_a_usd_payment_naming_a_eur_invoice_is_a_currency_mismatch_never_a_fix_candidate():
    out = pass1(payments({"description": "Facture FA2601-0001", "currency": "USD",
                          "amount_cents": 21540}),
                invoices({"total_cents": 21540, "remaining_cents": 21540}))
    row = out.row(0, named=True)
    assert (row["flag"], row["match_type"], row["invoice_ref"], row["currency"]) == (
        "CURRENCY_MISMATCH", "ref_in_description", "FA2601-0001", "USD")
    assert ("payment in USD, invoice in EUR: amounts in different currencies are never "
            "compared") in row["evidence"]
    # Nothing received counts towards the invoice, and the fix plan never takes it.
    assert row["invoice_received_cents"] == 0
    assert plan_payments(out).payments == []


def test_an_invoice_without_multicurrency_code_is_in_the_company_currency():
    out = pass1(payments({"description": "FA2601-0001", "currency": "eur"}),
                invoices({"currency": None}))
    assert (out["flag"][0], out["currency"][0]) == ("GC_PAID_DOLIBARR_OPEN", "EUR")
    out = pass1(payments({"description": "FA2601-0001", "currency": "GBP"}),
                invoices({"currency": None}))
    assert out["flag"][0] == "CURRENCY_MISMATCH"
    assert "payment in GBP, invoice in EUR" in out["evidence"][0]


def test_a_usd_invoice_paid_in_usd_is_not_compared_either():
    """Dolibarr's total_ttc and remaintopay are in the company's currency, EUR."""
    out = pass1(payments({"description": "FA2601-0001", "currency": "USD"}),
                invoices({"currency": "USD"}))
    assert out["flag"][0] == "CURRENCY_MISMATCH"
    assert ("payment in USD, invoice in USD (Dolibarr gives the invoice's amounts in EUR): "
            "amounts in different currencies are never compared") in out["evidence"][0]


def test_a_foreign_payment_does_not_count_in_its_invoice_instalments():
    """A EUR instalment and a USD one on one EUR invoice: only the EUR one counts."""
    out = by_payment(pass1(
        payments({"description": "FA2601-0001", "amount_cents": 5000},
                 {"description": "FA2601-0001", "amount_cents": 5000, "currency": "USD"}),
        invoices({})))
    assert out["PM0001"]["flag"] == "AMOUNT_MISMATCH"  # 50.00 EUR of 100.00 left to pay
    assert out["PM0001"]["invoice_received_cents"] == 5000
    assert out["PM0002"]["flag"] == "CURRENCY_MISMATCH"


def test_a_multi_invoice_payment_in_another_currency_is_never_summed():
    out = pass1(payments({"description": "FA2601-0001, FA2601-0002", "amount_cents": 20000,
                          "currency": "CHF"}),
                invoices({}, {}))
    row = out.row(0, named=True)
    assert (row["flag"], row["match_type"], row["invoice_ref"]) == (
        "CURRENCY_MISMATCH", "multi_invoice", "FA2601-0001;FA2601-0002")
    assert ("FA2601-0001, FA2601-0002 in EUR but the payment in CHF: amounts in different "
            "currencies are never compared") in row["evidence"]


def test_the_soft_rule_never_pairs_amounts_of_two_currencies():
    out = pass1(payments({"description": "abonnement", "currency": "USD"}), invoices({}))
    assert (out["flag"][0], out["invoice_id"][0]) == ("GC_UNMATCHED", None)
    out = pass1(payments({"description": "abonnement"}), invoices({}))
    assert (out["flag"][0], out["match_type"][0]) == ("GC_PAID_DOLIBARR_OPEN", "soft")


def audit(invs, line):
    pass1 = match_payments(payments().clear(), invs, SETTINGS, FROM, TO)
    return audit_invoices(invs, pass1, FROM, TO, bank=bank(line), settings=SETTINGS)


def test_a_usd_transfer_never_pays_an_invoice_whose_amounts_dolibarr_gives_in_eur():
    """Pass 2's transfers: a Wise USD credit naming the invoice, or of its amount, against
    an invoice without multicurrency_code (EUR) or in USD (its total_ttc is still EUR)."""
    credit = {"label": "Virement FA2601-0001", "counterparty": "DURAND CLIENT",
              "amount_cents": 10000, "operation_date": date(2026, 1, 20), "currency": "USD"}
    for currency in (None, "USD"):
        for line in (credit, {**credit, "label": "Virement de DURAND CLIENT"}):
            out = audit(invoices({"currency": currency}), line)
            assert "PAID_BY_TRANSFER" not in out["flag"].to_list(), (currency, line, out)
    out = audit(invoices({"currency": None}), {**credit, "currency": "EUR"})
    assert out["flag"].to_list() == ["PAID_BY_TRANSFER"]


def pass3(pos, lines):
    out = match_payouts(pos, payout_items(), payments(), lines, SETTINGS, FROM, TO)
    assert out.schema == pl.Schema(PASS3)
    return out


def test_a_payout_is_only_matched_to_a_bank_line_in_its_currency():
    line = {"label": "GOCARDLESS SAS SHOP-REF001", "currency": "EUR"}
    later = {"operation_date": date(2026, 1, 31), "amount_cents": -500, "label": "Abonnement"}
    out = pass3(payouts({"currency": "USD"}), bank(line, later))
    payout = out.filter(pl.col("payout_id") == "PO0001").row(0, named=True)
    assert (payout["flag"], payout["bank_transaction_id"]) == ("PAYOUT_NOT_IN_BANK", None)
    assert payout["evidence"].endswith(
        "; the payout is in USD: only bank lines in USD were compared")
    # by amount and date too
    out = pass3(payouts({"currency": "USD"}), bank({"currency": "EUR"}, later))
    assert out.filter(pl.col("payout_id") == "PO0001")["flag"][0] == "PAYOUT_NOT_IN_BANK"
    out = pass3(payouts({}), bank(line, later))
    assert out["flag"][0] == "PAYOUT_MATCHED"


# --- through the command line: `make report` on the samples with one payment in USD ---------

REPO = Path(__file__).resolve().parents[1]
EXPORTS = {
    "gocardless_payments.csv": "gocardless/payments_index-export-EX01.csv",
    "gocardless_payouts.csv": "gocardless/payouts-export-EX02.csv",
    "gocardless_payout_transactions.csv": "gocardless/payout-transactions-export-EX03.csv",
    "shine.csv": "shine/BQ_2026-01-01_2026-02-06.csv",
}


def test_make_report_flags_a_usd_payment_naming_a_eur_invoice(tmp_path, data):
    for sample, target in EXPORTS.items():
        (tmp_path / "raw" / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data / "formats" / sample, tmp_path / "raw" / target)
    payments = tmp_path / "raw" / EXPORTS["gocardless_payments.csv"]
    rows = list(csv.reader(io.StringIO(payments.read_text(encoding="utf-8"), newline="")))
    usd = next(r for r in rows if r[0] == "PM00024T27KB0Y")  # 215.40 for FA2602-0001
    usd[rows[0].index("currency")] = "USD"
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    payments.write_text(out.getvalue(), encoding="utf-8")
    (tmp_path / "snapshot").mkdir()
    for name in ("invoices.json", "thirdparties.json"):
        shutil.copy(data / "golden" / name, tmp_path / "snapshot" / name)
    (tmp_path / "venv.ok").touch()  # the repo's .venv is used; never pip install here
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL") and not k.startswith("RECONCILIATION_")}
    env["DOLIBARR_SNAPSHOT"] = str(tmp_path / "snapshot")
    done = subprocess.run(
        ["make", "--no-print-directory", "report", "FROM=2026-01-01", "TO=2026-02-09",
         f"RAW_DIR={tmp_path}/raw", f"INTERIM_DIR={tmp_path}/interim",
         f"OUT_DIR={tmp_path}/tmp", f"VENV_OK={tmp_path}/venv.ok",
         f"SNAPSHOT_ROOT={tmp_path}/dolibarr"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    # The summary printed by make report: counted, shown in its currency, not added to EUR.
    assert "CURRENCY_MISMATCH (1, 0.00 EUR)" in done.stdout
    assert "FA2602-0001 <- PM00024T27KB0Y 215.40 USD paid_out" in done.stdout
    csv_rows = pl.read_csv(tmp_path / "tmp" / "reconciliation_2026-01-01_2026-02-09.csv",
                           infer_schema=False)
    row = csv_rows.filter(pl.col("gc_payment_id") == "PM00024T27KB0Y").row(0, named=True)
    assert (row["flag"], row["invoice_ref"], row["payment_amount_eur"],
            row["payment_currency"]) == ("CURRENCY_MISMATCH", "FA2602-0001", "215.40", "USD")
    assert "payment in USD, invoice in EUR" in row["evidence"]
    assert csv_rows.filter(pl.col("flag") == "GC_PAID_DOLIBARR_OPEN")["gc_payment_id"].to_list() \
        .count("PM00024T27KB0Y") == 0
