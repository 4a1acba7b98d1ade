"""The bank endpoints (/bankaccounts...) of Dolibarr 23, as captured in the BANK_* samples.

What they store is `llx_bank` rows (`BankLine`), served as the 137-key AccountLine object.
The hazards are the point (API_FACTS.md §10.9):
- rights per endpoint; the transfer asks for "configure bank accounts", not "transfer";
- dates only as Unix timestamps, stored as the server-local calendar date;
- the transfer's `cheque_number` lands in the hidden column `emetteur`: never served, found
  only by a filter; a line's `cheque_number` goes to `num_chq`;
- no duplicate check anywhere; 0 or no amount is a valid transfer;
- `GET .../lines` filters on bare column names (a `t.` prefix is an unknown column), ignores
  paging and sorting, and answers every matching line in rowid order;
- 422s carry no reason phrase; a `type` longer than 6 characters is an SQL error whose
  503 body is Dolibarr's HTML error page followed by the JSON error.
"""
from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from .dataset import DEFAULTS_DIR, amount8, local_midnight, read_json, utc_day
from .listing import apply_sqlfilters
from .params import Context, is_missing, required
from .replies import API_HEADERS, JSON_TYPE, ApiError, Reply, error_reply
from .sqlfilters import Column, FilterSyntaxError, SqlSyntaxError, UnknownColumn, compile_filter

LINE_TEMPLATE = read_json(DEFAULTS_DIR / "bank_line.json")
ACCOUNT_TEMPLATE = read_json(DEFAULTS_DIR / "bank_account.json")
EMPTY_ACCOUNT = read_json(DEFAULTS_DIR / "bank_account_empty.json")
DB_ERROR_PAGE = (DEFAULTS_DIR / "db_error_page.html").read_text(encoding="utf-8")
CASH = "2"
SRC = "api_bankaccounts.class.php"

# Rights (API_FACTS §10.1), as names the emulator's users carry.
READ, MODIFY, CONFIGURE = "banque.lire", "banque.modifier", "banque.configurer"
INVOICE_CREATE, ALL_CUSTOMERS = "facture.creer", "societe.client.voir"
ALL_RIGHTS = frozenset({READ, MODIFY, CONFIGURE, "banque.transfer", "facture.lire", INVOICE_CREATE,
                        "societe.lire", ALL_CUSTOMERS})


@dataclass
class BankLine:
    """One row of llx_bank, hidden columns included."""

    rowid: int
    fk_account: int
    dateo: date
    datev: date
    amount: Decimal
    fk_type: str
    label: str
    num_chq: str | None = None
    emetteur: str | None = None  # never served (AccountLine::fetch does not copy it)
    numero_compte: str | None = None  # never served either
    banque: str | None = None  # served as bank_chq
    num_releve: str | None = None
    rappro: int = 0
    fk_user_rappro: str | None = None
    datec: int = field(default_factory=lambda: int(time.time()))
    links: list[dict] = field(default_factory=list)


def require(rights: frozenset, right: str, line: int) -> None:
    if right not in rights:
        raise ApiError(403, "", source=f"{SRC}:{line}")


# --- parameter types of Restler (validate stage) ------------------------------------------

def timestamp(name: str, value, needed: bool) -> int | None:
    """Restler's `timestamp`: an int, digits as text, or a whole float; nothing else."""
    if is_missing(value):
        if needed:
            raise required(name)
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"-?\d+(\.0*)?", text):
        raise ApiError(400, f"Invalid value specified for `{name}`. Expecting unix timestamp, such as "
                            f"{int(time.time())}", stage="validate", source="Validator.php:507")
    return int(Decimal(text))


def numeric(name: str, value, needed: bool = False) -> Decimal:
    if is_missing(value):
        if needed:
            raise required(name)
        return Decimal(0)
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ApiError(400, f"Invalid value specified for `{name}`. Expecting numeric value",
                       stage="validate", source="Validator.php:718") from None
    if not number.is_finite():
        raise ApiError(400, f"Invalid value specified for `{name}`. Expecting numeric value",
                       stage="validate", source="Validator.php:718")
    return number


