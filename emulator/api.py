"""Routing and authentication: one request in, one Reply out (no sockets here).

Order of the real server: index.php answers 501 for an unknown resource before anything
else; then Restler routes (404/405, 400 for a non-integer id), authenticates (401),
validates parameters (400) and calls the method.
"""
from __future__ import annotations

import hmac
import json
import time
from datetime import datetime
from decimal import Decimal
from typing import Callable

from . import bank, invoices, payments, thirdparties
from .dataset import DEFAULTS_DIR, read_json
from .params import Context, integer, route_id
from .replies import ApiError, EmptyReply, Reply, empty_reply, error_reply, json_reply, unknown_api_reply

NO_KEY = ("Failed to login to API. Neither parameter 'HTTP_DOLAPIKEY' nor 'Authentication: Bearer' found "
          "on HTTP header (and no parameter DOLAPIKEY in URL).")
BAD_KEY = "Error user not valid (not found with api key or bad status or bad validity dates) (conf->entity=1)"
KNOWN_RESOURCES = {"status", "users", "invoices", "thirdparties", "bankaccounts", "setup"}


def status(ctx: Context, **_) -> dict:
    now = time.time()
    return {"success": {
        "code": 200,
        "dolibarr_version": ctx.version,
        "access_locked": "0",
        "environment": "production" if ctx.production else "non-production",
        "timestamp_now_utc": int(now),
        "timestamp_php_tz": ctx.zone.key,
        "date_tz": datetime.fromtimestamp(now, ctx.zone).strftime("%Y-%m-%d %H:%M:%S"),
    }}


USER_INFO = read_json(DEFAULTS_DIR / "user_info.json")


def users_info(ctx: Context, **_) -> dict:
    return USER_INFO


def list_invoices(ctx: Context, query: dict, rights: frozenset = bank.ALL_RIGHTS, **_):
    """Without "read all third parties" a non-admin sees no invoice at all: 200 []."""
    if bank.ALL_CUSTOMERS not in rights:
        return []
    return invoices.list_invoices(ctx, query)


def payment_types(ctx: Context, query: dict, **_) -> list:
    integer("active", query.get("active"), default=1, minimum=0)
    return ctx.data.payment_types


def validate_invoice(ctx: Context, id: int, **_) -> dict:
    """POST /invoices/{id}/validate: a draft gets the next FA ref; otherwise 304, empty."""
    with ctx.lock:
        invoice = invoices.fetch_invoice(ctx, id)
        if str(invoices.invoice_status(invoice)) != "0":
            raise EmptyReply(304)
        today = datetime.now(ctx.zone).date()
        yymm = ctx.data.days[id].get("date", today).strftime("%y%m")
        invoice["ref"] = f"FA{yymm}-{ctx.data.next_invoice_ref:04d}"
        ctx.data.next_invoice_ref += 1
        ctx.data.days[id]["date_validation"] = today
        for key, value in (("status", "1"), ("statut", "1"), ("fk_user_valid", "1"), ("user_validation_id", "1")):
            if key in invoice:
                invoice[key] = value
        # validate() answers the object as validation left it: no computed payment fields,
        # actiontypecode gone and a trackid added by the triggers
        view = invoices.served_invoice(ctx, id)
        view.pop("actiontypecode", None)
        for key in ("contacts_ids", "creditnote_ids", "totalpaid", "remaintopay"):
            view[key] = None
        return {**view, "trackid": f"inv{id}"}


# (method, path pattern, handler); "{id}" segments are integers, "{ref}" any text.
ROUTES: list[tuple[str, tuple[str, ...], Callable]] = [
    ("GET", ("status",), status),
    ("GET", ("users", "info"), users_info),
    ("GET", ("invoices",), list_invoices),
    ("GET", ("invoices", "ref", "{ref}"), lambda ctx, ref, **_: invoices.get_invoice_by_ref(ctx, ref)),
    ("GET", ("invoices", "{id}"), lambda ctx, id, **_: invoices.get_invoice(ctx, id)),
    ("GET", ("invoices", "{id}", "payments"), lambda ctx, id, **_: invoices.get_payments(ctx, id)),
    ("POST", ("invoices", "paymentsdistributed"),
     lambda ctx, body, rights, login, **_: payments.add_payment_distributed(ctx, body, rights, login)),
    ("POST", ("invoices", "{id}", "payments"),
     lambda ctx, id, body, rights, login, **_: payments.add_payment(ctx, id, body, rights, login)),
    ("POST", ("invoices", "{id}", "validate"), validate_invoice),
    ("GET", ("thirdparties",), lambda ctx, query, **_: thirdparties.list_thirdparties(ctx, query)),
    ("GET", ("thirdparties", "{id}"), lambda ctx, id, **_: thirdparties.get_thirdparty(ctx, id)),
    ("GET", ("bankaccounts",), bank.list_accounts),
    ("POST", ("bankaccounts",), bank.create_account),
    ("POST", ("bankaccounts", "transfer"), bank.transfer),
    ("GET", ("bankaccounts", "lines", "{id}"), bank.get_line),
    ("GET", ("bankaccounts", "{id}"), bank.get_account),
    ("DELETE", ("bankaccounts", "{id}"), bank.delete_account),
    ("GET", ("bankaccounts", "{id}", "balance"), bank.get_balance),
    ("GET", ("bankaccounts", "{id}", "lines"), bank.list_lines),
    ("POST", ("bankaccounts", "{id}", "lines"), bank.add_line),
    ("PUT", ("bankaccounts", "{id}", "lines", "{line_id}"), bank.update_line),
    ("DELETE", ("bankaccounts", "{id}", "lines", "{line_id}"), bank.delete_line),
    ("GET", ("bankaccounts", "{id}", "lines", "{line_id}", "links"), bank.line_links),
    ("GET", ("setup", "dictionary", "payment_types"), payment_types),
]


