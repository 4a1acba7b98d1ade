"""Write endpoints: recording payments, with the real server's semantics and hazards.

POST /invoices/{id}/payments always pays the whole remainder (an `amount` is ignored);
POST /invoices/paymentsdistributed pays given amounts ("remain" allowed) over several
invoices. Neither checks the invoice status (a draft or abandoned invoice gets paid and
closed), nor duplicates (the same body twice makes two payments), nor that an amount is
positive. A failure leaves nothing behind (the real server rolls back). The result is
the new payment id as a bare JSON integer.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from .bank import ALL_CUSTOMERS, ALL_RIGHTS, INVOICE_CREATE, find_account, is_cash, record_payment_line
from .dataset import CENT, PaymentLine, json_number, shortest, to_decimal
from .invoices import fetch_invoice, invoice_status
from .params import Context, choice, integer, is_missing, required
from .replies import ApiError, EmptyReply

CREDIT_NOTE = "2"


# --- request validation (Restler, then the method's own checks) ----------------------------

def common_params(body: dict) -> dict:
    """datepaye, paymentid, closepaidinvoices, accountid: required, in this order."""
    checks = (("datepaye", lambda value: value),
              ("paymentid", lambda value: integer("paymentid", value, minimum=1)),
              ("closepaidinvoices", lambda value: choice("closepaidinvoices", value, ("yes", "no"))),
              ("accountid", lambda value: integer("accountid", value)))
    values = {}
    for name, check in checks:
        if is_missing(body.get(name)):
            raise required(name)
        values[name] = check(body[name])
    if values["accountid"] == 0:
        raise ApiError(400, "Account ID is mandatory", source="api_invoices.class.php:1690")
    return {
        "timestamp": payment_timestamp(values["datepaye"]),
        "payment_type": values["paymentid"],
        "close": values["closepaidinvoices"] == "yes",
        "account": values["accountid"],
        "num": str(body.get("num_payment") or ""),
        "chqemetteur": body.get("chqemetteur") or "",
    }


def payment_timestamp(value) -> int:
    """A number is a Unix timestamp; text goes through dol_stringtotime(), read as UTC."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return int(value)
    return string_to_time(str(value))


def string_to_time(text: str) -> int:
    """Dolibarr's dol_stringtotime($string, 1): known layouts, else the digits, as UTC."""
    slash = re.match(r"^(\d+)/(\d+)/(\d+)\s?(\d+)?:?(\d+)?:?(\d+)?", text)
    iso = re.match(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})Z?)?$", text)
    if slash:
        day, month, year = (int(g) for g in slash.groups()[:3])
        year += 1900 if year < 50 else 2000 if year < 100 else 0
        text = "%04d%02d%02d%02d%02d%02d" % (year, month, day, *(int(g or 0) for g in slash.groups()[3:]))
    elif iso:
        text = "".join(g or "00" for g in iso.groups())
    digits = re.sub(r"\D", "", text) + "000000"
    try:
        moment = datetime(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]), int(digits[8:10]),
                          int(digits[10:12]), int(digits[12:14]), tzinfo=timezone.utc)
    except ValueError:  # garbage gives a wrong date, never an error
        return 0
    return int(moment.timestamp())


# --- amounts -------------------------------------------------------------------------------

def remain_to_pay(invoice: dict) -> Decimal:
    """total_ttc - totalpaid - credit notes - deposits, rounded to the cent."""
    if "remaintopay" in invoice and not is_missing(invoice["remaintopay"]):
        return to_decimal(invoice["remaintopay"]).quantize(CENT)
    used = sum((to_decimal(invoice.get(k)) for k in ("totalpaid", "totalcreditnotes", "totaldeposits")), Decimal(0))
    return (to_decimal(invoice.get("total_ttc")) - used).quantize(CENT)


def price2num(value) -> Decimal:
    """PHP price2num(x, 'MT'): a number rounded to the cent; unreadable text is 0."""
    try:
        return Decimal(str(value).strip()).quantize(CENT)
    except (InvalidOperation, ValueError):
        return Decimal(0)


# --- the two endpoints ---------------------------------------------------------------------

def check_rights(rights: frozenset, source: str) -> None:
    if INVOICE_CREATE not in rights:
        raise ApiError(403, "", source=source)


def check_customer_access(rights: frozenset, login: str, invoice_id: int | None, source: str) -> None:
    """_checkAccessToResource(): without "read all third parties" a non-admin is refused."""
    if ALL_CUSTOMERS not in rights:
        where = f" on invoice ID {invoice_id}" if invoice_id is not None else ""
        raise ApiError(403, f"Access not allowed{where} for login {login}", source=source)


def add_payment(ctx: Context, invoice_id: int, body: dict, rights: frozenset = ALL_RIGHTS,
                login: str = "admin") -> int:
    """POST /invoices/{id}/payments: pays the whole remainder of one invoice."""
    check_rights(rights, "api_invoices.class.php:1681")
    params = common_params(body)
    if invoice_id == 0:
        raise ApiError(400, "Invoice ID is mandatory", source="api_invoices.class.php:1685")
    check_customer_access(rights, login, None, "api_invoices.class.php:1688")
    with ctx.lock:
        invoice = fetch_invoice(ctx, invoice_id, source="api_invoices.class.php:1704")
        remain = remain_to_pay(invoice)
        return record(ctx, {invoice_id: remain}, params, ref_ext="", error_source="api_invoices.class.php:1750")