def text_param(name: str, value, needed: bool) -> str:
    if is_missing(value):
        if needed:
            raise required(name)
        return ""
    return str(value)


def optional_text(body: dict, name: str) -> str | None:
    """A text column left NULL when the body does not give it."""
    return None if is_missing(body.get(name)) else str(body[name])


def sanitized(text: str) -> str:
    """sanitizeVal(..., 'alphanohtml'): tags and double quotes out."""
    return re.sub(r"<[^>]*>", "", text).replace('"', "")


# --- the store ---------------------------------------------------------------------------

def accounts(ctx: Context) -> list[dict]:
    return ctx.data.bankaccounts


def find_account(ctx: Context, account_id: int) -> dict | None:
    return next((a for a in accounts(ctx) if str(a.get("id")) == str(account_id)), None)


def account_or_404(ctx: Context, account_id: int, line: int) -> dict:
    account = find_account(ctx, account_id)
    if account is None:
        raise ApiError(404, "account not found", source=f"{SRC}:{line}")
    return account


def line_or_404(ctx: Context, line_id: int, line: int) -> BankLine:
    found = ctx.data.bank_lines.get(line_id)
    if found is None:
        raise ApiError(404, "account line not found", source=f"{SRC}:{line}")
    return found


def balance(ctx: Context, account_id: int) -> Decimal:
    """solde(1): lines dated up to today (server time); future-dated lines are left out."""
    today = datetime.now(ctx.zone).date()
    return sum((l.amount for l in ctx.data.bank_lines.values()
                if l.fk_account == account_id and l.dateo <= today), Decimal(0))


def json_amount(amount: Decimal):
    """A balance as PHP's float prints in JSON: 0, 588, 3368.56."""
    amount = amount.normalize() if amount != 0 else Decimal(0)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def new_line(ctx: Context, **columns) -> BankLine:
    data = ctx.data
    line = BankLine(rowid=data.next_bank_line, **columns)
    data.next_bank_line += 1
    data.bank_lines[line.rowid] = line
    return line


def served_line(ctx: Context, line: BankLine) -> dict:
    view = copy.deepcopy(LINE_TEMPLATE)
    account = find_account(ctx, line.fk_account) or {}
    view.update({
        "id": str(line.rowid), "ref": str(line.rowid), "fk_account": str(line.fk_account),
        "datec": line.datec, "dateo": local_midnight(line.dateo, ctx.zone),
        "datev": local_midnight(line.datev, ctx.zone), "amount": amount8(line.amount),
        "fk_user_author": "1", "fk_type": line.fk_type, "num_chq": line.num_chq, "label": line.label,
        "num_releve": line.num_releve, "rappro": line.rappro, "fk_user_rappro": line.fk_user_rappro,
        "bank_chq": line.banque, "bank_account_ref": account.get("ref"),
        "bank_account_label": account.get("label"),
    })
    return view


def local_day(ctx: Context, stamp: int) -> date:
    return datetime.fromtimestamp(stamp, ctx.zone).date()


def record_payment_line(ctx: Context, account_id: int, amount: Decimal, code: str, stamp: int, num: str,
                        payment_id: int, invoice: dict) -> str:
    """Paiement::addPaymentToBank(): one line on the account, linked to payment and customer."""
    day = local_day(ctx, stamp)
    line = new_line(ctx, fk_account=account_id, dateo=day, datev=day, amount=amount, fk_type=code,
                    label="(CustomerInvoicePayment)", num_chq=num or None)
    socid = str(invoice.get("socid") or invoice.get("fk_soc") or "")
    company = ctx.data.thirdparties.get(int(socid)) if socid.isdigit() else None
    line.links = [
        {"url": "/comm/card.php?socid=", "url_id": socid, "label": str((company or {}).get("name") or ""),
         "type": "company"},
        {"url": "/compta/paiement/card.php?id=", "url_id": str(payment_id), "label": "(paiement)",
         "type": "payment"},
    ]
    return str(line.rowid)


