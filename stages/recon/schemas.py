"""The Parquet contracts between stages: one schema per interim file.

A column means the same thing, under the same name, in every file where it appears.
Money is always Int64 cents (`*_cents`), dates are Date, ids are strings unless the
source system numbers them (Dolibarr ids are Int64).
"""
import polars as pl

Str, Int, Date, Bool = pl.String, pl.Int64, pl.Date, pl.Boolean
Timestamp = pl.Datetime("us", "UTC")

# Where a row came from, for error messages and audit: export file name and CSV line.
SOURCE = {"source_file": Str, "source_line": Int}

# parse_gc -> interim/gc_payments.parquet (one row per GoCardless payment id)
GC_PAYMENTS = {
    "gc_payment_id": Str,
    "created_at": Timestamp,
    "charge_date": Date,
    "amount_cents": Int,
    "description": Str,
    "reference": Str,
    "currency": Str,
    "status": Str,
    "amount_refunded_cents": Int,
    "transaction_fee_cents": Int,  # null when the export leaves it empty
    "transaction_fee_tax_cents": Int,
    "app_fee_cents": Int,
    "payout_date": Date,  # an estimate until payout_id is set (FORMATS.md gotcha 6)
    "payout_id": Str,
    "mandate_id": Str,
    "gc_customer_id": Str,
    "customer_name": Str,  # company name when set, else given + family name
    "customer_email": Str,
    **SOURCE,
}

# parse_payouts -> interim/gc_payouts.parquet (one row per payout id)
GC_PAYOUTS = {
    "payout_id": Str,
    "amount_cents": Int,  # net: what reaches the bank
    "currency": Str,
    "created_at": Timestamp,
    "reference": Str,
    "status": Str,  # pending | paid | bounced
    "arrival_date": Date,  # null while pending
    "transaction_fee_debit_cents": Int,
    "transaction_fee_credit_cents": Int,
    "app_fee_debit_cents": Int,
    "app_fee_credit_cents": Int,
    "total_payment_amount_cents": Int,
    **SOURCE,
}

# parse_payouts -> interim/gc_payout_items.parquet, from the optional breakdown export
# (empty, with this schema, when no breakdown export is present)
GC_PAYOUT_ITEMS = {
    "payout_id": Str,
    "resource_type": Str,  # payment | refund | ...
    "gc_payment_id": Str,
    "refund_id": Str,
    "description": Str,
    "charge_date": Date,
    "status": Str,
    "gross_cents": Int,  # debits negative
    "fees_cents": Int,  # gross - net, whatever the sign of the fee column
    "net_cents": Int,
    "currency": Str,
    **SOURCE,
}

# parse_shine -> interim/bank.parquet (one row per bank line, unique per account)
BANK = {
    "bank_transaction_id": Str,  # the bank's line id (Shine UUID, Qonto/Wise id, OFX FITID,
    # camt.053 AcctSvcrRef/NtryRef); derived from the line's content where the export has none
    "operation_date": Date,
    "value_date": Date,  # null in the 2023 layout
    "iban": Str,
    "transaction_type": Str,
    "personal": Bool,
    "amount_cents": Int,  # signed: credit - debit
    "currency": Str,  # ISO 4217 code of amount_cents
    "balance_cents": Int,
    "label": Str,
    "counterparty": Str,
    "comment": Str,
    "source_format": Str,  # shine, qonto, wise, ofx, camt053
    **SOURCE,
}

# fetch_dolibarr -> interim/invoices_<FROM>_<TO>.parquet (one row per Dolibarr invoice)
INVOICES = {
    "invoice_id": Int,
    "invoice_ref": Str,
    "ref_client": Str,
    "socid": Int,
    "customer_name": Str,
    "type": Int,  # 0 standard, 1 replacement, 2 credit note, 3 deposit, ...
    "status": Int,  # 0 draft, 1 validated, 2 closed paid, 3 abandoned
    "paid": Bool,  # Dolibarr's `paye`
    "close_code": Str,
    "total_cents": Int,
    "paid_cents": Int,
    "remaining_cents": Int,
    "invoice_date": Date,
    "due_date": Date,
    "currency": Str,
    "payment_mode": Str,  # mode_reglement_code, e.g. PRE
}

# match_type values that count as strong evidence (a reference was found); the fix
# stage records only these unless config allows soft matches.
STRONG_MATCH_TYPES = ("ref_exact", "ref_in_description", "ref_in_reference", "multi_invoice",
                      "decision",  # decision: a person's payment+invoice entry in decisions.yaml
                      "ref_in_label")  # pass 2: a customer transfer naming the invoice
SOFT_MATCH_TYPE = "soft"