def add_payment_distributed(ctx: Context, body: dict, rights: frozenset = ALL_RIGHTS,
                            login: str = "admin") -> int:
    """POST /invoices/paymentsdistributed: chosen amounts on one or several invoices."""
    check_rights(rights, "api_invoices.class.php:1807")
    if is_missing(body.get("arrayofamounts")):
        raise required("arrayofamounts")
    shares = body["arrayofamounts"]
    if isinstance(shares, list):  # a JSON list is a PHP array with keys 0..n
        shares = {str(i): v for i, v in enumerate(shares)}
    if not isinstance(shares, dict):
        raise ApiError(400, "Invalid value specified for `arrayofamounts`. Expecting array value",
                       stage="validate", source="Validator.php:718")
    params = common_params(body)
    higher_ok = bool(body.get("accepthigherpayment"))
    for key in shares:
        check_customer_access(rights, login, key, "api_invoices.class.php:1813")
    with ctx.lock:
        amounts = {int(key) if str(key).isdigit() else key: share_amount(ctx, key, share, higher_ok)
                   for key, share in shares.items()}
        return record(ctx, amounts, params, ref_ext=str(body.get("ref_ext") or ""),
                      error_source="api_invoices.class.php:1902")


def share_amount(ctx: Context, key, share, higher_ok: bool) -> Decimal:
    """One entry of arrayofamounts: {"amount": "30.00" | "remain", "multicurrency_amount": ""}."""
    if not isinstance(share, dict):  # the flat form {"18": "10.00"} is a PHP TypeError
        raise EmptyReply(500)
    invoice_id = int(key) if str(key).lstrip("-").isdigit() else 0
    if invoice_id not in ctx.data.invoices:
        raise ApiError(404, f"Invoice ID {key} not found", source="api_invoices.class.php:1837")
    invoice = ctx.data.invoices[invoice_id]
    amount, multicurrency = share.get("amount"), share.get("multicurrency_amount")
    if is_positive_or_remain(amount) and is_positive_or_remain(multicurrency):
        raise ApiError(400, f"Payment in both currency {key} ( amount: {amount}, multicurrency_amount: {multicurrency})",
                       source="api_invoices.class.php:1841")
    remain = remain_to_pay(invoice)
    value = remain if amount == "remain" else price2num(amount)
    if value > remain and not higher_ok:
        raise ApiError(400, f"Payment amount on invoice ID {key} ({shortest(value)}) is higher than remain to pay "
                            f"({shortest(remain)})", source="api_invoices.class.php:1869")
    if str(invoice.get("type")) == CREDIT_NOTE and amount != "remain":
        value = -value  # a refund on a credit note is a negative payment
    return value


def is_positive_or_remain(value) -> bool:
    return value == "remain" or (not is_missing(value) and price2num(value) > 0)


# --- recording -----------------------------------------------------------------------------

def record(ctx: Context, amounts: dict[int, Decimal], params: dict, ref_ext: str, error_source: str) -> int:
    """Paiement::create() then addPaymentToBank(): all checks first, so a failure writes nothing."""
    if all(amount == 0 for amount in amounts.values()):
        raise ApiError(400, "Payment error : TotalAmountEmpty", source=error_source)
    code = ctx.data.payment_code(params["payment_type"])
    if code == "CHQ" and not params["chqemetteur"]:
        raise ApiError(400, "Emetteur is mandatory when payment code is CHQ", source="api_invoices.class.php:1757")
    if not code:
        raise ApiError(400, "Add payment to bank error : OperNotDefined", source="api_invoices.class.php:1765")
    if params["account"] not in ctx.data.bank_account_ids():
        raise ApiError(400, "Add payment to bank error : ThisIdNotDefined", source="api_invoices.class.php:1765")
    if is_cash(find_account(ctx, params["account"])) and code != "LIQ":
        raise ApiError(400, "Add payment to bank error : ErrorCashAccountAcceptsOnlyCashMoney",
                       source="api_invoices.class.php:1765")
    return write_payment(ctx, {i: a for i, a in amounts.items() if a != 0}, params, code, ref_ext)


def write_payment(ctx: Context, amounts: dict[int, Decimal], params: dict, code: str, ref_ext: str) -> int:
    data = ctx.data
    payment_id = data.next_payment_id
    yymm = datetime.fromtimestamp(params["timestamp"], ctx.zone).strftime("%y%m")
    ref = f"PAY{yymm}-{data.next_payment_ref:04d}"
    data.next_payment_id += 1
    data.next_payment_ref += 1
    first = data.invoices[next(iter(amounts))]
    bank_line = record_payment_line(ctx, params["account"], sum(amounts.values(), Decimal(0)), code,
                                    params["timestamp"], params["num"], payment_id, first)
    for invoice_id, amount in amounts.items():
        data.payments.setdefault(invoice_id, []).append(PaymentLine(
            payment_id, amount, code, params["timestamp"], params["num"], ref, ref_ext, bank_line))
        apply_to_invoice(data.invoices[invoice_id], amount, params["close"])
    return payment_id


def apply_to_invoice(invoice: dict, amount: Decimal, close: bool) -> None:
    """totalpaid/remaintopay follow the payment; closing only when asked and nothing remains."""
    remain = remain_to_pay(invoice) - amount
    invoice["totalpaid"] = json_number(to_decimal(invoice.get("totalpaid")) + amount)
    invoice["remaintopay"] = shortest(remain)
    if close and remain == 0:
        for key in ("status", "statut"):
            if key in invoice or (key == "status" and invoice_status(invoice) is None):
                invoice[key] = "2"
        invoice["paye"] = "1"
    now = int(time.time())
    for key in ("date_modification", "datem"):
        if key in invoice:
            invoice[key] = now