def is_cash(account: dict) -> bool:
    return str(account.get("type", account.get("courant"))) == CASH


# --- accounts ------------------------------------------------------------------------------

ACCOUNT_COLUMNS: dict[str, Column] = {
    "t.rowid": Column("num", lambda a: a.get("id")),
    "t.ref": Column("str", lambda a: a.get("ref")),
    "t.label": Column("str", lambda a: a.get("label")),
    "t.courant": Column("num", lambda a: a.get("courant")),
    "t.clos": Column("num", lambda a: a.get("clos")),
    "t.currency_code": Column("str", lambda a: a.get("currency_code")),
}


def list_accounts(ctx: Context, query: dict, rights: frozenset = ALL_RIGHTS, **_) -> list:
    require(rights, READ, 97)
    with ctx.lock:
        rows = apply_sqlfilters(list(accounts(ctx)), query.get("sqlfilters") or "", ACCOUNT_COLUMNS,
                                "list of bank accounts", f"{SRC}:104")
        return [{**a, "balance": json_amount(balance(ctx, int(a["id"])))} for a in rows]


def get_account(ctx: Context, id: int, rights: frozenset = ALL_RIGHTS, **_) -> dict:
    require(rights, READ, 140)
    with ctx.lock:
        if id == 0:
            return copy.deepcopy(EMPTY_ACCOUNT)
        return {**account_or_404(ctx, id, 145), "balance": 0}


def get_balance(ctx: Context, id: int, rights: frozenset = ALL_RIGHTS, **_):
    require(rights, READ, 758)
    with ctx.lock:
        account_or_404(ctx, id, 763)
        return json_amount(balance(ctx, id))


MANDATORY = ("ref", "label", "type", "currency_code", "country_id")


def create_account(ctx: Context, body: dict, rights: frozenset = ALL_RIGHTS, **_) -> int:
    """POST /bankaccounts: presence checks in order; unique label; an initial SOLD line."""
    require(rights, CONFIGURE, 162)
    for name in MANDATORY:
        if name not in body or body[name] is None:
            raise ApiError(400, f"{name} field missing", source=f"{SRC}:421")
    with ctx.lock:
        data = ctx.data
        account_id = data.next_account_id
        data.next_account_id += 1  # a failed insert uses the id up too
        reason = None
        if any(str(a.get("label")) == str(body["label"]) for a in accounts(ctx)):
            reason = "ErrorBankLabelAlreadyExists"
        elif str(body["country_id"]).strip() in ("", "0"):
            reason = "Field 'Country' is required"
        if reason:
            raise ApiError(500, "Error creating bank account", source=f"{SRC}:181", extra={"0": reason})
        now = int(time.time())
        account = copy.deepcopy(ACCOUNT_TEMPLATE)
        account.update({"id": str(account_id), "ref": str(body["ref"]), "label": str(body["label"]),
                        "type": str(body["type"]), "courant": str(body["type"]),
                        "currency_code": str(body["currency_code"]),
                        "account_currency_code": str(body["currency_code"]),
                        "country_id": str(body["country_id"]), "rappro": str(body.get("rappro", 1)),
                        "date_creation": now, "date_modification": now, "balance": 0})
        data.bankaccounts.append(account)
        stamp = timestamp("date_solde", body.get("date_solde"), needed=False)
        day = local_day(ctx, stamp) if stamp is not None else datetime.now(ctx.zone).date()
        new_line(ctx, fk_account=account_id, dateo=day, datev=day, amount=numeric("balance", body.get("balance")),
                 fk_type="SOLD", label="(InitialBankBalance)")
        return account_id