class Api:
    """The Dolibarr REST API over a Context; `handle` never raises."""

    def __init__(self, ctx: Context, api_key: str, wrong_key_delay: float = 0.05, users: dict | None = None):
        """`users`: more keys, each {"login": ..., "rights": [...]} (names as in emulator.bank);
        `api_key` is the admin's, with every right."""
        self.ctx, self.api_key, self.wrong_key_delay = ctx, api_key, wrong_key_delay
        self.users = {api_key: ("admin", bank.ALL_RIGHTS)}
        for key, user in (users or {}).items():
            self.users[key] = (user["login"], frozenset(user["rights"]))

    def handle(self, method: str, path: str, query: dict, headers, body: bytes) -> Reply:
        segments = [s for s in path.split("/") if s]
        if not segments or segments[0] not in KNOWN_RESOURCES:
            return unknown_api_reply()
        try:
            handler, params = self.route(method, segments)
            login, rights = self.authenticate(query, headers)
            payload = handler(self.ctx, query=query, body=self.parse_body(method, body), rights=rights,
                              login=login, url="/api/index.php" + path,
                              user_agent=headers.get("User-Agent") or "", **params)
            created = isinstance(payload, dict) and (payload.get("success") or {}).get("code") == 201
            return json_reply(payload, self.ctx.production, 201 if created else 200)
        except bank.DatabaseErrorPage as page:
            return page.reply(self.ctx.production)
        except ApiError as error:
            return error_reply(error, self.ctx.production)
        except EmptyReply as empty:
            return empty_reply(empty.status)

    @staticmethod
    def route(method: str, segments: list[str]) -> tuple[Callable, dict]:
        candidates = [(m, pattern, handler) for m, pattern, handler in ROUTES if matches(pattern, segments)]
        if not candidates:
            raise ApiError(404, "", stage="route", source="Routes.php:431")
        same_method = [(pattern, handler) for m, pattern, handler in candidates if m == method]
        if not same_method:
            raise ApiError(405, "", stage="route", source="Routes.php:431")
        literal_first = sorted(same_method, key=lambda c: sum(p.startswith("{") for p in c[0]))
        pattern, handler = literal_first[0]
        params = {}
        for part, value in zip(pattern, segments):
            if part == "{id}":
                params["id"] = route_id("id", value)
            elif part == "{line_id}":
                params["line_id"] = route_id("line_id", value)
            elif part == "{ref}":
                params["ref"] = value
        return handler, params

    def authenticate(self, query: dict, headers) -> tuple[str, frozenset]:
        """The user of the key presented: (login, rights)."""
        key = presented_key(query, headers)
        if key is None:
            raise ApiError(401, NO_KEY, stage="authenticate", source="api_access.class.php:317")
        for known, user in self.users.items():
            if hmac.compare_digest(key.encode(), known.encode()):
                return user
        time.sleep(self.wrong_key_delay)  # the real server sleeps ~1 s against brute force
        raise ApiError(401, BAD_KEY, stage="authenticate", source="api_access.class.php:242")

    @staticmethod
    def parse_body(method: str, body: bytes) -> dict:
        if method not in ("POST", "PUT") or not body.strip():
            return {}
        try:
            parsed = json.loads(body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "Error parsing JSON", stage="validate", source="JsonFormat.php:174") from None
        return parsed if isinstance(parsed, dict) else {}


def matches(pattern: tuple[str, ...], segments: list[str]) -> bool:
    return len(pattern) == len(segments) and all(
        p.startswith("{") or p == s for p, s in zip(pattern, segments))


def presented_key(query: dict, headers) -> str | None:
    """DOLAPIKEY header, then Authorization: Bearer, then ?DOLAPIKEY= / ?api_key=."""
    if headers.get("DOLAPIKEY"):
        return headers["DOLAPIKEY"]
    authorization = headers.get("Authorization") or ""
    if authorization.lower().startswith("bearer ") and authorization[7:].strip():
        return authorization[7:].strip()
    return query.get("DOLAPIKEY") or query.get("api_key") or None