# pass1 -> interim/pass1_<FROM>_<TO>.parquet: one row per GoCardless payment verdict.
# The fix stage and the report rely on these columns; pass1 may add more after them.
PASS1 = {
    "flag": Str,  # MATCHED, GC_PAID_DOLIBARR_OPEN, GC_PARTIAL, GC_PENDING, ...
    "match_type": Str,  # one of STRONG_MATCH_TYPES, SOFT_MATCH_TYPE, or "none"
    "gc_payment_id": Str,
    "payment_status": Str,
    "amount_cents": Int,  # the payment's amount
    "charge_date": Date,
    "payout_id": Str,
    "customer_name": Str,  # as GoCardless has it
    "invoice_id": Int,  # null when no invoice or several candidates
    "invoice_ref": Str,  # candidates joined with ';' when ambiguous or multi-invoice
    "invoice_customer_name": Str,  # as Dolibarr has it
    "invoice_total_cents": Int,
    "invoice_remaining_cents": Int,
    "invoice_date": Date,
    "evidence": Str,  # human-readable: where the ref was found, amounts, name keys, days apart
    # Added by pass1 after the contract columns above (the report reads them):
    "share_cents": Int,  # the part of the payment for this invoice (differs on multi_invoice rows)
    "amount_refunded_cents": Int,
    "invoice_due_date": Date,
    "invoice_settled": Bool,  # Dolibarr: status 2, or status 1 with nothing left to pay
    "invoice_received_cents": Int,  # received by GoCardless on this invoice (retries excluded)
    "invoice_pending_cents": Int,  # still pending at GoCardless on this invoice
    "related_refs": Str,  # multi_invoice: every invoice of the payment, joined with ';'
    "related_payment_ids": Str,  # other payments of this invoice (retries, instalments), ';'
    "days_apart": Int,  # soft matches: charge date to the invoice (or due) date
    "currency": Str,  # the payment's currency (ISO 4217)
}

# pass2 -> interim/pass2_<FROM>_<TO>.parquet: the Dolibarr invoices pass 1 says nothing
# about: open ones with no GoCardless payment, and those excluded from matching.
PASS2 = {
    "flag": Str,  # DOLIBARR_OPEN_NO_GC, PAID_BY_TRANSFER, AMBIGUOUS, EXCLUDED_CREDIT_NOTE, ...
    "match_type": Str,  # transfers: ref_in_label, multi_invoice, soft; "decision" on
    # SETTLED_OUTSIDE rows (decisions.yaml); else "none"
    "invoice_id": Int,
    "invoice_ref": Str,
    "invoice_customer_name": Str,
    "invoice_type": Int,
    "invoice_status": Int,
    "invoice_total_cents": Int,
    "invoice_remaining_cents": Int,
    "invoice_date": Date,
    "invoice_due_date": Date,
    "days_past_due": Int,  # at TO (negative: due in that many days); open invoices only
    "evidence": Str,
    # Customer transfers (one row per bank line and invoice; null on the other rows):
    "bank_transaction_id": Str,  # the bank line; candidates joined with ';' when AMBIGUOUS
    "bank_date": Date,
    "bank_amount_cents": Int,
    "bank_label": Str,
    "share_cents": Int,  # the part of the transfer for this invoice (PAID_BY_TRANSFER rows)
}

# pass3 -> interim/pass3_<FROM>_<TO>.parquet: one row per payout, plus one row per
# GoCardless-looking bank credit that no payout explains (payout columns null).
PASS3 = {
    "flag": Str,  # PAYOUT_MATCHED, PAYOUT_AMOUNT_MISMATCH, PAYOUT_PENDING, PAYOUT_NOT_IN_BANK, AMBIGUOUS,
    # BANK_CREDIT_UNMATCHED, IGNORED (a bank credit set aside in decisions.yaml)
    "fees_flag": Str,  # FEES_EXPLAINED, FEES_MISMATCH, or null when gross - fees = net
    "match_type": Str,  # reference_in_label, amount_date, decision (decisions.yaml), none
    "payout_id": Str,
    "reference": Str,
    "payout_status": Str,
    "created_date": Date,
    "arrival_date": Date,
    "gross_cents": Int,  # sum of the payments linked to the payout (payments export)
    "payments_count": Int,
    "fees_cents": Int,  # fees charged, TTC: fees_ht + fees_tva (else the payout's fee debits)
    "deducted_cents": Int,  # gross - net
    "net_cents": Int,
    # gross - fees - chargebacks - refunds - fees_refunded = net unless FEES_MISMATCH:
    "fees_ht_cents": Int,  # payments' transaction_fee + app_fee (null when the export omits them)
    "fees_tva_cents": Int,  # payments' transaction_fee_tax (deductible VAT)
    "chargebacks_cents": Int,  # charge backs and late failures netted (breakdown export)
    "refunds_cents": Int,  # refunds netted (breakdown export)
    "fees_refunded_cents": Int,  # fees given back, a negative deduction (breakdown, else fee credits)
    "bank_transaction_id": Str,  # candidates joined with ';' when AMBIGUOUS
    "bank_date": Date,
    "bank_label": Str,
    "bank_amount_cents": Int,
    "days_apart": Int,  # bank date - arrival date
    "money_in_bank": Str,  # yes | no | pending | unknown
    "evidence": Str,  # how the bank line was found, or why none was
    "explanation": Str,  # the fee check; with the breakdown export, its debits line by line
}
