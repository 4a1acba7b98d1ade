"""Small hand-made input frames for the pass tests: give only the columns a test is about.

Every builder takes rows as dicts; missing columns get a neutral default, and the frame
has exactly the stage contract's schema (recon.schemas), so the passes see what the
parsers and fetch_dolibarr would give them.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import polars as pl

from recon.match_common import Settings
from recon.schemas import BANK, GC_PAYMENTS, GC_PAYOUT_ITEMS, GC_PAYOUTS, INVOICES

FROM, TO = date(2026, 1, 1), date(2026, 2, 9)
SETTINGS = Settings(legal_forms=("sarl", "sas", "sasu", "eurl", "sa", "sci"))


def _frame(rows, schema: dict, defaults) -> pl.DataFrame:
    full = [{**defaults(i), **row} for i, row in enumerate(rows)]
    return pl.DataFrame(full, schema=schema, orient="row") if full else pl.DataFrame(schema=schema)


def payments(*rows: dict) -> pl.DataFrame:
    return _frame(rows, GC_PAYMENTS, lambda i: {
        "gc_payment_id": f"PM{i + 1:04d}",
        "created_at": datetime(2026, 1, 5, 9, 0, i, tzinfo=timezone.utc),
        "charge_date": date(2026, 1, 10), "amount_cents": 10000, "description": None,
        "reference": None, "currency": "EUR", "status": "paid_out",
        "amount_refunded_cents": 0, "transaction_fee_cents": None,
        "transaction_fee_tax_cents": None, "app_fee_cents": None, "payout_date": None,
        "payout_id": None, "mandate_id": None, "gc_customer_id": None,
        "customer_name": "Client Durand", "customer_email": None,
        "source_file": "payments.csv", "source_line": i + 2,
    })


def invoices(*rows: dict) -> pl.DataFrame:
    """Open (status 1) standard invoices of 100.00 unless told otherwise."""
    def defaults(i):
        return {
            "invoice_id": i + 1, "invoice_ref": f"FA2601-{i + 1:04d}", "ref_client": None,
            "socid": 1, "customer_name": "DURAND Client", "type": 0, "status": 1,
            "paid": False, "close_code": None, "total_cents": 10000, "paid_cents": 0,
            "remaining_cents": 10000, "invoice_date": date(2026, 1, 8),
            "due_date": date(2026, 1, 8), "currency": "EUR", "payment_mode": "PRE",
        }
    return _frame(rows, INVOICES, defaults)


def paid(**row) -> dict:
    """An invoice closed as paid in Dolibarr."""
    total = row.get("total_cents", 10000)
    return {"status": 2, "paid": True, "paid_cents": total, "remaining_cents": 0, **row}


def payouts(*rows: dict) -> pl.DataFrame:
    return _frame(rows, GC_PAYOUTS, lambda i: {
        "payout_id": f"PO{i + 1:04d}", "amount_cents": 9800, "currency": "EUR",
        "created_at": datetime(2026, 1, 13, 8, 0, tzinfo=timezone.utc),
        "reference": f"SHOP-REF{i + 1:03d}", "status": "paid",
        "arrival_date": date(2026, 1, 14), "transaction_fee_debit_cents": 200,
        "transaction_fee_credit_cents": 0, "app_fee_debit_cents": 0,
        "app_fee_credit_cents": 0, "total_payment_amount_cents": 10000,
        "source_file": "payouts.csv", "source_line": i + 2,
    })


def payout_items(*rows: dict) -> pl.DataFrame:
    return _frame(rows, GC_PAYOUT_ITEMS, lambda i: {
        "payout_id": "PO0001", "resource_type": "payment", "gc_payment_id": f"PM{i + 1:04d}",
        "refund_id": None, "description": None, "charge_date": date(2026, 1, 10),
        "status": "paid_out", "gross_cents": 10000, "fees_cents": 200, "net_cents": 9800,
        "currency": "EUR", "source_file": "transactions.csv", "source_line": i + 2,
    })


def bank(*rows: dict) -> pl.DataFrame:
    return _frame(rows, BANK, lambda i: {
        "bank_transaction_id": f"bank-{i + 1}", "operation_date": date(2026, 1, 14),
        "value_date": None, "iban": "FR76", "transaction_type": "Virement", "personal": False,
        "amount_cents": 9800, "balance_cents": 0, "label": "Virement de GOCARDLESS SAS",
        "counterparty": "GOCARDLESS SAS", "comment": None,
        "source_file": "shine.csv", "source_line": i + 2,
    })


def by_payment(verdicts: pl.DataFrame) -> dict[str, dict]:
    """Pass-1 rows keyed by payment id (tests of one-row-per-payment cases)."""
    return {row["gc_payment_id"]: row for row in verdicts.iter_rows(named=True)}