def delete_account(ctx: Context, id: int, rights: frozenset = ALL_RIGHTS, **_) -> dict:
    """Deletes the account and leaves its lines in place, orphaned (no can_be_deleted())."""
    require(rights, CONFIGURE, 390)
    with ctx.lock:
        account = account_or_404(ctx, id, 395)
        accounts(ctx).remove(account)
    return {"success": {"code": 200, "message": "account deleted"}}


# --- lines ---------------------------------------------------------------------------------

def _col(kind: str, name: str) -> Column:
    return Column(kind, lambda line: getattr(line, name))


# llx_bank columns, bare: the query has no table alias.
LINE_COLUMNS: dict[str, Column] = {
    "rowid": _col("num", "rowid"), "fk_account": _col("num", "fk_account"),
    "dateo": _col("date", "dateo"), "datev": _col("date", "datev"), "amount": _col("num", "amount"),
    "label": _col("str", "label"), "fk_type": _col("str", "fk_type"), "num_chq": _col("str", "num_chq"),
    "emetteur": _col("str", "emetteur"), "numero_compte": _col("str", "numero_compte"),
    "banque": _col("str", "banque"), "num_releve": _col("str", "num_releve"), "rappro": _col("num", "rappro"),
    "fk_user_rappro": _col("num", "fk_user_rappro"), "fk_user_author": Column("num", lambda line: 1),
    "datec": Column("datetime", lambda line: datetime.fromtimestamp(line.datec)),
    "fk_bordereau": Column("num", lambda line: 0), "note": Column("str", lambda line: None),
    "amount_main_currency": Column("num", lambda line: None),
}


def list_lines(ctx: Context, id: int, query: dict, rights: frozenset = ALL_RIGHTS, **_) -> list:
    """Every matching line, rowid order; limit, page, sort and properties are ignored."""
    require(rights, READ, 466)
    with ctx.lock:
        account_or_404(ctx, id, 472)
        rows = [l for l in sorted(ctx.data.bank_lines.values(), key=lambda l: l.rowid) if l.fk_account == id]
        text = query.get("sqlfilters") or ""
        try:
            predicate = compile_filter(text, LINE_COLUMNS) if text else None
        except FilterSyntaxError as exc:
            raise ApiError(400, f"Error when validating parameter sqlfilters -> {exc}", source=f"{SRC}:483") from None
        except UnknownColumn as exc:
            raise ApiError(503, "Error when retrieving list of account lines: Unknown column "
                                f"'{exc.column}' in 'WHERE'", source=f"{SRC}:502") from None
        except SqlSyntaxError:
            raise ApiError(503, "Error when retrieving list of account lines: You have an error in your SQL "
                                "syntax", source=f"{SRC}:502") from None
        return [served_line(ctx, l) for l in rows if predicate is None or predicate(l)]


def get_line(ctx: Context, id: int, rights: frozenset = ALL_RIGHTS, **_) -> dict:
    require(rights, READ, 655)
    with ctx.lock:
        line = ctx.data.bank_lines.get(id)
        if line is None:
            raise ApiError(404, "account Line not found", source=f"{SRC}:660")
        return served_line(ctx, line)


def line_links(ctx: Context, id: int, line_id: int, rights: frozenset = ALL_RIGHTS, **_) -> list:
    """Links sorted by type then label; the account must exist, the line need not be its own."""
    require(rights, READ, 598)
    with ctx.lock:
        account_or_404(ctx, id, 603)
        line = ctx.data.bank_lines.get(line_id)
        links = line.links if line else ctx.data.dangling_links.get(line_id, [])
        return [{**link, "fk_bank": str(line_id)}
                for link in sorted(links, key=lambda k: (k["type"], k["label"]))]


def add_line(ctx: Context, id: int, body: dict, url: str = "", user_agent: str = "",
             rights: frozenset = ALL_RIGHTS, **_):
    """POST /bankaccounts/{id}/lines: the fee line. Integer id back; no duplicate check."""
    stamp = timestamp("date", body.get("date"), needed=True)
    kind = text_param("type", body.get("type"), needed=True)
    label = text_param("label", body.get("label"), needed=True)
    amount = numeric("amount", body.get("amount"), needed=True)
    value_stamp = timestamp("datev", body.get("datev"), needed=False)
    require(rights, MODIFY, 530)
    with ctx.lock:
        account = account_or_404(ctx, id, 536)
        if is_cash(account) and kind != "LIQ":
            raise ApiError(503, "Error when adding line to account: ErrorCashAccountAcceptsOnlyCashMoney",
                           source=f"{SRC}:562")
        if len(kind) > 6:
            raise DatabaseErrorPage(url, user_agent, "Error when adding line to account: Data too long for column 'fk_type' "
                                         "at row 1", (stamp, label, amount, kind, id))
        day = local_day(ctx, stamp)
        line = new_line(ctx, fk_account=id, dateo=day,
                        datev=local_day(ctx, value_stamp) if value_stamp is not None else day,
                        amount=amount, fk_type=kind, label=sanitized(label),
                        num_chq=optional_text(body, "cheque_number"),
                        emetteur=optional_text(body, "cheque_writer"),
                        banque=optional_text(body, "cheque_bank"),
                        numero_compte=str(body.get("accountancycode") or ""),
                        num_releve=optional_text(body, "num_releve"))
        return line.rowid


def update_line(ctx: Context, id: int, line_id: int, body: dict, rights: frozenset = ALL_RIGHTS, **_) -> str:
    """PUT changes the label only; the id comes back as a JSON string."""
    if "label" not in body:
        raise ApiError(400, "Invalid value specified for `label`. Expecting alpha numeric value",
                       stage="validate", source="Validator.php:718")
    label = text_param("label", body.get("label"), needed=True)
    require(rights, MODIFY, 679)
    with ctx.lock:
        account_or_404(ctx, id, 685)
        line = line_or_404(ctx, line_id, 691)
        line.label = sanitized(label)
        return str(line_id)


def delete_line(ctx: Context, id: int, line_id: int, rights: frozenset = ALL_RIGHTS, **_) -> dict:
    """500 unless deletion is allowed (no accounting table by default); never a reconciled line;
    the other side of a transfer and the payment stay."""
    require(rights, MODIFY, 717)
    with ctx.lock:
        account_or_404(ctx, id, 722)
        line = line_or_404(ctx, line_id, 729)
        if not ctx.data.allow_line_deletion or line.rappro:
            raise ApiError(500, "error when deleting account line", source=f"{SRC}:733")
        del ctx.data.bank_lines[line_id]
        ctx.data.dangling_links[line_id] = line.links
        return {"success": {"code": 200, "message": f"account line {line_id} deleted"}}


# --- transfer ------------------------------------------------------------------------------

def transfer(ctx: Context, body: dict, query: dict, rights: frozenset = ALL_RIGHTS, **_) -> dict:
    """POST /bankaccounts/transfer: two linked lines (PRE out, VIR in), no duplicate check."""
    params = {**query, **body}
    from_id = int(numeric("bankaccount_from_id", params.get("bankaccount_from_id")))
    to_id = int(numeric("bankaccount_to_id", params.get("bankaccount_to_id")))
    stamp = timestamp("date", params.get("date"), needed=True)
    description = text_param("description", params.get("description"), needed=True)
    amount = numeric("amount", params.get("amount"))
    amount_to = numeric("amount_to", params.get("amount_to"))
    cheque_number = sanitized(text_param("cheque_number", params.get("cheque_number"), needed=False))
    require(rights, CONFIGURE, 213)
    with ctx.lock:
        source = find_account(ctx, from_id) if from_id else None
        if from_id and source is None:
            raise ApiError(404, "The BankAccount for bankaccount_from_id provided does not exist.", source=f"{SRC}:222")
        target = find_account(ctx, to_id) if to_id else None
        if to_id and target is None:
            raise ApiError(404, "The BankAccount for bankaccount_to_id provided does not exist.", source=f"{SRC}:229")
        same_currency = (source or {}).get("currency_code") == (target or {}).get("currency_code") \
            and source is not None and target is not None
        if not same_currency and amount_to == 0:
            raise ApiError(422, "You must provide amount_to value since bankaccount_from and bankaccount_to does "
                                "not share the same currency.", source=f"{SRC}:236", bare=True)
        if amount < 0:
            raise ApiError(422, "You must provide a positive value for amount.", source=f"{SRC}:241", bare=True)
        if from_id == to_id:
            raise ApiError(422, "bankaccount_from_id and bankaccount_to_id must be different !",
                           source=f"{SRC}:245", bare=True)
        cash = is_cash(source) or is_cash(target)
        day = local_day(ctx, stamp)
        label = sanitized(description)
        writer = cheque_number or None
        out = new_line(ctx, fk_account=from_id, dateo=day, datev=day, amount=-amount,
                       fk_type="LIQ" if cash else "PRE", label=label, emetteur=writer)
        into = new_line(ctx, fk_account=to_id, dateo=day, datev=day,
                        amount=amount if same_currency else amount_to,
                        fk_type="LIQ" if cash else "VIR", label=label, emetteur=writer)
        for line, other in ((out, into), (into, out)):
            line.links = [{"url": "/compta/bank/line.php?rowid=", "url_id": str(other.rowid),
                           "label": "(banktransfert)", "type": "banktransfert"}]
        return {"success": {"code": 201, "message": "Internal wire transfer created successfully.",
                            "bank_id_from": out.rowid, "bank_id_to": into.rowid}}


class DatabaseErrorPage(Exception):
    """An SQL error the API does not catch: HTML error page, then the JSON error, as 503."""

    def __init__(self, url: str, user_agent: str, text: str, values: tuple):
        super().__init__(text)
        self.url, self.user_agent, self.text, self.values = url, user_agent, text, values

    def reply(self, production: bool) -> Reply:
        stamp, label, amount, kind, account = self.values
        when = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        day = datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        values = (f"'{when}', '{day}', '{day}', '{label}', {amount.normalize()}, NULL, 1, null, '{account}', "
                  f"'{kind}', null, null, 0, '', null, null")
        page = (DB_ERROR_PAGE.replace("{date}", datetime.now().strftime("%Y%m%d%H%M%S"))
                .replace("{url}", self.url)
                .replace("{user_agent}", self.user_agent).replace("{values}", values))
        error = error_reply(ApiError(503, self.text, source=f"{SRC}:562"), production)
        headers = {**API_HEADERS, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
        return Reply(503, page.encode("utf-8") + error.body, content_type=JSON_TYPE, headers=headers)


def load_lines(raw: list) -> tuple[dict[int, BankLine], dict[int, list]]:
    """banklines.json: line objects as GET .../lines serves them, plus `emetteur` and `links`
    (hidden columns a dataset may set), or `deleted: true` for a line whose links survive."""
    lines, dangling = {}, {}
    for item in raw:
        rowid = int(item["id"])
        links = [{k: v for k, v in link.items() if k != "fk_bank"} for link in item.get("links", [])]
        if item.get("deleted"):
            dangling[rowid] = links
            continue
        lines[rowid] = BankLine(
            rowid=rowid, fk_account=int(item["fk_account"]), dateo=utc_day(item["dateo"]),
            datev=utc_day(item.get("datev") or item["dateo"]), amount=Decimal(str(item["amount"])),
            fk_type=str(item.get("fk_type") or ""), label=str(item.get("label") or ""),
            num_chq=item.get("num_chq"), emetteur=item.get("emetteur"), banque=item.get("bank_chq"),
            num_releve=item.get("num_releve"), rappro=int(item.get("rappro") or 0),
            fk_user_rappro=item.get("fk_user_rappro"), datec=int(item.get("datec") or time.time()),
            links=links)
    return lines, dangling
